//! Webhook health: attempt counts and latencies per five minutes, and what a stats window
//! makes of them. Backend-independent: a backend keeps one [`SlotCounts`] per webhook and
//! five-minute slot (merged within a commit, so a busy webhook costs one write per slot and
//! commit, not one per attempt) and hands the slots of a window to [`summarize`].
//!
//! Latencies are kept as a histogram with exact buckets below 32 ms and sixteen buckets per
//! doubling above (each within 6.25% of its values), so percentiles over any window merge
//! exactly from the slots and a slot stays a few hundred bytes however busy the webhook.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::time::Millis;

/// The length of one stored slot.
pub const SLOT_MS: Millis = 5 * 60_000;

/// How long slots are kept: the longest window and a bucket's slack.
pub const KEPT_MS: Millis = 7 * 86_400_000 + 6 * 3_600_000;

/// The slot holding `date`.
pub fn slot_of(date: Millis) -> u64 {
    date.div_euclid(SLOT_MS).max(0) as u64
}

/// The attempts of one webhook in one five-minute slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotCounts {
    pub succeeded: u32,
    pub failed: u32,
    /// The longest latency seen, to bound a percentile read from a bucket's upper edge.
    pub max_latency_ms: u32,
    /// Latency bucket index → attempts (only attempts that got an HTTP response).
    pub latency: BTreeMap<u16, u32>,
}

impl SlotCounts {
    /// Counts one attempt; `latency_ms` when it got an HTTP response.
    pub fn add(&mut self, success: bool, latency_ms: Option<u64>) {
        if success {
            self.succeeded = self.succeeded.saturating_add(1);
        } else {
            self.failed = self.failed.saturating_add(1);
        }
        if let Some(ms) = latency_ms {
            let ms = u32::try_from(ms).unwrap_or(u32::MAX);
            self.max_latency_ms = self.max_latency_ms.max(ms);
            let count = self.latency.entry(latency_bucket(ms)).or_default();
            *count = count.saturating_add(1);
        }
    }

    /// Counts an attempt as reported; its latency only if it got an HTTP response.
    pub fn add_attempt(&mut self, report: &crate::store::AttemptReport) {
        let latency = report.status_code.map(|_| report.duration_ms);
        self.add(report.outcome.is_success(), latency);
    }

    /// Adds another slot's counts to these.
    pub fn merge(&mut self, other: &SlotCounts) {
        self.succeeded = self.succeeded.saturating_add(other.succeeded);
        self.failed = self.failed.saturating_add(other.failed);
        self.max_latency_ms = self.max_latency_ms.max(other.max_latency_ms);
        for (&bucket, &count) in &other.latency {
            let mine = self.latency.entry(bucket).or_default();
            *mine = mine.saturating_add(count);
        }
    }

    /// The stored form: succeeded, failed, max latency, bucket count (all big-endian), then
    /// (bucket u16, count u32) pairs.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.latency.len() * 6);
        out.extend_from_slice(&self.succeeded.to_be_bytes());
        out.extend_from_slice(&self.failed.to_be_bytes());
        out.extend_from_slice(&self.max_latency_ms.to_be_bytes());
        out.extend_from_slice(&(self.latency.len() as u16).to_be_bytes());
        for (bucket, count) in &self.latency {
            out.extend_from_slice(&bucket.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    /// Reads the stored form; anything else is corruption.
    pub fn decode(bytes: &[u8]) -> Result<SlotCounts, Error> {
        let corrupt = || Error::Corrupt("corrupt stats record".into());
        let u32_at = |at: usize| -> Result<u32, Error> {
            let b = bytes.get(at..at + 4).ok_or_else(corrupt)?;
            Ok(u32::from_be_bytes(b.try_into().map_err(|_| corrupt())?))
        };
        let u16_at = |at: usize| -> Result<u16, Error> {
            let b = bytes.get(at..at + 2).ok_or_else(corrupt)?;
            Ok(u16::from_be_bytes(b.try_into().map_err(|_| corrupt())?))
        };
        let pairs = usize::from(u16_at(12)?);
        if bytes.len() != 14 + pairs * 6 {
            return Err(corrupt());
        }
        let mut latency = BTreeMap::new();
        for i in 0..pairs {
            let at = 14 + i * 6;
            latency.insert(u16_at(at)?, u32_at(at + 2)?);
        }
        Ok(SlotCounts {
            succeeded: u32_at(0)?,
            failed: u32_at(4)?,
            max_latency_ms: u32_at(8)?,
            latency,
        })
    }
}

/// The histogram bucket of a latency: exact below 32 ms, then 16 per doubling.
fn latency_bucket(ms: u32) -> u16 {
    if ms < 32 {
        return ms as u16;
    }
    let exponent = 31 - ms.leading_zeros(); // ≥ 5
    let sub = (ms >> (exponent - 4)) & 0xf;
    (32 + (exponent - 5) * 16 + sub) as u16
}

/// The largest latency a bucket holds.
fn bucket_upper(bucket: u16) -> u64 {
    let bucket = u64::from(bucket);
    if bucket < 32 {
        return bucket;
    }
    let exponent = (bucket - 32) / 16 + 5;
    let sub = (bucket - 32) % 16;
    ((16 + sub + 1) << (exponent - 4)) - 1
}

/// A stats window: its length and its bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
    Week,
}

impl Window {
    /// `1h`, `24h` or `7d`.
    pub fn parse(text: &str) -> Option<Window> {
        match text {
            "1h" => Some(Window::Hour),
            "24h" => Some(Window::Day),
            "7d" => Some(Window::Week),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
        }
    }

    /// Five minutes, one hour or six hours.
    fn bucket_ms(self) -> Millis {
        match self {
            Window::Hour => SLOT_MS,
            Window::Day => 3_600_000,
            Window::Week => 6 * 3_600_000,
        }
    }

    fn bucket_count(self) -> i64 {
        match self {
            Window::Hour => 12,
            Window::Day => 24,
            Window::Week => 28,
        }
    }

    /// The window's buckets at `now`: the first bucket's start and the end of the last
    /// (which holds `now`), aligned to whole buckets in UTC.
    pub fn span(self, now: Millis) -> (Millis, Millis) {
        let size = self.bucket_ms();
        let last = now.div_euclid(size) * size;
        (last - (self.bucket_count() - 1) * size, last + size)
    }

    /// The slots the window reads: `[first, end)`.
    pub fn slots(self, now: Millis) -> (u64, u64) {
        let (start, end) = self.span(now);
        (slot_of(start), slot_of(end))
    }
}

/// One bucket of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start: Millis,
    pub succeeded: u32,
    pub failed: u32,
}

/// A webhook's health over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub window: Window,
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// `None` without attempts.
    pub success_rate: Option<f64>,
    /// p50 and p95 in ms over attempts that got an HTTP response; `None` without any.
    pub latency: Option<(u64, u64)>,
    pub buckets: Vec<Bucket>,
}

/// Makes a window's stats at `now` from its slots (slots outside the window are ignored).
pub fn summarize(
    window: Window,
    now: Millis,
    slots: impl IntoIterator<Item = (u64, SlotCounts)>,
) -> WindowStats {
    let (start, end) = window.span(now);
    let size = window.bucket_ms();
    let mut buckets: Vec<Bucket> = (0..window.bucket_count())
        .map(|i| Bucket {
            start: start + i * size,
            succeeded: 0,
            failed: 0,
        })
        .collect();
    let mut total = SlotCounts::default();
    for (slot, counts) in slots {
        let at = slot as Millis * SLOT_MS;
        if at < start || at >= end {
            continue;
        }
        let bucket = &mut buckets[((at - start) / size) as usize];
        bucket.succeeded = bucket.succeeded.saturating_add(counts.succeeded);
        bucket.failed = bucket.failed.saturating_add(counts.failed);
        total.merge(&counts);
    }
    let (succeeded, failed) = (u64::from(total.succeeded), u64::from(total.failed));
    let attempts = succeeded + failed;
    WindowStats {
        window,
        attempts,
        succeeded,
        failed,
        success_rate: (attempts > 0).then(|| succeeded as f64 / attempts as f64),
        latency: percentile(&total, 0.50).zip(percentile(&total, 0.95)),
        buckets,
    }
}

/// The nearest-rank percentile `p` of a slot's latencies, read as its bucket's upper edge
/// (never above the longest latency seen).
fn percentile(counts: &SlotCounts, p: f64) -> Option<u64> {
    let n: u64 = counts.latency.values().map(|&c| u64::from(c)).sum();
    if n == 0 {
        return None;
    }
    let rank = ((p * n as f64).ceil() as u64).clamp(1, n);
    let mut seen = 0u64;
    for (&bucket, &count) in &counts.latency {
        seen += u64::from(count);
        if seen >= rank {
            return Some(bucket_upper(bucket).min(u64::from(counts.max_latency_ms)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values_within_a_sixteenth() {
        for ms in (0..5000u32).chain([65_535, 1_000_000, u32::MAX]) {
            let bucket = latency_bucket(ms);
            let upper = bucket_upper(bucket);
            assert!(
                u64::from(ms) <= upper,
                "{ms} above its bucket's edge {upper}"
            );
            assert!(
                (upper - u64::from(ms)) as f64 <= f64::from(ms) / 16.0 + 0.5,
                "{ms} too far below {upper}"
            );
            if bucket > 0 {
                assert!(
                    u64::from(ms) > bucket_upper(bucket - 1),
                    "{ms} in two buckets"
                );
            }
        }
    }

    #[test]
    fn slots_round_trip_and_refuse_damage() {
        let mut counts = SlotCounts::default();
        counts.add(true, Some(12));
        counts.add(false, Some(480));
        counts.add(false, None);
        let bytes = counts.encode();
        assert_eq!(SlotCounts::decode(&bytes).unwrap(), counts);
        assert!(SlotCounts::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(SlotCounts::decode(&[]).is_err());
    }

    #[test]
    fn windows_align_to_utc_buckets_and_hold_now() {
        // 2026-11-22T10:17:30Z
        let now = 1_795_342_650_000;
        let (start, end) = Window::Day.span(now);
        assert_eq!(
            crate::time::format_rfc3339(start),
            "2026-11-21T11:00:00.000Z"
        );
        assert_eq!(crate::time::format_rfc3339(end), "2026-11-22T11:00:00.000Z");
        let (start, end) = Window::Hour.span(now);
        assert_eq!(
            crate::time::format_rfc3339(start),
            "2026-11-22T09:20:00.000Z"
        );
        assert_eq!(crate::time::format_rfc3339(end), "2026-11-22T10:20:00.000Z");
        let (start, end) = Window::Week.span(now);
        assert_eq!(
            crate::time::format_rfc3339(start),
            "2026-11-15T12:00:00.000Z"
        );
        assert_eq!(crate::time::format_rfc3339(end), "2026-11-22T12:00:00.000Z");
    }

    #[test]
    fn summaries_count_rate_and_percentiles() {
        let now = 1_795_342_650_000;
        let mut here = SlotCounts::default();
        for ms in 1..=100 {
            here.add(ms <= 90, Some(ms));
        }
        here.add(false, None);
        let mut old = SlotCounts::default();
        old.add(true, Some(5));
        let stats = summarize(
            Window::Day,
            now,
            [(slot_of(now), here), (slot_of(now - 2 * 86_400_000), old)],
        );
        assert_eq!(
            (stats.attempts, stats.succeeded, stats.failed),
            (101, 90, 11)
        );
        assert_eq!(stats.buckets.len(), 24);
        let last = stats.buckets.last().unwrap();
        assert_eq!((last.succeeded, last.failed), (90, 11));
        assert!(
            stats.buckets[..23]
                .iter()
                .all(|b| b.succeeded + b.failed == 0)
        );
        let rate = stats.success_rate.unwrap();
        assert!((rate - 90.0 / 101.0).abs() < 1e-9);
        let (p50, p95) = stats.latency.unwrap();
        assert!((50..=53).contains(&p50), "p50 {p50}");
        assert!((95..=100).contains(&p95), "p95 {p95}");
        let empty = summarize(Window::Hour, now, []);
        assert_eq!(
            (empty.attempts, empty.success_rate, empty.latency),
            (0, None, None)
        );
        assert_eq!(empty.buckets.len(), 12);
    }
}
