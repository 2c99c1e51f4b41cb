//! Randomness, token and secret formats, hashing and MACs: every cryptographic choice in one file.
//!
//! Tokens are 32 random bytes behind the `hkd_` prefix and are stored only as their SHA-256
//! (a fast hash is right for high-entropy secrets: there is nothing to brute-force).
//! Webhook secrets follow Standard Webhooks: `whsec_` + base64 of the raw key.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The prefix of every token hookd issues, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "hkd_";
/// The prefix of Standard Webhooks secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// The SHA-256 of a token: the only form in which tokens are stored.
pub type TokenHash = [u8; 32];

/// Fills a fixed-size array from the operating system's CSPRNG.
///
/// Without randomness no token or secret can be issued safely, so failure aborts loudly.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if let Err(e) = getrandom::fill(&mut buf) {
        // The OS random source failing is unrecoverable and never caused by a request.
        panic!("the operating system's random source failed: {e}");
    }
    buf
}

/// A new random token (`hkd_` + 43 base64url characters) and its hash.
pub fn new_token() -> (String, TokenHash) {
    let token = format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    let hash = hash_token(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// A new webhook signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random_bytes::<32>()))
}

/// The raw key of a `whsec_` secret, if it is well formed (24 to 64 bytes of base64).
pub fn decode_webhook_secret(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    let key = STANDARD.decode(encoded).ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time independent of where they differ (MACs, token hashes,
/// signatures), so a forger learns nothing from how long a comparison took.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Encodes bytes for URLs and cursors.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes [`base64url`] text.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard base64, as Standard Webhooks signatures use it.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert!(a.starts_with("hkd_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), ha);
        assert_ne!(ha, hb);
    }

    #[test]
    fn webhook_secrets_round_trip_and_bounds_hold() {
        let s = new_webhook_secret();
        assert_eq!(decode_webhook_secret(&s).map(|k| k.len()), Some(32));
        let short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert!(decode_webhook_secret(&short).is_none());
        assert!(decode_webhook_secret(&long).is_none());
        assert!(decode_webhook_secret("whsec_not base64!").is_none());
        assert!(decode_webhook_secret(&s[6..]).is_none());
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
