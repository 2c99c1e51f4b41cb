//! The HTTP side of the client commands: one `ureq` agent, bearer authentication, URL building
//! with percent-encoded user input, and the rendering of RFC 9457 problems on stderr.
//!
//! Every error status comes back as [`Failure::Api`] so a command never mistakes a problem
//! body for a resource; transport errors become [`Failure::Other`] naming the server, because
//! "connection refused" alone does not tell an operator which URL was tried.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use ureq::http::{Method, Request, Response};
use ureq::{Agent, Body};

use super::{ConnArgs, Failure};

/// Where the client commands look for hookd when neither `--server` nor `HOOKD_SERVER` is set:
/// the server's own default listen address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// The timeout of one whole API call: generous for a store under load, short enough that a
/// script calling the CLI never hangs on a dead server.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take before the server is called unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes read from a JSON response (far above any page hookd answers), so a wrong
/// `--server` that streams endlessly cannot exhaust memory.
const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// The most bytes of an error body kept for the message.
const MAX_ERROR_BYTES: u64 = 64 * 1024;

/// A successful (2xx) answer with its whole body.
pub struct Reply {
    /// The body exactly as received, so `--json` can print it untouched.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body parsed as JSON; a 2xx answer that is not JSON means `--server` is not hookd.
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Failure::Other(format!("the server's answer is not the expected JSON: {e}"))
        })
    }
}

/// An authenticated connection to one hookd server.
pub struct Client {
    agent: Agent,
    base: String,
    token: String,
}

impl Client {
    /// A client for ordinary API calls ([`CALL_TIMEOUT`] per call).
    pub fn new(conn: &ConnArgs) -> Result<Client, Failure> {
        Client::with_timeout(conn, CALL_TIMEOUT)
    }

    /// A client whose calls may take up to `global` (a backup of a large store streams for a
    /// while). Fails when no token is given: every `/v1/` route needs one, and saying so here
    /// is clearer than the server's 401.
    pub fn with_timeout(conn: &ConnArgs, global: Duration) -> Result<Client, Failure> {
        let token = conn
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Failure::Usage("no API token: pass --token or set HOOKD_TOKEN".to_string())
            })?;
        Ok(Client {
            agent: agent(global, CONNECT_TIMEOUT),
            base: base_url(&conn.server).map_err(Failure::Usage)?,
            token: token.to_string(),
        })
    }

    /// `GET path` with query pairs (values are percent-encoded; empty ones are left out).
    pub fn get(&self, path: &str, query: &[(&str, Option<String>)]) -> Result<Reply, Failure> {
        let target = format!("{path}{}", query_string(query));
        let response = self.call(Method::GET, &target, None)?;
        read_body(response)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<Reply, Failure> {
        read_body(self.call(Method::POST, path, Some(body))?)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: &[u8]) -> Result<Reply, Failure> {
        read_body(self.call(Method::PUT, path, Some(body))?)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Reply, Failure> {
        read_body(self.call(Method::DELETE, path, None)?)
    }

    /// Sends one request and returns the response unread when its status is 2xx, else the
    /// problem as [`Failure::Api`]. `backup` uses this directly to stream the body to disk.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Response<Body>, Failure> {
        let url = format!("{}{path}", self.base);
        let builder = Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token));
        let sent = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(body.to_vec())
                .map(|request| self.agent.run(request)),
            None => builder.body(()).map(|request| self.agent.run(request)),
        };
        let response = sent
            .map_err(|e| Failure::Usage(format!("cannot build a request to {url}: {e}")))?
            .map_err(|e| Failure::Other(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let mut response = response;
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BYTES)
            .read_to_vec()
            .unwrap_or_default();
        Err(Failure::Api { status, body })
    }
}

/// The agent every client command uses: error statuses are answers (they carry problems), no
/// redirects (hookd never redirects, and following one would hide a wrong `--server`).
pub fn agent(global: Duration, connect: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(global))
        .timeout_connect(Some(connect))
        .max_redirects(0)
        .user_agent(format!("hookd-cli/{}", crate::VERSION))
        .build()
        .into()
}

/// Checks and normalises `--server`: an `http` or `https` URL, without a trailing slash.
pub fn base_url(server: &str) -> Result<String, String> {
    let base = server.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(base.to_string()),
        _ => Err(format!(
            "--server must be an http:// or https:// URL, not {server:?}"
        )),
    }
}

/// Reads a 2xx body whole (bounded by [`MAX_JSON_BYTES`]).
fn read_body(mut response: Response<Body>) -> Result<Reply, Failure> {
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_JSON_BYTES)
        .read_to_vec()
        .map_err(|e| Failure::Other(format!("cannot read the server's answer: {e}")))?;
    Ok(Reply { body })
}

/// One path segment from user input: everything but `A-Za-z0-9-_~` is percent-encoded, so an
/// id can never add segments (`a/b`, `..`) or a query to the URL.
pub fn segment(text: &str) -> String {
    encode(text, false)
}

/// `?k=v&…` of the pairs that have a value; values are percent-encoded (dots kept, for event
/// types).
fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v, true))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - _ . ~`) is escaped in
/// a path segment, the dot included, so `..` cannot climb the path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// A query value may keep its dots (event types read better).
const QUERY_VALUE: &AsciiSet = &SEGMENT.remove(b'.');

fn encode(text: &str, keep_dot: bool) -> String {
    let set = if keep_dot { QUERY_VALUE } else { SEGMENT };
    utf8_percent_encode(text, set).to_string()
}

/// Prints an API error to stderr: the problem's title, status and detail, then each
/// `errors` entry on its own line. A body that is not a problem (a proxy's error page, say)
/// is shown as the status and the start of its text.
pub fn print_problem(status: u16, body: &[u8]) {
    eprintln!("{}", describe_problem(status, body));
}

/// The text [`print_problem`] prints (separate so it can be unit-tested).
pub fn describe_problem(status: u16, body: &[u8]) -> String {
    use super::table::clean;
    let problem: Option<Value> = serde_json::from_slice(body).ok();
    let Some(problem) = problem.filter(|p| p.get("title").is_some_and(Value::is_string)) else {
        let text = String::from_utf8_lossy(body);
        let text: String = text.trim().chars().take(500).collect();
        return if text.is_empty() {
            format!("hookd: the server answered HTTP {status}")
        } else {
            format!("hookd: the server answered HTTP {status}: {}", clean(&text))
        };
    };
    let title = problem["title"].as_str().unwrap_or_default();
    let mut text = format!("hookd: {} ({status})", clean(title));
    if let Some(detail) = problem.get("detail").and_then(Value::as_str) {
        text.push_str(": ");
        text.push_str(&clean(detail));
    }
    for error in problem
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = error.get("field").and_then(Value::as_str).unwrap_or("-");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        text.push_str(&format!("\n  {}: {}", clean(field), clean(message)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_their_place() {
        assert_eq!(segment("acc-1_x~"), "acc-1_x~");
        assert_eq!(segment("a/b"), "a%2Fb");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a?b#c"), "a%3Fb%23c");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn query_keeps_only_given_values() {
        assert_eq!(query_string(&[("a", None)]), "");
        let pairs = [
            ("event", Some("booking.created".to_string())),
            ("x", None),
            ("n", Some("a b&c".to_string())),
        ];
        assert_eq!(query_string(&pairs), "?event=booking.created&n=a%20b%26c");
    }

    #[test]
    fn server_must_be_http() {
        assert_eq!(
            base_url("http://127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(base_url("https://hookd.example").is_ok());
        assert!(base_url("127.0.0.1:8080").is_err());
        assert!(base_url("http://").is_err());
    }

    #[test]
    fn problems_show_title_detail_and_errors() {
        let body = br#"{"type":"/problems/validation-error","title":"Validation failed","status":400,
            "detail":"eventList must not be empty","errors":[{"field":"eventList","message":"must not be empty"}]}"#;
        assert_eq!(
            describe_problem(400, body),
            "hookd: Validation failed (400): eventList must not be empty\n  eventList: must not be empty"
        );
        assert_eq!(
            describe_problem(502, b"<html>Bad gateway</html>"),
            "hookd: the server answered HTTP 502: <html>Bad gateway</html>"
        );
        assert_eq!(
            describe_problem(503, b""),
            "hookd: the server answered HTTP 503"
        );
    }
}
