//! One-click reactivation links: `<public_url>/activate/<linkToken>`.
//!
//! The token names the webhook and the deactivation it belongs to, carries its expiry, and is
//! MAC'd with the store's signing key, so hookd needs no table of issued links: a link is valid
//! while its MAC verifies, it has not expired, and the webhook is still in that very
//! deactivation (a used link, or one for a webhook reactivated another way, no longer matches).

use crate::crypto;
use crate::ids::WebhookId;
use crate::time::Millis;

/// What a link token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaims {
    pub webhook_id: WebhookId,
    /// The `deactivatedDate` of the deactivation the link was issued for.
    pub deactivated: Millis,
    /// When the link stops working (`deactivatedDate + retention.buffer`).
    pub expires: Millis,
}

const PAYLOAD_LEN: usize = 16 + 8 + 8;
const MAC_LEN: usize = 16;

/// Issues the token for a deactivation.
pub fn issue(key: &[u8], claims: LinkClaims) -> String {
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN + MAC_LEN);
    bytes.extend_from_slice(&claims.webhook_id.as_u128().to_be_bytes());
    bytes.extend_from_slice(&claims.deactivated.to_be_bytes());
    bytes.extend_from_slice(&claims.expires.to_be_bytes());
    let mac = crypto::hmac_sha256(key, &[b"activate", &bytes]);
    bytes.extend_from_slice(&mac[..MAC_LEN]);
    crypto::base64url(&bytes)
}

/// The claims of a token hookd issued, or `None` for anything tampered with or malformed.
/// Expiry is the caller's to judge (an expired link deserves a different answer).
pub fn verify(key: &[u8], token: &str) -> Option<LinkClaims> {
    let bytes = crypto::base64url_decode(token)?;
    if bytes.len() != PAYLOAD_LEN + MAC_LEN {
        return None;
    }
    let (payload, mac) = bytes.split_at(PAYLOAD_LEN);
    let expected = crypto::hmac_sha256(key, &[b"activate", payload]);
    if !crypto::constant_time_eq(mac, &expected[..MAC_LEN]) {
        return None;
    }
    Some(LinkClaims {
        webhook_id: WebhookId::from_u128(u128::from_be_bytes(payload[..16].try_into().ok()?)),
        deactivated: i64::from_be_bytes(payload[16..24].try_into().ok()?),
        expires: i64::from_be_bytes(payload[24..32].try_into().ok()?),
    })
}

/// The full activation URL.
pub fn url(public_url: &str, key: &[u8], claims: LinkClaims) -> String {
    format!("{public_url}/activate/{}", issue(key, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let key = [3u8; 32];
        let claims = LinkClaims {
            webhook_id: WebhookId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            deactivated: 1_700_000_000_000,
            expires: 1_700_432_000_000,
        };
        let token = issue(&key, claims);
        assert_eq!(verify(&key, &token), Some(claims));
        assert_eq!(verify(&[4u8; 32], &token), None);
        let mut bytes = crypto::base64url_decode(&token).unwrap();
        bytes[20] ^= 1;
        assert_eq!(verify(&key, &crypto::base64url(&bytes)), None);
        assert_eq!(verify(&key, "nonsense"), None);
        assert_eq!(verify(&key, ""), None);
        assert!(url("https://h.example", &key, claims).starts_with("https://h.example/activate/"));
    }
}
