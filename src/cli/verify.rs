//! `hookd verify`: checks a received request the way a receiver must — the Standard Webhooks
//! signature over `<webhook-id>.<webhook-timestamp>.<body>` with the webhook's secret (`v1`)
//! or public key (`v1a`), and a timestamp within 5 minutes — using the same code that signs
//! deliveries, so a receiver can tell "my verification code is wrong" from "this request is
//! not genuine".

use std::io::{IsTerminal, Read};

use super::output::write_out;
use super::{Failure, VerifyArgs};
use crate::dispatch::signature;
use crate::time::now_millis;

/// How far the timestamp may be from now, either way (the Standard Webhooks default).
const TOLERANCE_SECS: i64 = 5 * 60;

/// Runs `hookd verify`: prints `verified`, or fails saying why.
pub fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let id = header(&args.headers, "webhook-id")?;
    let timestamp = header(&args.headers, "webhook-timestamp")?;
    let signatures = header(&args.headers, "webhook-signature")?;
    let secret = args.secret.as_deref().map(str::trim);
    let public_key = args.public_key.as_deref().map(str::trim);
    if secret.is_none() && public_key.is_none() {
        return Err(Failure::Usage(
            "give --secret whsec_… or --public-key whpk_… (or both)".into(),
        ));
    }
    let body = read_body(args)?;
    signature::verify_any(
        secret,
        public_key,
        id,
        timestamp,
        signatures,
        &body,
        now_millis() / 1000,
        TOLERANCE_SECS,
    )
    .map_err(|e| Failure::Other(format!("not verified: {e}")))?;
    write_out(b"verified\n")
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
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Result<&'a str, Failure> {
    let mut values = headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(Failure::Usage(format!(
            "missing header {name}: pass it as -H \"{name}: …\""
        ))),
        (Some(_), Some(_)) => Err(Failure::Usage(format!("header {name} is given twice"))),
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
    fn each_signed_header_must_appear_once() {
        let headers = vec![
            ("webhook-id".to_string(), "a".to_string()),
            ("webhook-id".to_string(), "b".to_string()),
            ("x-other".to_string(), "c".to_string()),
        ];
        assert!(header(&headers, "webhook-id").is_err());
        assert!(header(&headers, "webhook-timestamp").is_err());
        assert_eq!(header(&headers, "x-other").ok(), Some("c"));
    }
}
