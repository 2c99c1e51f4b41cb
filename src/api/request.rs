//! Reading requests: bounded bodies, content types, query strings, JSON objects, cursors.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::http::request::Parts;

use crate::crypto;
use crate::error::{Error, FieldError};
use crate::ids::{AccountId, DeliveryId, EventId, NotificationId, TokenId, WebhookId};

/// Reads a body of at most `limit` bytes within `deadline`, refusing larger ones without
/// reading them whole (a declared `Content-Length` over the limit is refused before reading
/// anything) and slow ones when the deadline passes (so a trickling client cannot hold a
/// connection slot for long).
pub async fn read_body(
    body: Incoming,
    parts: &Parts,
    limit: usize,
    deadline: std::time::Duration,
) -> Result<Bytes, Error> {
    match tokio::time::timeout(deadline, read_body_unbounded(body, parts, limit)).await {
        Ok(result) => result,
        Err(_) => Err(Error::BadRequest(format!(
            "the request body did not arrive within {} s",
            deadline.as_secs_f64()
        ))),
    }
}

async fn read_body_unbounded(body: Incoming, parts: &Parts, limit: usize) -> Result<Bytes, Error> {
    if let Some(len) = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(Error::PayloadTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Error::PayloadTooLarge { limit })
        }
        Err(_) => Err(Error::BadRequest(
            "the request body could not be read".into(),
        )),
    }
}

/// Whether the request declares a JSON body (`application/json`, any parameters).
fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

/// Checks that a required body is present and declared as JSON.
pub fn require_json(parts: &Parts, body: &[u8]) -> Result<(), Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if parts.headers.contains_key(CONTENT_TYPE) && !is_json(parts) {
            return Err(Error::UnsupportedMediaType);
        }
        return Err(Error::BadRequest("a JSON body is required".into()));
    }
    if !is_json(parts) {
        return Err(Error::UnsupportedMediaType);
    }
    Ok(())
}

/// The decoded pairs of a query string, in order.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(k), percent_decode(v)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(Error::BadRequest("malformed query string".into())),
            }
        })
        .collect()
}

/// Decodes a query string's key or value: `%XX` escapes and `+` (as a space), as
/// `application/x-www-form-urlencoded` says; `None` if the result is not UTF-8. A `%` not
/// followed by two hex digits stays as it is, as URL parsers leave it.
pub fn percent_decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// The query parameters of a list request, checked against the names a route knows.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses the query. Each handler reads only the parameters it knows; others are ignored,
    /// as most APIs do.
    pub fn parse(query: Option<&str>) -> Result<Query, Error> {
        Ok(Query {
            pairs: query_pairs(query)?,
        })
    }

    /// The value of `name`, if given (the last one wins).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: `true`/`false` (also `1`/`0`).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(Error::field(name, "must be true or false")),
        }
    }

    /// `limit` (1–200, default 50) and the decoded `cursor` of a list of `kind`.
    pub fn paging(&self, signing_key: &[u8], kind: CursorKind) -> Result<Paging, Error> {
        let mut errors = Vec::new();
        let limit = match self.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match self.get("cursor") {
            None | Some("") => None,
            Some(text) => match decode_cursor(signing_key, kind, text) {
                Some(key) => Some(key),
                None => {
                    errors.push(FieldError::new(
                        "cursor",
                        "is not a cursor this list issued",
                    ));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Paging { limit, after })
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// Keeps a check's validation errors in `errors` (so one response lists every bad field) and
/// passes any other error through.
pub fn collect_invalid<T>(
    result: Result<T, Error>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Validation(mut found)) => {
            errors.append(&mut found);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The default and largest page sizes.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// A checked page request.
pub struct Paging {
    pub limit: usize,
    /// The key after which the page starts.
    pub after: Option<String>,
}

/// Which list a cursor belongs to: a cursor of one list is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CursorKind {
    Accounts = 1,
    Tokens = 2,
    Webhooks = 3,
    Events = 4,
    Deliveries = 5,
    Notifications = 6,
}

/// A list's key as it travels inside a cursor: the id's own text.
pub trait CursorKey: Sized {
    fn to_key(&self) -> String;
    fn from_key(key: &str) -> Option<Self>;
}

macro_rules! cursor_keys {
    ($($id:ty),*) => {$(
        impl CursorKey for $id {
            fn to_key(&self) -> String {
                self.to_string()
            }

            fn from_key(key: &str) -> Option<Self> {
                <$id>::parse(key)
            }
        }
    )*};
}

cursor_keys!(
    AccountId,
    TokenId,
    WebhookId,
    EventId,
    DeliveryId,
    NotificationId
);

impl Paging {
    /// The key the page starts after, as the list's id type.
    pub fn after<K: CursorKey>(&self) -> Result<Option<K>, Error> {
        self.after
            .as_deref()
            .map(|key| {
                K::from_key(key)
                    .ok_or_else(|| Error::field("cursor", "is not a cursor this list issued"))
            })
            .transpose()
    }
}

/// The cursor of the next page, if there is one.
pub fn next_cursor<K: CursorKey>(
    signing_key: &[u8],
    kind: CursorKind,
    next: Option<K>,
) -> Option<String> {
    next.map(|key| encode_cursor(signing_key, kind, &key.to_key()))
}

const CURSOR_MAC_LEN: usize = 12;

/// An opaque cursor: the list kind and the last key, MAC'd so hookd can tell its own cursors.
pub fn encode_cursor(signing_key: &[u8], kind: CursorKind, key: &str) -> String {
    let mut payload = Vec::with_capacity(1 + key.len() + CURSOR_MAC_LEN);
    payload.push(kind as u8);
    payload.extend_from_slice(key.as_bytes());
    let mac = crypto::hmac_sha256(signing_key, &[b"cursor", &payload]);
    payload.extend_from_slice(&mac[..CURSOR_MAC_LEN]);
    crypto::base64url(&payload)
}

/// The key inside a cursor hookd issued for `kind`; `None` for anything else.
pub fn decode_cursor(signing_key: &[u8], kind: CursorKind, cursor: &str) -> Option<String> {
    let bytes = crypto::base64url_decode(cursor)?;
    if bytes.len() < 1 + CURSOR_MAC_LEN {
        return None;
    }
    let (payload, mac) = bytes.split_at(bytes.len() - CURSOR_MAC_LEN);
    let expected = crypto::hmac_sha256(signing_key, &[b"cursor", payload]);
    if !crypto::constant_time_eq(mac, &expected[..CURSOR_MAC_LEN]) || payload[0] != kind as u8 {
        return None;
    }
    String::from_utf8(payload[1..].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let key = [7u8; 32];
        let c = encode_cursor(&key, CursorKind::Webhooks, "abc");
        assert_eq!(
            decode_cursor(&key, CursorKind::Webhooks, &c).as_deref(),
            Some("abc")
        );
        assert_eq!(decode_cursor(&key, CursorKind::Accounts, &c), None);
        assert_eq!(decode_cursor(&[8u8; 32], CursorKind::Webhooks, &c), None);
        assert_eq!(decode_cursor(&key, CursorKind::Webhooks, "garbage"), None);
        assert_eq!(decode_cursor(&key, CursorKind::Webhooks, ""), None);
    }

    #[test]
    fn query_strings_decode() {
        let q = query_pairs(Some("a=1&b=x%20y&c=p+q&d")).unwrap();
        assert_eq!(
            q,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "p q".into()),
                ("d".into(), "".into())
            ]
        );
        // A stray `%` stays as it is, as URL parsers leave it; bytes that are no UTF-8 are
        // refused.
        assert_eq!(query_pairs(Some("a=%zz")).unwrap()[0].1, "%zz");
        assert!(query_pairs(Some("a=%ff")).is_err());
        assert_eq!(query_pairs(Some("a=%C3%A9")).unwrap()[0].1, "é");
    }
}
