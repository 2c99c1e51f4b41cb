//! Counters and histograms for `/metrics`, in the Prometheus text format.
//!
//! Hot-path counters are plain atomics; the HTTP request counter is keyed by route template
//! (never by raw path, so ids cannot blow up its size). Gauges that the store already knows
//! (pending, buffered, store size) are read at scrape time instead of being kept in step.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dispatch::client::Outcome;

/// Upper bounds (seconds) of the attempt duration histogram's buckets.
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every outcome an attempt can have, in the order of the counters.
const OUTCOMES: [Outcome; Outcome::ALL.len()] = Outcome::ALL;

/// Every metric hookd keeps in memory.
#[derive(Default)]
pub struct Metrics {
    events_ingested: AtomicU64,
    attempts: [AtomicU64; Outcome::ALL.len()],
    duration_buckets: [AtomicU64; 12],
    duration_count: AtomicU64,
    duration_sum_us: AtomicU64,
    deactivations: AtomicU64,
    filter_errors: AtomicU64,
    http: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
}

/// Values read at scrape time.
pub struct Gauges {
    pub pending: u64,
    pub buffered: u64,
    pub in_flight: u64,
    pub webhooks_active: u64,
    pub webhooks_deactivated: u64,
    pub store_bytes: u64,
    /// hookd nodes sharing the store, seen within a lease (1 on the embedded store).
    pub nodes: u64,
}

impl Metrics {
    /// Counts accepted events.
    pub fn events_ingested(&self, n: u64) {
        self.events_ingested.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts an attempt by outcome and records its duration.
    pub fn attempt(&self, outcome: Outcome, duration_ms: u64) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.attempts[i].fetch_add(1, Ordering::Relaxed);
        }
        let secs = duration_ms as f64 / 1000.0;
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.duration_buckets[i].fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        self.duration_sum_us
            .fetch_add(duration_ms.saturating_mul(1000), Ordering::Relaxed);
    }

    /// Counts a deactivation.
    pub fn deactivation(&self) {
        self.deactivations.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts filters that failed to evaluate for an event (the event did not go to their
    /// webhooks).
    pub fn filter_errors(&self, n: u32) {
        if n > 0 {
            self.filter_errors
                .fetch_add(u64::from(n), Ordering::Relaxed);
        }
    }

    /// Counts an HTTP request by route template, method and status.
    pub fn http_request(&self, route: &'static str, method: &'static str, status: u16) {
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *http.entry((route, method, status)).or_insert(0) += 1;
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "hookd_events_ingested_total",
            "Events accepted (durably stored).",
            self.events_ingested.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP hookd_delivery_attempts_total Delivery attempts by outcome.\n# TYPE hookd_delivery_attempts_total counter"
        );
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(
                out,
                "hookd_delivery_attempts_total{{outcome=\"{}\"}} {}",
                outcome.as_str(),
                self.attempts[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP hookd_attempt_duration_seconds Duration of delivery attempts.\n# TYPE hookd_attempt_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            cumulative += self.duration_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "hookd_attempt_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.duration_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "hookd_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nhookd_attempt_duration_seconds_sum {}\nhookd_attempt_duration_seconds_count {count}",
            self.duration_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        counter(
            &mut out,
            "hookd_webhook_deactivations_total",
            "Webhooks deactivated for failing.",
            self.deactivations.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "hookd_filter_errors_total",
            "Webhook filters that failed to evaluate for an event (counted as not matched).",
            self.filter_errors.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "hookd_deliveries_pending",
            "Deliveries waiting in the due-queue.",
            gauges.pending,
        );
        gauge(
            &mut out,
            "hookd_deliveries_buffered",
            "Deliveries buffered for deactivated webhooks.",
            gauges.buffered,
        );
        gauge(
            &mut out,
            "hookd_attempts_in_flight",
            "Delivery attempts running now.",
            gauges.in_flight,
        );
        let _ = writeln!(
            out,
            "# HELP hookd_webhooks Webhooks by status.\n# TYPE hookd_webhooks gauge\nhookd_webhooks{{status=\"active\"}} {}\nhookd_webhooks{{status=\"deactivated\"}} {}",
            gauges.webhooks_active, gauges.webhooks_deactivated
        );
        gauge(
            &mut out,
            "hookd_store_size_bytes",
            "Size of the store file.",
            gauges.store_bytes,
        );
        gauge(
            &mut out,
            "hookd_nodes",
            "hookd nodes sharing the store, seen within the lease (1 on the embedded store).",
            gauges.nodes,
        );
        let _ = writeln!(
            out,
            "# HELP hookd_http_requests_total HTTP requests by route, method and status.\n# TYPE hookd_http_requests_total counter"
        );
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, method, status), n) in http.iter() {
            let _ = writeln!(
                out,
                "hookd_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.events_ingested(3);
        m.attempt(Outcome::Success, 7);
        m.attempt(Outcome::Timeout, 20_000);
        m.http_request("/v1/accounts", "GET", 200);
        m.http_request("/v1/accounts", "GET", 200);
        m.filter_errors(2);
        let text = m.render(&Gauges {
            pending: 4,
            buffered: 5,
            in_flight: 6,
            webhooks_active: 7,
            webhooks_deactivated: 8,
            store_bytes: 9,
            nodes: 2,
        });
        assert!(text.contains("hookd_nodes 2\n"));
        assert!(text.contains("hookd_events_ingested_total 3\n"));
        assert!(text.contains("hookd_delivery_attempts_total{outcome=\"success\"} 1\n"));
        assert!(text.contains("hookd_delivery_attempts_total{outcome=\"timeout\"} 1\n"));
        assert!(text.contains("hookd_attempt_duration_seconds_bucket{le=\"0.01\"} 1\n"));
        assert!(text.contains("hookd_attempt_duration_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("hookd_attempt_duration_seconds_count 2\n"));
        assert!(text.contains("hookd_deliveries_pending 4\n"));
        assert!(text.contains("hookd_filter_errors_total 2\n"));
        assert!(text.contains("hookd_webhooks{status=\"deactivated\"} 8\n"));
        assert!(text.contains(
            "hookd_http_requests_total{route=\"/v1/accounts\",method=\"GET\",status=\"200\"} 2\n"
        ));
    }
}
