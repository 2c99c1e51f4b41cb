//! Configuration: embedded defaults, an optional TOML file, and environment overrides.
//!
//! Every setting has a default, so hookd runs with no file at all. The file is walked key by key
//! (rather than deserialised blindly) so that an unknown key or a bad value is reported with its
//! full dotted name, before anything is opened.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

/// The whole configuration of a hookd process. See `config.example.toml` for each setting.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the one HTTP listener binds to.
    pub listen: SocketAddr,
    /// Folder holding the store file `hookd.redb`.
    pub data_dir: PathBuf,
    /// Base URL under which hookd is reachable from outside (activation links).
    pub public_url: String,
    /// Whether `public_url` was derived from `listen` rather than set: then the server
    /// derives it again from the address it actually bound (port 0 becomes a real port).
    pub public_url_derived: bool,
    /// How long in-flight work may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with these PEM files when both are set.
    pub tls: TlsConfig,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// Delivery behaviour.
    pub delivery: DeliveryConfig,
    /// Automatic deactivation of failing webhooks.
    pub deactivation: DeactivationConfig,
    /// How long events and buffered deliveries are kept.
    pub retention: RetentionConfig,
    /// Request and connection limits.
    pub limits: LimitsConfig,
    /// The operator's notification channel.
    pub notifications: NotificationsConfig,
    /// `/metrics` access.
    pub metrics: MetricsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Which backend keeps the data.
    pub storage: StorageConfig,
    /// The postgres backend's connection and cluster settings.
    pub postgres: PostgresConfig,
}

/// `[storage]`: which backend keeps hookd's data.
#[derive(Debug, Clone, Default)]
pub struct StorageConfig {
    pub backend: StorageBackend,
}

/// The backends hookd can keep its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageBackend {
    /// The embedded store in `data_dir` (one machine).
    #[default]
    Redb,
    /// A PostgreSQL database shared by one or more hookd nodes.
    Postgres,
}

impl StorageBackend {
    fn parse(text: &str) -> Option<StorageBackend> {
        match text {
            "redb" => Some(StorageBackend::Redb),
            "postgres" => Some(StorageBackend::Postgres),
            _ => None,
        }
    }
}

/// `[postgres]`: where the shared database is and how a node uses it.
#[derive(Clone)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:5432/db?sslmode=…`; holds a password, so `Debug` hides it.
    pub url: Option<String>,
    /// Connections per node.
    pub pool_size: usize,
    /// How long a node's claim on a delivery lasts without renewal.
    pub lease: Duration,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            url: None,
            pool_size: 16,
            lease: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.url.as_deref().map(redact_url_password))
            .field("pool_size", &self.pool_size)
            .field("lease", &self.lease)
            .finish()
    }
}

/// A database URL with its password (if any) replaced by `***`, for logs and `Debug`.
pub fn redact_url_password(url: &str) -> String {
    // postgres://user:password@host/… — the password sits between the first ':' after the
    // scheme's "//" and the last '@' before the path.
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "<set>".to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    // A password may also come as a query parameter.
    let tail = &rest[authority_end..];
    match tail.find("password=") {
        Some(i) => {
            let value_start = i + "password=".len();
            let value_end = tail[value_start..]
                .find('&')
                .map_or(tail.len(), |j| value_start + j);
            out.push_str(&tail[..value_start]);
            out.push_str("***");
            out.push_str(&tail[value_end..]);
        }
        None => out.push_str(tail),
    }
    out
}

/// `[tls]`: certificate and key for serving HTTPS directly.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// `[auth]`: the admin token, when the operator chooses it.
#[derive(Clone, Default)]
pub struct AuthConfig {
    pub admin_token: Option<String>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never let a secret reach a log line through Debug.
        f.debug_struct("AuthConfig")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// `[delivery]`: timeouts, retries, concurrency and target rules.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Waits between attempts; the first attempt is immediate, so attempts = len + 1.
    pub retry_schedule: Vec<Duration>,
    pub max_in_flight: usize,
    pub max_in_flight_per_webhook: usize,
    pub allow_http: bool,
    pub allow_private_targets: bool,
    /// A PEM file of extra trusted roots; read at start-up by
    /// [`DeliveryConfig::load_extra_roots`].
    pub ca_file: Option<PathBuf>,
}

/// The largest `delivery.ca_file` read.
const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

impl DeliveryConfig {
    /// Reads and parses `ca_file` (nothing when unset). The server calls this at start-up,
    /// before opening the store, so a missing or unparsable file stops it with an error naming
    /// the key. (Parsing the configuration itself reads no file.)
    pub fn load_extra_roots(
        &self,
    ) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ConfigError> {
        use std::io::Read;
        let Some(path) = &self.ca_file else {
            return Ok(Vec::new());
        };
        let cannot = |e: &dyn std::fmt::Display| {
            err(format!(
                "delivery.ca_file: cannot read {}: {e}",
                path.display()
            ))
        };
        let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
        let mut text = String::new();
        file.take(MAX_CA_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| cannot(&e))?;
        if text.len() as u64 > MAX_CA_FILE_BYTES {
            return Err(err(format!(
                "delivery.ca_file: {} is larger than 1 MiB",
                path.display()
            )));
        }
        crate::receivers::pem::parse_ca_bundle(&text)
            .map_err(|why| err(format!("delivery.ca_file: {}: {why}", path.display())))
    }
}

/// `[deactivation]`: when a failing webhook is switched off.
#[derive(Debug, Clone)]
pub struct DeactivationConfig {
    pub after_failures: u32,
    pub after: Duration,
    /// The early warning (`webhook.failing`): after this many failed attempts in a row
    /// (0 turns it off)…
    pub warn_after_failures: u32,
    /// …once the webhook has been failing this long.
    pub warn_after: Duration,
}

/// `[retention]`: how long data is kept.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    pub events: Duration,
    pub buffer: Duration,
}

/// `[limits]`: what a client may ask of the server.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub max_event_bytes: usize,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub auth_failures_per_minute: u32,
}

/// `[notifications]`: where deactivation notices are POSTed.
#[derive(Clone, Default)]
pub struct NotificationsConfig {
    pub url: Option<String>,
    pub secret: Option<String>,
}

impl std::fmt::Debug for NotificationsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationsConfig")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    pub public: bool,
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub level: LogLevel,
    pub format: LogFormat,
}

/// The levels an operator may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Human-readable lines or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        let listen: SocketAddr = ([127, 0, 0, 1], 8080).into();
        Config {
            listen,
            data_dir: PathBuf::from("./hookd-data"),
            public_url: format!("http://{listen}"),
            public_url_derived: true,
            shutdown_grace: Duration::from_secs(10),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            delivery: DeliveryConfig {
                timeout: Duration::from_secs(15),
                connect_timeout: Duration::from_secs(5),
                retry_schedule: [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
                    .into_iter()
                    .map(Duration::from_secs)
                    .collect(),
                max_in_flight: 512,
                max_in_flight_per_webhook: 8,
                allow_http: false,
                allow_private_targets: false,
                ca_file: None,
            },
            deactivation: DeactivationConfig {
                after_failures: 10,
                after: Duration::from_secs(3600),
                warn_after_failures: 3,
                warn_after: Duration::from_secs(600),
            },
            retention: RetentionConfig {
                events: Duration::from_secs(5 * 86_400),
                buffer: Duration::from_secs(5 * 86_400),
            },
            limits: LimitsConfig {
                max_event_bytes: 256 * 1024,
                max_body_bytes: 1024 * 1024,
                max_connections: 1024,
                header_read_timeout: Duration::from_secs(10),
                auth_failures_per_minute: 20,
            },
            notifications: NotificationsConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig {
                level: LogLevel::Info,
                format: LogFormat::Text,
            },
            storage: StorageConfig::default(),
            postgres: PostgresConfig::default(),
        }
    }
}

/// A configuration problem, reported at start-up before the store is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

impl Config {
    /// Loads the configuration: defaults, then the file (from `file`, else `HOOKD_CONFIG`), then
    /// the environment overrides. `env` is the environment lookup (injectable for tests).
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let file = file.map(Path::to_path_buf).or_else(|| {
            env("HOOKD_CONFIG")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        });
        let mut public_url_set = false;
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err(format!("cannot read config file {}: {e}", path.display())))?;
            public_url_set = config.apply_toml(&text)?;
        }
        public_url_set |= config.apply_env(env)?;
        if !public_url_set {
            config.public_url = default_public_url(config.listen, config.tls.cert_file.is_some());
        }
        config.public_url_derived = !public_url_set;
        config.check()?;
        Ok(config)
    }

    /// Derives `public_url` from the address actually bound, unless the operator set it.
    pub fn bind_public_url(&mut self, bound: SocketAddr) {
        if self.public_url_derived {
            self.public_url = default_public_url(bound, self.tls.cert_file.is_some());
        }
    }

    /// Parses a TOML document alone (no environment), with every check `load` makes; for tools
    /// and the fuzzer.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let public_url_set = config.apply_toml(text)?;
        if !public_url_set {
            config.public_url = default_public_url(config.listen, config.tls.cert_file.is_some());
        }
        config.public_url_derived = !public_url_set;
        config.check()?;
        Ok(config)
    }

    /// Loads from the real process environment.
    pub fn from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load(file, &|key| std::env::var(key).ok())
    }

    /// Applies a TOML document; returns whether it set `public_url`.
    fn apply_toml(&mut self, text: &str) -> Result<bool, ConfigError> {
        let mut root: Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(format!("invalid TOML: {}", e.message())))?;
        let mut top = Section::new("", &mut root);
        if let Some(v) = top.take("listen") {
            self.listen = top.socket_addr("listen", v)?;
        }
        if let Some(v) = top.take("data_dir") {
            self.data_dir = PathBuf::from(top.string("data_dir", v)?);
        }
        let public_url_set = if let Some(v) = top.take("public_url") {
            self.public_url = top.string("public_url", v)?;
            true
        } else {
            false
        };
        if let Some(v) = top.take("shutdown_grace") {
            self.shutdown_grace = top.duration("shutdown_grace", v)?;
        }
        if let Some(mut s) = top.section("tls")? {
            if let Some(v) = s.take("cert_file") {
                self.tls.cert_file = non_empty(s.string("cert_file", v)?).map(PathBuf::from);
            }
            if let Some(v) = s.take("key_file") {
                self.tls.key_file = non_empty(s.string("key_file", v)?).map(PathBuf::from);
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("auth")? {
            if let Some(v) = s.take("admin_token") {
                self.auth.admin_token = non_empty(s.string("admin_token", v)?);
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("delivery")? {
            let d = &mut self.delivery;
            if let Some(v) = s.take("timeout") {
                d.timeout = s.duration("timeout", v)?;
            }
            if let Some(v) = s.take("connect_timeout") {
                d.connect_timeout = s.duration("connect_timeout", v)?;
            }
            if let Some(v) = s.take("retry_schedule") {
                d.retry_schedule = s.duration_list("retry_schedule", v)?;
            }
            if let Some(v) = s.take("max_in_flight") {
                d.max_in_flight = s.integer("max_in_flight", v, 1, 100_000)? as usize;
            }
            if let Some(v) = s.take("max_in_flight_per_webhook") {
                d.max_in_flight_per_webhook =
                    s.integer("max_in_flight_per_webhook", v, 1, 10_000)? as usize;
            }
            if let Some(v) = s.take("allow_http") {
                d.allow_http = s.boolean("allow_http", v)?;
            }
            if let Some(v) = s.take("allow_private_targets") {
                d.allow_private_targets = s.boolean("allow_private_targets", v)?;
            }
            if let Some(v) = s.take("ca_file") {
                d.ca_file = non_empty(s.string("ca_file", v)?).map(PathBuf::from);
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("deactivation")? {
            if let Some(v) = s.take("after_failures") {
                self.deactivation.after_failures =
                    s.integer("after_failures", v, 1, 1_000_000)? as u32;
            }
            if let Some(v) = s.take("after") {
                self.deactivation.after = s.duration("after", v)?;
            }
            if let Some(v) = s.take("warn_after_failures") {
                self.deactivation.warn_after_failures =
                    s.integer("warn_after_failures", v, 0, 1_000_000)? as u32;
            }
            if let Some(v) = s.take("warn_after") {
                self.deactivation.warn_after = s.duration("warn_after", v)?;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("retention")? {
            if let Some(v) = s.take("events") {
                self.retention.events = s.duration("events", v)?;
            }
            if let Some(v) = s.take("buffer") {
                self.retention.buffer = s.duration("buffer", v)?;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("limits")? {
            let l = &mut self.limits;
            if let Some(v) = s.take("max_event_bytes") {
                l.max_event_bytes = s.size("max_event_bytes", v)?;
            }
            if let Some(v) = s.take("max_body_bytes") {
                l.max_body_bytes = s.size("max_body_bytes", v)?;
            }
            if let Some(v) = s.take("max_connections") {
                l.max_connections = s.integer("max_connections", v, 1, 1_000_000)? as usize;
            }
            if let Some(v) = s.take("header_read_timeout") {
                l.header_read_timeout = s.duration("header_read_timeout", v)?;
            }
            if let Some(v) = s.take("auth_failures_per_minute") {
                l.auth_failures_per_minute =
                    s.integer("auth_failures_per_minute", v, 1, 1_000_000_000)? as u32;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("notifications")? {
            if let Some(v) = s.take("url") {
                self.notifications.url = non_empty(s.string("url", v)?);
            }
            if let Some(v) = s.take("secret") {
                self.notifications.secret = non_empty(s.string("secret", v)?);
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("metrics")? {
            if let Some(v) = s.take("public") {
                self.metrics.public = s.boolean("public", v)?;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("log")? {
            if let Some(v) = s.take("level") {
                let text = s.string("level", v)?;
                self.log.level = parse_log_level(&text).ok_or_else(|| {
                    err(format!(
                        "log.level: unknown level {text:?} (use error, warn, info, debug or trace)"
                    ))
                })?;
            }
            if let Some(v) = s.take("format") {
                let text = s.string("format", v)?;
                self.log.format = parse_log_format(&text).ok_or_else(|| {
                    err(format!(
                        "log.format: unknown format {text:?} (use text or json)"
                    ))
                })?;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("storage")? {
            if let Some(v) = s.take("backend") {
                let text = s.string("backend", v)?;
                self.storage.backend = StorageBackend::parse(&text).ok_or_else(|| {
                    err(format!(
                        "storage.backend: unknown backend {text:?} (use redb or postgres)"
                    ))
                })?;
            }
            s.finish()?;
        }
        if let Some(mut s) = top.section("postgres")? {
            if let Some(v) = s.take("url") {
                self.postgres.url = non_empty(s.string("url", v)?);
            }
            if let Some(v) = s.take("pool_size") {
                self.postgres.pool_size = s.integer("pool_size", v, 1, 10_000)? as usize;
            }
            if let Some(v) = s.take("lease") {
                self.postgres.lease = s.duration("lease", v)?;
            }
            s.finish()?;
        }
        top.finish()?;
        Ok(public_url_set)
    }

    /// Applies the environment overrides; returns whether they set `public_url`.
    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
        if let Some(v) = env("HOOKD_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                err(format!(
                    "HOOKD_LISTEN: invalid address {v:?} (e.g. 127.0.0.1:8080)"
                ))
            })?;
        }
        if let Some(v) = env("HOOKD_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        let public_url_set = if let Some(v) = env("HOOKD_PUBLIC_URL") {
            self.public_url = v;
            true
        } else {
            false
        };
        // A value in the file and a file named in the environment are two values for one
        // secret: refused, like the variable and its file together.
        for (set_in_file, key, file_var) in [
            (
                self.auth.admin_token.is_some(),
                "auth.admin_token",
                "HOOKD_ADMIN_TOKEN_FILE",
            ),
            (
                self.notifications.secret.is_some(),
                "notifications.secret",
                "HOOKD_NOTIFICATIONS_SECRET_FILE",
            ),
            (
                self.postgres.url.is_some(),
                "postgres.url",
                "HOOKD_POSTGRES_URL_FILE",
            ),
        ] {
            if set_in_file && env(file_var).is_some() {
                return Err(err(format!(
                    "{key} (in the configuration file) and {file_var} are both set; set only one"
                )));
            }
        }
        if let Some(token) = secret_from_env(env, "HOOKD_ADMIN_TOKEN")? {
            self.auth.admin_token = Some(token);
        }
        if let Some(secret) = secret_from_env(env, "HOOKD_NOTIFICATIONS_SECRET")? {
            self.notifications.secret = Some(secret);
        }
        if let Some(url) = secret_from_env(env, "HOOKD_POSTGRES_URL")? {
            self.postgres.url = Some(url);
        }
        if let Some(v) = env("HOOKD_STORAGE_BACKEND") {
            self.storage.backend = StorageBackend::parse(&v).ok_or_else(|| {
                err(format!(
                    "HOOKD_STORAGE_BACKEND: unknown backend {v:?} (use redb or postgres)"
                ))
            })?;
        }
        if let Some(v) = env("HOOKD_LOG") {
            self.log.level = parse_log_level(&v).ok_or_else(|| {
                err(format!(
                    "HOOKD_LOG: unknown level {v:?} (use error, warn, info, debug or trace)"
                ))
            })?;
        }
        if let Some(v) = env("HOOKD_LOG_FORMAT") {
            self.log.format = parse_log_format(&v).ok_or_else(|| {
                err(format!(
                    "HOOKD_LOG_FORMAT: unknown format {v:?} (use text or json)"
                ))
            })?;
        }
        Ok(public_url_set)
    }

    /// Cross-field checks that no single key can make.
    fn check(&mut self) -> Result<(), ConfigError> {
        let url = self.public_url.trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(err(format!(
                "public_url: {:?} must be an absolute http:// or https:// URL",
                self.public_url
            )));
        }
        self.public_url = url;
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(err("tls: cert_file and key_file must be set together"));
        }
        if self.limits.max_event_bytes > self.limits.max_body_bytes {
            return Err(err(
                "limits.max_event_bytes must not be larger than limits.max_body_bytes",
            ));
        }
        for (key, d) in [
            ("delivery.timeout", self.delivery.timeout),
            ("delivery.connect_timeout", self.delivery.connect_timeout),
            (
                "limits.header_read_timeout",
                self.limits.header_read_timeout,
            ),
            ("retention.events", self.retention.events),
            ("retention.buffer", self.retention.buffer),
        ] {
            if d.is_zero() {
                return Err(err(format!("{key}: must be longer than 0s")));
            }
        }
        if self.storage.backend == StorageBackend::Postgres && self.postgres.url.is_none() {
            return Err(err(
                "postgres.url: must be set when storage.backend is \"postgres\" (or set HOOKD_POSTGRES_URL or HOOKD_POSTGRES_URL_FILE)",
            ));
        }
        if self.postgres.lease < Duration::from_secs(3) {
            return Err(err("postgres.lease: must be at least 3s"));
        }
        if let Some(url) = &self.notifications.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(err(format!(
                "notifications.url: {url:?} must be an http:// or https:// URL"
            )));
        }
        Ok(())
    }
}

/// The start-up warning of `hookd serve --dev`, so that nobody runs it that way unawares.
pub const DEV_MODE_WARNING: &str = "dev mode is on (--dev): webhooks may target http:// URLs \
     and loopback or private addresses, and the log level is debug; never use it in production";

impl Config {
    /// `hookd serve --dev`: a first try on one machine, against a receiver on the same laptop.
    /// Such a receiver is plain http on loopback, which the defaults refuse (SSRF protection),
    /// so dev mode allows both and logs at debug to show what happens. It overrides the file
    /// and the environment for exactly these three settings; the caller logs
    /// [`DEV_MODE_WARNING`] once logging is up.
    pub fn apply_dev_mode(&mut self) {
        self.delivery.allow_http = true;
        self.delivery.allow_private_targets = true;
        self.log.level = LogLevel::Debug;
    }
}

/// `http(s)://<listen>`, with an unspecified address shown as loopback.
pub fn default_public_url(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = if listen.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), listen.port())
    } else {
        listen
    };
    format!("{scheme}://{host}")
}

/// Reads a secret from `NAME` or from the file named by `NAME_FILE` (not both).
fn secret_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<String>, ConfigError> {
    let file_var = format!("{name}_FILE");
    match (env(name), env(&file_var)) {
        (Some(_), Some(_)) => Err(err(format!(
            "{name} and {file_var} are both set; set only one"
        ))),
        (Some(value), None) => Ok(non_empty(value)),
        (None, Some(path)) => {
            let mut text = std::fs::read_to_string(&path)
                .map_err(|e| err(format!("{file_var}: cannot read {path}: {e}")))?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            if text.is_empty() {
                return Err(err(format!("{file_var}: {path} is empty")));
            }
            Ok(Some(text))
        }
        (None, None) => Ok(None),
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn parse_log_level(s: &str) -> Option<LogLevel> {
    Some(match s.to_ascii_lowercase().as_str() {
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        _ => return None,
    })
}

fn parse_log_format(s: &str) -> Option<LogFormat> {
    Some(match s.to_ascii_lowercase().as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        _ => return None,
    })
}

/// Parses a human duration: an integer and one unit of `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    // Anything beyond ~100 years is a typo, not a setting.
    let millis = n.checked_mul(millis_per_unit)?;
    if millis > 100 * 365 * 86_400_000 {
        return None;
    }
    Some(Duration::from_millis(millis))
}

/// Parses a byte size: an integer, or an integer with `B`, `KiB`, `MiB`.
fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: usize = digits.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "k" | "K" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// One table of the TOML document being read; remembers its path for error messages and
/// refuses keys nobody took.
struct Section<'a> {
    prefix: String,
    table: &'a mut Table,
}

impl<'a> Section<'a> {
    fn new(prefix: &str, table: &'a mut Table) -> Self {
        Section {
            prefix: prefix.to_string(),
            table,
        }
    }

    fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.table.remove(key)
    }

    fn section(&mut self, name: &str) -> Result<Option<Section<'_>>, ConfigError> {
        let full = self.key(name);
        match self.table.get_mut(name) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Section {
                prefix: full,
                table: t,
            })),
            Some(_) => Err(err(format!("{full}: must be a table ([{full}])"))),
        }
    }

    /// Errors on any key that no setting took; a section's own table counts as taken once
    /// its keys are all consumed.
    fn finish(self) -> Result<(), ConfigError> {
        let mut unknown: Vec<String> = Vec::new();
        for (k, v) in self.table.iter() {
            match v {
                Value::Table(t) if t.is_empty() && KNOWN_SECTIONS.contains(&k.as_str()) => {}
                _ => unknown.push(self.key(k)),
            }
        }
        if unknown.is_empty() {
            // An empty table left behind tells the parent this section was consumed.
            self.table.clear();
            return Ok(());
        }
        Err(err(format!(
            "unknown key{} {} (see config.example.toml for every setting)",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", ")
        )))
    }

    fn string(&self, key: &str, v: Value) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(err(format!(
                "{}: expected a string, found {}",
                self.key(key),
                other.type_str()
            ))),
        }
    }

    fn boolean(&self, key: &str, v: Value) -> Result<bool, ConfigError> {
        match v {
            Value::Boolean(b) => Ok(b),
            other => Err(err(format!(
                "{}: expected true or false, found {}",
                self.key(key),
                other.type_str()
            ))),
        }
    }

    fn integer(&self, key: &str, v: Value, min: i64, max: i64) -> Result<i64, ConfigError> {
        match v {
            Value::Integer(n) if (min..=max).contains(&n) => Ok(n),
            Value::Integer(n) => Err(err(format!(
                "{}: {n} is out of range ({min} to {max})",
                self.key(key)
            ))),
            other => Err(err(format!(
                "{}: expected an integer, found {}",
                self.key(key),
                other.type_str()
            ))),
        }
    }

    fn duration(&self, key: &str, v: Value) -> Result<Duration, ConfigError> {
        let text = self.string(key, v)?;
        parse_duration(&text).ok_or_else(|| {
            err(format!(
                "{}: invalid duration {text:?} (write e.g. 500ms, 5s, 5m, 2h, 5d)",
                self.key(key)
            ))
        })
    }

    fn duration_list(&self, key: &str, v: Value) -> Result<Vec<Duration>, ConfigError> {
        let Value::Array(items) = v else {
            return Err(err(format!(
                "{}: expected a list of durations, e.g. [\"5s\", \"5m\"]",
                self.key(key)
            )));
        };
        if items.len() > 100 {
            return Err(err(format!("{}: at most 100 entries", self.key(key))));
        }
        items
            .into_iter()
            .map(|item| self.duration(key, item))
            .collect()
    }

    fn size(&self, key: &str, v: Value) -> Result<usize, ConfigError> {
        let n = match v {
            Value::Integer(n) if n > 0 => n as usize,
            Value::String(s) => parse_size(&s).ok_or_else(|| {
                err(format!(
                    "{}: invalid size {s:?} (write bytes, e.g. 262144 or \"256KiB\")",
                    self.key(key)
                ))
            })?,
            other => {
                return Err(err(format!(
                    "{}: expected a positive size in bytes, found {other}",
                    self.key(key)
                )));
            }
        };
        if n == 0 || n > 1 << 30 {
            return Err(err(format!(
                "{}: {n} is out of range (1 byte to 1 GiB)",
                self.key(key)
            )));
        }
        Ok(n)
    }

    fn socket_addr(&self, key: &str, v: Value) -> Result<SocketAddr, ConfigError> {
        let text = self.string(key, v)?;
        text.parse().map_err(|_| {
            err(format!(
                "{}: invalid address {text:?} (e.g. 127.0.0.1:8080)",
                self.key(key)
            ))
        })
    }
}

const KNOWN_SECTIONS: &[&str] = &[
    "tls",
    "auth",
    "delivery",
    "deactivation",
    "retention",
    "limits",
    "notifications",
    "metrics",
    "log",
    "storage",
    "postgres",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut set = config.apply_toml(toml)?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        set |=
            config.apply_env(&|key| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))?;
        if !set {
            config.public_url = default_public_url(config.listen, false);
        }
        config.check()?;
        Ok(config)
    }

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5d"), Some(Duration::from_secs(432_000)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-5s", "1.5s", "5 s", "99999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.delivery.retry_schedule.len(), 7);
        assert_eq!(c.limits.max_event_bytes, 262_144);
        assert_eq!(c.limits.max_body_bytes, 1_048_576);
        assert_eq!(c.deactivation.after_failures, 10);
        assert_eq!(c.deactivation.warn_after_failures, 3);
        assert_eq!(c.deactivation.warn_after, Duration::from_secs(600));
    }

    #[test]
    fn dev_mode_overrides_file_and_environment_for_its_three_settings() {
        let mut c = load(
            "[delivery]\nallow_http = false\nallow_private_targets = false\n[log]\nlevel = \"warn\"\n",
            &[("HOOKD_LOG", "error")],
        )
        .unwrap();
        let before = format!("{:?}", (&c.limits, &c.retention, &c.listen, &c.log.format));
        c.apply_dev_mode();
        assert!(c.delivery.allow_http);
        assert!(c.delivery.allow_private_targets);
        assert_eq!(c.log.level, LogLevel::Debug);
        let after = format!("{:?}", (&c.limits, &c.retention, &c.listen, &c.log.format));
        assert_eq!(before, after, "dev mode changes nothing else");
    }

    #[test]
    fn every_section_and_key_is_read() {
        let c = load(
            r#"
            listen = "0.0.0.0:9000"
            data_dir = "/tmp/x"
            shutdown_grace = "3s"
            [delivery]
            timeout = "2s"
            retry_schedule = ["1s", "2s"]
            max_in_flight = 5
            allow_http = true
            [deactivation]
            after_failures = 3
            after = "0s"
            warn_after_failures = 0
            warn_after = "1m"
            [limits]
            max_event_bytes = "1KiB"
            auth_failures_per_minute = 1000
            [log]
            level = "debug"
            format = "json"
            "#,
            &[],
        )
        .unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:9000");
        assert_eq!(
            c.delivery.retry_schedule,
            vec![Duration::from_secs(1), Duration::from_secs(2)]
        );
        assert_eq!(c.limits.max_event_bytes, 1024);
        assert_eq!(c.deactivation.after, Duration::ZERO);
        assert_eq!(c.deactivation.warn_after_failures, 0);
        assert_eq!(c.deactivation.warn_after, Duration::from_secs(60));
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn the_example_file_documents_exactly_the_defaults() {
        let example = load(include_str!("../config.example.toml"), &[]).unwrap();
        let defaults = load("", &[]).unwrap();
        assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load("[delivery]\ntimeot = \"5s\"\n", &[]).unwrap_err();
        assert!(e.0.contains("delivery.timeot"), "{e}");
        let e = load("bogus = 1\n", &[]).unwrap_err();
        assert!(e.0.contains("bogus"), "{e}");
        let e = load("[nosuch]\nx = 1\n", &[]).unwrap_err();
        assert!(e.0.contains("nosuch"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = load("[delivery]\ntimeout = \"5x\"\n", &[]).unwrap_err();
        assert!(
            e.0.contains("delivery.timeout") && e.0.contains("5x"),
            "{e}"
        );
        let e = load("[delivery]\nmax_in_flight = 0\n", &[]).unwrap_err();
        assert!(e.0.contains("delivery.max_in_flight"), "{e}");
        let e = load("listen = \"nope\"\n", &[]).unwrap_err();
        assert!(e.0.contains("listen"), "{e}");
        let e = load("[log]\nlevel = \"loud\"\n", &[]).unwrap_err();
        assert!(e.0.contains("log.level"), "{e}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = load(
            "listen = \"127.0.0.1:1\"\n[auth]\nadmin_token = \"from-file\"\n",
            &[
                ("HOOKD_LISTEN", "127.0.0.1:2"),
                ("HOOKD_ADMIN_TOKEN", "from-env"),
                ("HOOKD_PUBLIC_URL", "https://hooks.example.com/"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 2);
        assert_eq!(c.auth.admin_token.as_deref(), Some("from-env"));
        assert_eq!(c.public_url, "https://hooks.example.com");
    }

    #[test]
    fn secret_files_strip_one_newline_and_refuse_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let p = path.to_str().unwrap();
        let c = load("", &[("HOOKD_ADMIN_TOKEN_FILE", p)]).unwrap();
        assert_eq!(c.auth.admin_token.as_deref(), Some("s3cret"));
        let e = load(
            "",
            &[("HOOKD_ADMIN_TOKEN_FILE", p), ("HOOKD_ADMIN_TOKEN", "x")],
        )
        .unwrap_err();
        assert!(e.0.contains("HOOKD_ADMIN_TOKEN_FILE"), "{e}");
        // A value in the file and a file in the environment: refused too, for both secrets.
        let e = load(
            "[auth]\nadmin_token = \"from-file\"\n",
            &[("HOOKD_ADMIN_TOKEN_FILE", p)],
        )
        .unwrap_err();
        assert!(
            e.0.contains("auth.admin_token") && e.0.contains("HOOKD_ADMIN_TOKEN_FILE"),
            "{e}"
        );
        let e = load(
            "[notifications]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
            &[("HOOKD_NOTIFICATIONS_SECRET_FILE", p)],
        )
        .unwrap_err();
        assert!(
            e.0.contains("notifications.secret") && e.0.contains("HOOKD_NOTIFICATIONS_SECRET_FILE"),
            "{e}"
        );
        let e = load(
            "",
            &[
                ("HOOKD_NOTIFICATIONS_SECRET_FILE", p),
                ("HOOKD_NOTIFICATIONS_SECRET", "x"),
            ],
        )
        .unwrap_err();
        assert!(e.0.contains("HOOKD_NOTIFICATIONS_SECRET_FILE"), "{e}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = load("", &[("HOOKD_ADMIN_TOKEN", "very-secret-value")]).unwrap();
        assert!(!format!("{c:?}").contains("very-secret-value"));
    }

    #[test]
    fn the_backend_is_chosen_by_file_or_environment() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Redb);
        assert_eq!(c.postgres.pool_size, 16);
        assert_eq!(c.postgres.lease, Duration::from_secs(30));
        let c = load(
            "[storage]\nbackend = \"postgres\"\n[postgres]\nurl = \"postgres://h/db\"\npool_size = 4\nlease = \"10s\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Postgres);
        assert_eq!(c.postgres.url.as_deref(), Some("postgres://h/db"));
        assert_eq!(c.postgres.pool_size, 4);
        assert_eq!(c.postgres.lease, Duration::from_secs(10));
        let c = load(
            "",
            &[
                ("HOOKD_STORAGE_BACKEND", "postgres"),
                ("HOOKD_POSTGRES_URL", "postgres://env/db"),
            ],
        )
        .unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Postgres);
        assert_eq!(c.postgres.url.as_deref(), Some("postgres://env/db"));
        let e = load("[storage]\nbackend = \"mysql\"\n", &[]).unwrap_err();
        assert!(e.0.contains("storage.backend"), "{e}");
        let e = load("", &[("HOOKD_STORAGE_BACKEND", "mysql")]).unwrap_err();
        assert!(e.0.contains("HOOKD_STORAGE_BACKEND"), "{e}");
        let e = load("[postgres]\npool_size = 0\n", &[]).unwrap_err();
        assert!(e.0.contains("postgres.pool_size"), "{e}");
        let e = load("[postgres]\nlease = \"soon\"\n", &[]).unwrap_err();
        assert!(e.0.contains("postgres.lease"), "{e}");
    }

    #[test]
    fn postgres_without_a_url_is_refused_naming_the_key() {
        let e = load("[storage]\nbackend = \"postgres\"\n", &[]).unwrap_err();
        assert!(e.0.contains("postgres.url"), "{e}");
        let e = load("", &[("HOOKD_STORAGE_BACKEND", "postgres")]).unwrap_err();
        assert!(e.0.contains("postgres.url"), "{e}");
    }

    #[test]
    fn the_postgres_url_is_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("url");
        std::fs::write(&path, "postgres://hookd:from-file@db/hookd\n").unwrap();
        let p = path.to_str().unwrap();
        let c = load("", &[("HOOKD_POSTGRES_URL_FILE", p)]).unwrap();
        assert_eq!(
            c.postgres.url.as_deref(),
            Some("postgres://hookd:from-file@db/hookd")
        );
        let e = load(
            "",
            &[
                ("HOOKD_POSTGRES_URL_FILE", p),
                ("HOOKD_POSTGRES_URL", "postgres://x/y"),
            ],
        )
        .unwrap_err();
        assert!(e.0.contains("HOOKD_POSTGRES_URL_FILE"), "{e}");
        let e = load(
            "[postgres]\nurl = \"postgres://a:b@c/d\"\n",
            &[("HOOKD_POSTGRES_URL_FILE", p)],
        )
        .unwrap_err();
        assert!(
            e.0.contains("postgres.url") && e.0.contains("HOOKD_POSTGRES_URL_FILE"),
            "{e}"
        );
        let c = load(
            "[postgres]\nurl = \"postgres://hookd:s3cr3t-pw@db:5432/hookd?sslmode=require&password=other-pw\"\n",
            &[],
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cr3t-pw"), "{debug}");
        assert!(!debug.contains("other-pw"), "{debug}");
        assert!(
            debug.contains("postgres://hookd:***@db:5432/hookd"),
            "{debug}"
        );
        assert_eq!(
            redact_url_password("postgres://u@h/d"),
            "postgres://u@h/d",
            "nothing to hide"
        );
    }

    #[test]
    fn ca_file_is_read_at_start_up_naming_the_key() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.delivery.ca_file, None);
        assert!(c.delivery.load_extra_roots().unwrap().is_empty());
        let c = load("[delivery]\nca_file = \"\"\n", &[]).unwrap();
        assert_eq!(c.delivery.ca_file, None);

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let c = load(&format!("[delivery]\nca_file = {:?}\n", missing), &[]).unwrap();
        let e = c.delivery.load_extra_roots().unwrap_err();
        assert!(e.0.starts_with("delivery.ca_file: cannot read"), "{e}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let c = load(&format!("[delivery]\nca_file = {:?}\n", garbage), &[]).unwrap();
        let e = c.delivery.load_extra_roots().unwrap_err();
        assert!(e.0.starts_with("delivery.ca_file:"), "{e}");

        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.pem()).unwrap();
        let c = load(&format!("[delivery]\nca_file = {:?}\n", good), &[]).unwrap();
        let roots = c.delivery.load_extra_roots().unwrap();
        assert_eq!(roots, vec![ca.der().clone()]);

        let e = load("[delivery]\nca_file = 5\n", &[]).unwrap_err();
        assert!(e.0.contains("delivery.ca_file"), "{e}");
    }
}
