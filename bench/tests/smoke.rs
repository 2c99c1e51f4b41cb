//! Smoke test of the benchmark tool: a tiny drain (200 events) against the debug hookd, checking
//! that the tool runs end to end and that every event arrived. No timing is asserted.
//!
//! `CARGO_BIN_EXE_hookd` exists only inside the hookd crate, so the debug binary is looked up
//! in the workspace's target dir (built with `cargo build -p hookd` when missing); the test is
//! skipped, saying why, when it cannot be had.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's target dir: `CARGO_TARGET_DIR`, else `<workspace>/target`.
fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace.join(dir)
            }
        }
        None => workspace.join("target"),
    }
}

/// The debug hookd, built if missing; `None` (with the reason printed) if it cannot be had.
fn debug_hookd() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    let binary = target_dir(&workspace).join("debug").join("hookd");
    if binary.is_file() {
        return Some(binary);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "-p", "hookd"])
        .current_dir(&workspace)
        .status();
    match built {
        Ok(status) if status.success() && binary.is_file() => Some(binary),
        Ok(status) => {
            eprintln!(
                "SKIPPED: {} is missing and `cargo build -p hookd` did not produce it ({status})",
                binary.display()
            );
            None
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: {} is missing and cargo could not be run: {e}",
                binary.display()
            );
            None
        }
    }
}

#[test]
fn a_small_drain_delivers_every_event() {
    let Some(hookd) = debug_hookd() else {
        return;
    };
    let out_dir = tempfile::tempdir().expect("temp dir");
    let json = out_dir.path().join("figures.json");
    let output = Command::new(env!("CARGO_BIN_EXE_hookd-bench"))
        .arg("--hookd")
        .arg(&hookd)
        .args(["--quick", "--no-ceilings", "--scenario", "drain"])
        .args(["--drain-events", "200", "--client-threads", "1"])
        .arg("--data-root")
        .arg(out_dir.path())
        .arg("--json")
        .arg(&json)
        .output()
        .expect("the bench binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "hookd-bench failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("figures file")).expect("JSON");
    let drain = &figures["figures"]["drain"]["drain"];
    assert_eq!(drain["expected"], 200, "{drain}");
    assert_eq!(drain["arrived"], 200, "{drain}");
    assert_eq!(drain["lost"], 0, "{drain}");
    assert!(
        stdout.contains("| 2 drain | lost deliveries | 0 |"),
        "{stdout}"
    );
}
