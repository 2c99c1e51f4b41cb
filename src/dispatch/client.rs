//! The outbound HTTP client: makes one delivery attempt and classifies its outcome.
//!
//! Why a small client of our own over `hyper::client::conn::http1` rather than a general one:
//!
//! - **SSRF at connect time.** Every address a host resolves to is judged by
//!   [`crate::target::is_forbidden`] before any connection is made, and the connection goes only
//!   to the addresses that were judged: nothing resolves the name a second time, so DNS
//!   rebinding cannot slip a private address in between check and use.
//! - **Precise outcomes.** Each phase (resolve, TCP connect, TLS handshake, exchange) is ours,
//!   so a failure maps to exactly one of the outcomes of docs/delivery.md ("Outcome of an
//!   attempt").
//! - **Bounded everything.** `connect_timeout` bounds TCP connect plus TLS handshake,
//!   `timeout` bounds the whole exchange, at most [`MAX_RESPONSE_READ`] bytes of a response
//!   body are read and [`MAX_RESPONSE_KEPT`] kept. 3xx is never followed.
//! - **One keep-alive pool** shared by all deliveries, returning a connection to the pool
//!   before [`DeliveryClient::send`] returns, so reuse is deterministic.
//!
//! HTTPS uses rustls with the `ring` provider and the webpki (Mozilla) trust roots plus any
//! extra roots given ([`TlsOptions`], `delivery.ca_file`), configured per client: nothing
//! process-global is installed. Only HTTP/1.1 is spoken.
//!
//! A request may present a client certificate ([`ClientIdentity`], mTLS). Pooled connections
//! are keyed by the identity they were made with as well as by origin, so a connection that
//! authenticated as one webhook is never reused for another identity or for none.
//!
//! Besides delivery attempts, [`DeliveryClient::post_and_read`] sends a POST whose answer the
//! caller needs (the OAuth2 token request) under exactly the same rules.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio_rustls::TlsConnector;

use crate::receivers::pem::ClientCertificate;
use crate::target::{is_forbidden, literal_ip};

/// The most bytes of a response body hookd reads; the rest is never read and the connection
/// is dropped, so a hostile receiver cannot make hookd download without bound.
pub const MAX_RESPONSE_READ: usize = 64 * 1024;
/// The most bytes of a response body kept in [`AttemptResult::response_body`].
pub const MAX_RESPONSE_KEPT: usize = 1024;
/// The longest wait a `Retry-After` can ask for; more is capped, so a receiver cannot park a
/// delivery for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long an idle keep-alive connection stays in the pool.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// The most idle connections kept per origin (scheme, host, port).
const POOL_MAX_IDLE_PER_ORIGIN: usize = 32;
/// How often the whole pool is swept of expired or closed connections.
const POOL_SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// hyper's read buffer limit: bounds what one socket read can pull in beyond what the body
/// reader consumed (the smallest hyper allows is 8 KiB).
const READ_BUFFER_MAX: usize = 64 * 1024;

/// Request headers the client owns: framing and connection management are hyper's and ours,
/// and a custom header must not be able to break them (`content-length`, `host`), or change
/// how the exchange runs (`expect`, `upgrade`). `content-type` and `user-agent` are set by the
/// client itself.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-type",
    "user-agent",
];

/// How the delivery client behaves; from `[delivery]` in the configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bounds the whole exchange: connect, send, response headers and reading the body.
    pub timeout: Duration,
    /// Bounds the TCP connect plus the TLS handshake of a new connection.
    pub connect_timeout: Duration,
    /// Whether targets may resolve to loopback, private and similar addresses (tests,
    /// intranets). Off, such attempts are [`Outcome::Blocked`] without connecting.
    pub allow_private_targets: bool,
    /// The `user-agent` sent with every attempt.
    pub user_agent: String,
}

impl Default for ClientConfig {
    /// hookd's defaults (`config.example.toml`): 15 s for the exchange, 5 s to connect, public
    /// targets only.
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            allow_private_targets: false,
            user_agent: format!("hookd/{}", crate::VERSION),
        }
    }
}

/// Trust settings beyond [`ClientConfig`]: extra root certificates (`delivery.ca_file`),
/// trusted for receivers and token URLs in addition to the webpki roots.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// A client certificate to present in the TLS handshake (a webhook's mTLS `auth`).
///
/// Connections made with it are pooled under its id, the SHA-256 of its certificate chain: two
/// webhooks with the very same certificate share connections, any other never does.
#[derive(Clone)]
pub struct ClientIdentity {
    id: [u8; 32],
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The identity of a checked certificate and key (see
    /// [`parse_client_certificate`](crate::receivers::pem::parse_client_certificate)).
    pub fn new(certificate: &ClientCertificate) -> ClientIdentity {
        let mut hash = Sha256::new();
        for certificate in &certificate.certified_key.cert {
            hash.update((certificate.as_ref().len() as u64).to_be_bytes());
            hash.update(certificate.as_ref());
        }
        ClientIdentity {
            id: hash.finalize().into(),
            key: certificate.certified_key.clone(),
        }
    }
}

/// Presents one fixed certificate to every server that asks.
#[derive(Debug)]
struct FixedClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// How one request differs from a plain delivery attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions<'a> {
    /// A client certificate to present (https only; with http the request fails as
    /// [`Outcome::TlsError`] without connecting).
    pub identity: Option<&'a ClientIdentity>,
    /// The `content-type` of the body; `application/json` when `None` (a body template may
    /// set another).
    pub content_type: Option<&'a str>,
}

/// What came back from [`DeliveryClient::post_and_read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The body, at most the `max_body` asked for.
    pub body: Vec<u8>,
    /// Whether the body was longer than `max_body` (then `body` is its beginning).
    pub truncated: bool,
}

/// Why [`DeliveryClient::post_and_read`] got no answer: the outcome a delivery would have had
/// and a short description (never the URL or header values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub outcome: Outcome,
    pub error: String,
}

/// One delivery attempt to make. Deliberately not `Debug`: custom header values may be
/// credentials and must not end up in logs by accident.
#[derive(Clone)]
pub struct Attempt<'a> {
    /// The target `eventUrl` (`http://` or `https://`; the caller decides whether http is
    /// allowed).
    pub url: &'a str,
    /// All request headers to send: the `webhook-*` set, `hookd-*` and the webhook's custom
    /// ones. Framing and connection headers among them are ignored (see the module docs);
    /// `content-type` and `user-agent` are always the client's.
    pub headers: &'a [(String, String)],
    /// The exact signed body.
    pub body: Bytes,
}

pub use crate::records::Outcome;

/// Everything the scheduler needs to record an attempt and plan the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// How the attempt ended.
    pub outcome: Outcome,
    /// The response status, when a response head arrived.
    pub status_code: Option<u16>,
    /// The first [`MAX_RESPONSE_KEPT`] bytes of the response body as lossy UTF-8; `None` when
    /// there was no response or its body was empty.
    pub response_body: Option<String>,
    /// A short human description of a failure (never the URL, which may hold credentials in
    /// its query, nor header values); `None` on success.
    pub error: Option<String>,
    /// Wall time of the attempt.
    pub duration_ms: u64,
    /// From `Retry-After` (seconds or an HTTP date) on a 429 or 503 only, capped at
    /// [`MAX_RETRY_AFTER`]: the next attempt must not come earlier.
    pub retry_after: Option<Duration>,
    /// The receiver answered `410 Gone`: it is gone for good and the webhook is deactivated.
    pub gone: bool,
}

/// The delivery HTTP client. Cheap to clone: all clones share one keep-alive connection pool
/// (for all origins) and one TLS configuration.
#[derive(Clone)]
pub struct DeliveryClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DeliveryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: ClientConfig,
    /// The trust roots: webpki's and the extra ones.
    roots: Arc<RootCertStore>,
    /// The TLS connector without a client certificate, or why none could be built (then
    /// every https attempt is a TLS error rather than a panic at start-up).
    tls: Result<TlsConnector, String>,
    pool: Mutex<Pool>,
}

/// A failed attempt before any response: its outcome and words.
#[derive(Debug)]
struct Failure {
    outcome: Outcome,
    error: String,
}

impl Failure {
    fn new(outcome: Outcome, error: impl Into<String>) -> Self {
        Failure {
            outcome,
            error: error.into(),
        }
    }
}

/// Where a connection goes, and as whom: the pool key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    tls: bool,
    /// Lower-case, IPv6 brackets removed.
    host: String,
    port: u16,
    /// The client certificate's id ([`ClientIdentity`]), if one was presented.
    identity: Option<[u8; 32]>,
}

/// A parsed target URL.
struct Target {
    origin: Origin,
    /// The `host` header: the URL's authority as written.
    host_header: HeaderValue,
    /// Origin-form request target (`/path?query`).
    path: Uri,
}

/// A live HTTP/1.1 connection: the sender half and the task driving the socket. Dropping it
/// aborts the task, which closes the socket at once (used when a body was left unread).
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: AbortHandle,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// What came back from an exchange that produced a response.
struct Exchanged {
    status: StatusCode,
    retry_after: Option<HeaderValue>,
    kept: Vec<u8>,
    /// Whether the body was read to its end.
    complete: bool,
    /// The connection, when its response was read to the end and it may be reused.
    reusable: Option<Conn>,
}

/// Counters for tests.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    /// Response body bytes consumed from the connection.
    body_bytes_read: usize,
}

impl DeliveryClient {
    /// Builds a client. Nothing is connected until the first [`send`](Self::send); the TLS
    /// configuration is built here, explicitly with the `ring` provider, so no process-wide
    /// default provider is installed (installing one twice would panic).
    pub fn new(config: ClientConfig) -> Self {
        // Without extra roots there is nothing that can be refused.
        let roots = Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
        DeliveryClient::build(config, roots)
    }

    /// Builds a client that also trusts `tls.extra_roots`. Fails naming the first root that
    /// is not a usable trust anchor.
    pub fn with_tls(config: ClientConfig, tls: TlsOptions) -> Result<Self, String> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for (n, root) in tls.extra_roots.into_iter().enumerate() {
            roots
                .add(root)
                .map_err(|e| format!("extra root certificate {} is not usable: {e}", n + 1))?;
        }
        Ok(DeliveryClient::build(config, Arc::new(roots)))
    }

    fn build(config: ClientConfig, roots: Arc<RootCertStore>) -> Self {
        DeliveryClient {
            inner: Arc::new(Inner {
                config,
                tls: tls_connector(&roots, None),
                roots,
                pool: Mutex::new(Pool::default()),
            }),
        }
    }

    /// The configuration this client was built with.
    #[cfg(test)]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Makes one attempt: POSTs the body with the given headers and classifies what happened.
    ///
    /// Never panics on anything the network does; every failure is an [`Outcome`].
    pub async fn send(&self, attempt: Attempt<'_>) -> AttemptResult {
        self.send_with_stats(attempt, &SendOptions::default())
            .await
            .0
    }

    /// [`send`](Self::send) with a client certificate or another content type.
    pub async fn send_with(
        &self,
        attempt: Attempt<'_>,
        options: &SendOptions<'_>,
    ) -> AttemptResult {
        self.send_with_stats(attempt, options).await.0
    }

    /// POSTs `body` with `content_type` and reads at most `max_body` bytes of the answer
    /// (capped at [`MAX_RESPONSE_READ`]), under every rule of a delivery attempt: SSRF check
    /// at connect time, `connect_timeout`, `timeout` for the whole exchange, no redirects.
    /// Whether http is allowed is the caller's decision.
    pub async fn post_and_read(
        &self,
        url: &str,
        headers: &[(String, String)],
        content_type: &str,
        body: Bytes,
        max_body: usize,
    ) -> Result<Answer, SendFailure> {
        let options = SendOptions {
            identity: None,
            content_type: Some(content_type),
        };
        let keep = max_body.min(MAX_RESPONSE_READ);
        let mut stats = Stats::default();
        match self
            .perform(url, headers, body, &options, keep, &mut stats)
            .await
        {
            Ok(exchanged) => Ok(Answer {
                status: exchanged.status.as_u16(),
                // More was read than kept, or the body did not end where reading stopped.
                truncated: !exchanged.complete || exchanged.kept.len() < stats.body_bytes_read,
                body: exchanged.kept,
            }),
            Err(failure) => Err(SendFailure {
                outcome: failure.outcome,
                error: failure.error,
            }),
        }
    }

    /// Sends one POST and reads its response under the overall deadline, keeping at most
    /// `keep` bytes of the body; returns a fully read connection to the pool.
    async fn perform(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
        options: &SendOptions<'_>,
        keep: usize,
        stats: &mut Stats,
    ) -> Result<Exchanged, Failure> {
        let deadline = tokio::time::Instant::now() + self.inner.config.timeout;
        let mut target = parse_target(url)?;
        if let Some(identity) = options.identity {
            if !target.origin.tls {
                return Err(Failure::new(
                    Outcome::TlsError,
                    "a client certificate needs an https:// URL",
                ));
            }
            target.origin.identity = Some(identity.id);
        }
        let request = self.build_request(&target, headers, body, options.content_type)?;
        let exchange = self.exchange(&target, request, options.identity, keep, stats);
        match tokio::time::timeout_at(deadline, exchange).await {
            Err(_elapsed) => Err(Failure::new(
                Outcome::Timeout,
                format!(
                    "no complete response within {} ms",
                    self.inner.config.timeout.as_millis()
                ),
            )),
            Ok(Err(failure)) => Err(failure),
            Ok(Ok(mut exchanged)) => {
                if let Some(mut conn) = exchanged.reusable.take() {
                    // The dispatcher goes idle right after the last body frame; waiting for it
                    // here (not in a spawned task) makes reuse deterministic. A connection the
                    // server closes (`connection: close`) is dropped.
                    if let Ok(Ok(())) = tokio::time::timeout_at(deadline, conn.sender.ready()).await
                    {
                        self.checkin(target.origin, conn);
                    }
                }
                Ok(exchanged)
            }
        }
    }

    async fn send_with_stats(
        &self,
        attempt: Attempt<'_>,
        options: &SendOptions<'_>,
    ) -> (AttemptResult, Stats) {
        let started = Instant::now();
        let mut stats = Stats::default();
        let outcome = self
            .perform(
                attempt.url,
                attempt.headers,
                attempt.body,
                options,
                MAX_RESPONSE_KEPT,
                &mut stats,
            )
            .await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let result = match outcome {
            Err(failure) => AttemptResult {
                outcome: failure.outcome,
                status_code: None,
                response_body: None,
                error: Some(failure.error),
                duration_ms,
                retry_after: None,
                gone: false,
            },
            Ok(exchanged) => {
                let status = exchanged.status;
                let success = status.is_success();
                let retry_after = if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE
                {
                    exchanged
                        .retry_after
                        .as_ref()
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                } else {
                    None
                };
                AttemptResult {
                    outcome: if success {
                        Outcome::Success
                    } else {
                        Outcome::HttpError
                    },
                    status_code: Some(status.as_u16()),
                    response_body: lossy_text(&exchanged.kept),
                    error: (!success).then(|| describe_status(status)),
                    duration_ms,
                    retry_after,
                    gone: status == StatusCode::GONE,
                }
            }
        };
        (result, stats)
    }

    /// The POST to send: the caller's headers minus the reserved ones, then the client's own.
    fn build_request(
        &self,
        target: &Target,
        headers: &[(String, String)],
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<Request<Full<Bytes>>, Failure> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target.path.clone();
        let map = request.headers_mut();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Failure::new(
                    Outcome::ConnectError,
                    format!("request not sent: invalid header name {name:?}"),
                )
            })?;
            if RESERVED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            // The value may be a credential: name only the header.
            let value = HeaderValue::from_str(value).map_err(|_| {
                Failure::new(
                    Outcome::ConnectError,
                    format!("request not sent: invalid value for header {name}"),
                )
            })?;
            map.append(name, value);
        }
        map.insert(header::HOST, target.host_header.clone());
        let content_type = match content_type {
            None => HeaderValue::from_static("application/json"),
            Some(value) => HeaderValue::from_str(value).map_err(|_| {
                Failure::new(
                    Outcome::ConnectError,
                    "request not sent: invalid content type",
                )
            })?,
        };
        map.insert(header::CONTENT_TYPE, content_type);
        let user_agent = HeaderValue::from_str(&self.inner.config.user_agent)
            .unwrap_or_else(|_| HeaderValue::from_static("hookd"));
        map.insert(header::USER_AGENT, user_agent);
        Ok(request)
    }

    /// Sends the request on a pooled connection if one is alive, else on a new one, and reads
    /// the response. Runs under the attempt's overall deadline.
    async fn exchange(
        &self,
        target: &Target,
        mut request: Request<Full<Bytes>>,
        identity: Option<&ClientIdentity>,
        keep: usize,
        stats: &mut Stats,
    ) -> Result<Exchanged, Failure> {
        while let Some(mut conn) = self.checkout(&target.origin) {
            match conn.sender.try_send_request(request).await {
                Ok(response) => return Ok(read_response(response, conn, keep, stats).await),
                Err(mut e) => match e.take_message() {
                    // The pooled connection died before the request went out: nothing was
                    // sent, so trying another connection cannot duplicate the delivery.
                    Some(unsent) => request = unsent,
                    None => return Err(classify_exchange_error(e.error())),
                },
            }
        }
        let mut conn = self.connect(&target.origin, identity).await?;
        match conn.sender.send_request(request).await {
            Ok(response) => Ok(read_response(response, conn, keep, stats).await),
            Err(e) => Err(classify_exchange_error(&e)),
        }
    }

    /// Opens a new connection: resolve, judge every address, then TCP (+ TLS) to those
    /// addresses only.
    async fn connect(
        &self,
        origin: &Origin,
        identity: Option<&ClientIdentity>,
    ) -> Result<Conn, Failure> {
        let config = &self.inner.config;
        let addrs = resolve(origin, config.connect_timeout).await?;
        if !config.allow_private_targets
            && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip()))
        {
            return Err(Failure::new(
                Outcome::Blocked,
                format!(
                    "{} resolves to a forbidden address ({}); private targets are not allowed",
                    origin.host,
                    bad.ip()
                ),
            ));
        }
        let establish = self.establish(origin, identity, &addrs);
        match tokio::time::timeout(config.connect_timeout, establish).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Failure::new(
                Outcome::ConnectError,
                format!(
                    "could not connect to {} within {} ms",
                    origin.host,
                    config.connect_timeout.as_millis()
                ),
            )),
        }
    }

    /// TCP connect to the first address that accepts, then the TLS handshake for https, then
    /// the HTTP/1.1 connection with its driver task.
    async fn establish(
        &self,
        origin: &Origin,
        identity: Option<&ClientIdentity>,
        addrs: &[SocketAddr],
    ) -> Result<Conn, Failure> {
        let mut last_error = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last_error = Some(format!("connecting to {addr} failed: {e}")),
            }
        }
        let Some(tcp) = tcp else {
            return Err(Failure::new(
                Outcome::ConnectError,
                last_error.unwrap_or_else(|| format!("{} has no address", origin.host)),
            ));
        };
        // Small requests, latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        if !origin.tls {
            return handshake_http(TokioIo::new(tcp)).await;
        }
        let connector = match identity {
            None => self.inner.tls.clone(),
            // A connector of its own: cheap (the roots are shared), and its session cache is
            // this identity's alone.
            Some(identity) => tls_connector(&self.inner.roots, Some(identity)),
        }
        .map_err(|e| Failure::new(Outcome::TlsError, e))?;
        let server_name = ServerName::try_from(origin.host.clone()).map_err(|_| {
            Failure::new(
                Outcome::TlsError,
                format!("{} is not a valid TLS server name", origin.host),
            )
        })?;
        // Any failure during the handshake is a TLS failure, whatever its cause (a reset, a
        // peer that answers in plain HTTP, a bad certificate): docs/delivery.md's rule.
        let tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| Failure::new(Outcome::TlsError, format!("TLS handshake failed: {e}")))?;
        handshake_http(TokioIo::new(tls)).await
    }

    fn lock_pool(&self) -> MutexGuard<'_, Pool> {
        // The pool holds no invariant a panic elsewhere could break: keep using it.
        self.inner.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used live idle connection to `origin`, if any.
    fn checkout(&self, origin: &Origin) -> Option<Conn> {
        let mut pool = self.lock_pool();
        let idle = pool.idle.get_mut(origin)?;
        let mut found = None;
        while let Some(entry) = idle.pop() {
            if entry.is_usable(Instant::now()) {
                found = Some(entry.conn);
                break;
            }
        }
        if idle.is_empty() {
            pool.idle.remove(origin);
        }
        found
    }

    /// Puts a connection whose response was read to the end back in the pool.
    fn checkin(&self, origin: Origin, conn: Conn) {
        let now = Instant::now();
        let mut pool = self.lock_pool();
        if now.duration_since(pool.last_sweep) >= POOL_SWEEP_INTERVAL {
            pool.sweep(now);
        }
        let idle = pool.idle.entry(origin).or_default();
        if idle.len() >= POOL_MAX_IDLE_PER_ORIGIN {
            idle.remove(0);
        }
        idle.push(Idle { conn, since: now });
    }
}

/// Idle keep-alive connections by origin, most recently used last.
struct Pool {
    idle: HashMap<Origin, Vec<Idle>>,
    last_sweep: Instant,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            idle: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }
}

impl Pool {
    /// Drops expired and closed connections of every origin, so origins no longer delivered
    /// to do not keep sockets open.
    fn sweep(&mut self, now: Instant) {
        self.idle.retain(|_, idle| {
            idle.retain(|entry| entry.is_usable(now));
            !idle.is_empty()
        });
        self.last_sweep = now;
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

impl Idle {
    fn is_usable(&self, now: Instant) -> bool {
        now.duration_since(self.since) < POOL_IDLE_TIMEOUT
            && !self.conn.sender.is_closed()
            && self.conn.sender.is_ready()
    }
}

/// A rustls connector: `ring` provider, the given roots, HTTP/1.1 by ALPN, and the client
/// certificate when there is one.
fn tls_connector(
    roots: &Arc<RootCertStore>,
    identity: Option<&ClientIdentity>,
) -> Result<TlsConnector, String> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS is unavailable: {e}"))?
    .with_root_certificates(roots.clone());
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            builder.with_client_cert_resolver(Arc::new(FixedClientCert(identity.key.clone())))
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Splits a target URL into origin, `host` header and request path.
fn parse_target(url: &str) -> Result<Target, Failure> {
    let invalid = |why: &str| Failure::new(Outcome::ConnectError, format!("invalid URL: {why}"));
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("not an absolute http(s) URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(invalid("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid("credentials in URLs are not sent"));
    }
    let raw_host = authority.host();
    if raw_host.is_empty() {
        return Err(invalid("no host"));
    }
    let host = raw_host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(raw_host)
        .to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host_header = HeaderValue::from_str(authority.as_str()).map_err(|_| invalid("bad host"))?;
    let path = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| !pq.is_empty())
        .unwrap_or("/")
        .parse()
        .map_err(|_| invalid("bad path"))?;
    Ok(Target {
        origin: Origin {
            tls,
            host,
            port,
            identity: None,
        },
        host_header,
        path,
    })
}

/// The addresses to connect to: the literal one, or what the resolver returns (once; these
/// exact addresses are then judged and used).
async fn resolve(origin: &Origin, limit: Duration) -> Result<Vec<SocketAddr>, Failure> {
    if let Some(ip) = literal_ip(&origin.host) {
        return Ok(vec![SocketAddr::new(ip, origin.port)]);
    }
    let lookup = tokio::net::lookup_host((origin.host.as_str(), origin.port));
    match tokio::time::timeout(limit, lookup).await {
        Err(_elapsed) => Err(Failure::new(
            Outcome::DnsError,
            format!(
                "resolving {} took longer than {} ms",
                origin.host,
                limit.as_millis()
            ),
        )),
        Ok(Err(e)) => Err(Failure::new(
            Outcome::DnsError,
            format!("could not resolve {}: {e}", origin.host),
        )),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Failure::new(
                    Outcome::DnsError,
                    format!("{} resolves to no address", origin.host),
                ))
            } else {
                Ok(addrs)
            }
        }
    }
}

/// Starts HTTP/1.1 on an established stream and spawns the task that drives it.
async fn handshake_http<T>(io: T) -> Result<Conn, Failure>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .max_buf_size(READ_BUFFER_MAX)
        .handshake(io)
        .await
        .map_err(|e| Failure::new(Outcome::ConnectError, format!("HTTP setup failed: {e}")))?;
    let driver = tokio::spawn(async move {
        // Errors surface through the request future; nothing to do with them here.
        let _ = connection.await;
    })
    .abort_handle();
    Ok(Conn { sender, driver })
}

/// Reads at most [`MAX_RESPONSE_READ`] bytes of the body, keeping `keep` of them.
///
/// A body that fails midway after the status arrived does not change the outcome: the
/// receiver has already answered. A connection whose body was not read to its end is not
/// reused (dropping it closes the socket).
async fn read_response(
    response: Response<Incoming>,
    conn: Conn,
    keep: usize,
    stats: &mut Stats,
) -> Exchanged {
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut body = response.into_body();
    let mut kept = Vec::new();
    let mut complete = body.is_end_stream();
    while !complete && stats.body_bytes_read < MAX_RESPONSE_READ {
        match body.frame().await {
            None => complete = true,
            Some(Err(_)) => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    stats.body_bytes_read += data.len();
                    let room = keep.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
                complete = body.is_end_stream();
            }
        }
    }
    drop(body);
    Exchanged {
        status,
        retry_after,
        kept,
        complete,
        reusable: complete.then_some(conn),
    }
}

/// Maps an error of the exchange (after the connection was made) to an outcome.
fn classify_exchange_error(error: &hyper::Error) -> Failure {
    // With TLS 1.3 a server judges the client certificate after the client's side of the
    // handshake is done, so its refusal (an alert) arrives while the request is under way:
    // still a TLS failure, not a lost connection.
    if let Some(tls) = tls_error_in(error) {
        return Failure::new(Outcome::TlsError, format!("TLS failed: {tls}"));
    }
    if error.is_parse() || error.is_parse_status() || error.is_parse_too_large() {
        return Failure::new(
            Outcome::InvalidResponse,
            format!("invalid HTTP response: {error}"),
        );
    }
    if error.is_incomplete_message() {
        return Failure::new(
            Outcome::InvalidResponse,
            "the connection closed before a complete response",
        );
    }
    let mut text = error.to_string();
    if let Some(source) = std::error::Error::source(error) {
        text = format!("{text}: {source}");
    }
    Failure::new(Outcome::ConnectError, format!("connection lost: {text}"))
}

/// The rustls error somewhere in an error's chain of sources, if any.
fn tls_error_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// `HTTP 503 Service Unavailable`.
fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The kept body as text: lossy UTF-8, without a trailing character cut in half by the limit.
fn lossy_text(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let bytes = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Parses `Retry-After`: delay seconds or an HTTP date, relative to `now`, capped at
/// [`MAX_RETRY_AFTER`]. A date in the past means "now" (zero).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: a number too large for u64 is still "longer than the cap".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let wait = when.duration_since(now).unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hyper::server::conn::http1 as server_http1;
    use hyper::service::service_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    /// A request as a test server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: Method,
        path: String,
        headers: hyper::HeaderMap,
        body: Bytes,
    }

    struct TestServer {
        addr: SocketAddr,
        accepted: Arc<AtomicUsize>,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl TestServer {
        fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }
        fn accepted(&self) -> usize {
            self.accepted.load(Ordering::SeqCst)
        }
    }

    /// A real hyper HTTP/1.1 server on 127.0.0.1 answering every request with `respond`.
    async fn http_server(
        respond: impl Fn() -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond = Arc::new(respond);
        let (a, s) = (accepted.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, Ordering::SeqCst);
                let (respond, seen) = (respond.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (respond, seen) = (respond.clone(), seen.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            seen.lock().unwrap().push(Seen {
                                method: parts.method,
                                path: parts.uri.to_string(),
                                headers: parts.headers,
                                body,
                            });
                            Ok::<_, Infallible>(respond())
                        }
                    });
                    let _ = server_http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            accepted,
            seen,
        }
    }

    fn response(
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(body.into()));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        for (name, value) in headers {
            response.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        response
    }

    /// Reads one request head and its content-length body from a raw stream.
    async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return buf;
                }
            }
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                return buf;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A raw TCP server: for each connection, `handle` gets the stream.
    async fn raw_server<F, Fut>(handle: F) -> (SocketAddr, Arc<AtomicUsize>)
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let a = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handle(stream));
            }
        });
        (addr, accepted)
    }

    fn client() -> DeliveryClient {
        DeliveryClient::new(ClientConfig {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_private_targets: true,
            user_agent: "hookd/test".into(),
        })
    }

    fn client_with(
        timeout_ms: u64,
        connect_timeout_ms: u64,
        allow_private: bool,
    ) -> DeliveryClient {
        DeliveryClient::new(ClientConfig {
            timeout: Duration::from_millis(timeout_ms),
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            allow_private_targets: allow_private,
            user_agent: "hookd/test".into(),
        })
    }

    async fn post(client: &DeliveryClient, url: &str) -> AttemptResult {
        client
            .send(Attempt {
                url,
                headers: &[],
                body: Bytes::from_static(b"{}"),
            })
            .await
    }

    #[tokio::test]
    async fn success_sends_headers_and_body_and_keeps_1_kib() {
        // 1 + 2000 bytes: the 1 KiB cut falls inside a two-byte character, which is dropped.
        let big = format!("x{}", "é".repeat(1000));
        let server = http_server(move || response(200, &[], big.clone())).await;
        let headers = vec![
            ("webhook-id".to_string(), "evt_1".to_string()),
            ("webhook-timestamp".to_string(), "1614265330".to_string()),
            ("x-custom".to_string(), "yes".to_string()),
            ("content-length".to_string(), "1".to_string()),
            ("host".to_string(), "evil.example".to_string()),
            ("content-type".to_string(), "text/plain".to_string()),
        ];
        let body = Bytes::from_static(br#"{"id":"evt_1","type":"booking.created"}"#);
        let result = client()
            .send(Attempt {
                url: &server.url("/hook?a=1"),
                headers: &headers,
                body: body.clone(),
            })
            .await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        assert_eq!(result.status_code, Some(200));
        assert_eq!(result.error, None);
        assert_eq!(result.retry_after, None);
        assert!(!result.gone);
        let kept = result.response_body.unwrap();
        assert_eq!(kept, format!("x{}", "é".repeat(511)));
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let seen = &seen[0];
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.path, "/hook?a=1");
        assert_eq!(seen.body, body);
        let h = |n: &str| seen.headers.get(n).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(h("content-type").as_deref(), Some("application/json"));
        assert_eq!(h("user-agent").as_deref(), Some("hookd/test"));
        assert_eq!(h("webhook-id").as_deref(), Some("evt_1"));
        assert_eq!(h("webhook-timestamp").as_deref(), Some("1614265330"));
        assert_eq!(h("x-custom").as_deref(), Some("yes"));
        assert_eq!(h("host"), Some(server.addr.to_string()));
        assert_eq!(h("content-length"), Some(body.len().to_string()));
    }

    #[tokio::test]
    async fn ascii_body_is_truncated_to_exactly_1_kib() {
        let server = http_server(|| response(201, &[], "a".repeat(5000))).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::Success);
        assert_eq!(result.status_code, Some(201));
        assert_eq!(result.response_body, Some("a".repeat(MAX_RESPONSE_KEPT)));
    }

    #[tokio::test]
    async fn server_error_is_http_error_with_status() {
        let server = http_server(|| response(500, &[], "boom")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::HttpError);
        assert_eq!(result.status_code, Some(500));
        assert_eq!(result.response_body.as_deref(), Some("boom"));
        assert_eq!(
            result.error.as_deref(),
            Some("HTTP 500 Internal Server Error")
        );
        assert_eq!(result.retry_after, None);
        assert!(!result.gone);
    }

    #[tokio::test]
    async fn redirect_is_not_followed() {
        let target = http_server(|| response(200, &[], "")).await;
        let location = target.url("/elsewhere");
        let server = http_server(move || response(302, &[("location", &location)], "")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::HttpError);
        assert_eq!(result.status_code, Some(302));
        assert_eq!(result.response_body, None);
        assert_eq!(server.accepted(), 1);
        assert_eq!(target.accepted(), 0, "the redirect must not be followed");
    }

    #[tokio::test]
    async fn retry_after_seconds_on_429() {
        let server = http_server(|| response(429, &[("retry-after", "7")], "slow down")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::HttpError);
        assert_eq!(result.status_code, Some(429));
        assert_eq!(result.retry_after, Some(Duration::from_secs(7)));
    }

    #[tokio::test]
    async fn retry_after_http_date_on_503() {
        let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let server = http_server(move || response(503, &[("retry-after", &when)], "")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.status_code, Some(503));
        let wait = result.retry_after.expect("a date Retry-After is honoured");
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn retry_after_is_capped_and_ignored_on_other_statuses() {
        let server = http_server(|| response(429, &[("retry-after", "99999")], "")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.retry_after, Some(MAX_RETRY_AFTER));

        let server = http_server(|| response(500, &[("retry-after", "7")], "")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::HttpError);
        assert_eq!(result.retry_after, None);
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = |offset: i64| {
            httpdate::fmt_http_date(if offset >= 0 {
                now + Duration::from_secs(offset as u64)
            } else {
                now - Duration::from_secs((-offset) as u64)
            })
        };
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 30 ", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("3600", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after(&date(90), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse_retry_after(&date(-90), now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&date(86_400), now), Some(MAX_RETRY_AFTER));
        for bad in ["", "-5", "1.5", "soon", "Wed, 99 Foo 2020"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn gone_is_flagged() {
        let server = http_server(|| response(410, &[], "bye")).await;
        let result = post(&client(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::HttpError);
        assert_eq!(result.status_code, Some(410));
        assert!(result.gone);
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let (addr, accepted) = raw_server(|mut stream| async move {
            read_request(&mut stream).await;
            // Never answer; hold the connection until the client gives up.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
        })
        .await;
        let started = Instant::now();
        let result = post(&client_with(300, 5000, true), &format!("http://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::Timeout, "{result:?}");
        assert_eq!(result.status_code, None);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(result.duration_ms >= 300);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn body_that_never_ends_times_out() {
        let (addr, _) = raw_server(|mut stream| async move {
            read_request(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf")
                .await;
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
        })
        .await;
        let result = post(&client_with(300, 5000, true), &format!("http://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::Timeout, "{result:?}");
    }

    #[tokio::test]
    async fn closed_port_is_connect_error() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let result = post(&client(), &format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(result.outcome, Outcome::ConnectError, "{result:?}");
        assert!(result.error.unwrap().contains("refused"));
    }

    #[tokio::test]
    async fn connect_that_hangs_is_connect_error_not_timeout() {
        // A listener with a full accept queue drops further SYNs: connect() hangs.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        let mut full = false;
        for _ in 0..16 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                _ => {
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "could not fill the accept queue");
        let result = post(&client_with(5000, 300, true), &format!("http://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::ConnectError, "{result:?}");
        assert!(result.error.unwrap().contains("within 300 ms"));
        drop(listener);
    }

    #[tokio::test]
    async fn garbage_is_invalid_response() {
        let (addr, _) = raw_server(|mut stream| async move {
            read_request(&mut stream).await;
            let _ = stream
                .write_all(b"\x00\x01 this is not HTTP at all\r\n\r\n")
                .await;
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
        })
        .await;
        let result = post(&client(), &format!("http://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::InvalidResponse, "{result:?}");
        assert_eq!(result.status_code, None);
    }

    #[tokio::test]
    async fn close_without_answer_is_invalid_response() {
        let (addr, _) = raw_server(|mut stream| async move {
            read_request(&mut stream).await;
            drop(stream);
        })
        .await;
        let result = post(&client(), &format!("http://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::InvalidResponse, "{result:?}");
    }

    #[tokio::test]
    async fn huge_body_is_read_only_up_to_64_kib_and_the_connection_dropped() {
        const SIZE: usize = 10 * 1024 * 1024;
        let (closed_tx, closed_rx) = oneshot::channel::<usize>();
        let closed_tx = Arc::new(Mutex::new(Some(closed_tx)));
        let (addr, _) = raw_server(move |mut stream| {
            let closed_tx = closed_tx.clone();
            async move {
                read_request(&mut stream).await;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {SIZE}\r\n\r\n");
                let mut written = 0;
                if stream.write_all(head.as_bytes()).await.is_ok() {
                    let chunk = vec![b'z'; 64 * 1024];
                    while written < SIZE {
                        if stream.write_all(&chunk).await.is_err() {
                            break;
                        }
                        written += chunk.len();
                    }
                }
                // Whether or not the kernel buffered everything, the client must have closed.
                let mut byte = [0u8; 1];
                let closed = matches!(stream.read(&mut byte).await, Ok(0) | Err(_));
                if let Some(tx) = closed_tx.lock().unwrap().take() {
                    let _ = tx.send(if closed { written } else { usize::MAX });
                }
            }
        })
        .await;
        let client = client();
        let (result, stats) = client
            .send_with_stats(
                Attempt {
                    url: &format!("http://{addr}/"),
                    headers: &[],
                    body: Bytes::from_static(b"{}"),
                },
                &SendOptions::default(),
            )
            .await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        assert_eq!(result.response_body, Some("z".repeat(MAX_RESPONSE_KEPT)));
        assert!(stats.body_bytes_read >= MAX_RESPONSE_READ);
        assert!(
            stats.body_bytes_read <= MAX_RESPONSE_READ + READ_BUFFER_MAX,
            "read {} bytes",
            stats.body_bytes_read
        );
        let written = tokio::time::timeout(Duration::from_secs(10), closed_rx)
            .await
            .expect("the client must drop the connection")
            .unwrap();
        assert_ne!(written, usize::MAX, "the connection was kept open");
        assert!(client.lock_pool().idle.is_empty());
    }

    #[tokio::test]
    async fn private_targets_are_blocked_without_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = client_with(2000, 1000, false);
        for url in [
            format!("http://localhost:{port}/"),
            format!("http://127.0.0.1:{port}/"),
            format!("https://127.0.0.1:{port}/"),
            format!("http://[::1]:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let result = post(&client, &url).await;
            assert_eq!(result.outcome, Outcome::Blocked, "{url}: {result:?}");
            assert!(result.error.unwrap().contains("forbidden"));
        }
        // A completed connect would be waiting in the accept queue by now.
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the blocked target was connected to: {other:?}"),
        }
    }

    #[tokio::test]
    async fn allow_private_targets_lets_localhost_through() {
        let server = http_server(|| response(204, &[], "")).await;
        let url = format!("http://localhost:{}/", server.addr.port());
        let result = post(&client_with(2000, 1000, true), &url).await;
        // localhost may resolve to ::1 first where nothing listens; 127.0.0.1 must then work.
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
    }

    #[tokio::test]
    async fn unresolvable_host_is_dns_error() {
        let result = post(
            &client_with(5000, 3000, false),
            "http://nonexistent.invalid/",
        )
        .await;
        assert_eq!(result.outcome, Outcome::DnsError, "{result:?}");
        assert!(result.error.unwrap().contains("nonexistent.invalid"));
    }

    #[tokio::test]
    async fn https_to_a_plain_server_is_tls_error() {
        let (addr, accepted) = raw_server(|mut stream| async move {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        })
        .await;
        let result = post(&client(), &format!("https://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        let (addr, _) = raw_server(|stream| async move { drop(stream) }).await;
        let result = post(&client(), &format!("https://{addr}/")).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
    }

    #[tokio::test]
    async fn keep_alive_reuses_one_connection() {
        let server = http_server(|| response(200, &[], "ok")).await;
        let client = client();
        for _ in 0..3 {
            let result = post(&client, &server.url("/")).await;
            assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        }
        assert_eq!(server.accepted(), 1);
        // Clones share the pool.
        let result = post(&client.clone(), &server.url("/")).await;
        assert_eq!(result.outcome, Outcome::Success);
        assert_eq!(server.accepted(), 1);
        assert_eq!(server.seen.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn connection_close_is_not_reused() {
        let server = http_server(|| response(200, &[("connection", "close")], "ok")).await;
        let client = client();
        for _ in 0..2 {
            let result = post(&client, &server.url("/")).await;
            assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        }
        assert_eq!(server.accepted(), 2);
    }

    #[tokio::test]
    async fn stale_pooled_connection_is_replaced_without_failing() {
        // Each connection answers one request, then the server closes it while it idles in
        // the pool: the next attempt must notice and use a fresh connection.
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (addr, accepted) = raw_server(move |mut stream| {
            let done_tx = done_tx.clone();
            async move {
                read_request(&mut stream).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                drop(stream);
                let _ = done_tx.send(());
            }
        })
        .await;
        let client = client();
        let url = format!("http://{addr}/");
        assert_eq!(post(&client, &url).await.outcome, Outcome::Success);
        done_rx.recv().await.unwrap();
        let result = post(&client, &url).await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn invalid_urls_and_headers_are_refused_before_connecting() {
        let client = client();
        for url in [
            "ftp://example.com/",
            "/relative",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            let result = post(&client, url).await;
            assert_eq!(result.outcome, Outcome::ConnectError, "{url}");
            assert!(!result.error.unwrap().contains("pw"));
        }
        let server = http_server(|| response(200, &[], "")).await;
        let headers = vec![("x-secret".to_string(), "line\nbreak".to_string())];
        let result = client
            .send(Attempt {
                url: &server.url("/"),
                headers: &headers,
                body: Bytes::new(),
            })
            .await;
        assert_eq!(result.outcome, Outcome::ConnectError);
        assert!(!result.error.unwrap().contains("line"));
        assert_eq!(server.accepted(), 0);
    }

    #[test]
    fn outcome_names() {
        let all = [
            (Outcome::Success, "success"),
            (Outcome::HttpError, "http_error"),
            (Outcome::Timeout, "timeout"),
            (Outcome::ConnectError, "connect_error"),
            (Outcome::TlsError, "tls_error"),
            (Outcome::DnsError, "dns_error"),
            (Outcome::Blocked, "blocked"),
            (Outcome::InvalidResponse, "invalid_response"),
        ];
        for (outcome, name) in all {
            assert_eq!(outcome.as_str(), name);
            assert_eq!(outcome.to_string(), name);
        }
    }

    #[test]
    fn lossy_text_drops_a_cut_character() {
        assert_eq!(lossy_text(b""), None);
        assert_eq!(lossy_text("aé".as_bytes()).as_deref(), Some("aé"));
        assert_eq!(lossy_text(&"aé".as_bytes()[..2]).as_deref(), Some("a"));
        assert_eq!(lossy_text(b"a\xffb").as_deref(), Some("a\u{fffd}b"));
    }

    #[test]
    fn client_builds_outside_a_runtime_twice() {
        // No process-global TLS provider is installed: building many clients is fine.
        let a = DeliveryClient::new(ClientConfig::default());
        let b = DeliveryClient::new(ClientConfig::default());
        assert!(a.inner.tls.is_ok() && b.inner.tls.is_ok());
        assert_eq!(a.config().user_agent, format!("hookd/{}", crate::VERSION));
    }

    /// A CA made for a test: its certificate (DER) and an issuer for leaf certificates.
    struct TestCa {
        der: CertificateDer<'static>,
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    }

    fn test_ca(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            der: cert.der().clone(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf certificate from `ca`: (certificate PEM, key PEM).
    fn leaf(
        ca: &TestCa,
        names: &[&str],
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![usage];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn identity(ca: &TestCa, name: &str) -> ClientIdentity {
        let (cert, key) = leaf(ca, &[name], rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        let now = crate::time::now_millis() / 1000;
        let parsed = crate::receivers::pem::parse_client_certificate(&cert, &key, now).unwrap();
        ClientIdentity::new(&parsed)
    }

    /// A real HTTPS server on 127.0.0.1 with a certificate from `server_ca`, requiring a
    /// client certificate from `client_ca` when given. Counts completed handshakes and
    /// records the subject CN of each client certificate seen.
    struct HttpsServer {
        addr: SocketAddr,
        handshakes: Arc<AtomicUsize>,
        clients: Arc<Mutex<Vec<bool>>>,
    }

    async fn https_server(server_ca: &TestCa, client_ca: Option<&TestCa>) -> HttpsServer {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        let (cert_pem, key_pem) = leaf(
            server_ca,
            &["127.0.0.1"],
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        );
        let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.der.clone()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(chain, key).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let clients = Arc::new(Mutex::new(Vec::new()));
        let (h, c) = (handshakes.clone(), clients.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, h, c) = (acceptor.clone(), h.clone(), c.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    h.fetch_add(1, Ordering::SeqCst);
                    let presented = tls.get_ref().1.peer_certificates().is_some();
                    c.lock().unwrap().push(presented);
                    let service = service_fn(|_req: Request<Incoming>| async {
                        Ok::<_, Infallible>(response(200, &[], "ok"))
                    });
                    let _ = server_http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        HttpsServer {
            addr,
            handshakes,
            clients,
        }
    }

    fn tls_client(extra_roots: Vec<CertificateDer<'static>>) -> DeliveryClient {
        DeliveryClient::with_tls(
            ClientConfig {
                timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(5),
                allow_private_targets: true,
                user_agent: "hookd/test".into(),
            },
            TlsOptions { extra_roots },
        )
        .unwrap()
    }

    async fn post_as(
        client: &DeliveryClient,
        url: &str,
        identity: Option<&ClientIdentity>,
    ) -> AttemptResult {
        let attempt = Attempt {
            url,
            headers: &[],
            body: Bytes::from_static(b"{}"),
        };
        let options = SendOptions {
            identity,
            content_type: None,
        };
        client.send_with(attempt, &options).await
    }

    #[tokio::test]
    async fn a_private_ca_is_trusted_only_as_an_extra_root() {
        let private = test_ca("private CA");
        let server = https_server(&private, None).await;
        let url = format!("https://{}/", server.addr);
        let result = post_as(&tls_client(Vec::new()), &url, None).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
        let result = post_as(&tls_client(vec![private.der.clone()]), &url, None).await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        // Another private CA as the extra root does not help.
        let other = test_ca("other CA");
        let result = post_as(&tls_client(vec![other.der.clone()]), &url, None).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
    }

    #[tokio::test]
    async fn a_receiver_requiring_a_client_certificate_gets_it() {
        let server_ca = test_ca("server CA");
        let client_ca = test_ca("client CA");
        let server = https_server(&server_ca, Some(&client_ca)).await;
        let url = format!("https://{}/", server.addr);
        let client = tls_client(vec![server_ca.der.clone()]);
        let me = identity(&client_ca, "webhook one");
        for _ in 0..2 {
            let result = post_as(&client, &url, Some(&me)).await;
            assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        }
        // Both requests went over one connection, which presented the certificate.
        assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
        assert_eq!(*server.clients.lock().unwrap(), [true]);

        // Without a certificate (and never on the pooled mTLS connection): refused, tls_error.
        let result = post_as(&client, &url, None).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
        assert_eq!(result.status_code, None);
        // A certificate from a CA the receiver does not trust: refused too, on a connection
        // of its own.
        let stranger = identity(&test_ca("stranger CA"), "webhook two");
        let result = post_as(&client, &url, Some(&stranger)).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
        // The first identity's connection is still there and still works.
        let result = post_as(&client, &url, Some(&me)).await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
        // Another identity from the trusted CA gets a connection of its own.
        let other = identity(&client_ca, "webhook three");
        let result = post_as(&client, &url, Some(&other)).await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        assert_eq!(server.handshakes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_client_certificate_over_plain_http_is_refused_without_connecting() {
        let server = http_server(|| response(200, &[], "")).await;
        let ca = test_ca("client CA");
        let result = post_as(&client(), &server.url("/"), Some(&identity(&ca, "w"))).await;
        assert_eq!(result.outcome, Outcome::TlsError, "{result:?}");
        assert_eq!(server.accepted(), 0);
    }

    #[test]
    fn unusable_extra_roots_are_refused() {
        let garbage = CertificateDer::from(vec![1u8, 2, 3]);
        let error = DeliveryClient::with_tls(
            ClientConfig::default(),
            TlsOptions {
                extra_roots: vec![garbage],
            },
        )
        .unwrap_err();
        assert!(error.contains("extra root certificate 1"), "{error}");
    }

    #[tokio::test]
    async fn a_template_content_type_is_sent() {
        let server = http_server(|| response(200, &[], "")).await;
        let attempt = Attempt {
            url: &server.url("/"),
            headers: &[("content-type".to_string(), "text/evil".to_string())],
            body: Bytes::from_static(b"hello"),
        };
        let options = SendOptions {
            identity: None,
            content_type: Some("text/plain; charset=utf-8"),
        };
        let result = client().send_with(attempt, &options).await;
        assert_eq!(result.outcome, Outcome::Success, "{result:?}");
        let seen = server.seen.lock().unwrap();
        let values: Vec<_> = seen[0].headers.get_all("content-type").iter().collect();
        assert_eq!(values, ["text/plain; charset=utf-8"]);
    }

    #[tokio::test]
    async fn post_and_read_returns_the_answer_up_to_a_limit() {
        let server = http_server(|| response(201, &[], "0123456789")).await;
        let headers = vec![("authorization".to_string(), "Basic eDp5".to_string())];
        let answer = client()
            .post_and_read(
                &server.url("/token"),
                &headers,
                "application/x-www-form-urlencoded",
                Bytes::from_static(b"a=b"),
                64,
            )
            .await
            .unwrap();
        assert_eq!(
            answer,
            Answer {
                status: 201,
                body: b"0123456789".to_vec(),
                truncated: false
            }
        );
        let cut = client()
            .post_and_read(&server.url("/"), &[], "text/plain", Bytes::new(), 4)
            .await
            .unwrap();
        assert_eq!(cut.body, b"0123");
        assert!(cut.truncated);
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen[0].path, "/token");
        assert_eq!(seen[0].body, "a=b");
        assert_eq!(
            seen[0].headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(seen[0].headers["authorization"], "Basic eDp5");
        let failure = client_with(2000, 1000, false)
            .post_and_read(&server.url("/"), &[], "text/plain", Bytes::new(), 4)
            .await
            .unwrap_err();
        assert_eq!(failure.outcome, Outcome::Blocked);
    }
}
