//! The records hookd keeps about its configuration (accounts, tokens, webhooks).
//!
//! Records are what the store persists (serde JSON, compact field names are not worth the
//! opacity at this volume); their API shapes are in src/api/views.rs, built only at the edge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::TokenHash;
use crate::i18n::Lang;
use crate::ids::{AccountId, PortalLinkId, TokenId, WebhookId};
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
}

/// A secret that still signs, beside the current one, until `until`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: String,
    pub until: Millis,
}

/// A webhook: one subscription of one account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
}
