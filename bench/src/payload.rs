//! The events the load generator sends, and how the receiver reads them back.
//!
//! Every event carries its sequence number and its send time inside `data`, first, so the
//! receiver can find both with a byte search instead of parsing each 1 KiB delivery: hookd puts
//! `data` into the delivery body byte for byte, and the receiver must stay cheaper than hookd.

use std::sync::OnceLock;
use std::time::Instant;

/// The size of the `data` object of every event, in bytes.
pub const DATA_BYTES: usize = 1024;

/// The instant all send and arrival times are measured from (monotonic, one process).
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since [`epoch`].
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// The padding that brings `data` to [`DATA_BYTES`]; built once.
fn padding() -> &'static str {
    static PAD: OnceLock<String> = OnceLock::new();
    PAD.get_or_init(|| {
        // `{"seq":<20>,"sent":<20>,"pad":""}` is at most 62 bytes with both numbers at full width.
        let fixed = r#"{"seq":,"sent":,"pad":""}"#.len() + 2 * 20;
        "x".repeat(DATA_BYTES - fixed)
    })
}

/// Appends one event body (`{"type":…,"data":{"seq":…,"sent":…,"pad":…}}`) to `out`.
pub fn write_event(out: &mut Vec<u8>, event_type: &str, seq: u64, sent_us: u64) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(event_type.as_bytes());
    out.extend_from_slice(b"\",\"data\":{\"seq\":");
    push_u64(out, seq);
    out.extend_from_slice(b",\"sent\":");
    push_u64(out, sent_us);
    out.extend_from_slice(b",\"pad\":\"");
    out.extend_from_slice(padding().as_bytes());
    out.extend_from_slice(b"\"}}");
}

/// The body of a batch request: `{"events":[…]}` with `count` events from `first_seq` on.
pub fn write_batch(out: &mut Vec<u8>, event_type: &str, first_seq: u64, count: u64, sent_us: u64) {
    out.extend_from_slice(b"{\"events\":[");
    for i in 0..count {
        if i > 0 {
            out.push(b',');
        }
        write_event(out, event_type, first_seq + i, sent_us);
    }
    out.extend_from_slice(b"]}");
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The unsigned integer right after the first occurrence of `key` (e.g. `"seq":`).
pub fn find_u64(body: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(body, key)? + key.len();
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    body[at..at + digits].iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// How many times `needle` occurs in `haystack` (non-overlapping).
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        n += 1;
        rest = &rest[at + needle.len()..];
    }
    n
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        let at = haystack[i..=last_start].iter().position(|&b| b == first)? + i;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_valid_json_with_data_of_the_stated_size() {
        let mut body = Vec::new();
        write_event(&mut body, "bench.event", 12, 34);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["data"]["seq"], 12);
        assert_eq!(v["data"]["sent"], 34);
        let data = serde_json::to_vec(&v["data"]).unwrap();
        assert!(data.len() <= DATA_BYTES && data.len() > DATA_BYTES - 40);
    }

    #[test]
    fn a_batch_holds_every_event() {
        let mut body = Vec::new();
        write_batch(&mut body, "bench.event", 100, 3, 7);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let seqs: Vec<u64> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["data"]["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [100, 101, 102]);
    }

    #[test]
    fn the_receiver_finds_seq_and_sent_in_a_delivery() {
        let mut data = Vec::new();
        write_event(&mut data, "t", u64::MAX / 10, 987_654);
        let envelope = [
            br#"{"id":"x","type":"t","timestamp":"2026","account":"bench","data":"#.as_slice(),
            &data,
            b"}",
        ]
        .concat();
        assert_eq!(find_u64(&envelope, b"\"seq\":"), Some(u64::MAX / 10));
        assert_eq!(find_u64(&envelope, b"\"sent\":"), Some(987_654));
        assert_eq!(find_u64(b"{\"seq\":x}", b"\"seq\":"), None);
        assert_eq!(count(b"aXbXcX", b"X"), 3);
    }
}
