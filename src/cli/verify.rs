//! `hookd verify`: checks a received request the way a receiver must — the Standard Webhooks
//! signature over `<webhook-id>.<webhook-timestamp>.<body>` with the webhook's secret (`v1`)
//! or public key (`v1a`), and a timestamp within 5 minutes — using the same code that signs
//! deliveries, so a receiver can tell "my verification code is wrong" from "this request is
//! not genuine". `hookd receive` checks each delivery it gets with the same [`check`].

use std::fmt;
use std::io::{IsTerminal, Read};

use super::output::write_out;
use super::{Failure, VerifyArgs};
use crate::dispatch::signature::{self, VerifyError};
use crate::time::now_millis;

/// How far the timestamp may be from now, either way (the Standard Webhooks default).
const TOLERANCE_SECS: i64 = 5 * 60;

/// Runs `hookd verify`: prints `verified`, or fails saying why.
pub fn run(args: &VerifyArgs) -> Result<(), Failure> {
    // The headers are looked at before the body is read, so a missing one is reported at once
    // instead of after waiting on standard input.
    let signed = SignedHeaders::find(&args.headers).map_err(|e| match e {
        NotVerified::MissingHeader(name) => {
            Failure::Usage(format!("{e}: pass it as -H \"{name}: …\""))
        }
        other => Failure::Usage(other.to_string()),
    })?;
    let keys = Keys {
        secret: args.secret.as_deref().map(str::trim),
        public_key: args.public_key.as_deref().map(str::trim),
    };
    if keys.secret.is_none() && keys.public_key.is_none() {
        return Err(Failure::Usage(
            "give --secret whsec_… or --public-key whpk_… (or both)".into(),
        ));
    }
    let body = read_body(args)?;
    signed
        .verify(keys, &body)
        .map_err(|e| Failure::Other(format!("not verified: {e}")))?;
    write_out(b"verified\n")
}

/// What a receiver verifies with: the webhook's secret (`v1` signatures), its public key
/// (`v1a`), or both; a request passes when any signature it carries verifies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys<'a> {
    pub secret: Option<&'a str>,
    pub public_key: Option<&'a str>,
}

/// Checks a received request: `headers` are (lower-case name, value) pairs as received,
/// `body` the raw body. `Ok` means a signature verifies under `keys` and the timestamp is
/// within 5 minutes of now.
pub fn check(keys: Keys<'_>, headers: &[(String, String)], body: &[u8]) -> Result<(), NotVerified> {
    SignedHeaders::find(headers)?
        .verify(keys, body)
        .map_err(NotVerified::Signature)
}

/// Why a received request is not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotVerified {
    /// One of the signed headers is absent.
    MissingHeader(&'static str),
    /// One of the signed headers appears twice, which would make the check ambiguous.
    RepeatedHeader(&'static str),
    /// The headers are there but the signature or the timestamp does not pass.
    Signature(VerifyError),
}

impl fmt::Display for NotVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotVerified::MissingHeader(name) => write!(f, "missing header {name}"),
            NotVerified::RepeatedHeader(name) => write!(f, "header {name} is given twice"),
            NotVerified::Signature(e) => write!(f, "{e}"),
        }
    }
}

/// The three headers a Standard Webhooks signature covers, found in a received request.
struct SignedHeaders<'a> {
    id: &'a str,
    timestamp: &'a str,
    signatures: &'a str,
}

impl<'a> SignedHeaders<'a> {
    /// Finds `webhook-id`, `webhook-timestamp` and `webhook-signature`, each exactly once.
    fn find(headers: &'a [(String, String)]) -> Result<Self, NotVerified> {
        Ok(SignedHeaders {
            id: header(headers, "webhook-id")?,
            timestamp: header(headers, "webhook-timestamp")?,
            signatures: header(headers, "webhook-signature")?,
        })
    }

    /// Verifies the signatures over `body` with `keys`, against the clock of now.
    fn verify(&self, keys: Keys<'_>, body: &[u8]) -> Result<(), VerifyError> {
        signature::verify_any(
            keys.secret,
            keys.public_key,
            self.id,
            self.timestamp,
            self.signatures,
            body,
            now_millis() / 1000,
            TOLERANCE_SECS,
        )
    }
}

/// Parses one `-H "Name: value"` (clap value parser). The name is kept lower-case, since
/// header names are case-insensitive.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not \"Name: value\""))?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("{text:?} has no header name"));
    }
    Ok((name.to_ascii_lowercase(), value.trim().to_string()))
}

/// The value of the one header called `name`; missing or repeated is an error (two ids or
/// timestamps would make the check ambiguous).
fn header<'a>(headers: &'a [(String, String)], name: &'static str) -> Result<&'a str, NotVerified> {
    let mut values = headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(NotVerified::MissingHeader(name)),
        (Some(_), Some(_)) => Err(NotVerified::RepeatedHeader(name)),
    }
}

/// The raw body, byte for byte, from `--body-file` or standard input.
fn read_body(args: &VerifyArgs) -> Result<Vec<u8>, Failure> {
    match &args.body_file {
        Some(path) => std::fs::read(path).map_err(|e| {
            Failure::Usage(format!("cannot read the body file {}: {e}", path.display()))
        }),
        None => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                eprintln!("hookd: reading the body from standard input (end it with Ctrl-D)");
            }
            let mut body = Vec::new();
            stdin
                .read_to_end(&mut body)
                .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
            Ok(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_name_and_value() {
        assert_eq!(
            parse_header("Webhook-Id: msg_1"),
            Ok(("webhook-id".into(), "msg_1".into()))
        );
        assert_eq!(
            parse_header("webhook-signature:v1,abc= v1,def="),
            Ok(("webhook-signature".into(), "v1,abc= v1,def=".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }

    #[test]
    fn check_verifies_received_headers_and_body_against_now() {
        let secret = crate::crypto::new_webhook_secret();
        let now = now_millis() / 1000;
        let body = br#"{"type":"a.b"}"#;
        let signed = |ts: i64| {
            vec![
                ("webhook-id".to_string(), "msg_1".to_string()),
                ("webhook-timestamp".to_string(), ts.to_string()),
                (
                    "webhook-signature".to_string(),
                    signature::sign(&secret, "msg_1", ts, body).unwrap(),
                ),
            ]
        };
        let keys = Keys {
            secret: Some(&secret),
            public_key: None,
        };
        assert_eq!(check(keys, &signed(now), body), Ok(()));
        assert_eq!(
            check(keys, &signed(now), b"{}"),
            Err(NotVerified::Signature(VerifyError::NoMatchingSignature))
        );
        assert_eq!(
            check(keys, &signed(now - TOLERANCE_SECS - 60), body),
            Err(NotVerified::Signature(VerifyError::TimestampOutOfTolerance))
        );
        assert_eq!(
            check(keys, &signed(now)[1..], body),
            Err(NotVerified::MissingHeader("webhook-id"))
        );
    }

    #[test]
    fn each_signed_header_must_appear_once() {
        let headers = vec![
            ("webhook-id".to_string(), "a".to_string()),
            ("webhook-id".to_string(), "b".to_string()),
            ("x-other".to_string(), "c".to_string()),
        ];
        assert_eq!(
            header(&headers, "webhook-id"),
            Err(NotVerified::RepeatedHeader("webhook-id"))
        );
        assert_eq!(
            header(&headers, "webhook-timestamp"),
            Err(NotVerified::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(header(&headers, "x-other").ok(), Some("c"));
    }
}
