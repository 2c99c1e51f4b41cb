//! A long-running process started by a test (`hookd serve`, `hookd receive`, or a shell running
//! one): its output collected line by line while it runs, and killed with its whole process
//! group when the test ends, also when it panics.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Lines = Arc<Mutex<Vec<String>>>;

/// A running child process in a process group of its own.
pub struct Background {
    child: Option<Child>,
    stdout: Lines,
    stderr: Lines,
}

impl Background {
    /// Starts `command` with stdout and stderr collected.
    pub fn start(command: Command) -> Background {
        Background::start_with_stdout(command, Stdio::piped())
    }

    /// Starts `command` with stdout going to `stdout` (a file, say) and stderr collected.
    pub fn start_with_stdout(mut command: Command, stdout: impl Into<Stdio>) -> Background {
        // Its own group, so that killing it also kills what a shell started.
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stdout = Lines::default();
        let stderr = Lines::default();
        if let Some(pipe) = child.stdout.take() {
            collect(pipe, stdout.clone());
        }
        if let Some(pipe) = child.stderr.take() {
            collect(pipe, stderr.clone());
        }
        Background {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Everything written to stdout so far (when it is collected).
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits until a stderr line contains `needle`; returns it. Panics, showing stderr, when
    /// the deadline passes or the process ends first.
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        let lines = self.stderr.clone();
        self.wait_for(&lines, needle, timeout)
    }

    /// Waits until a stdout line contains `needle`; returns it.
    pub fn wait_for_stdout(&mut self, needle: &str, timeout: Duration) -> String {
        let lines = self.stdout.clone();
        self.wait_for(&lines, needle, timeout)
    }

    fn wait_for(&mut self, lines: &Lines, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut exited_at = None;
        loop {
            if let Some(line) = lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let exited = self
                .child
                .as_mut()
                .is_none_or(|child| matches!(child.try_wait(), Ok(Some(_))));
            // After an exit, the reader threads may still be taking in the last lines.
            if exited && exited_at.is_none() {
                exited_at = Some(Instant::now());
            }
            let gave_up = exited_at.is_some_and(|at| at.elapsed() > Duration::from_secs(1));
            assert!(
                Instant::now() < deadline && !gave_up,
                "no output line with {needle:?} ({})\nstdout:\n{}\nstderr:\n{}",
                if gave_up {
                    "the process ended"
                } else {
                    "timed out"
                },
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) to the process group.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg("--")
                .arg(format!("-{}", child.id()))
                .status();
        }
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("process running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the process") {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {timeout:?}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads `pipe` line by line into `lines` on a thread of its own.
fn collect(pipe: impl Read + Send + 'static, lines: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            lines.lock().unwrap().push(line);
        }
    });
}
