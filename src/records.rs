//! Records of the traffic hookd carries: events, deliveries and their attempts, and
//! notifications. Their stored layout is src/store/codec.rs's, their API shapes
//! src/api/views.rs's.
//!
//! An event is stored once, as the exact envelope bytes receivers get (so nothing is
//! re-serialised per attempt and `data` stays byte-for-byte as ingested); its small metadata
//! sits in front of those bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, DeliveryId, EventId, WebhookId};
use crate::time::{Millis, format_rfc3339};

/// The metadata of a stored event; the envelope bytes follow it in the same value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventMeta {
    pub event_type: String,
    pub created: Millis,
    pub idempotency_key: Option<String>,
    /// (delivery id, webhook id) of each delivery made at fan-out (stored as numbers).
    #[serde(with = "crate::ids::pairs_as_numbers")]
    pub deliveries: Vec<(DeliveryId, WebhookId)>,
    /// Where `data` sits inside the envelope.
    pub data_start: u32,
    pub data_end: u32,
}

/// A stored event: metadata plus the envelope as delivered.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: EventId,
    pub meta: EventMeta,
    pub envelope: Vec<u8>,
}

impl StoredEvent {
    /// The `data` bytes exactly as ingested.
    pub fn data(&self) -> &[u8] {
        self.envelope
            .get(self.meta.data_start as usize..self.meta.data_end as usize)
            .unwrap_or(b"null")
    }
}

/// Builds the envelope receivers get: `{"id","type","timestamp","account","data"}`.
/// Returns the bytes and the range `data` occupies in them.
pub fn envelope(
    event_id: EventId,
    event_type: &str,
    created: Millis,
    account_id: &str,
    data: &[u8],
) -> (Vec<u8>, u32, u32) {
    let mut out = Vec::with_capacity(160 + data.len() + account_id.len() + event_type.len());
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(event_id.to_string().as_bytes());
    out.extend_from_slice(b"\",\"type\":");
    push_json_string(&mut out, event_type);
    out.extend_from_slice(b",\"timestamp\":\"");
    out.extend_from_slice(format_rfc3339(created).as_bytes());
    out.extend_from_slice(b"\",\"account\":");
    push_json_string(&mut out, account_id);
    out.extend_from_slice(b",\"data\":");
    let start = out.len() as u32;
    out.extend_from_slice(data);
    let end = out.len() as u32;
    out.push(b'}');
    (out, start, end)
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str cannot fail.
    if let Ok(text) = serde_json::to_string(s) {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
    Buffered,
    Cancelled,
    Expired,
}

impl DeliveryStatus {
    /// The API's word.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Buffered => "buffered",
            DeliveryStatus::Cancelled => "cancelled",
            DeliveryStatus::Expired => "expired",
        }
    }

    /// The status's byte in a binary record.
    pub(crate) fn code(self) -> u8 {
        match self {
            DeliveryStatus::Pending => 0,
            DeliveryStatus::Succeeded => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Buffered => 3,
            DeliveryStatus::Cancelled => 4,
            DeliveryStatus::Expired => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<DeliveryStatus> {
        Some(match code {
            0 => DeliveryStatus::Pending,
            1 => DeliveryStatus::Succeeded,
            2 => DeliveryStatus::Failed,
            3 => DeliveryStatus::Buffered,
            4 => DeliveryStatus::Cancelled,
            5 => DeliveryStatus::Expired,
            _ => return None,
        })
    }

    /// Parses the API's word.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "succeeded" => DeliveryStatus::Succeeded,
            "failed" => DeliveryStatus::Failed,
            "buffered" => DeliveryStatus::Buffered,
            "cancelled" => DeliveryStatus::Cancelled,
            "expired" => DeliveryStatus::Expired,
            _ => return None,
        })
    }
}

/// How an attempt ended, as recorded with it and shown in the API (docs/delivery.md
/// "Outcome of an attempt"). Stored by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx response.
    Success,
    /// Any other complete response (3xx is not followed).
    HttpError,
    /// No complete response within `timeout`.
    Timeout,
    /// TCP refused or reset, connect + TLS handshake not done within `connect_timeout`, the
    /// connection lost mid-exchange, or a request that could not be formed (bad URL or header).
    ConnectError,
    /// The TLS handshake failed: certificate, protocol, or a peer that does not speak TLS.
    TlsError,
    /// The host name did not resolve (or resolution outlasted `connect_timeout`).
    DnsError,
    /// The target resolved to a forbidden address; nothing was connected.
    Blocked,
    /// What came back is not valid HTTP, or the connection closed before a complete response
    /// head.
    InvalidResponse,
    /// The receiver's credentials could not be had (an OAuth2 token request failed).
    AuthError,
    /// The webhook's body template failed for this event; never retried.
    TemplateError,
}

impl Outcome {
    /// Every outcome, for tables and tests.
    pub const ALL: [Outcome; 10] = [
        Outcome::Success,
        Outcome::HttpError,
        Outcome::Timeout,
        Outcome::ConnectError,
        Outcome::TlsError,
        Outcome::DnsError,
        Outcome::Blocked,
        Outcome::InvalidResponse,
        Outcome::AuthError,
        Outcome::TemplateError,
    ];

    /// The stored and reported name of the outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::HttpError => "http_error",
            Outcome::Timeout => "timeout",
            Outcome::ConnectError => "connect_error",
            Outcome::TlsError => "tls_error",
            Outcome::DnsError => "dns_error",
            Outcome::Blocked => "blocked",
            Outcome::InvalidResponse => "invalid_response",
            Outcome::AuthError => "auth_error",
            Outcome::TemplateError => "template_error",
        }
    }

    /// The outcome of a stored name.
    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the attempt succeeded.
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttemptRecord {
    pub number: u32,
    pub date: Millis,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// The most attempts kept per delivery; older ones are dropped (numbers keep counting).
pub const MAX_KEPT_ATTEMPTS: usize = 50;

/// One event on its way to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Stored as numbers, as every earlier build wrote them.
    #[serde(with = "crate::ids::as_number")]
    pub event_id: EventId,
    #[serde(with = "crate::ids::as_number")]
    pub webhook_id: WebhookId,
    pub event_type: String,
    pub created: Millis,
    pub status: DeliveryStatus,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt: Option<Millis>,
    /// The time component of this delivery's due-queue key (0 for ordered webhooks).
    pub due_key: u64,
    /// Attempts made over the delivery's life.
    pub attempt_count: u32,
    /// `attempt_count` when the current series of attempts began (manual retry, replay).
    pub series_start: u32,
    pub attempts: Vec<AttemptRecord>,
}

/// What the scheduler needs of a delivery to start an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryHead {
    pub event_id: EventId,
    pub event_type: String,
    pub attempt_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keeps_data_bytes_exactly() {
        let data = br#"{"z": 1.000000000000000000001, "a": [1e400, "\u00e9"]}"#;
        let (env, start, end) =
            envelope(EventId::from_u128(42), "booking.created", 0, "acc\"1", data);
        assert_eq!(&env[start as usize..end as usize], data);
        let text = std::str::from_utf8(&env).unwrap();
        assert!(text.starts_with("{\"id\":\"00000000-0000-0000-0000-00000000002a\",\"type\":\"booking.created\",\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"account\":\"acc\\\"1\",\"data\":"));
        assert!(text.ends_with("]}}"));
    }

    #[test]
    fn outcomes_read_back_by_name() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
        assert_eq!(Outcome::parse("exploded"), None);
    }
}

/// A notice to the operator (today: a webhook was deactivated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationRecord {
    pub kind: String,
    pub account_id: AccountId,
    pub account_seq: u64,
    pub webhook_id: WebhookId,
    pub created: Millis,
    pub message: String,
    /// The one-click reactivation link (deactivations only; a warning has none).
    pub activation_url: Option<String>,
}
