//! OAuth 2.0 client credentials (RFC 6749 §4.4) for webhooks whose receiver wants a bearer
//! token: hookd asks the webhook's token endpoint for one, caches it, and sends it with each
//! attempt.
//!
//! - The request is `POST tokenUrl` with `grant_type=client_credentials` (plus `scope` and
//!   `audience` when set) as `application/x-www-form-urlencoded`, authenticated with HTTP
//!   Basic (`client_secret_basic`: id and secret are each form-urlencoded before they are
//!   joined and base64-encoded, RFC 6749 §2.3.1).
//! - It goes through the [`DeliveryClient`], so it follows the delivery rules: SSRF check at
//!   connect time, timeouts, no redirects, bounded response read; https unless `allow_http`.
//! - The token is cached per webhook until 30 s before `expires_in` runs out (one hour when the
//!   answer has none), and concurrent callers for one webhook share one request.
//! - [`TokenCache::invalidate`] drops a webhook's token after its receiver answered 401.
//!
//! Errors ([`AuthError`]) are short and never contain the secret or a token.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::client::DeliveryClient;
use crate::crypto::base64;

/// A token is refreshed this long before it expires, so it never expires in flight.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// The lifetime assumed when the token answer has no `expires_in`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The most bytes of a token answer read.
pub const MAX_TOKEN_RESPONSE: usize = 16 * 1024;

/// A webhook's `auth` of type `oauth2`. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub audience: Option<String>,
}

impl fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Config")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .finish()
    }
}

impl OAuth2Config {
    /// What identifies the token this configuration gets: a change of any field (a PUT)
    /// makes a cached token stale.
    fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [
            Some(self.token_url.as_str()),
            Some(self.client_id.as_str()),
            Some(self.client_secret.as_str()),
            self.scope.as_deref(),
            self.audience.as_deref(),
        ] {
            match part {
                None => hash.update([0u8]),
                Some(text) => {
                    hash.update([1u8]);
                    hash.update((text.len() as u64).to_be_bytes());
                    hash.update(text.as_bytes());
                }
            }
        }
        hash.finalize().into()
    }
}

/// Why no token could be had: the attempt's `auth_error`, with a short reason that names no
/// secret and no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError(pub String);

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AuthError {}

/// Where the time comes from (replaceable in tests, so expiry can be tested without waiting).
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The shared outcome of one token request.
type Fetched = Option<Result<String, AuthError>>;

/// Tokens of every oauth2 webhook, keyed by webhook id. Cheap to share behind an `Arc`.
pub struct TokenCache {
    client: DeliveryClient,
    allow_http: bool,
    clock: Clock,
    slots: Mutex<HashMap<u128, Slot>>,
    /// Tells a slot's fetches apart, so a finished or abandoned fetch touches only its own.
    next_generation: Mutex<u64>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

enum Slot {
    Ready {
        token: String,
        refresh_at: Instant,
        fingerprint: [u8; 32],
    },
    Fetching {
        generation: u64,
        fingerprint: [u8; 32],
        result: watch::Receiver<Fetched>,
    },
}

/// What a caller does after looking at the slot.
enum Step {
    Done(String),
    Wait(watch::Receiver<Fetched>),
    Fetch(u64, watch::Sender<Fetched>),
}

impl TokenCache {
    /// A cache whose token requests go through `client` (the delivery client, with its SSRF
    /// and TLS rules); `allow_http` is `delivery.allow_http`.
    pub fn new(client: DeliveryClient, allow_http: bool) -> TokenCache {
        TokenCache {
            client,
            allow_http,
            clock: Arc::new(Instant::now),
            slots: Mutex::new(HashMap::new()),
            next_generation: Mutex::new(0),
        }
    }

    #[cfg(test)]
    fn with_clock(mut self, clock: Clock) -> TokenCache {
        self.clock = clock;
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u128, Slot>> {
        // The map holds no invariant a panic elsewhere could break.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bearer token for `webhook`: the cached one while it is fresh, else a new one from
    /// the token endpoint (one request however many attempts ask at once).
    pub async fn get_token(
        &self,
        webhook: u128,
        config: &OAuth2Config,
    ) -> Result<String, AuthError> {
        let fingerprint = config.fingerprint();
        loop {
            match self.step(webhook, fingerprint) {
                Step::Done(token) => return Ok(token),
                Step::Wait(mut result) => {
                    if let Ok(fetched) = result.wait_for(Option::is_some).await
                        && let Some(fetched) = fetched.as_ref()
                    {
                        return fetched.clone();
                    }
                    // The fetch was abandoned (its caller went away): look again.
                }
                Step::Fetch(generation, sender) => {
                    let mut guard = FetchGuard {
                        cache: self,
                        webhook,
                        generation,
                        done: false,
                    };
                    let fetched = self.fetch(config).await;
                    {
                        let mut slots = self.lock();
                        if matches!(slots.get(&webhook), Some(Slot::Fetching { generation: g, .. }) if *g == generation)
                        {
                            match &fetched {
                                Ok((token, lifetime)) => {
                                    let refresh_at =
                                        (self.clock)() + lifetime.saturating_sub(REFRESH_MARGIN);
                                    slots.insert(
                                        webhook,
                                        Slot::Ready {
                                            token: token.clone(),
                                            refresh_at,
                                            fingerprint,
                                        },
                                    );
                                }
                                // A failure is not cached: the next attempt asks again.
                                Err(_) => {
                                    slots.remove(&webhook);
                                }
                            }
                        }
                    }
                    guard.done = true;
                    let result = fetched.map(|(token, _)| token);
                    let _ = sender.send(Some(result.clone()));
                    return result;
                }
            }
        }
    }

    /// Looks at the slot under the lock and decides: use the token, wait for a fetch under
    /// way, or start one.
    fn step(&self, webhook: u128, fingerprint: [u8; 32]) -> Step {
        let now = (self.clock)();
        let mut slots = self.lock();
        match slots.get(&webhook) {
            Some(Slot::Ready {
                token,
                refresh_at,
                fingerprint: f,
            }) if *f == fingerprint && now < *refresh_at => return Step::Done(token.clone()),
            Some(Slot::Fetching {
                fingerprint: f,
                result,
                ..
            }) if *f == fingerprint => return Step::Wait(result.clone()),
            _ => {}
        }
        let generation = {
            let mut next = self
                .next_generation
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *next += 1;
            *next
        };
        let (sender, receiver) = watch::channel(None);
        slots.insert(
            webhook,
            Slot::Fetching {
                generation,
                fingerprint,
                result: receiver,
            },
        );
        Step::Fetch(generation, sender)
    }

    /// Drops `webhook`'s cached token (its receiver answered 401), so the next attempt
    /// fetches a new one. A fetch under way is left to finish.
    pub fn invalidate(&self, webhook: u128) {
        let mut slots = self.lock();
        if matches!(slots.get(&webhook), Some(Slot::Ready { .. })) {
            slots.remove(&webhook);
        }
    }

    /// Forgets `webhook` entirely (it was deleted or no longer uses oauth2).
    pub fn forget(&self, webhook: u128) {
        self.lock().remove(&webhook);
    }

    /// One token request: the token and its lifetime.
    async fn fetch(&self, config: &OAuth2Config) -> Result<(String, Duration), AuthError> {
        let scheme_ok = match config.token_url.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => true,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => self.allow_http,
            _ => false,
        };
        if !scheme_ok {
            return Err(AuthError(
                "token request not sent: tokenUrl must be https:// (http:// needs delivery.allow_http)"
                    .into(),
            ));
        }
        let body = grant_body(config);
        let headers = vec![
            ("authorization".to_string(), basic_authorization(config)),
            ("accept".to_string(), "application/json".to_string()),
        ];
        let answer = self
            .client
            .post_and_read(
                &config.token_url,
                &headers,
                "application/x-www-form-urlencoded",
                Bytes::from(body),
                MAX_TOKEN_RESPONSE,
            )
            .await
            .map_err(|failure| {
                AuthError(format!(
                    "token request failed ({}): {}",
                    failure.outcome, failure.error
                ))
            })?;
        if !(200..300).contains(&answer.status) {
            return Err(AuthError(format!(
                "the token endpoint answered HTTP {}",
                answer.status
            )));
        }
        if answer.truncated {
            return Err(AuthError(format!(
                "the token answer is larger than {MAX_TOKEN_RESPONSE} bytes"
            )));
        }
        parse_token_answer(&answer.body)
    }
}

/// Resets a slot whose fetch was abandoned (the future dropped mid-request), so waiters and
/// later callers start over instead of waiting for a result that never comes.
struct FetchGuard<'a> {
    cache: &'a TokenCache,
    webhook: u128,
    generation: u64,
    done: bool,
}

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut slots = self.cache.lock();
        if matches!(slots.get(&self.webhook), Some(Slot::Fetching { generation, .. }) if *generation == self.generation)
        {
            slots.remove(&self.webhook);
        }
    }
}

/// The form body of the client-credentials grant.
fn grant_body(config: &OAuth2Config) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(scope) = &config.scope {
        form.append_pair("scope", scope);
    }
    if let Some(audience) = &config.audience {
        form.append_pair("audience", audience);
    }
    form.finish()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1 asks.
fn basic_authorization(config: &OAuth2Config) -> String {
    let id: String = form_urlencoded::byte_serialize(config.client_id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(config.client_secret.as_bytes()).collect();
    format!("Basic {}", base64(format!("{id}:{secret}").as_bytes()))
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// The token and its lifetime from a token endpoint's JSON answer.
fn parse_token_answer(body: &[u8]) -> Result<(String, Duration), AuthError> {
    let answer: TokenAnswer = serde_json::from_slice(body)
        .map_err(|_| AuthError("the token answer is not a JSON object".into()))?;
    let token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError("the token answer has no access_token".into()))?;
    // It goes into a header: visible ASCII only (and never into a message).
    if !token.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(AuthError(
            "the access_token cannot be sent in a header".into(),
        ));
    }
    let lifetime = match answer.expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_LIFETIME,
        // Some servers send the number as a string.
        Some(serde_json::Value::String(text)) => text
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME),
    };
    Ok((token, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;
    use tokio::sync::Notify;

    use crate::dispatch::client::ClientConfig;

    /// What the token endpoint saw of one request.
    #[derive(Debug, Clone)]
    struct Seen {
        authorization: Option<String>,
        content_type: Option<String>,
        body: String,
    }

    /// A real token endpoint on 127.0.0.1: answers every request with `answer(n)` (n counts
    /// from 0), after `gate` is opened when one is given.
    struct Endpoint {
        addr: SocketAddr,
        seen: Arc<Mutex<Vec<Seen>>>,
        requests: Arc<AtomicUsize>,
    }

    impl Endpoint {
        fn url(&self) -> String {
            format!("http://{}/oauth/token", self.addr)
        }
        fn requests(&self) -> usize {
            self.requests.load(Ordering::SeqCst)
        }
    }

    async fn endpoint(
        answer: impl Fn(usize) -> (u16, String) + Send + Sync + 'static,
        gate: Option<Arc<Notify>>,
    ) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(answer);
        let (s, r) = (seen.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, s, r, gate) = (answer.clone(), s.clone(), r.clone(), gate.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (answer, s, r, gate) =
                            (answer.clone(), s.clone(), r.clone(), gate.clone());
                        async move {
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .map(|v| v.to_str().unwrap().to_string())
                            };
                            let authorization = header("authorization");
                            let content_type = header("content-type");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let n = r.fetch_add(1, Ordering::SeqCst);
                            s.lock().unwrap().push(Seen {
                                authorization,
                                content_type,
                                body: String::from_utf8(body.to_vec()).unwrap(),
                            });
                            if let Some(gate) = gate {
                                gate.notified().await;
                            }
                            let (status, body) = answer(n);
                            let mut response = Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Endpoint {
            addr,
            seen,
            requests,
        }
    }

    fn client(allow_private: bool) -> DeliveryClient {
        DeliveryClient::new(ClientConfig {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_private_targets: allow_private,
            user_agent: "hookd/test".into(),
        })
    }

    /// A clock the test moves by hand: `Instant::now()` at start plus an offset in seconds.
    fn manual_clock() -> (Clock, Arc<AtomicU64>) {
        let start = Instant::now();
        let offset = Arc::new(AtomicU64::new(0));
        let o = offset.clone();
        let clock: Clock = Arc::new(move || start + Duration::from_secs(o.load(Ordering::SeqCst)));
        (clock, offset)
    }

    fn config(url: String) -> OAuth2Config {
        OAuth2Config {
            token_url: url,
            client_id: "my client:1".into(),
            client_secret: "s3cr%t&+ é".into(),
            scope: Some("read write".into()),
            audience: Some("https://api.example/".into()),
        }
    }

    fn token_answer(n: usize, expires_in: Option<u64>) -> (u16, String) {
        let expires = expires_in
            .map(|e| format!(r#", "expires_in": {e}"#))
            .unwrap_or_default();
        (
            200,
            format!(r#"{{"access_token": "token-{n}", "token_type": "Bearer"{expires}}}"#),
        )
    }

    #[tokio::test]
    async fn the_grant_is_form_encoded_with_basic_client_auth() {
        let server = endpoint(|n| token_answer(n, Some(3600)), None).await;
        let cache = TokenCache::new(client(true), true);
        let token = cache.get_token(1, &config(server.url())).await.unwrap();
        assert_eq!(token, "token-0");
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(
            seen[0].body,
            "grant_type=client_credentials&scope=read+write&audience=https%3A%2F%2Fapi.example%2F"
        );
        assert_eq!(
            seen[0].content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        // id and secret each form-urlencoded, then joined and base64-encoded.
        let expected = format!("Basic {}", base64(b"my+client%3A1:s3cr%25t%26%2B+%C3%A9"));
        assert_eq!(seen[0].authorization.as_deref(), Some(expected.as_str()));
        // Without scope and audience, only the grant type.
        let plain = OAuth2Config {
            scope: None,
            audience: None,
            ..config(server.url())
        };
        cache.get_token(2, &plain).await.unwrap();
        assert_eq!(
            server.seen.lock().unwrap()[1].body,
            "grant_type=client_credentials"
        );
    }

    #[tokio::test]
    async fn tokens_are_cached_until_30_s_before_they_expire() {
        let server = endpoint(|n| token_answer(n, Some(100)), None).await;
        let (clock, offset) = manual_clock();
        let cache = TokenCache::new(client(true), true).with_clock(clock);
        let config = config(server.url());
        assert_eq!(cache.get_token(7, &config).await.unwrap(), "token-0");
        assert_eq!(cache.get_token(7, &config).await.unwrap(), "token-0");
        assert_eq!(server.requests(), 1);
        offset.store(69, Ordering::SeqCst);
        assert_eq!(cache.get_token(7, &config).await.unwrap(), "token-0");
        assert_eq!(server.requests(), 1);
        offset.store(70, Ordering::SeqCst);
        assert_eq!(cache.get_token(7, &config).await.unwrap(), "token-1");
        assert_eq!(server.requests(), 2);
        // Another webhook has a token of its own.
        assert_eq!(cache.get_token(8, &config).await.unwrap(), "token-2");
        // A changed configuration (a PUT) does not use the old token.
        let changed = OAuth2Config {
            scope: Some("admin".into()),
            ..config.clone()
        };
        assert_eq!(cache.get_token(7, &changed).await.unwrap(), "token-3");
    }

    #[tokio::test]
    async fn without_expires_in_a_token_lives_an_hour() {
        let server = endpoint(|n| token_answer(n, None), None).await;
        let (clock, offset) = manual_clock();
        let cache = TokenCache::new(client(true), true).with_clock(clock);
        let config = config(server.url());
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-0");
        offset.store(3569, Ordering::SeqCst);
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-0");
        offset.store(3570, Ordering::SeqCst);
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-1");
    }

    #[tokio::test]
    async fn invalidate_makes_the_next_call_fetch_again() {
        let server = endpoint(|n| token_answer(n, Some(3600)), None).await;
        let cache = TokenCache::new(client(true), true);
        let config = config(server.url());
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-0");
        cache.invalidate(2); // another webhook: no effect
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-0");
        cache.invalidate(1);
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-1");
        cache.forget(1);
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-2");
        assert_eq!(server.requests(), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_callers_share_one_request() {
        let gate = Arc::new(Notify::new());
        let server = endpoint(|n| token_answer(n, Some(3600)), Some(gate.clone())).await;
        let cache = Arc::new(TokenCache::new(client(true), true));
        let config = config(server.url());
        let callers: Vec<_> = (0..5)
            .map(|_| {
                let (cache, config) = (cache.clone(), config.clone());
                tokio::spawn(async move { cache.get_token(1, &config).await })
            })
            .collect();
        // Wait (polling, with a deadline) until the endpoint holds the first request, give
        // every caller its turn, then let the answer go.
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.requests() == 0 {
            assert!(Instant::now() < deadline, "no token request arrived");
            tokio::task::yield_now().await;
        }
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert_eq!(server.requests(), 1);
        gate.notify_one();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), "token-0");
        }
        assert_eq!(server.requests(), 1);
    }

    #[tokio::test]
    async fn failures_are_auth_errors_that_name_no_secret_and_are_not_cached() {
        let answers = |n: usize| match n {
            0 => (500, "oops".to_string()),
            1 => (200, r#"{"token_type": "Bearer"}"#.to_string()),
            2 => (200, "not json".to_string()),
            3 => (401, r#"{"error": "invalid_client"}"#.to_string()),
            4 => (200, r#"{"access_token": "bad token\n"}"#.to_string()),
            5 => (
                200,
                format!(r#"{{"access_token": "{}"}}"#, "x".repeat(20_000)),
            ),
            n => token_answer(n, Some(3600)),
        };
        let server = endpoint(answers, None).await;
        let cache = TokenCache::new(client(true), true);
        let config = config(server.url());
        let mut errors = Vec::new();
        for _ in 0..6 {
            errors.push(cache.get_token(1, &config).await.unwrap_err().0);
        }
        assert!(errors[0].contains("HTTP 500"), "{errors:?}");
        assert!(errors[1].contains("no access_token"), "{errors:?}");
        assert!(errors[2].contains("not a JSON object"), "{errors:?}");
        assert!(errors[3].contains("HTTP 401"), "{errors:?}");
        assert!(errors[4].contains("header"), "{errors:?}");
        assert!(errors[5].contains("larger than"), "{errors:?}");
        // Nothing failed was cached: the next call asks again and succeeds.
        assert_eq!(cache.get_token(1, &config).await.unwrap(), "token-6");
        assert_eq!(server.requests(), 7);

        // No answer at all.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let refused = OAuth2Config {
            token_url: format!("http://127.0.0.1:{closed}/token"),
            ..config.clone()
        };
        errors.push(cache.get_token(2, &refused).await.unwrap_err().0);
        assert!(errors[6].contains("connect_error"), "{errors:?}");
        // A private address without allow_private_targets: blocked, nothing sent.
        let strict = TokenCache::new(client(false), true);
        errors.push(strict.get_token(3, &config).await.unwrap_err().0);
        assert!(errors[7].contains("blocked"), "{errors:?}");
        // http:// without allow_http: not sent.
        let https_only = TokenCache::new(client(true), false);
        errors.push(https_only.get_token(4, &config).await.unwrap_err().0);
        assert!(errors[8].contains("https://"), "{errors:?}");
        assert_eq!(server.requests(), 7);
        for error in &errors {
            assert!(!error.contains("s3cr"), "{error}");
            assert!(!error.contains("token-"), "{error}");
            assert!(!error.contains("xxxx"), "{error}");
        }
        assert!(!format!("{config:?}").contains("s3cr"));
    }

    #[tokio::test]
    async fn an_abandoned_fetch_does_not_block_later_callers() {
        let gate = Arc::new(Notify::new());
        let server = endpoint(|n| token_answer(n, Some(3600)), Some(gate.clone())).await;
        let cache = Arc::new(TokenCache::new(client(true), true));
        let config = config(server.url());
        let (c, cfg) = (cache.clone(), config.clone());
        let first = tokio::spawn(async move { c.get_token(1, &cfg).await });
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.requests() == 0 {
            assert!(Instant::now() < deadline, "no token request arrived");
            tokio::task::yield_now().await;
        }
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        gate.notify_waiters();
        // The slot was reset: this call makes a request of its own.
        gate.notify_one();
        let token = cache.get_token(1, &config).await.unwrap();
        assert_eq!(token, "token-1");
    }

    #[test]
    fn expires_in_is_read_leniently() {
        let lifetime = |json: &str| parse_token_answer(json.as_bytes()).unwrap().1;
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":60}"#),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":"60"}"#),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":60.5}"#),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":null}"#),
            DEFAULT_LIFETIME
        );
        assert_eq!(
            lifetime(r#"{"access_token":"t","expires_in":-5}"#),
            DEFAULT_LIFETIME
        );
        assert_eq!(lifetime(r#"{"access_token":"t"}"#), DEFAULT_LIFETIME);
        assert!(parse_token_answer(b"[]").is_err());
        assert!(parse_token_answer(br#"{"access_token":""}"#).is_err());
    }
}
