//! Pacing of a webhook's `rateLimit`: virtual scheduling (GCRA) with a tiny burst.
//!
//! Starts are spaced by a little over `1/rate` seconds, so no window of one second ever sees
//! more than `rate` starts. Above 1,000/s the scheduler's millisecond clock cannot space single
//! starts, so a burst of `rate/1000` is allowed per millisecond instead.

use crate::time::Millis;

/// The pacing state of one webhook.
#[derive(Debug, Default, Clone)]
pub struct Pace {
    /// The theoretical time (ms) at which all starts so far would have been spaced out.
    tat: f64,
}

fn interval_ms(rate: u32) -> f64 {
    // 1 % slack keeps `rate` starts strictly inside any one-second window.
    1010.0 / f64::from(rate.max(1))
}

fn burst(rate: u32) -> f64 {
    f64::from(rate.div_ceil(1000).max(1))
}

/// The scheduler looks at the clock in whole milliseconds; a start may come this much before
/// its theoretical time, or ticks rounding up would lose throughput.
const TICK_MS: f64 = 0.999;

impl Pace {
    /// The pace of a webhook whose theoretical time is `tat`, as a store that paces for a
    /// cluster keeps it (see [`Pace::tat`]).
    pub fn resume(tat: f64) -> Pace {
        Pace { tat }
    }

    /// The theoretical time (ms) all starts so far would have been spaced out to.
    pub fn tat(&self) -> f64 {
        self.tat
    }

    /// How many attempts may start at `now` under `rate` (unlimited when `None`), and if none
    /// may, when the next one may.
    pub fn allowance(&self, now: Millis, rate: Option<u32>) -> (usize, Option<Millis>) {
        let Some(rate) = rate else {
            return (usize::MAX, None);
        };
        let interval = interval_ms(rate);
        let now = now as f64;
        let slack = (burst(rate) - 1.0) * interval + TICK_MS;
        let limit = now + slack;
        if self.tat > limit {
            let next = self.tat - slack;
            return (0, Some(next.ceil() as Millis));
        }
        let n = ((limit - self.tat.max(now)) / interval).floor() as usize + 1;
        (n, None)
    }

    /// Records `count` starts at `now`.
    pub fn consume(&mut self, now: Millis, rate: Option<u32>, count: usize) {
        if let Some(rate) = rate {
            self.tat = self.tat.max(now as f64) + interval_ms(rate) * count as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_allows_everything() {
        assert_eq!(Pace::default().allowance(0, None), (usize::MAX, None));
    }

    #[test]
    fn no_second_sees_more_than_the_rate() {
        for rate in [1u32, 5, 7, 100, 999, 2500] {
            let mut pace = Pace::default();
            let mut starts: Vec<Millis> = Vec::new();
            let mut now: Millis = 1_000_000;
            while now < 1_000_000 + 3000 {
                let (n, _) = pace.allowance(now, Some(rate));
                let n = n.min(10_000);
                for _ in 0..n {
                    starts.push(now);
                }
                pace.consume(now, Some(rate), n);
                now += 1;
            }
            for (i, &t) in starts.iter().enumerate() {
                let in_window = starts[i..].iter().take_while(|&&s| s < t + 1000).count();
                assert!(
                    in_window <= rate as usize,
                    "rate {rate}: {in_window} starts in one second"
                );
            }
            let per_second = starts.len() as f64 / 3.0;
            assert!(
                per_second >= f64::from(rate) * 0.95,
                "rate {rate}: only {per_second}/s"
            );
        }
    }

    #[test]
    fn tells_when_the_next_start_is_allowed() {
        let mut pace = Pace::default();
        pace.consume(1000, Some(5), 1);
        let (n, next) = pace.allowance(1000, Some(5));
        assert_eq!(n, 0);
        assert_eq!(next, Some(1202));
        assert_eq!(pace.allowance(1201, Some(5)).0, 0);
        assert_eq!(pace.allowance(1202, Some(5)).0, 1);
    }
}
