//! The records hookd keeps about its configuration (accounts, tokens, webhooks).
//!
//! Records are what the store persists (serde JSON, compact field names are not worth the
//! opacity at this volume); their API shapes are in src/api/views.rs, built only at the edge.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::TokenHash;
use crate::i18n::Lang;
use crate::ids::{AccountId, PortalLinkId, TokenId, WebhookId};
use crate::receivers::template::{Preset, Template, TemplateError};
use crate::time::Millis;

/// An account: the owner of webhooks, tokens and events.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created: Millis,
    pub updated: Millis,
    /// A number unique over the store's life, never reused: data keyed by it cannot be
    /// confused with that of a later account that reuses a deleted account's id.
    pub seq: u64,
    /// The language of its notifications and activation pages. Records written before accounts
    /// had a language read as English.
    #[serde(default)]
    pub language: Lang,
}

/// An account token, as stored (the token itself is never stored, only its hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub account_id: AccountId,
    pub name: String,
    pub created: Millis,
    /// Last successful use, truncated to the minute.
    pub last_used: Option<Millis>,
    pub hash: TokenHash,
}

/// A portal link, as stored: the link token itself is never stored, only its hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortalLink {
    pub id: PortalLinkId,
    pub account_id: AccountId,
    pub created: Millis,
    pub expires: Millis,
    pub read_only: bool,
    pub hash: TokenHash,
}

impl PortalLink {
    /// Whether the link (and every session opened with it) still works at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        now < self.expires
    }
}

/// Whether a webhook is receiving deliveries or was switched off for failing.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    Active,
    Deactivated,
}

impl WebhookStatus {
    /// The API's word for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Deactivated => "deactivated",
        }
    }
}

/// The fields a client sets on a webhook (create and full update).
///
/// The receiver-side fields (`auth`, `filter`, `template`, `signature`) default when absent, so
/// webhooks stored by builds that did not have them read unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookSettings {
    pub name: String,
    pub enabled: bool,
    pub event_url: String,
    pub event_list: Vec<String>,
    pub description: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub rate_limit: Option<u32>,
    pub ordered: bool,
    /// How hookd authenticates to the receiver; `None`: it does not.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// A CEL expression choosing which of the subscribed events this webhook gets.
    #[serde(default)]
    pub filter: Option<String>,
    /// The body the receiver gets instead of the standard envelope.
    #[serde(default)]
    pub template: Option<TemplateSpec>,
    /// Which Standard Webhooks signatures each attempt carries.
    #[serde(default)]
    pub signature: SignatureScheme,
}

/// A credential the store keeps and hookd sends, but never shows: `Debug` prints
/// `<redacted>`, and API views leave it out. Stored as the plain string (like the webhook's
/// signing secret), since hookd must present it to the receiver.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How hookd authenticates to a webhook's receiver (docs/api.md, `auth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Auth {
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: Secret },
    /// `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// A bearer token from an OAuth 2.0 client-credentials grant.
    OAuth2(OAuth2Auth),
    /// A client certificate in the TLS handshake.
    Mtls(MtlsAuth),
}

impl Auth {
    /// The API's name of the type: `basic`, `bearer`, `oauth2` or `mtls`.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::Basic { .. } => "basic",
            Auth::Bearer { .. } => "bearer",
            Auth::OAuth2(_) => "oauth2",
            Auth::Mtls(_) => "mtls",
        }
    }
}

/// `auth` of type `oauth2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth2Auth {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    pub audience: Option<String>,
}

/// `auth` of type `mtls`: the PEM chain and key as given, and the facts the API shows of the
/// first certificate, read once when it was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtlsAuth {
    pub certificate: String,
    pub private_key: Secret,
    /// RFC 4514 style (`CN=client, O=Example`).
    pub subject: String,
    pub not_after: Millis,
    /// Lower-case hex SHA-256 of the first certificate's DER.
    pub sha256: String,
}

/// A webhook's body template: a chat preset, or a Jinja body with its content type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateSpec {
    Preset(Preset),
    Body { body: String, content_type: String },
}

impl TemplateSpec {
    /// The template this describes, parsed (a stored body parsed when it was saved, so an
    /// error here means a later build refuses what an earlier one accepted).
    pub fn compile(&self) -> Result<Template, TemplateError> {
        match self {
            TemplateSpec::Preset(preset) => Ok(Template::of_preset(*preset)),
            TemplateSpec::Body { body, content_type } => Template::parse(body, Some(content_type)),
        }
    }
}

/// Which Standard Webhooks signatures an attempt carries: `v1` (HMAC with the `whsec_`
/// secret, the default), `v1a` (Ed25519) or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureScheme {
    #[default]
    #[serde(rename = "v1")]
    V1,
    #[serde(rename = "v1a")]
    V1a,
    #[serde(rename = "v1 v1a")]
    Both,
}

impl SignatureScheme {
    /// The API's word: `v1`, `v1a` or `v1 v1a`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::V1 => "v1",
            SignatureScheme::V1a => "v1a",
            SignatureScheme::Both => "v1 v1a",
        }
    }

    /// Reads the API's word: the tags `v1` and `v1a` separated by spaces, each at most once,
    /// in either order.
    pub fn parse(text: &str) -> Option<SignatureScheme> {
        let (mut v1, mut v1a) = (false, false);
        for tag in text.split_ascii_whitespace() {
            let seen = match tag {
                "v1" => &mut v1,
                "v1a" => &mut v1a,
                _ => return None,
            };
            if *seen {
                return None;
            }
            *seen = true;
        }
        match (v1, v1a) {
            (true, false) => Some(SignatureScheme::V1),
            (false, true) => Some(SignatureScheme::V1a),
            (true, true) => Some(SignatureScheme::Both),
            (false, false) => None,
        }
    }

    /// Whether attempts carry `v1` (HMAC) signatures.
    pub fn symmetric(self) -> bool {
        self != SignatureScheme::V1a
    }

    /// Whether attempts carry `v1a` (Ed25519) signatures.
    pub fn asymmetric(self) -> bool {
        self != SignatureScheme::V1
    }
}

/// A secret that still signs, beside the current one, until `until`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: String,
    pub until: Millis,
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("secret", &"<redacted>")
            .field("until", &self.until)
            .finish()
    }
}

/// A webhook's Ed25519 key pair for `v1a` signatures: its PKCS#8 document (which holds the
/// private key), stored as base64 text. `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPairDocument(pub Vec<u8>);

impl fmt::Debug for KeyPairDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for KeyPairDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::crypto::base64(&self.0))
    }
}

impl<'de> Deserialize<'de> for KeyPairDocument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(KeyPairDocument)
            .map_err(serde::de::Error::custom)
    }
}

/// A key pair that still signs, beside the current one, until `until` (after a rotation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreviousKeyPair {
    pub key_pair: KeyPairDocument,
    pub until: Millis,
}

/// A webhook: one subscription of one account.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub created: Millis,
    pub updated: Millis,
    pub version: u64,
    /// The id of the token that created it, or `admin`.
    pub user_identifier: String,
    pub settings: WebhookSettings,
    pub secret: String,
    pub previous_secret: Option<PreviousSecret>,
    /// The Ed25519 key pair of `v1a` signatures: made when the webhook is created (or, for a
    /// webhook stored by an earlier build, at its first update or rotation).
    #[serde(default)]
    pub key_pair: Option<KeyPairDocument>,
    /// The key pair rotated out, still signing for 24 hours.
    #[serde(default)]
    pub previous_key_pair: Option<PreviousKeyPair>,
    pub status: WebhookStatus,
    pub deactivated: Option<Millis>,
    pub deactivation_reason: Option<String>,
    pub failure_count: u32,
    pub failing_since: Option<Millis>,
    /// The early warning of this failing streak was given (`webhook.failing`); a success
    /// ends the streak and clears it. Records of earlier builds read as not warned.
    #[serde(default)]
    pub failing_warned: bool,
}

impl fmt::Debug for Webhook {
    /// Everything but the signing secret (the auth secrets and key pairs redact themselves).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .field("version", &self.version)
            .field("user_identifier", &self.user_identifier)
            .field("settings", &self.settings)
            .field("secret", &"<redacted>")
            .field("previous_secret", &self.previous_secret)
            .field("key_pair", &self.key_pair)
            .field("previous_key_pair", &self.previous_key_pair)
            .field("status", &self.status)
            .field("deactivated", &self.deactivated)
            .field("deactivation_reason", &self.deactivation_reason)
            .field("failure_count", &self.failure_count)
            .field("failing_since", &self.failing_since)
            .finish()
    }
}

impl Webhook {
    /// Switched off: by its owner (`enabled: false`) or by hookd for failing. A paused webhook
    /// gets no attempts; its deliveries wait (disabled) or are buffered (deactivated).
    pub fn is_paused(&self) -> bool {
        !self.settings.enabled || self.is_deactivated()
    }

    /// Deactivated for failing: new deliveries are buffered.
    pub fn is_deactivated(&self) -> bool {
        self.status == WebhookStatus::Deactivated
    }

    /// Whether the scheduler may read its due deliveries ahead of free slots: only when
    /// nothing but its cap decides its pace (not `ordered`, no `rateLimit`).
    pub fn reads_ahead(&self) -> bool {
        !self.settings.ordered && self.settings.rate_limit.is_none()
    }

    /// How many of its attempts may run at once: one when `ordered`, else `cap`.
    pub fn slot_cap(&self, cap: usize) -> usize {
        if self.settings.ordered { 1 } else { cap }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_stored_before_languages_reads_as_english() {
        let old = r#"{"id":"clinic-42","name":"Clinic","created":1,"updated":2,"seq":7}"#;
        let account: Account = serde_json::from_str(old).unwrap();
        assert_eq!(account.language, Lang::En);
        assert_eq!(account.seq, 7);
        let german = Account {
            language: Lang::De,
            ..account
        };
        let json = serde_json::to_string(&german).unwrap();
        assert!(json.contains(r#""language":"de""#), "{json}");
        assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), german);
    }

    /// A webhook as the build before receiver options stored it.
    const EARLIER_WEBHOOK: &str = r#"{"id":"0190f1b2-0000-7000-8000-000000000001","account_id":"clinic-42","created":1,"updated":2,"version":3,"user_identifier":"admin","settings":{"name":"Bookings","enabled":true,"event_url":"https://example.com/hook","event_list":["booking.*"],"description":null,"headers":{"x-clinic":"42"},"rate_limit":50,"ordered":false},"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","previous_secret":{"secret":"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD","until":9},"status":"active","deactivated":null,"deactivation_reason":null,"failure_count":0,"failing_since":null}"#;

    #[test]
    fn a_webhook_stored_before_receiver_options_reads_with_their_defaults() {
        let webhook: Webhook = serde_json::from_str(EARLIER_WEBHOOK).unwrap();
        assert_eq!(webhook.settings.auth, None);
        assert_eq!(webhook.settings.filter, None);
        assert_eq!(webhook.settings.template, None);
        assert_eq!(webhook.settings.signature, SignatureScheme::V1);
        assert_eq!(webhook.key_pair, None);
        assert_eq!(webhook.previous_key_pair, None);
        assert_eq!(webhook.settings.rate_limit, Some(50));
        assert_eq!(webhook.previous_secret.as_ref().map(|p| p.until), Some(9));
        // And what this build writes reads back the same.
        let json = serde_json::to_string(&webhook).unwrap();
        assert_eq!(serde_json::from_str::<Webhook>(&json).unwrap(), webhook);
    }

    #[test]
    fn receiver_options_round_trip_and_secrets_stay_out_of_debug() {
        let mut webhook: Webhook = serde_json::from_str(EARLIER_WEBHOOK).unwrap();
        webhook.settings.auth = Some(Auth::OAuth2(OAuth2Auth {
            token_url: "https://auth.example.com/token".into(),
            client_id: "hookd".into(),
            client_secret: Secret::new("client-secret-value"),
            scope: Some("events".into()),
            audience: None,
        }));
        webhook.settings.template = Some(TemplateSpec::Body {
            body: "{{ data | tojson }}".into(),
            content_type: "application/json".into(),
        });
        webhook.settings.filter = Some("data.total > 5".into());
        webhook.settings.signature = SignatureScheme::Both;
        webhook.key_pair = Some(KeyPairDocument(vec![1, 2, 3, 250]));
        webhook.previous_key_pair = Some(PreviousKeyPair {
            key_pair: KeyPairDocument(vec![9, 8, 7]),
            until: 5,
        });
        let json = serde_json::to_string(&webhook).unwrap();
        assert!(json.contains(r#""signature":"v1 v1a""#), "{json}");
        assert!(json.contains(r#""type":"oauth2""#), "{json}");
        assert!(json.contains(r#""key_pair":"AQID+g==""#), "{json}");
        assert_eq!(serde_json::from_str::<Webhook>(&json).unwrap(), webhook);
        let debug = format!("{webhook:?}");
        for secret in [
            "client-secret-value",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "C2FVsBQIhrscChlQIMV",
            "AQID",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        for auth in [
            Auth::Basic {
                username: "u".into(),
                password: Secret::new("pw-value"),
            },
            Auth::Bearer {
                token: Secret::new("pw-value"),
            },
        ] {
            assert!(!format!("{auth:?}").contains("pw-value"));
        }
    }

    #[test]
    fn signature_schemes_read_in_either_order_once_each() {
        assert_eq!(SignatureScheme::parse("v1"), Some(SignatureScheme::V1));
        assert_eq!(SignatureScheme::parse("v1a"), Some(SignatureScheme::V1a));
        assert_eq!(
            SignatureScheme::parse("v1 v1a"),
            Some(SignatureScheme::Both)
        );
        assert_eq!(
            SignatureScheme::parse("v1a  v1"),
            Some(SignatureScheme::Both)
        );
        for bad in ["", "v2", "v1 v1", "v1,v1a", "V1"] {
            assert_eq!(SignatureScheme::parse(bad), None, "{bad}");
        }
        assert!(SignatureScheme::Both.symmetric() && SignatureScheme::Both.asymmetric());
        assert!(!SignatureScheme::V1a.symmetric() && !SignatureScheme::V1.asymmetric());
    }
}
