//! The two questions hookd asks the operating system about its disk: how much space is free,
//! and to set space aside for a file so that writing inside it can never fail for lack of it.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes an unprivileged process may still write on the file system holding `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    // SAFETY: statvfs only writes into `stat`, which is a plain struct we own; the path is a
    // valid NUL-terminated string for the duration of the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let code = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if code != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    Ok(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

/// Sets `len` bytes of disk aside for `file` (allocated, not a sparse hole), so that later
/// writes within them never fail for lack of space.
pub fn reserve(file: &File, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file size out of range"))?;
    // SAFETY: the descriptor belongs to `file`, which outlives the call; posix_fallocate only
    // reads its integer arguments.
    let code = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_file_has_its_size_and_free_space_is_known() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        let path = dir.path().join("reserved");
        let file = File::create(&path).unwrap();
        reserve(&file, 1 << 20).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
    }
}
