//! Percentiles of latency samples.

/// Latency samples in µs, sorted once.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    sorted: Vec<u32>,
}

impl Latencies {
    pub fn new(mut samples: Vec<u32>) -> Latencies {
        samples.sort_unstable();
        Latencies { sorted: samples }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The `p`-th percentile (0–100) in milliseconds, by nearest rank; `None` with no samples.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.sorted.len()) - 1;
        Some(f64::from(self.sorted[index]) / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        self.sorted.last().map(|&v| f64::from(v) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latencies::new((1..=100).rev().map(|v| v * 1000).collect());
        assert_eq!(l.percentile_ms(50.0), Some(50.0));
        assert_eq!(l.percentile_ms(99.0), Some(99.0));
        assert_eq!(l.percentile_ms(100.0), Some(100.0));
        assert_eq!(l.max_ms(), Some(100.0));
        assert_eq!(Latencies::default().percentile_ms(50.0), None);
    }
}
