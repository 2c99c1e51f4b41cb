//! `hookd receive`: a webhook receiver for trying hookd on one machine. It answers 200 to
//! every POST, on any path, and prints each request to stdout — method, path, headers (sorted),
//! the body (JSON re-indented, key order and numbers kept as sent) and, given the webhook's
//! secret, whether the Standard Webhooks signature verifies, checked by the same code as
//! `hookd verify`. Each request is written in one piece and flushed, so the output can be piped
//! to a file or another program while deliveries arrive.
//!
//! It is a tool for a laptop, not a production receiver: one small server, bodies bounded at
//! [`MAX_BODY_BYTES`] (413 beyond), stopped by Ctrl-C or SIGTERM with exit code 0.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HeaderMap};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::output::write_out;
use super::signal::termination;
use super::{Failure, ReceiveArgs, verify};
use crate::crypto::decode_webhook_secret;
use crate::dispatch::signature::parse_public_key;

/// The largest request body the receiver takes (hookd's own events are far smaller).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How much of a body over [`MAX_BODY_BYTES`] is read and dropped before answering 413.
const DRAIN_LIMIT_BYTES: usize = 8 * MAX_BODY_BYTES;

/// Runs `hookd receive` until Ctrl-C or SIGTERM.
pub fn run(args: &ReceiveArgs) -> Result<(), Failure> {
    let secret = match args.secret.as_deref().map(str::trim) {
        Some(secret) if decode_webhook_secret(secret).is_none() => {
            return Err(Failure::Usage(
                "--secret is not a webhook secret: whsec_ followed by the base64 of 24 to 64 bytes"
                    .to_string(),
            ));
        }
        secret => secret.map(Arc::<str>::from),
    };
    let public_key = match args.public_key.as_deref().map(str::trim) {
        Some(key) if parse_public_key(key).is_none() => {
            return Err(Failure::Usage(
                "--public-key is not a webhook public key: whpk_ followed by the base64 of 32 bytes"
                    .to_string(),
            ));
        }
        key => key.map(Arc::<str>::from),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(args.listen, OwnedKeys { secret, public_key }))
}

/// The keys deliveries are checked with, shared by every connection.
#[derive(Clone, Default)]
struct OwnedKeys {
    secret: Option<Arc<str>>,
    public_key: Option<Arc<str>>,
}

impl OwnedKeys {
    fn borrowed(&self) -> Option<verify::Keys<'_>> {
        (self.secret.is_some() || self.public_key.is_some()).then_some(verify::Keys {
            secret: self.secret.as_deref(),
            public_key: self.public_key.as_deref(),
        })
    }
}

/// Accepts connections until a stop signal (`Ok`) or until stdout is gone (`Err`): a receiver
/// whose output nobody reads any more has no purpose, like any Unix filter after a broken pipe.
async fn serve(listen: SocketAddr, keys: OwnedKeys) -> Result<(), Failure> {
    // Signal handlers first, so a stop sent as soon as the address is printed is a clean one.
    let stop = termination();
    tokio::pin!(stop);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::Other(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Other(format!("cannot read the listening address: {e}")))?;
    eprintln!(
        "hookd receive: listening on http://{addr}/ (answers 200 to every POST and prints it; \
         Ctrl-C stops)"
    );
    let (output_lost, mut output_lost_rx) = mpsc::channel::<Failure>(1);
    loop {
        let stream = tokio::select! {
            () = &mut stop => return Ok(()),
            Some(failure) = output_lost_rx.recv() => return Err(failure),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("hookd receive: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let keys = keys.clone();
        let output_lost = output_lost.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let keys = keys.clone();
                let output_lost = output_lost.clone();
                async move {
                    let (response, printed) = answer(request, keys.borrowed()).await;
                    if let Some(text) = printed
                        && let Err(failure) = write_out(text.as_bytes())
                    {
                        let _ = output_lost.try_send(failure);
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            // A client that breaks its connection off has nothing more to be told.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The response to one request, and what to print about it (nothing for requests that are
/// not deliveries: other methods, or a body that broke off).
async fn answer(
    request: Request<Incoming>,
    keys: Option<verify::Keys<'_>>,
) -> (Response<Full<Bytes>>, Option<String>) {
    if request.method() != Method::POST {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "hookd receive takes POST requests only\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("POST"));
        return (response, None);
    }
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str())
        .to_string();
    let headers = header_lines(&parts.headers);
    let mut head = format!("{} {}\n", parts.method, printable(&target));
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\n", printable(value)));
    }
    let body = match read_body(body, declared_length(&parts.headers)).await {
        Ok(Some(body)) => body,
        Ok(None) => return too_large(head),
        Err(_) => return (plain(StatusCode::BAD_REQUEST, "unreadable body\n"), None),
    };
    let signature = match keys {
        None => "signature: not checked (start hookd receive with --secret whsec_… or --public-key whpk_… to check it)"
            .to_string(),
        Some(keys) => match verify::check(keys, &headers, &body) {
            Ok(()) => "signature: verified".to_string(),
            Err(why) => format!("signature: NOT verified ({why})"),
        },
    };
    let printed = format!("{head}\n{}\n\n{signature}\n\n", show_body(&body));
    (plain(StatusCode::OK, ""), Some(printed))
}

/// The body, or `None` when it is larger than [`MAX_BODY_BYTES`]. The rest of a body that is
/// too large is still read (and dropped), up to [`DRAIN_LIMIT_BYTES`]: closing a connection
/// with unread data resets it, and the client might then never see the 413.
async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
) -> Result<Option<Vec<u8>>, hyper::Error> {
    if declared.is_some_and(|length| length > DRAIN_LIMIT_BYTES as u64) {
        return Ok(None);
    }
    let mut kept = Vec::new();
    let mut too_large = declared.is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        too_large |= seen > MAX_BODY_BYTES;
        if too_large {
            kept = Vec::new();
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
        } else {
            kept.extend_from_slice(&data);
        }
    }
    Ok((!too_large).then_some(kept))
}

/// The 413 answer to a body over [`MAX_BODY_BYTES`], with its note for the output.
fn too_large(head: String) -> (Response<Full<Bytes>>, Option<String>) {
    let note = format!(
        "{head}\n(body larger than {} MiB: answered 413)\n\n",
        MAX_BODY_BYTES / (1024 * 1024)
    );
    (
        plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n"),
        Some(note),
    )
}

/// A `text/plain` response, or an empty one.
fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    if !text.is_empty() {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// The `content-length` the client announced, if it is a number.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The headers as (lower-case name, value) pairs sorted by name; repeated headers keep their
/// order. Values that are not UTF-8 are shown with replacement characters.
fn header_lines(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

/// The body as a reader wants it: JSON re-indented, other UTF-8 text as it is, anything else
/// described by its size.
fn show_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".to_string();
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return format!("({} bytes, not UTF-8 text)", body.len());
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        printable(&indent_json(text))
    } else {
        printable(text.trim_end())
    }
}

/// Re-indents valid JSON text by two spaces per level. It works on the text rather than on a
/// parsed value so that key order, duplicate keys and number spellings stay exactly as sent.
fn indent_json(text: &str) -> String {
    // The text without insignificant whitespace (outside strings).
    let mut compact = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            compact.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            compact.push(c);
        }
    }
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = compact.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}' | ']')) {
                    // An empty object or array stays on one line: `{}`, `[]`.
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// `text` with control characters (other than newline and tab) replaced, so a request cannot
/// drive the terminal the output is shown on.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_indented_keeping_order_and_spelling() {
        let text = r#" {"type":"booking.created","data":{"id":7,"n":1.50,"s":"a, b: {c}","e":[],"o":{}},"list":[1, "x\"]"]} "#;
        assert_eq!(
            indent_json(text),
            r#"{
  "type": "booking.created",
  "data": {
    "id": 7,
    "n": 1.50,
    "s": "a, b: {c}",
    "e": [],
    "o": {}
  },
  "list": [
    1,
    "x\"]"
  ]
}"#
        );
        assert_eq!(indent_json("42"), "42");
        assert_eq!(indent_json(r#""a\\""#), r#""a\\""#);
    }

    #[test]
    fn bodies_are_shown_by_kind() {
        assert_eq!(show_body(b""), "(empty body)");
        assert_eq!(show_body(b"hello\n"), "hello");
        assert_eq!(show_body(&[0xff, 0xfe]), "(2 bytes, not UTF-8 text)");
        assert_eq!(show_body(b"{\"a\" : 1 }"), "{\n  \"a\": 1\n}");
        // Not JSON (a trailing comma): shown as sent.
        assert_eq!(show_body(b"{\"a\":1,}"), "{\"a\":1,}");
    }

    #[test]
    fn control_characters_are_not_printed() {
        assert_eq!(
            printable("a\u{1b}[2Jb\tc\nd\u{7f}"),
            "a\u{fffd}[2Jb\tc\nd\u{fffd}"
        );
        assert_eq!(show_body(b"x\x1b]0;title\x07"), "x\u{fffd}]0;title\u{fffd}");
    }
}
