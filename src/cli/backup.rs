//! `hookd backup FILE`: streams `GET /v1/backup` (a consistent snapshot the server takes in
//! one read transaction) to disk.
//!
//! The file is written beside FILE under a temporary name, checked against the announced
//! length, fsync'd and only then renamed over FILE: an interrupted backup never leaves a
//! truncated file where a good one (or nothing) was. The file is created owner-only, because
//! a store holds webhook secrets.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::http::Method;

use super::http::Client;
use super::output::write_out;
use super::{BackupArgs, Failure};

/// A large store on a slow link may stream for a long time; only a stuck transfer should end.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Runs `hookd backup FILE`.
pub fn run(args: &BackupArgs) -> Result<(), Failure> {
    let client = Client::with_timeout(&args.conn, BACKUP_TIMEOUT)?;
    let response = client.call(Method::GET, "/v1/backup", None)?;
    let expected = response.body().content_length();
    let temp = temp_path(&args.file)?;
    let mut file = create_private(&temp)
        .map_err(|e| Failure::Other(format!("cannot create {}: {e}", temp.display())))?;
    let written = copy_and_sync(response.into_body(), &mut file, expected);
    drop(file);
    let result = written.and_then(|size| {
        std::fs::rename(&temp, &args.file).map_err(|e| {
            Failure::Other(format!(
                "cannot move the backup to {}: {e}",
                args.file.display()
            ))
        })?;
        sync_parent(&args.file);
        Ok(size)
    });
    match result {
        Ok(size) => write_out(
            format!("backup written to {}: {size} bytes\n", args.file.display()).as_bytes(),
        ),
        Err(failure) => {
            let _ = std::fs::remove_file(&temp);
            Err(failure)
        }
    }
}

/// Copies the body into `file`, checks the byte count against `Content-Length`, and fsyncs.
fn copy_and_sync(body: ureq::Body, file: &mut File, expected: Option<u64>) -> Result<u64, Failure> {
    let mut reader = body.into_reader();
    let size = std::io::copy(&mut reader, file)
        .map_err(|e| Failure::Other(format!("the backup stream broke off: {e}")))?;
    if let Some(expected) = expected
        && expected != size
    {
        return Err(Failure::Other(format!(
            "the backup is incomplete: {size} of {expected} bytes"
        )));
    }
    file.flush()
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Other(format!("cannot write the backup: {e}")))?;
    Ok(size)
}

/// `<dir>/.<name>.<pid>.tmp` beside `file`, so the final rename stays on one file system.
fn temp_path(file: &Path) -> Result<PathBuf, Failure> {
    let name = file
        .file_name()
        .ok_or_else(|| Failure::Usage(format!("{} is not a file name", file.display())))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    Ok(file.with_file_name(temp_name))
}

/// Creates a new file readable by its owner only (on Unix); refuses to reuse an existing one.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes the rename durable. Best effort: not every platform lets a directory be fsync'd,
/// and the data itself is already on disk.
fn sync_parent(file: &Path) {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_sits_beside_the_target() {
        let temp = temp_path(Path::new("/backups/hookd.redb")).ok();
        let expected = format!("/backups/.hookd.redb.{}.tmp", std::process::id());
        assert_eq!(temp, Some(PathBuf::from(expected)));
        let relative = temp_path(Path::new("b.redb")).ok();
        assert_eq!(
            relative,
            Some(PathBuf::from(format!(".b.redb.{}.tmp", std::process::id())))
        );
        assert!(temp_path(Path::new("/")).is_err());
    }
}
