//! One hookd process under test: its temp directory, configuration, start, readiness, the
//! set-up calls of a scenario (account, webhooks), its CPU and RSS, and SIGTERM.
//!
//! Every scenario starts a fresh hookd on a fresh data dir so that no scenario's backlog or
//! store growth leaks into the next one's figures.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::http::{Target, call};
use crate::postgres::PgCluster;
use crate::procfs;

/// The one account every scenario uses.
pub const ACCOUNT: &str = "bench";
/// The admin token hookd is started with.
pub const TOKEN: &str = "bench-admin-token-0123456789abcdef0123456789";
/// How long hookd may take to answer `/readyz` 200 before a scenario gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long hookd may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings a scenario may change; everything else is hookd's default.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `delivery.timeout`.
    pub delivery_timeout: &'static str,
    /// The postgres backend's database, or the embedded store when `None`.
    pub postgres_url: Option<String>,
    /// `postgres.lease`, when not the default.
    pub lease: Option<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            delivery_timeout: "15s",
            postgres_url: None,
            lease: None,
        }
    }
}

impl Settings {
    /// The configuration file. Short waits between attempts (90 of 100 ms, then 10 of 1 s: 101
    /// attempts, at least 19 s) so that a backlog built while the receiver is down is due again
    /// within a tenth of a second once it is up, and never runs out of attempts; deactivation
    /// is pushed out of reach of any run; logs only warnings (a failed attempt is an info line,
    /// and a down receiver makes millions of them).
    fn toml(&self) -> String {
        let mut waits = vec!["\"100ms\""; 90];
        waits.extend(["\"1s\""; 10]);
        let schedule = waits.join(", ");
        format!(
            "[delivery]\n\
             allow_http = true\n\
             allow_private_targets = true\n\
             timeout = \"{timeout}\"\n\
             retry_schedule = [{schedule}]\n\
             \n\
             [deactivation]\n\
             after = \"30d\"\n\
             \n\
             [limits]\n\
             auth_failures_per_minute = 1000000000\n\
             \n\
             [log]\n\
             level = \"warn\"\n{storage}",
            timeout = self.delivery_timeout,
            storage = match &self.postgres_url {
                Some(url) => format!(
                    "\n[storage]\nbackend = \"postgres\"\n\n[postgres]\nurl = \"{url}\"\n{}",
                    self.lease
                        .map(|l| format!("lease = \"{l}\"\n"))
                        .unwrap_or_default()
                ),
                None => String::new(),
            },
        )
    }
}

/// A free loopback port: bound to port 0, then closed.
pub fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A running (or stopped) hookd.
pub struct Hookd {
    binary: PathBuf,
    dir: PathBuf,
    pub addr: SocketAddr,
    child: Option<Child>,
    /// The database of the postgres backend, whose CPU counts with hookd's.
    pub database: Option<Arc<PgCluster>>,
}

impl Hookd {
    /// Writes the configuration into `dir`, starts hookd on a free port with its data under
    /// `dir/data`, and waits for `/readyz` 200. Returns hookd and the time from spawn to ready.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        settings: &Settings,
    ) -> Result<(Hookd, Duration), String> {
        std::fs::write(dir.join("hookd.toml"), settings.toml())
            .map_err(|e| format!("cannot write the config: {e}"))?;
        let port = free_port()?;
        let mut hookd = Hookd {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            database: None,
        };
        let ready = hookd.spawn_until_ready().await?;
        Ok((hookd, ready))
    }

    async fn spawn_until_ready(&mut self) -> Result<Duration, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("hookd.log"))
            .map_err(|e| format!("cannot open the hookd log: {e}"))?;
        let spawned = Instant::now();
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(self.dir.join("hookd.toml"))
            .env("HOOKD_DATA_DIR", self.dir.join("data"))
            .env("HOOKD_LISTEN", self.addr.to_string())
            .env("HOOKD_ADMIN_TOKEN", TOKEN)
            .env_remove("HOOKD_CONFIG")
            .env_remove("HOOKD_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let target = Target::new(self.addr, None);
        // Bounded by READY_TIMEOUT; a connection refused just means "not yet".
        while spawned.elapsed() < READY_TIMEOUT {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "hookd exited before it was ready ({status}); log: {}",
                    self.log_tail()
                ));
            }
            if let Ok((StatusCode::OK, _)) = call(&target, Method::GET, "/readyz", None).await {
                return Ok(spawned.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(format!(
            "hookd was not ready within {READY_TIMEOUT:?}; log: {}",
            self.log_tail()
        ))
    }

    /// The last lines of hookd's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("hookd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// hookd's user + system CPU time so far, in µs (0 if it cannot be read), with its
    /// database's when it keeps its data in PostgreSQL.
    pub fn cpu_us(&self) -> u64 {
        self.pid().and_then(procfs::cpu_us).unwrap_or(0)
            + self.database.as_ref().map_or(0, |db| db.cpu_us())
    }

    /// hookd's resident set size in KiB (0 if it cannot be read).
    pub fn rss_kib(&self) -> u64 {
        self.pid().and_then(procfs::rss_kib).unwrap_or(0)
    }

    /// The size of the store file.
    pub fn store_bytes(&self) -> u64 {
        std::fs::metadata(self.dir.join("data").join("hookd.redb")).map_or(0, |m| m.len())
    }

    /// The API as the admin.
    pub fn target(&self) -> Target {
        Target::new(self.addr, Some(TOKEN))
    }

    pub fn token(&self) -> String {
        TOKEN.to_string()
    }

    /// `POST …/events` or `…/events/batch` of the bench account.
    pub fn events_path(batch: bool) -> String {
        if batch {
            format!("/v1/accounts/{ACCOUNT}/events/batch")
        } else {
            format!("/v1/accounts/{ACCOUNT}/events")
        }
    }

    /// Creates the bench account.
    pub async fn create_account(&self) -> Result<(), String> {
        let (status, body) = call(
            &self.target(),
            Method::POST,
            "/v1/accounts",
            Some(json!({"id": ACCOUNT, "name": "hookd-bench"})),
        )
        .await?;
        if status != StatusCode::CREATED {
            return Err(format!("creating the account: {status} {body}"));
        }
        Ok(())
    }

    /// Creates a webhook on the bench account and returns its id.
    pub async fn create_webhook(
        &self,
        url: &str,
        event_list: &[&str],
        rate_limit: Option<u32>,
    ) -> Result<String, String> {
        self.create_webhook_with(url, event_list, rate_limit, json!({}))
            .await
    }

    /// Like [`create_webhook`](Self::create_webhook), with further members of the webhook
    /// body (`filter`, `template`, …) from the object `extra`.
    pub async fn create_webhook_with(
        &self,
        url: &str,
        event_list: &[&str],
        rate_limit: Option<u32>,
        extra: serde_json::Value,
    ) -> Result<String, String> {
        let mut webhook = json!({
            "name": format!("bench {url}"),
            "eventUrl": url,
            "eventList": event_list,
            "rateLimit": rate_limit,
        });
        if let (Some(webhook), Some(extra)) = (webhook.as_object_mut(), extra.as_object()) {
            webhook.extend(extra.clone());
        }
        let (status, body) = call(
            &self.target(),
            Method::POST,
            &format!("/v1/accounts/{ACCOUNT}/webhooks"),
            Some(webhook),
        )
        .await?;
        if status != StatusCode::CREATED {
            return Err(format!("creating a webhook: {status} {body}"));
        }
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }

    /// Waits until this node serves the webhook `id` made through another node: a change
    /// reaches every node of a cluster within a second, and an event this node accepts before
    /// then is not fanned out to that webhook.
    pub async fn wait_for_webhook(&self, id: &str) -> Result<(), String> {
        let path = format!("/v1/accounts/{ACCOUNT}/webhooks/{id}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _) = call(&self.target(), Method::GET, &path, None).await?;
            if status == StatusCode::OK {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "webhook {id} not known to the other node: {status}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit (killing hookd if it takes longer than
    /// [`STOP_TIMEOUT`]). Returns how long it took.
    pub async fn stop(&mut self) -> Result<Duration, String> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let asked = Instant::now();
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if signalled {
            while asked.elapsed() < STOP_TIMEOUT {
                match child.try_wait() {
                    Ok(Some(status)) if status.success() => return Ok(asked.elapsed()),
                    Ok(Some(status)) => {
                        return Err(format!(
                            "hookd exited with {status} after SIGTERM; log: {}",
                            self.log_tail()
                        ));
                    }
                    Ok(None) => tokio::time::sleep(Duration::from_millis(10)).await,
                    Err(_) => break,
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "hookd did not stop within {STOP_TIMEOUT:?} of SIGTERM and was killed"
        ))
    }

    /// Stops hookd and starts it again on the same data dir and port; returns the time from
    /// the new spawn to `/readyz` 200.
    pub async fn restart(&mut self) -> Result<Duration, String> {
        self.stop().await?;
        self.spawn_until_ready().await
    }

    /// Kills hookd with SIGKILL (a node that dies).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills hookd with SIGKILL (a crash: no checkpoint, the log holds the last writes) and
    /// starts it again on the same data dir and port; returns the time from the new spawn to
    /// `/readyz` 200.
    pub async fn crash_restart(&mut self) -> Result<Duration, String> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn_until_ready().await
    }
}

impl Drop for Hookd {
    fn drop(&mut self) {
        // A scenario that failed half-way must not leave hookd running.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
