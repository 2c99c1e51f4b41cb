//! Portal links and their sessions: `<public_url>/portal/<linkToken>` opens the admin page
//! for one account, and the page trades the link for a session token (`hkp_…`) it keeps in
//! that browser tab.
//!
//! Both are MAC'd with the store's signing key. The link token carries its link's id, its
//! expiry and its account, so an opened link is told apart without a lookup: forged (the MAC
//! fails), expired (its own expiry says so, even after the record is purged), revoked (the
//! MAC holds and it has not expired, but the store no longer has it). A session token names
//! only its link: it works while the link is stored and unexpired, so revoking the link ends
//! every session at once.

use crate::crypto;
use crate::ids::{AccountId, PortalLinkId};
use crate::time::Millis;

/// What a link token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    pub link_id: PortalLinkId,
    pub expires: Millis,
    pub account_id: AccountId,
}

/// The prefix that tells a session token from the admin token and account tokens.
pub const SESSION_PREFIX: &str = "hkp_";

const MAC_LEN: usize = 16;
const LINK_FIXED: usize = 16 + 8;
const SESSION_PAYLOAD: usize = 16 + 8;

/// Issues the token of a link.
pub fn issue_link(key: &[u8], claims: &LinkClaims) -> String {
    let mut bytes = Vec::with_capacity(LINK_FIXED + claims.account_id.as_str().len() + MAC_LEN);
    bytes.extend_from_slice(&claims.link_id.as_u128().to_be_bytes());
    bytes.extend_from_slice(&claims.expires.to_be_bytes());
    bytes.extend_from_slice(claims.account_id.as_str().as_bytes());
    let mac = crypto::hmac_sha256(key, &[b"portal-link", &bytes]);
    bytes.extend_from_slice(&mac[..MAC_LEN]);
    crypto::base64url(&bytes)
}

/// The claims of a link token hookd issued, or `None` for anything forged or malformed.
/// Expiry is the caller's to judge.
pub fn verify_link(key: &[u8], token: &str) -> Option<LinkClaims> {
    let bytes = crypto::base64url_decode(token)?;
    if bytes.len() <= LINK_FIXED + MAC_LEN {
        return None;
    }
    let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
    let expected = crypto::hmac_sha256(key, &[b"portal-link", payload]);
    if !crypto::constant_time_eq(mac, &expected[..MAC_LEN]) {
        return None;
    }
    Some(LinkClaims {
        link_id: PortalLinkId::from_u128(u128::from_be_bytes(payload[..16].try_into().ok()?)),
        expires: i64::from_be_bytes(payload[16..24].try_into().ok()?),
        account_id: AccountId::parse(std::str::from_utf8(&payload[24..]).ok()?)?,
    })
}

/// A new session token for a link (each opening gets its own).
pub fn issue_session(key: &[u8], link_id: PortalLinkId) -> String {
    let mut bytes = Vec::with_capacity(SESSION_PAYLOAD + MAC_LEN);
    bytes.extend_from_slice(&link_id.as_u128().to_be_bytes());
    bytes.extend_from_slice(&crypto::random_bytes::<8>());
    let mac = crypto::hmac_sha256(key, &[b"portal-session", &bytes]);
    bytes.extend_from_slice(&mac[..MAC_LEN]);
    format!("{SESSION_PREFIX}{}", crypto::base64url(&bytes))
}

/// The link a session token belongs to, or `None` for anything hookd did not issue.
pub fn verify_session(key: &[u8], token: &str) -> Option<PortalLinkId> {
    let bytes = crypto::base64url_decode(token.strip_prefix(SESSION_PREFIX)?)?;
    if bytes.len() != SESSION_PAYLOAD + MAC_LEN {
        return None;
    }
    let (payload, mac) = bytes.split_at(SESSION_PAYLOAD);
    let expected = crypto::hmac_sha256(key, &[b"portal-session", payload]);
    if !crypto::constant_time_eq(mac, &expected[..MAC_LEN]) {
        return None;
    }
    Some(PortalLinkId::from_u128(u128::from_be_bytes(
        payload[..16].try_into().ok()?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            link_id: PortalLinkId::from_u128(0x0123_4567_89ab_7def_8123_4567_89ab_cdef),
            expires: 1_800_000_000_000,
            account_id: AccountId::parse("clinic-aarhus").unwrap(),
        }
    }

    #[test]
    fn link_tokens_round_trip_and_refuse_tampering() {
        let key = [7u8; 32];
        let token = issue_link(&key, &claims());
        assert_eq!(verify_link(&key, &token), Some(claims()));
        assert_eq!(verify_link(&[8u8; 32], &token), None);
        let mut bytes = crypto::base64url_decode(&token).unwrap();
        bytes[17] ^= 1;
        assert_eq!(verify_link(&key, &crypto::base64url(&bytes)), None);
        for bad in ["", "x", "not a token", &token[..token.len() - 2]] {
            assert_eq!(verify_link(&key, bad), None, "{bad}");
        }
    }

    #[test]
    fn session_tokens_name_their_link_and_differ_per_opening() {
        let key = [7u8; 32];
        let link = claims().link_id;
        let (a, b) = (issue_session(&key, link), issue_session(&key, link));
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_PREFIX));
        assert_eq!(verify_session(&key, &a), Some(link));
        assert_eq!(verify_session(&[8u8; 32], &a), None);
        assert_eq!(
            verify_session(&key, a.trim_start_matches(SESSION_PREFIX)),
            None
        );
        // A link token is not a session token, whatever its prefix.
        let link_token = issue_link(&key, &claims());
        assert_eq!(verify_session(&key, &format!("hkp_{link_token}")), None);
    }
}
