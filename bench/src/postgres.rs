//! A throwaway PostgreSQL server for the postgres backend's scenarios: made with `initdb` in the
//! run's temp dir on its own port (as the `postgres` user when the bench runs as root), one fresh
//! database per hookd, its CPU time (every process of the cluster) counted with hookd's, and the
//! database's own ceiling measured with `pgbench`: multi-row inserts of the rows an event costs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::procfs;

/// Where Debian puts the server's programs (`/usr/lib/postgresql/<major>/bin`), newest first.
fn bin_dir() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL server found in /usr/lib/postgresql ({e}); install the postgresql package"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_string())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

/// A running PostgreSQL cluster; stopped when dropped.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    pub port: u16,
    as_postgres: bool,
    databases: AtomicU32,
}

impl PgCluster {
    /// Makes and starts a cluster under `dir` (trust authentication, loopback only).
    pub fn start(dir: &Path) -> Result<PgCluster, String> {
        let bin = bin_dir()?;
        let data = dir.join("pgdata");
        let socket_dir = dir.join("pgsock");
        std::fs::create_dir_all(&socket_dir).map_err(|e| e.to_string())?;
        let as_postgres = running_as_root();
        if as_postgres {
            // The server refuses to run as root: the cluster belongs to the postgres user.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cannot give {} to the postgres user",
                    dir.display()
                ));
            }
        }
        let port = crate::hookd::free_port()?;
        let cluster = PgCluster {
            bin,
            data,
            socket_dir,
            port,
            as_postgres,
            databases: AtomicU32::new(0),
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            cluster.socket_dir.display()
        );
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-o",
                &options,
                "-l",
                &dir.join("postgres.log").display().to_string(),
                "-w",
                "start",
            ],
        )?;
        Ok(cluster)
    }

    /// Runs one of the server's programs (as the postgres user when needed); its output is
    /// returned, a failure is an error with its output.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Runs SQL with `psql` against `database`.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        )
    }

    /// A new empty database, and its URL for hookd.
    pub fn new_database(&self, prefix: &str) -> Result<String, String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        ))
    }

    /// The postmaster's pid (first line of `postmaster.pid`).
    fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// User + system CPU of the postmaster and every process it started, in µs (a backend that
    /// has exited is no longer counted: hookd's connections live as long as its pool).
    pub fn cpu_us(&self) -> u64 {
        let Some(master) = self.postmaster_pid() else {
            return 0;
        };
        let mut total = procfs::cpu_us(master).unwrap_or(0);
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                if procfs::parent(pid) == Some(master) {
                    total += procfs::cpu_us(pid).unwrap_or(0);
                }
            }
        }
        total
    }

    /// Stops the server now (a database outage, or the end of the run).
    pub fn stop(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        )
        .map(|_| ())
    }

    /// The database's own ceiling: one client committing multi-row inserts of the rows an
    /// event costs (the event with 1 KiB of data, its delivery, its due entry), 100 events per
    /// transaction, for `duration`. Events per second.
    pub fn ceiling(&self, dir: &Path, duration: Duration) -> Result<f64, String> {
        self.psql("postgres", "CREATE DATABASE ceiling; ")?;
        self.psql(
            "ceiling",
            "CREATE TABLE ev (account bigint, id uuid, body text, PRIMARY KEY (account, id));
             CREATE TABLE dl (account bigint, id uuid, webhook uuid, body text, PRIMARY KEY (account, id));
             CREATE TABLE due (webhook uuid, due bigint, id uuid, account bigint, PRIMARY KEY (webhook, due, id));",
        )?;
        let script = dir.join("ceiling.sql");
        let rows = |table: &str, values: &str| {
            format!("INSERT INTO {table} SELECT {values} FROM generate_series(1, 100) AS g;\n")
        };
        let sql = format!(
            "BEGIN;\n{}{}{}COMMIT;\n",
            rows("ev", "1, gen_random_uuid(), repeat('x', 1024)"),
            rows(
                "dl",
                "1, gen_random_uuid(), gen_random_uuid(), repeat('y', 120)"
            ),
            rows("due", "gen_random_uuid(), g, gen_random_uuid(), 1"),
        );
        std::fs::write(&script, sql).map_err(|e| e.to_string())?;
        if self.as_postgres {
            let _ = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&script)
                .status();
        }
        let started = Instant::now();
        let out = self.run(
            "pgbench",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-n",
                "-c",
                "1",
                "-T",
                &duration.as_secs().max(1).to_string(),
                "-f",
                &script.display().to_string(),
                "ceiling",
            ],
        )?;
        let tps = out
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .ok_or_else(|| {
                format!(
                    "pgbench printed no tps after {:?}: {out}",
                    started.elapsed()
                )
            })?;
        Ok(tps * 100.0)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
