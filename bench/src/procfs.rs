//! What Linux tells about a process and the machine: CPU time and RSS of hookd (from /proc),
//! and the facts a result needs to be read against (cores, memory, disk, kernel, load).
//!
//! CPU time is the figure that barely moves when a neighbour takes the cores, so every scenario
//! reports it; it is read from `/proc/<pid>/stat` rather than measured from the outside.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, else the usual 100).
pub fn clock_ticks() -> (u64, bool) {
    static TICKS: OnceLock<(u64, bool)> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let read = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&t| t > 0);
        match read {
            Some(t) => (t, true),
            None => (100, false),
        }
    })
}

/// User + system CPU time of `pid` so far, in microseconds.
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let (ticks, _) = clock_ticks();
    Some((utime + stime) * 1_000_000 / ticks)
}

/// The parent of `pid` (field 4 of `/proc/<pid>/stat`).
pub fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Resident set size of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// `/proc/loadavg`'s first three fields.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The facts of the machine a run was made on.
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub disk: String,
    pub kernel: String,
    pub date: String,
}

impl Machine {
    /// Reads the facts; `data_root` is where the data dirs live (its disk is the one reported).
    pub fn read(data_root: &Path) -> Machine {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|n| n.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cores,
            cpu_model,
            memory_gib,
            disk: disk_of(data_root),
            kernel,
            date: command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// Device, file system and size of the disk holding `dir`, from `df`.
fn disk_of(dir: &Path) -> String {
    let Some(dir) = dir.to_str() else {
        return "unknown".into();
    };
    let Some(out) = command_line("df", &["-hT", dir]) else {
        return "unknown".into();
    };
    let fields: Vec<&str> = out
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    match fields.as_slice() {
        [device, fs, size, ..] => {
            let name = device.rsplit('/').next().unwrap_or(device);
            let rotational = std::fs::read_to_string(format!("/sys/block/{name}/queue/rotational"))
                .ok()
                .map(|r| {
                    if r.trim() == "1" {
                        ", rotational"
                    } else {
                        ", non-rotational"
                    }
                })
                .unwrap_or("");
            format!("{device} ({fs}, {size}{rotational})")
        }
        _ => "unknown".into(),
    }
}

/// The whole standard output of a command, trimmed; `None` if it could not run or failed.
pub fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit of the repository in the current directory, marked `-dirty` when tracked files
/// outside `bench/` (i.e. hookd's own) have local changes.
pub fn commit() -> String {
    let Some(head) = command_line("git", &["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty = command_line(
        "git",
        &[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)bench",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_cpu_and_rss() {
        let pid = std::process::id();
        assert!(cpu_us(pid).is_some());
        assert!(rss_kib(pid).is_some_and(|r| r > 0));
    }
}
