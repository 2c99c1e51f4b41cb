//! How traffic records are laid out in the store: the fixed-layout binary encoding of
//! delivery records (read and rewritten on every attempt) and the stored event (metadata in
//! front of the envelope bytes).
//!
//! JSON cost a decode and an encode of every delivery record per attempt, which profiles
//! showed as a tenth of a drain's CPU; these records are never read by anything but hookd, so
//! they are stored as big-endian fields in a fixed order instead. Reading is bounds-checked
//! throughout: a short or malformed value is an error, never a panic.

use crate::error::Error;
use crate::ids::{EventId, WebhookId};
use crate::records::{
    AttemptRecord, DeliveryHead, DeliveryRecord, DeliveryStatus, EventMeta, MAX_KEPT_ATTEMPTS,
    Outcome, StoredEvent,
};

/// The first byte of a binary delivery record (JSON records, written by earlier builds and
/// still read, start with `{`).
const DELIVERY_TAG: u8 = 0xD1;

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
    pub fn decode(id: EventId, value: &[u8]) -> Result<StoredEvent, Error> {
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
            let event_id = EventId::from_u128(d.u128()?);
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
        let event_id = EventId::from_u128(d.u128()?);
        let webhook_id = WebhookId::from_u128(d.u128()?);
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
            let outcome = Outcome::parse(d.str()?).ok_or(Malformed)?;
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

    /// Encodes for storage (binary; see the module's description).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut e = Encoder::new(
            DELIVERY_TAG,
            96 + self.event_type.len() + 64 * self.attempts.len(),
        );
        e.u128(self.event_id.as_u128());
        e.u128(self.webhook_id.as_u128());
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
            e.str(a.outcome.as_str());
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

/// Appends fields to a value being encoded.
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    /// An encoder whose value starts with the format `tag` byte.
    pub fn new(tag: u8, capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(tag);
        Encoder { out }
    }

    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u128(&mut self, v: u128) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A string of up to 4 GiB: its length, then its bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.out.extend_from_slice(s.as_bytes());
    }

    /// An optional string: a presence byte, then the string if present.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    /// An optional number: a presence byte, then the number if present.
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// The value ended early or held an impossible field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Reads fields back in the order they were written.
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `value`, which must start with the format `tag` byte.
    pub fn new(value: &'a [u8], tag: u8) -> Result<Self, Malformed> {
        match value.split_first() {
            Some((&first, rest)) if first == tag => Ok(Decoder { rest }),
            _ => Err(Malformed),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let (head, rest) = self.rest.split_first_chunk::<N>().ok_or(Malformed)?;
        self.rest = rest;
        Ok(*head)
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        if self.rest.len() < len {
            return Err(Malformed);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Malformed> {
        self.take().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        self.take().map(u32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        self.take().map(u64::from_be_bytes)
    }

    pub fn i64(&mut self) -> Result<i64, Malformed> {
        self.take().map(i64::from_be_bytes)
    }

    pub fn u128(&mut self) -> Result<u128, Malformed> {
        self.take().map(u128::from_be_bytes)
    }

    pub fn str(&mut self) -> Result<&'a str, Malformed> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.bytes(len)?).map_err(|_| Malformed)
    }

    pub fn opt_str(&mut self) -> Result<Option<&'a str>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(Malformed),
        }
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.i64().map(Some),
            _ => Err(Malformed),
        }
    }

    /// Whether every byte was read (a longer value than its fields is malformed too).
    pub fn end(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_delivery() -> DeliveryRecord {
        DeliveryRecord {
            event_id: EventId::from_u128(u128::MAX - 1),
            webhook_id: WebhookId::from_u128(7),
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
                    outcome: Outcome::HttpError,
                    status_code: Some(503),
                    response_body: Some("busy".into()),
                    error: None,
                },
                AttemptRecord {
                    number: 3,
                    date: 9,
                    duration_ms: 0,
                    outcome: Outcome::Timeout,
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
            deliveries: vec![(
                crate::ids::DeliveryId::from_u128(u128::MAX),
                WebhookId::from_u128(7),
            )],
            data_start: 1,
            data_end: 3,
        };
        let value = StoredEvent::encode(&meta, b"xabz").unwrap();
        let back = StoredEvent::decode(EventId::from_u128(9), &value).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(back.data(), b"ab");
        assert_eq!(StoredEvent::envelope_of(&value).unwrap(), b"xabz");
        assert!(StoredEvent::envelope_of(b"\0\0\0\x09{}").is_err());
        assert!(StoredEvent::decode(EventId::from_u128(9), b"\0\0").is_err());
    }

    #[test]
    fn fields_round_trip_and_short_values_are_refused() {
        let mut e = Encoder::new(7, 64);
        e.u8(1);
        e.u16(2);
        e.u32(3);
        e.u64(4);
        e.i64(-5);
        e.u128(u128::MAX);
        e.str("é");
        e.opt_str(None);
        e.opt_str(Some("x"));
        e.opt_i64(Some(-1));
        e.opt_i64(None);
        let value = e.finish();
        let mut d = Decoder::new(&value, 7).unwrap();
        assert_eq!(d.u8(), Ok(1));
        assert_eq!(d.u16(), Ok(2));
        assert_eq!(d.u32(), Ok(3));
        assert_eq!(d.u64(), Ok(4));
        assert_eq!(d.i64(), Ok(-5));
        assert_eq!(d.u128(), Ok(u128::MAX));
        assert_eq!(d.str(), Ok("é"));
        assert_eq!(d.opt_str(), Ok(None));
        assert_eq!(d.opt_str(), Ok(Some("x")));
        assert_eq!(d.opt_i64(), Ok(Some(-1)));
        assert_eq!(d.opt_i64(), Ok(None));
        assert_eq!(d.end(), Ok(()));
        assert!(Decoder::new(&value, 8).is_err());
        for cut in 1..value.len() {
            let mut d = Decoder::new(&value[..cut], 7).unwrap();
            let all = (|| {
                d.u8()?;
                d.u16()?;
                d.u32()?;
                d.u64()?;
                d.i64()?;
                d.u128()?;
                d.str()?;
                d.opt_str()?;
                d.opt_str()?;
                d.opt_i64()?;
                d.opt_i64()?;
                d.end()
            })();
            assert_eq!(all, Err(Malformed), "cut at {cut}");
        }
    }
}
