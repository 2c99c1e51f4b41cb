//! Test harness: starts the real `hookd` binary on an ephemeral port with a temp data dir, and
//! talks to it over real HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod pg;
pub mod process;
pub mod receiver;

/// The store a test server keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Redb,
    Postgres,
}

thread_local! {
    /// The backend `Server::start*` uses on this thread (see [`with_backend`]).
    static BACKEND: std::cell::Cell<Backend> = const { std::cell::Cell::new(Backend::Redb) };
}

/// The backend servers started on this thread use.
pub fn backend() -> Backend {
    BACKEND.with(|b| b.get())
}

/// Runs `test` with servers on `backend`. A postgres run on a machine without PostgreSQL is
/// skipped, loudly.
pub fn with_backend(backend: Backend, test: fn()) {
    if backend == Backend::Postgres && pg::cluster().is_none() {
        eprintln!("SKIPPED: PostgreSQL is not installed");
        return;
    }
    BACKEND.with(|b| b.set(backend));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            BACKEND.with(|b| b.set(Backend::Redb));
        }
    }
    let _reset = Reset;
    test();
}

/// Turns the named tests of a module (plain `fn()`s, no `#[test]`) into two tests each,
/// `on_redb::NAME` and `on_postgres::NAME`: the API must answer the same on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_redb {
            $(
                #[test]
                fn $name() {
                    $crate::common::with_backend($crate::common::Backend::Redb, super::$name)
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $name() {
                    $crate::common::with_backend($crate::common::Backend::Postgres, super::$name)
                }
            )*
        }
    };
}

/// The admin token every test server is started with.
pub const ADMIN: &str = "test-admin-token-0123456789abcdef";

/// Settings every test server gets unless a test overrides them.
pub const BASE_CONFIG: &str = r#"
listen = "127.0.0.1:0"
shutdown_grace = "5s"
[delivery]
allow_http = true
allow_private_targets = true
[limits]
auth_failures_per_minute = 100000
"#;

/// A running hookd process.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<String>>>,
    extra_config: String,
    env: Vec<(String, String)>,
    /// The database of a server on the postgres backend.
    pub database: Option<String>,
}

/// A response: status, headers and body (parsed as JSON when it is JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status and that the body is a problem of `type_name`.
    pub fn assert_problem(&self, status: u16, type_name: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        assert_eq!(
            self.json["type"],
            format!("/problems/{type_name}"),
            "{}",
            self.text
        );
        assert_eq!(self.json["status"], status);
        assert!(self.json["title"].is_string());
        assert!(self.json["detail"].is_string());
    }

    /// The fields named in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Server {
    /// Starts a server with the base test configuration.
    pub fn start() -> Server {
        Server::start_with("", &[])
    }

    /// Starts a server with extra TOML appended to the base configuration (later keys of the
    /// same section must not repeat base keys) and extra environment variables.
    pub fn start_with(extra_config: &str, env: &[(&str, &str)]) -> Server {
        Server::start_prepared(extra_config, env, |_| {})
    }

    /// Like [`Server::start_with`], calling `prepare` with the data directory (created, empty)
    /// before the first start: to mount a file system there, say.
    pub fn start_prepared(
        extra_config: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let database = match backend() {
            Backend::Redb => None,
            Backend::Postgres => Some(
                pg::cluster()
                    .expect("PostgreSQL for a postgres test")
                    .new_database(),
            ),
        };
        Server::start_in(database, extra_config, env, prepare)
    }

    /// Starts a hookd node on the postgres backend with the database at `database_url`
    /// (another node's, or one of a private PostgreSQL server), with extra TOML as
    /// [`Server::start_with`] takes it. Nodes sharing a database form a cluster.
    pub fn start_node(database_url: &str, extra_config: &str) -> Server {
        Server::start_in(Some(database_url.to_string()), extra_config, &[], |_| {})
    }

    /// Starts another node on `first`'s database (`first` runs on the postgres backend).
    pub fn join(first: &Server, extra_config: &str) -> Server {
        let url = first
            .database
            .as_deref()
            .expect("joining needs a server on the postgres backend");
        Server::start_node(url, extra_config)
    }

    fn start_in(
        database: Option<String>,
        extra_config: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut server = Server {
            child: None,
            base: String::new(),
            dir,
            _tmp: Some(tmp),
            log: Arc::new(Mutex::new(Vec::new())),
            extra_config: extra_config.to_string(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            database,
        };
        std::fs::create_dir_all(server.data_dir()).expect("data dir");
        prepare(&server.data_dir());
        server.spawn();
        server
    }

    /// Starts a server on the postgres backend with the database at `url` (one a store was
    /// copied into, say), whatever the test's backend.
    pub fn start_on_database(url: &str) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut server = Server {
            child: None,
            base: String::new(),
            dir,
            _tmp: Some(tmp),
            log: Arc::new(Mutex::new(Vec::new())),
            extra_config: String::new(),
            env: Vec::new(),
            database: Some(url.to_string()),
        };
        std::fs::create_dir_all(server.data_dir()).expect("data dir");
        server.spawn();
        server
    }

    /// The configuration file the server runs with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("hookd.toml")
    }

    fn spawn(&mut self) {
        let storage = match &self.database {
            None => String::new(),
            Some(url) => format!(
                "[storage]\nbackend = \"postgres\"\n[postgres]\nurl = {url:?}\npool_size = 10\n"
            ),
        };
        let config = format!(
            "data_dir = {:?}\n{}\n",
            self.dir.join("data").to_str().unwrap(),
            merge_sections(&merge_sections(BASE_CONFIG, &storage), &self.extra_config),
        );
        std::fs::write(self.config_path(), config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookd"));
        cmd.arg("--config")
            .arg(self.config_path())
            .env_remove("HOOKD_CONFIG")
            .env_remove("HOOKD_LISTEN")
            .env_remove("HOOKD_DATA_DIR")
            .env_remove("HOOKD_STORAGE_BACKEND")
            .env_remove("HOOKD_POSTGRES_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if !self.env.iter().any(|(k, _)| k == "HOOKD_ADMIN_TOKEN_FILE") {
            cmd.env("HOOKD_ADMIN_TOKEN", ADMIN);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start hookd");
        let stderr = child.stderr.take().unwrap();
        let log = self.log.clone();
        log.lock().unwrap().clear();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log.lock().unwrap().push(line);
            }
        });
        self.child = Some(child);
        let line = self
            .wait_for_log("hookd listening on ", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("hookd did not start; log:\n{}", self.log_text()));
        // Text or JSON log line: the address is the run of address characters after the words.
        let addr: String = line
            .split("hookd listening on ")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
            .collect();
        self.base = format!("http://{addr}");
    }

    /// Waits until a log line contains `needle`; returns it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                // Give the reader thread a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return self
                    .log
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|l| l.contains(needle))
                    .cloned();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        unsafe_kill(child.id(), "TERM");
        wait_exit(&mut child, Duration::from_secs(30))
    }

    /// Waits up to `timeout` for the process to exit by itself; its status, if it did.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                // Give the reader thread a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process with SIGKILL (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe_kill(child.id(), "KILL");
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data dir and configuration.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.stop();
            assert!(status.success(), "clean stop: {status:?}");
        }
        self.spawn();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        request("GET", &self.url(path), Some(token), None)
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        request("DELETE", &self.url(path), Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        request(
            "POST",
            &self.url(path),
            Some(token),
            Some(body.to_string().as_bytes()),
        )
    }

    pub fn put(&self, path: &str, token: &str, body: &Value) -> Resp {
        request(
            "PUT",
            &self.url(path),
            Some(token),
            Some(body.to_string().as_bytes()),
        )
    }

    /// Creates an account as admin and returns its id.
    pub fn create_account(&self, name: &str) -> String {
        let r = self.post("/v1/accounts", ADMIN, &serde_json::json!({"name": name}));
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_string()
    }

    /// Creates an account token and returns (token id, token).
    pub fn create_token(&self, account: &str) -> (String, String) {
        let r = self.post(
            &format!("/v1/accounts/{account}/tokens"),
            ADMIN,
            &serde_json::json!({"name": "test"}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.json["id"].as_str().unwrap().to_string(),
            r.json["token"].as_str().unwrap().to_string(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && std::env::var_os("HOOKD_TEST_SHOW_LOG").is_some() {
            eprintln!("--- hookd's log ---\n{}\n---", self.log_text());
        }
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hookd did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Appends `extra` TOML to `base`, merging keys of a section both name.
fn merge_sections(base: &str, extra: &str) -> String {
    let mut table: toml::Table = base.parse().unwrap();
    let extra: toml::Table = extra.parse().expect("extra config must be valid TOML");
    for (k, v) in extra {
        match (table.get_mut(&k), v) {
            (Some(toml::Value::Table(t)), toml::Value::Table(e)) => {
                for (ek, ev) in e {
                    t.insert(ek, ev);
                }
            }
            (_, v) => {
                table.insert(k, v);
            }
        }
    }
    toml::to_string(&table).unwrap()
}

/// Sends one HTTP request with an optional bearer token and JSON body.
pub fn request(method: &str, url: &str, token: Option<&str>, body: Option<&[u8]>) -> Resp {
    request_with(method, url, token, body, &[])
}

/// Like [`request`], with extra headers (a `content-type` given here replaces the JSON one).
pub fn request_with(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> Resp {
    try_request(method, url, token, body, headers).expect("HTTP request")
}

/// Like [`request_with`], with a failure to get any answer (the server is gone, say) as an
/// error rather than a panic.
pub fn try_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> Result<Resp, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .allow_non_standard_methods(true)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let has_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !has_type {
        builder = builder.header("content-type", "application/json");
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder
        .body(body.map(<[u8]>::to_vec).unwrap_or_default())
        .unwrap();
    let mut response = agent.run(request).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        headers,
        text,
        json,
    })
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary with arguments and environment; returns (exit status, stdout, stderr).
pub fn run_hookd(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> (ExitStatus, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookd"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("HOOKD_CONFIG")
        .env_remove("HOOKD_ADMIN_TOKEN")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run hookd");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// The strings of `list`, sorted.
pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `v` is an RFC 3339 UTC time with milliseconds: `2026-11-22T10:15:02.123Z`.
pub fn is_time(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// RFC 3339 UTC of a Unix time in seconds (`2026-11-22T10:15:02Z`).
pub fn rfc3339_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch of an API time (`2026-11-22T10:15:02.123Z`), so tests can
/// compare times hookd took on its own clock.
pub fn time_millis(v: &Value) -> i64 {
    assert!(is_time(v), "not an API time: {v}");
    let s = v.as_str().unwrap();
    let field = |range: std::ops::Range<usize>| s[range].parse::<i64>().unwrap();
    let (year, month, day) = (field(0..4), field(5..7), field(8..10));
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + field(11..13) * 3600 + field(14..16) * 60 + field(17..19);
    seconds * 1000 + field(20..23)
}

/// Asserts `id` is a lowercase hyphenated UUID v7.
pub fn assert_uuid_v7(id: &str) {
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id} is not a UUID: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "{id} is not a UUID v7");
    assert_eq!(uuid.hyphenated().to_string(), id);
}

/// Now, in whole seconds since the Unix epoch (a `webhook-timestamp`).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A Standard Webhooks `v1` signature computed independently of hookd (HMAC-SHA256 over
/// `<id>.<timestamp>.<body>` with the secret's bytes), to check hookd's against.
pub fn standard_signature(
    secret: &str,
    id: &str,
    ts: impl std::fmt::Display,
    body: &[u8],
) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}
