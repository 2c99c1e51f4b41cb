//! Records of the traffic hookd carries: events, deliveries and their attempts, with their API
//! shapes.
//!
//! An event is stored once, as the exact envelope bytes receivers get (so nothing is
//! re-serialised per attempt and `data` stays byte-for-byte as ingested); its small metadata
//! sits in front of those bytes.

use serde::{Deserialize, Serialize};

use crate::binary::{Decoder, Encoder, Malformed};
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
        let (meta_bytes, envelope) = Self::split(value)?;
        let meta: EventMeta = serde_json::from_slice(meta_bytes)
            .map_err(|_| Error::Corrupt("corrupt event record".into()))?;
        Ok(StoredEvent {
            id,
            meta,
            envelope: envelope.to_vec(),
        })
    }

    /// The envelope of a stored value, without decoding its metadata (the scheduler needs
    /// nothing else).
    pub fn envelope_of(value: &[u8]) -> Result<&[u8], Error> {
        Self::split(value).map(|(_, envelope)| envelope)
    }

    /// A stored value's metadata bytes and envelope.
    fn split(value: &[u8]) -> Result<(&[u8], &[u8]), Error> {
        let corrupt = || Error::Corrupt("corrupt event record".into());
        let len_bytes: [u8; 4] = value
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let rest = value.get(4..).ok_or_else(corrupt)?;
        if rest.len() < len {
            return Err(corrupt());
        }
        Ok(rest.split_at(len))
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

    /// The status's byte in a binary record.
    fn code(self) -> u8 {
        match self {
            DeliveryStatus::Pending => 0,
            DeliveryStatus::Succeeded => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Buffered => 3,
            DeliveryStatus::Cancelled => 4,
            DeliveryStatus::Expired => 5,
        }
    }

    fn from_code(code: u8) -> Option<DeliveryStatus> {
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

/// The first byte of a binary delivery record (JSON records, written by earlier builds and
/// still read, start with `{`).
const DELIVERY_TAG: u8 = 0xD1;

/// What the scheduler needs of a delivery to start an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryHead {
    pub event_id: u128,
    pub event_type: String,
    pub attempt_count: u32,
}

impl DeliveryRecord {
    /// Decodes a stored record (binary, or JSON from an earlier build).
    pub fn decode(bytes: &[u8]) -> Result<DeliveryRecord, Error> {
        if bytes.first() == Some(&b'{') {
            return serde_json::from_slice(bytes)
                .map_err(|e| Error::Corrupt(format!("corrupt delivery record: {e}")));
        }
        Self::decode_binary(bytes).map_err(|_| Error::Corrupt("corrupt delivery record".into()))
    }

    /// Reads only the fields an attempt needs, without the attempts list.
    pub fn decode_head(bytes: &[u8]) -> Result<DeliveryHead, Error> {
        let head = || -> Result<DeliveryHead, Malformed> {
            let mut d = Decoder::new(bytes, DELIVERY_TAG)?;
            let event_id = d.u128()?;
            d.u128()?; // webhook
            d.i64()?; // created
            d.u8()?; // status
            d.opt_i64()?; // next attempt
            d.u64()?; // due key
            let attempt_count = d.u32()?;
            d.u32()?; // series start
            let event_type = d.str()?.to_string();
            Ok(DeliveryHead {
                event_id,
                event_type,
                attempt_count,
            })
        };
        if bytes.first() == Some(&b'{') {
            let r = Self::decode(bytes)?;
            return Ok(DeliveryHead {
                event_id: r.event_id,
                event_type: r.event_type,
                attempt_count: r.attempt_count,
            });
        }
        head().map_err(|_| Error::Corrupt("corrupt delivery record".into()))
    }

    fn decode_binary(bytes: &[u8]) -> Result<DeliveryRecord, Malformed> {
        let mut d = Decoder::new(bytes, DELIVERY_TAG)?;
        let event_id = d.u128()?;
        let webhook_id = d.u128()?;
        let created = d.i64()?;
        let status = DeliveryStatus::from_code(d.u8()?).ok_or(Malformed)?;
        let next_attempt = d.opt_i64()?;
        let due_key = d.u64()?;
        let attempt_count = d.u32()?;
        let series_start = d.u32()?;
        let event_type = d.str()?.to_string();
        let count = d.u32()? as usize;
        let mut attempts = Vec::with_capacity(count.min(MAX_KEPT_ATTEMPTS));
        for _ in 0..count {
            let number = d.u32()?;
            let date = d.i64()?;
            let duration_ms = d.u64()?;
            let outcome = d.str()?.to_string();
            let status_code = match d.u8()? {
                0 => None,
                1 => Some(d.u16()?),
                _ => return Err(Malformed),
            };
            let response_body = d.opt_str()?.map(str::to_string);
            let error = d.opt_str()?.map(str::to_string);
            attempts.push(AttemptRecord {
                number,
                date,
                duration_ms,
                outcome,
                status_code,
                response_body,
                error,
            });
        }
        d.end()?;
        Ok(DeliveryRecord {
            event_id,
            webhook_id,
            event_type,
            created,
            status,
            next_attempt,
            due_key,
            attempt_count,
            series_start,
            attempts,
        })
    }

    /// Encodes for storage (binary; see [`crate::binary`]).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut e = Encoder::new(
            DELIVERY_TAG,
            96 + self.event_type.len() + 64 * self.attempts.len(),
        );
        e.u128(self.event_id);
        e.u128(self.webhook_id);
        e.i64(self.created);
        e.u8(self.status.code());
        e.opt_i64(self.next_attempt);
        e.u64(self.due_key);
        e.u32(self.attempt_count);
        e.u32(self.series_start);
        e.str(&self.event_type);
        e.u32(self.attempts.len() as u32);
        for a in &self.attempts {
            e.u32(a.number);
            e.i64(a.date);
            e.u64(a.duration_ms);
            e.str(&a.outcome);
            match a.status_code {
                None => e.u8(0),
                Some(code) => {
                    e.u8(1);
                    e.u16(code);
                }
            }
            e.opt_str(a.response_body.as_deref());
            e.opt_str(a.error.as_deref());
        }
        Ok(e.finish())
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

    fn sample_delivery() -> DeliveryRecord {
        DeliveryRecord {
            event_id: u128::MAX - 1,
            webhook_id: 7,
            event_type: "booking.créated".into(),
            created: -3,
            status: DeliveryStatus::Buffered,
            next_attempt: Some(1_700_000_000_000),
            due_key: 42,
            attempt_count: 3,
            series_start: 1,
            attempts: vec![
                AttemptRecord {
                    number: 2,
                    date: 5,
                    duration_ms: 6,
                    outcome: "http_error".into(),
                    status_code: Some(503),
                    response_body: Some("busy".into()),
                    error: None,
                },
                AttemptRecord {
                    number: 3,
                    date: 9,
                    duration_ms: 0,
                    outcome: "timeout".into(),
                    status_code: None,
                    response_body: None,
                    error: Some("no answer".into()),
                },
            ],
        }
    }

    #[test]
    fn delivery_records_round_trip_in_binary_and_json_ones_still_read() {
        let record = sample_delivery();
        let value = record.encode().unwrap();
        assert_eq!(value[0], DELIVERY_TAG);
        assert_eq!(DeliveryRecord::decode(&value).unwrap(), record);
        let head = DeliveryRecord::decode_head(&value).unwrap();
        assert_eq!(
            (head.event_id, head.event_type.as_str(), head.attempt_count),
            (record.event_id, "booking.créated", 3)
        );
        let json = serde_json::to_vec(&record).unwrap();
        assert_eq!(DeliveryRecord::decode(&json).unwrap(), record);
        assert_eq!(DeliveryRecord::decode_head(&json).unwrap(), head);
        for cut in 0..value.len() {
            assert!(
                DeliveryRecord::decode(&value[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = value.clone();
        longer.push(0);
        assert!(DeliveryRecord::decode(&longer).is_err());
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
        assert_eq!(StoredEvent::envelope_of(&value).unwrap(), b"xabz");
        assert!(StoredEvent::envelope_of(b"\0\0\0\x09{}").is_err());
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
