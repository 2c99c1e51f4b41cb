//! Records of the traffic hookd carries: events, deliveries and their attempts, with their API
//! shapes.
//!
//! An event is stored once, as the exact envelope bytes receivers get (so nothing is
//! re-serialised per attempt and `data` stays byte-for-byte as ingested); its small metadata
//! sits in front of those bytes.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::id_to_string;
use crate::time::{Millis, format_rfc3339};

/// The metadata of a stored event; the envelope bytes follow it in the same value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventMeta {
    pub event_type: String,
    pub created: Millis,
    pub idempotency_key: Option<String>,
    /// (delivery id, webhook id) of each delivery made at fan-out.
    pub deliveries: Vec<(u128, u128)>,
    /// Where `data` sits inside the envelope.
    pub data_start: u32,
    pub data_end: u32,
}

/// A stored event: metadata plus the envelope as delivered.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: u128,
    pub meta: EventMeta,
    pub envelope: Vec<u8>,
}

impl StoredEvent {
    /// The stored value: big-endian metadata length, metadata JSON, envelope.
    pub fn encode(meta: &EventMeta, envelope: &[u8]) -> Result<Vec<u8>, Error> {
        let meta = serde_json::to_vec(meta)
            .map_err(|e| Error::Internal(format!("cannot encode event: {e}")))?;
        let mut value = Vec::with_capacity(4 + meta.len() + envelope.len());
        value.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        value.extend_from_slice(&meta);
        value.extend_from_slice(envelope);
        Ok(value)
    }

    /// Reads a stored value back.
    pub fn decode(id: u128, value: &[u8]) -> Result<StoredEvent, Error> {
        let corrupt = || Error::Storage("corrupt event record".into());
        let len_bytes: [u8; 4] = value
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let meta_bytes = value.get(4..4 + len).ok_or_else(corrupt)?;
        let meta: EventMeta = serde_json::from_slice(meta_bytes).map_err(|_| corrupt())?;
        Ok(StoredEvent {
            id,
            meta,
            envelope: value[4 + len..].to_vec(),
        })
    }

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
    event_id: u128,
    event_type: &str,
    created: Millis,
    account_id: &str,
    data: &[u8],
) -> (Vec<u8>, u32, u32) {
    let mut out = Vec::with_capacity(160 + data.len() + account_id.len() + event_type.len());
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(id_to_string(event_id).as_bytes());
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

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttemptRecord {
    pub number: u32,
    pub date: Millis,
    pub duration_ms: u64,
    /// `success`, `http_error`, `timeout`, …
    pub outcome: String,
    pub status_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// The most attempts kept per delivery; older ones are dropped (numbers keep counting).
pub const MAX_KEPT_ATTEMPTS: usize = 50;

/// One event on its way to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub event_id: u128,
    pub webhook_id: u128,
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

impl DeliveryRecord {
    /// Decodes a stored record.
    pub fn decode(bytes: &[u8]) -> Result<DeliveryRecord, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Storage(format!("corrupt delivery record: {e}")))
    }

    /// Encodes for storage.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self)
            .map_err(|e| Error::Internal(format!("cannot encode delivery: {e}")))
    }
}

/// The API shape of an attempt.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView<'a> {
    number: u32,
    date: String,
    duration_ms: u64,
    outcome: &'a str,
    status_code: Option<u16>,
    response_body: Option<&'a str>,
    error: Option<&'a str>,
}

/// The API shape of a delivery.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView<'a> {
    id: String,
    event_id: String,
    webhook_id: String,
    event_type: &'a str,
    created_date: String,
    status: &'static str,
    next_attempt_date: Option<String>,
    attempts: Vec<AttemptView<'a>>,
}

impl<'a> DeliveryView<'a> {
    /// The view of the delivery `id`.
    pub fn new(id: u128, d: &'a DeliveryRecord) -> Self {
        DeliveryView {
            id: id_to_string(id),
            event_id: id_to_string(d.event_id),
            webhook_id: id_to_string(d.webhook_id),
            event_type: &d.event_type,
            created_date: format_rfc3339(d.created),
            status: d.status.as_str(),
            next_attempt_date: d.next_attempt.map(format_rfc3339),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    number: a.number,
                    date: format_rfc3339(a.date),
                    duration_ms: a.duration_ms,
                    outcome: &a.outcome,
                    status_code: a.status_code,
                    response_body: a.response_body.as_deref(),
                    error: a.error.as_deref(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keeps_data_bytes_exactly() {
        let data = br#"{"z": 1.000000000000000000001, "a": [1e400, "\u00e9"]}"#;
        let (env, start, end) = envelope(42, "booking.created", 0, "acc\"1", data);
        assert_eq!(&env[start as usize..end as usize], data);
        let text = std::str::from_utf8(&env).unwrap();
        assert!(text.starts_with("{\"id\":\"00000000-0000-0000-0000-00000000002a\",\"type\":\"booking.created\",\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"account\":\"acc\\\"1\",\"data\":"));
        assert!(text.ends_with("]}}"));
    }

    #[test]
    fn stored_events_round_trip() {
        let meta = EventMeta {
            event_type: "t".into(),
            created: 5,
            idempotency_key: Some("k".into()),
            deliveries: vec![(u128::MAX, 7)],
            data_start: 1,
            data_end: 3,
        };
        let value = StoredEvent::encode(&meta, b"xabz").unwrap();
        let back = StoredEvent::decode(9, &value).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(back.data(), b"ab");
        assert!(StoredEvent::decode(9, b"\0\0").is_err());
    }
}

/// A notice to the operator (today: a webhook was deactivated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationRecord {
    pub kind: String,
    pub account_id: String,
    pub account_seq: u64,
    pub webhook_id: String,
    pub created: Millis,
    pub message: String,
    pub activation_url: String,
}

/// The API shape of a notification.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView<'a> {
    id: String,
    kind: &'a str,
    account_id: &'a str,
    webhook_id: &'a str,
    created_date: String,
    message: &'a str,
    activation_url: &'a str,
}

impl<'a> NotificationView<'a> {
    /// The view of notification `id`.
    pub fn new(id: u128, n: &'a NotificationRecord) -> Self {
        NotificationView {
            id: id_to_string(id),
            kind: &n.kind,
            account_id: &n.account_id,
            webhook_id: &n.webhook_id,
            created_date: format_rfc3339(n.created),
            message: &n.message,
            activation_url: &n.activation_url,
        }
    }
}
