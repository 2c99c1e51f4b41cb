//! When the next attempt of a failing delivery is due: the retry schedule with jitter and the
//! receiver's `Retry-After`.

use std::time::Duration;

use crate::time::Millis;

/// The longest a `Retry-After` may push an attempt back.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// The configured waits between attempts (`delivery.retry_schedule`).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    delays: Vec<Duration>,
}

impl RetryPolicy {
    /// A policy with these waits; the first attempt is immediate, so attempts = waits + 1.
    pub fn new(delays: Vec<Duration>) -> Self {
        RetryPolicy { delays }
    }

    /// When the next attempt is due after `failed_in_series` failed attempts of the current
    /// series, or `None` when the series is exhausted. `unit` is a uniform random number in
    /// [0, 1) for the ±10 % jitter; `retry_after` is the receiver's wish (already capped).
    pub fn next_due(
        &self,
        failed_in_series: u32,
        now: Millis,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> Option<Millis> {
        let base = *self.delays.get(failed_in_series.checked_sub(1)? as usize)?;
        let factor = 0.9 + 0.2 * unit.clamp(0.0, 1.0);
        let jittered = (base.as_millis() as f64 * factor) as i64;
        let wish = retry_after
            .map(|d| d.min(RETRY_AFTER_CAP).as_millis() as i64)
            .unwrap_or(0);
        Some(now + jittered.max(wish))
    }
}

/// A uniform random number in [0, 1) from the OS random source.
pub fn random_unit() -> f64 {
    let bytes = crate::crypto::random_bytes::<8>();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_policy() -> RetryPolicy {
        RetryPolicy::new(
            [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        )
    }

    #[test]
    fn schedule_has_eight_attempts_over_about_27_6_hours() {
        let p = default_policy();
        assert_eq!(p.delays.len() + 1, 8);
        let total: i64 = (1..=7).map(|n| p.next_due(n, 0, 0.5, None).unwrap()).sum();
        assert_eq!(total, 99_305_000); // 27.58 hours without jitter
        assert_eq!(p.next_due(8, 0, 0.5, None), None);
        assert_eq!(p.next_due(0, 0, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let p = default_policy();
        assert_eq!(p.next_due(1, 1000, 0.0, None), Some(1000 + 4500));
        assert_eq!(p.next_due(1, 1000, 0.999_999_999, None), Some(1000 + 5499));
        for _ in 0..1000 {
            let due = p.next_due(2, 0, random_unit(), None).unwrap();
            assert!((270_000..=330_000).contains(&due), "{due}");
        }
    }

    #[test]
    fn retry_after_pushes_later_but_is_capped() {
        let p = default_policy();
        assert_eq!(
            p.next_due(1, 0, 0.5, Some(Duration::from_secs(60))),
            Some(60_000)
        );
        // A shorter wish does not pull the schedule earlier.
        assert_eq!(
            p.next_due(2, 0, 0.5, Some(Duration::from_secs(1))),
            Some(300_000)
        );
        assert_eq!(
            p.next_due(1, 0, 0.5, Some(Duration::from_secs(99_999))),
            Some(3_600_000)
        );
    }
}
