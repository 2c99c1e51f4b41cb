//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! A delivery is signed as `v1,<base64 HMAC-SHA256 over "<msg_id>.<timestamp>.<body>">`, keyed
//! with the raw bytes of the `whsec_` secret, so receivers can verify it with any Standard
//! Webhooks library. During a secret rotation both the current and the previous secret sign,
//! and the header carries both signatures separated by a space: a receiver that still holds the
//! old secret keeps verifying until it has switched.
//!
//! The asymmetric scheme `v1a` signs the same message with Ed25519: a webhook then has a key
//! pair whose public key (`whpk_` + base64 of its 32 bytes) receivers verify with, so they hold
//! nothing that could forge a delivery. A header can carry any combination of both schemes,
//! each with its previous key during a rotation ([`build_signature_header`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::crypto::{base64, constant_time_eq, decode_webhook_secret, hmac_sha256};

/// The version tag of the symmetric scheme (HMAC-SHA256 with a `whsec_` secret).
pub const VERSION_TAG: &str = "v1";
/// The version tag of the asymmetric scheme (Ed25519).
pub const ASYMMETRIC_VERSION_TAG: &str = "v1a";
/// The prefix of Standard Webhooks public keys.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

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

/// A webhook's Ed25519 key pair for `v1a` signatures. Stored as its PKCS#8 document
/// ([`pkcs8`](Self::pkcs8)); deliberately not `Debug`-printable beyond its public key.
pub struct SigningKeyPair {
    pkcs8: Vec<u8>,
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl SigningKeyPair {
    /// A new random key pair from the operating system's CSPRNG.
    ///
    /// Like every secret hookd issues, this cannot be done without randomness, so a failing
    /// random source aborts loudly (it is never caused by a request).
    pub fn generate() -> SigningKeyPair {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng)
            .unwrap_or_else(|e| panic!("the operating system's random source failed: {e}"));
        match SigningKeyPair::from_pkcs8(document.as_ref()) {
            Ok(pair) => pair,
            Err(e) => panic!("a freshly generated Ed25519 key does not load: {e}"),
        }
    }

    /// Loads a stored key pair (the PKCS#8 v2 document [`generate`](Self::generate) made).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<SigningKeyPair, String> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| format!("not an Ed25519 PKCS#8 key pair: {e}"))?;
        Ok(SigningKeyPair {
            pkcs8: pkcs8.to_vec(),
            pair,
        })
    }

    /// The PKCS#8 document to store (it holds the private key: a secret).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as receivers configure it: `whpk_` + base64 of its 32 bytes.
    pub fn public_key(&self) -> String {
        format!(
            "{PUBLIC_KEY_PREFIX}{}",
            base64(self.pair.public_key().as_ref())
        )
    }

    /// Signs one message: `v1a,<base64 Ed25519 signature over "<msg_id>.<timestamp>.<body>">`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let signature = self.pair.sign(&signed_content(msg_id, timestamp, body));
        format!("{ASYMMETRIC_VERSION_TAG},{}", base64(signature.as_ref()))
    }
}

/// The raw 32 bytes of a `whpk_` public key, if it is well formed.
pub fn parse_public_key(text: &str) -> Option<[u8; 32]> {
    let encoded = text.trim().strip_prefix(PUBLIC_KEY_PREFIX)?;
    STANDARD.decode(encoded).ok()?.try_into().ok()
}

/// The keys that sign one attempt: the `v1` secret and the `v1a` key pair, each with its
/// predecessor during the 24 hours after a rotation. Whatever is `None` is not used.
#[derive(Debug, Clone, Copy, Default)]
pub struct SigningKeys<'a> {
    pub secret: Option<&'a str>,
    pub previous_secret: Option<&'a str>,
    pub key_pair: Option<&'a SigningKeyPair>,
    pub previous_key_pair: Option<&'a SigningKeyPair>,
}

/// The `webhook-signature` header for any combination of schemes: space-separated entries,
/// `v1` current, `v1` previous, `v1a` current, `v1a` previous (those that are given).
///
/// Returns `None` if a given secret is malformed or nothing would sign: sending without a
/// signature would break receivers in a way that is hard to diagnose.
pub fn build_signature_header(
    keys: &SigningKeys<'_>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let mut entries = Vec::with_capacity(4);
    for secret in [keys.secret, keys.previous_secret].into_iter().flatten() {
        entries.push(sign(secret, msg_id, timestamp, body)?);
    }
    for pair in [keys.key_pair, keys.previous_key_pair]
        .into_iter()
        .flatten()
    {
        entries.push(pair.sign(msg_id, timestamp, body));
    }
    (!entries.is_empty()).then(|| entries.join(" "))
}

/// Why [`verify`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// Neither a secret nor a public key was given to verify with.
    NoKey,
    /// The secret given to verify with is not a well-formed `whsec_` secret.
    InvalidSecret,
    /// The public key given to verify with is not a well-formed `whpk_` key.
    InvalidPublicKey,
    /// `webhook-timestamp` is not an integer number of seconds.
    InvalidTimestamp,
    /// The timestamp is further from now than the tolerance (too old: a possible replay; or
    /// too far in the future).
    TimestampOutOfTolerance,
    /// `webhook-signature` holds no `<version>,<signature>` entry at all.
    MalformedSignature,
    /// No `v1` entry matches the secret and no `v1a` entry verifies with the public key.
    NoMatchingSignature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::NoKey => "no secret or public key to verify with",
            VerifyError::InvalidSecret => "the secret is not a valid whsec_ secret",
            VerifyError::InvalidPublicKey => "the public key is not a valid whpk_ key",
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
/// Standard Webhooks asks, so future schemes can be added alongside `v1`. (The `v1`-only
/// form of [`verify_any`], for the tests of this module.)
#[cfg(test)]
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    verify_any(
        Some(secret),
        None,
        msg_id,
        timestamp_header,
        signature_header,
        body,
        now_secs,
        tolerance_secs,
    )
}

/// Like [`verify`], with a `v1` secret, a `v1a` public key (`whpk_…`), or both: the message
/// is genuine when any `v1` entry matches the secret or any `v1a` entry verifies with the
/// public key.
#[allow(clippy::too_many_arguments)]
pub fn verify_any(
    secret: Option<&str>,
    public_key: Option<&str>,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    if secret.is_none() && public_key.is_none() {
        return Err(VerifyError::NoKey);
    }
    let key = secret
        .map(|s| decode_webhook_secret(s).ok_or(VerifyError::InvalidSecret))
        .transpose()?;
    let public_key = public_key
        .map(|k| parse_public_key(k).ok_or(VerifyError::InvalidPublicKey))
        .transpose()?;
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    if now_secs.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    let expected = key.map(|key| base64(&mac(&key, msg_id, timestamp, body)));
    let content = public_key.map(|_| signed_content(msg_id, timestamp, body));
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
        if version == VERSION_TAG
            && let Some(expected) = &expected
            && constant_time_eq(signature.as_bytes(), expected.as_bytes())
        {
            matched = true;
        }
        if version == ASYMMETRIC_VERSION_TAG
            && let (Some(public_key), Some(content)) = (&public_key, &content)
            && let Ok(signature) = STANDARD.decode(signature)
            && UnparsedPublicKey::new(&ED25519, public_key)
                .verify(content, &signature)
                .is_ok()
        {
            matched = true;
        }
    }
    match (any_entry, matched) {
        (_, true) => Ok(()),
        (false, false) => Err(VerifyError::MalformedSignature),
        (true, false) => Err(VerifyError::NoMatchingSignature),
    }
}

/// The signed content `"<msg_id>.<timestamp>.<body>"` as one buffer (Ed25519 signs a whole
/// message).
fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(msg_id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
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

    fn dalek_key(pair: &SigningKeyPair) -> ed25519_dalek::VerifyingKey {
        let bytes = parse_public_key(&pair.public_key()).unwrap();
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn key_pairs_round_trip_through_pkcs8_and_whpk() {
        let pair = SigningKeyPair::generate();
        let public_key = pair.public_key();
        assert!(public_key.starts_with("whpk_"));
        assert_eq!(STANDARD.decode(&public_key[5..]).unwrap().len(), 32);
        let loaded = SigningKeyPair::from_pkcs8(pair.pkcs8()).unwrap();
        assert_eq!(loaded.public_key(), public_key);
        assert_eq!(loaded.sign(MSG_ID, 1, BODY), pair.sign(MSG_ID, 1, BODY));
        assert_ne!(SigningKeyPair::generate().public_key(), public_key);
        assert!(SigningKeyPair::from_pkcs8(b"not a key").is_err());
        assert!(!format!("{pair:?}").contains(&base64(pair.pkcs8())));
        for bad in [
            "",
            "whpk_",
            "whpk_!!!!",
            "whsec_AAAA",
            &format!("whpk_{}", base64(&[1; 31])),
        ] {
            assert_eq!(parse_public_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hookd_v1a_signatures_verify_with_an_independent_implementation() {
        use ed25519_dalek::Verifier;
        let pair = SigningKeyPair::generate();
        let entry = pair.sign(MSG_ID, TIMESTAMP, BODY);
        let encoded = entry.strip_prefix("v1a,").unwrap();
        let bytes: [u8; 64] = STANDARD.decode(encoded).unwrap().try_into().unwrap();
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        let message = format!(
            "{MSG_ID}.{TIMESTAMP}.{}",
            std::str::from_utf8(BODY).unwrap()
        );
        let key = dalek_key(&pair);
        assert!(key.verify_strict(message.as_bytes(), &signature).is_ok());
        assert!(key.verify(message.as_bytes(), &signature).is_ok());
        assert!(key.verify_strict(b"other message", &signature).is_err());
    }

    #[test]
    fn independent_v1a_signatures_verify_with_hookd() {
        use ed25519_dalek::Signer;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let public_key = format!("whpk_{}", base64(signing.verifying_key().as_bytes()));
        let message = format!(
            "{MSG_ID}.{TIMESTAMP}.{}",
            std::str::from_utf8(BODY).unwrap()
        );
        let header = format!(
            "v1a,{}",
            base64(&signing.sign(message.as_bytes()).to_bytes())
        );
        let ts = TIMESTAMP.to_string();
        let check = |key: &str, header: &str, body: &[u8]| {
            verify_any(None, Some(key), MSG_ID, &ts, header, body, TIMESTAMP, 300)
        };
        assert_eq!(check(&public_key, &header, BODY), Ok(()));
        assert_eq!(
            check(&public_key, &header, b"{}"),
            Err(VerifyError::NoMatchingSignature)
        );
        let other = SigningKeyPair::generate().public_key();
        assert_eq!(
            check(&other, &header, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
        // A v1a signature under the v1 tag, or garbage base64, is not accepted.
        let retagged = header.replacen("v1a,", "v1,", 1);
        assert_eq!(
            check(&public_key, &retagged, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(&public_key, "v1a,!!!", BODY),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check("whpk_x", &header, BODY),
            Err(VerifyError::InvalidPublicKey)
        );
    }

    #[test]
    fn headers_carry_any_combination_of_schemes() {
        let current = SigningKeyPair::generate();
        let previous = SigningKeyPair::generate();
        let new_secret = crate::crypto::new_webhook_secret();
        let all = SigningKeys {
            secret: Some(&new_secret),
            previous_secret: Some(SECRET),
            key_pair: Some(&current),
            previous_key_pair: Some(&previous),
        };
        let header = build_signature_header(&all, MSG_ID, TIMESTAMP, BODY).unwrap();
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            entries,
            [
                sign(&new_secret, MSG_ID, TIMESTAMP, BODY).unwrap().as_str(),
                EXPECTED,
                current.sign(MSG_ID, TIMESTAMP, BODY).as_str(),
                previous.sign(MSG_ID, TIMESTAMP, BODY).as_str(),
            ]
        );
        let ts = TIMESTAMP.to_string();
        for secret in [new_secret.as_str(), SECRET] {
            assert_eq!(
                verify(secret, MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
                Ok(())
            );
        }
        for pair in [&current, &previous] {
            let key = pair.public_key();
            assert_eq!(
                verify_any(None, Some(&key), MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
                Ok(())
            );
        }
        let only_v1a = SigningKeys {
            key_pair: Some(&current),
            ..SigningKeys::default()
        };
        let header = build_signature_header(&only_v1a, MSG_ID, TIMESTAMP, BODY).unwrap();
        assert!(header.starts_with("v1a,") && !header.contains(' '));
        // The secret alone does not verify a v1a-only header; with the key it does.
        assert_eq!(
            verify(SECRET, MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        let key = current.public_key();
        assert_eq!(
            verify_any(
                Some(SECRET),
                Some(&key),
                MSG_ID,
                &ts,
                &header,
                BODY,
                TIMESTAMP,
                300
            ),
            Ok(())
        );
        let v1 = SigningKeys {
            secret: Some(SECRET),
            ..SigningKeys::default()
        };
        assert_eq!(
            build_signature_header(&v1, MSG_ID, TIMESTAMP, BODY).as_deref(),
            Some(EXPECTED)
        );
        assert_eq!(
            build_signature_header(&SigningKeys::default(), MSG_ID, 1, BODY),
            None
        );
        let broken = SigningKeys {
            secret: Some("whsec_"),
            key_pair: Some(&current),
            ..SigningKeys::default()
        };
        assert_eq!(build_signature_header(&broken, MSG_ID, 1, BODY), None);
        assert_eq!(
            verify_any(None, None, MSG_ID, &ts, &header, BODY, TIMESTAMP, 300),
            Err(VerifyError::NoKey)
        );
    }
}
