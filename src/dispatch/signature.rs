//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! A delivery is signed as `v1,<base64 HMAC-SHA256 over "<msg_id>.<timestamp>.<body>">`, keyed
//! with the raw bytes of the `whsec_` secret, so receivers can verify it with any Standard
//! Webhooks library. During a secret rotation both the current and the previous secret sign,
//! and the header carries both signatures separated by a space: a receiver that still holds the
//! old secret keeps verifying until it has switched.

use std::fmt;

use crate::crypto::{base64, constant_time_eq, decode_webhook_secret, hmac_sha256};

/// The version tag of the only signature scheme hookd emits (symmetric HMAC-SHA256).
pub const VERSION_TAG: &str = "v1";

/// Signs one message: `v1,<base64 HMAC-SHA256 over "<msg_id>.<timestamp>.<body>">`.
///
/// The key is the base64-decoded part of `secret` after `whsec_`. Returns `None` when the secret
/// is not a well-formed `whsec_` secret, so a corrupt secret can never produce a signature
/// that merely looks valid.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = decode_webhook_secret(secret)?;
    Some(format!(
        "{VERSION_TAG},{}",
        base64(&mac(&key, msg_id, timestamp, body))
    ))
}

/// The complete `webhook-signature` header value for one attempt.
///
/// The current secret's signature comes first; during a rotation the previous secret's
/// follows, separated by a space, as Standard Webhooks specifies. Returns `None` if either
/// given secret is malformed: sending with a silently missing signature would break receivers
/// in a way that is hard to diagnose, while a refusal surfaces the bug.
pub fn signature_header(
    current: &str,
    previous: Option<&str>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let mut header = sign(current, msg_id, timestamp, body)?;
    if let Some(previous) = previous {
        header.push(' ');
        header.push_str(&sign(previous, msg_id, timestamp, body)?);
    }
    Some(header)
}

/// Why [`verify`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// The secret given to verify with is not a well-formed `whsec_` secret.
    InvalidSecret,
    /// `webhook-timestamp` is not an integer number of seconds.
    InvalidTimestamp,
    /// The timestamp is further from now than the tolerance (too old: a possible replay; or
    /// too far in the future).
    TimestampOutOfTolerance,
    /// `webhook-signature` holds no `<version>,<signature>` entry at all.
    MalformedSignature,
    /// No `v1` entry matches the expected signature.
    NoMatchingSignature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::InvalidSecret => "the secret is not a valid whsec_ secret",
            VerifyError::InvalidTimestamp => "webhook-timestamp is not an integer",
            VerifyError::TimestampOutOfTolerance => "webhook-timestamp is outside the tolerance",
            VerifyError::MalformedSignature => "webhook-signature is malformed",
            VerifyError::NoMatchingSignature => "no signature in webhook-signature matches",
        })
    }
}

impl std::error::Error for VerifyError {}

/// Verifies a message the way a receiver does: the timestamp must be within `tolerance_secs`
/// of `now_secs` (either side, against replays and wild clocks), and any `v1` entry of the
/// space-separated signature header must match. Entries of other versions are ignored, as
/// Standard Webhooks asks, so future schemes can be added alongside `v1`.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let key = decode_webhook_secret(secret).ok_or(VerifyError::InvalidSecret)?;
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    if now_secs.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    let expected = base64(&mac(&key, msg_id, timestamp, body));
    let mut any_entry = false;
    let mut matched = false;
    for entry in signature_header.split_ascii_whitespace() {
        let Some((version, signature)) = entry.split_once(',') else {
            continue;
        };
        if version.is_empty() || signature.is_empty() {
            continue;
        }
        any_entry = true;
        // Keep comparing after a match so timing does not reveal which entry matched.
        if version == VERSION_TAG && constant_time_eq(signature.as_bytes(), expected.as_bytes()) {
            matched = true;
        }
    }
    match (any_entry, matched) {
        (_, true) => Ok(()),
        (false, false) => Err(VerifyError::MalformedSignature),
        (true, false) => Err(VerifyError::NoMatchingSignature),
    }
}

/// The raw MAC over `"<msg_id>.<timestamp>.<body>"`.
fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let timestamp = timestamp.to_string();
    hmac_sha256(
        key,
        &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn standard_webhooks_test_vector() {
        assert_eq!(
            sign(SECRET, MSG_ID, TIMESTAMP, BODY).as_deref(),
            Some(EXPECTED)
        );
    }

    #[test]
    fn malformed_secret_does_not_sign() {
        assert_eq!(
            sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", MSG_ID, 1, BODY),
            None
        );
        assert_eq!(sign("whsec_!!!", MSG_ID, 1, BODY), None);
        assert_eq!(
            signature_header(SECRET, Some("whsec_"), MSG_ID, 1, BODY),
            None
        );
    }

    #[test]
    fn header_without_rotation_is_one_signature() {
        assert_eq!(
            signature_header(SECRET, None, MSG_ID, TIMESTAMP, BODY).as_deref(),
            Some(EXPECTED)
        );
    }

    #[test]
    fn rotation_gives_two_signatures_both_verifying() {
        let new = crate::crypto::new_webhook_secret();
        let header = signature_header(&new, Some(SECRET), MSG_ID, TIMESTAMP, BODY).unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&new, MSG_ID, TIMESTAMP, BODY).unwrap());
        assert_eq!(parts[1], EXPECTED);
        let ts = TIMESTAMP.to_string();
        for secret in [new.as_str(), SECRET] {
            assert_eq!(
                verify(secret, MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
                Ok(())
            );
        }
        let stranger = crate::crypto::new_webhook_secret();
        assert_eq!(
            verify(&stranger, MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn verify_accepts_the_test_vector_within_tolerance() {
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, EXPECTED, BODY, TIMESTAMP + 299, 300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, EXPECTED, BODY, TIMESTAMP - 300, 300),
            Ok(())
        );
        // Unknown versions are skipped, a later v1 entry still counts.
        let mixed = format!("v2,AAAA {EXPECTED}");
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, &mixed, BODY, TIMESTAMP, 300),
            Ok(())
        );
    }

    #[test]
    fn verify_refuses_bad_signature_body_or_id() {
        let ts = TIMESTAMP.to_string();
        let bad = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=";
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, bad, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, EXPECTED, b"{}", TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify(SECRET, "msg_other", &ts, EXPECTED, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        // The right MAC under a different version tag is not accepted.
        let v2 = EXPECTED.replacen("v1,", "v2,", 1);
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, &v2, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn verify_refuses_old_or_future_timestamps() {
        let ts = TIMESTAMP.to_string();
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, EXPECTED, BODY, TIMESTAMP + 301, 300),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, EXPECTED, BODY, TIMESTAMP - 301, 300),
            Err(VerifyError::TimestampOutOfTolerance)
        );
    }

    #[test]
    fn verify_refuses_malformed_input() {
        let ts = TIMESTAMP.to_string();
        for header in ["", "   ", "garbage", "v1", "v1,", ",abc"] {
            assert_eq!(
                verify(SECRET, MSG_ID, &ts, header, BODY, TIMESTAMP, 300),
                Err(VerifyError::MalformedSignature),
                "{header:?}"
            );
        }
        for ts in ["", "12.5", "now", "1614265330x"] {
            assert_eq!(
                verify(SECRET, MSG_ID, ts, EXPECTED, BODY, TIMESTAMP, 300),
                Err(VerifyError::InvalidTimestamp),
                "{ts:?}"
            );
        }
        assert_eq!(
            verify("not-a-secret", MSG_ID, &ts, EXPECTED, BODY, TIMESTAMP, 300),
            Err(VerifyError::InvalidSecret)
        );
    }
}
