//! A throwaway PostgreSQL server for the tests: started once per test process (`initdb` into a
//! temporary directory, its own free port, its unix socket in that directory, as the
//! `postgres` OS user when the tests run as root), stopped when the process exits (an `atexit`
//! handler, and a watchdog process for a test binary that is killed), with a fresh database
//! for every hookd server that asks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The running server.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// Whether its commands run as the `postgres` OS user (the tests run as root).
    as_postgres: bool,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The test process's server, started on first use; `None` (said loudly) when PostgreSQL is
/// not installed.
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER
        .get_or_init(|| {
            let Some(bin) = binaries() else {
                eprintln!(
                    "\n*** PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                     the postgres variants of the tests are SKIPPED ***\n"
                );
                return None;
            };
            Some(Cluster::start(bin))
        })
        .as_ref()
}

/// The newest installed PostgreSQL's binaries.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A server of the test's own (for a test that stops and starts it), stopped when dropped;
/// `None` when PostgreSQL is not installed.
pub fn private_cluster() -> Option<Cluster> {
    binaries().map(Cluster::start)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_line()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Cluster {
    fn start(bin: PathBuf) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("hookd-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL")
            .keep();
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "cannot hand {} to postgres",
                dir.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.dir.join("data");
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
             -c shared_buffers=64MB",
            cluster.dir.display()
        );
        let out = cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(Stdio::null())
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(cluster.dir.join("log")).unwrap_or_default()
        );
        cluster.watch();
        cluster
    }

    /// A command of the PostgreSQL binaries, as the `postgres` user when the tests are root.
    fn command(&self, name: &str) -> Command {
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
            cmd
        } else {
            Command::new(self.bin.join(name))
        }
    }

    /// The shell line that stops the server and removes its directory.
    fn stop_line(&self) -> String {
        let pg_ctl = format!(
            "{} -D {} -m immediate -w stop",
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display()
        );
        let pg_ctl = if self.as_postgres {
            format!("runuser -u postgres -- {pg_ctl}")
        } else {
            pg_ctl
        };
        format!(
            "{pg_ctl} >/dev/null 2>&1; rm -rf {}",
            shell_quote(&self.dir)
        )
    }

    /// Stops the server when this process ends: at exit, and — should the process be killed —
    /// from a watchdog in a session of its own that polls for it.
    fn watch(&self) {
        let line = self.stop_line();
        let mut lines = STOP_LINES.lock().unwrap_or_else(|e| e.into_inner());
        if lines.is_empty() {
            // SAFETY: registering a plain `extern "C" fn` with no preconditions.
            unsafe {
                libc::atexit(stop_at_exit);
            }
        }
        lines.push(line.clone());
        drop(lines);
        let watchdog = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {line}",
            std::process::id()
        );
        let _ = Command::new("setsid")
            .args(["sh", "-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self) -> String {
        let name = format!(
            "hookd_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL statements in database `name` and returns the rows' text, one line per row,
    /// columns separated by `|`.
    pub fn sql(&self, database: &str, statements: &str) -> String {
        let url = self.url(database);
        run_sql(&url, statements)
    }

    /// Stops the server (fast), keeping its data: a database outage.
    pub fn stop(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl stop");
        assert!(status.success(), "pg_ctl stop failed");
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
             -c shared_buffers=64MB",
            self.port,
            self.dir.display()
        );
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "pg_ctl start failed");
    }

    /// Where the server keeps its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// How to stop every server this process started.
static STOP_LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

extern "C" fn stop_at_exit() {
    let lines = STOP_LINES.lock().map(|l| l.clone()).unwrap_or_default();
    for line in lines {
        let _ = Command::new("sh")
            .args(["-c", &line])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Runs SQL against `url` (with a small runtime of its own) and returns the rows' text.
pub fn run_sql(url: &str, statements: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to the test database: {e}"));
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let messages = client
            .simple_query(statements)
            .await
            .unwrap_or_else(|e| panic!("SQL {statements:?}: {e}"));
        drop(client);
        let _ = driver.await;
        let mut out = Vec::new();
        for message in messages {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                let cells: Vec<&str> = (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL"))
                    .collect();
                out.push(cells.join("|"));
            }
        }
        out.join("\n")
    })
}
