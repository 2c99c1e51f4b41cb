//! The scenarios of BENCHMARKS.md ("Scenarios"), and what they share: the run's scale, the
//! ceilings they are compared with, and small helpers (fresh hookd, load specs, waiting for
//! arrivals).
//!
//! Each scenario starts its own hookd(s) on fresh data dirs and returns its table rows plus a
//! JSON object of every raw figure it measured; a failing scenario is reported, not fatal.

pub mod backlog;
pub mod ceilings;
pub mod cluster;
pub mod drain;
pub mod footprint;
pub mod ingest;
pub mod isolation;
pub mod latency;
pub mod receivers;
pub mod sustained;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::hookd::Hookd;
use crate::load::{Shape, Spec};
use crate::postgres::PgCluster;
use crate::receiver::Recorder;
use crate::report::Row;

/// Every scenario's name, in the order they run (`cluster` only with the postgres backend).
pub const NAMES: [&str; 9] = [
    "ingest",
    "drain",
    "sustained",
    "latency",
    "isolation",
    "backlog",
    "footprint",
    "cluster",
    "receivers",
];

/// The scenarios a run of the postgres backend makes unless told otherwise (the others need
/// the embedded store's file, or take longer than they tell about a database).
pub const POSTGRES_DEFAULT: [&str; 4] = ["ingest", "drain", "latency", "cluster"];

/// Sizes and durations of one run (`--quick` scales them all down).
#[derive(Clone, Debug)]
pub struct Scale {
    pub quick: bool,
    pub connections: usize,
    pub ingest_phase: Duration,
    pub batch_size: u64,
    pub drain_events: u64,
    pub sustained_rate: f64,
    pub sustained_probe: Duration,
    pub sustained_duration: Duration,
    pub latency_rate: f64,
    pub latency_duration: Duration,
    pub isolation_events: u64,
    pub backlog_events: u64,
    /// Events of each phase of the receivers scenario (each fans out to ten webhooks).
    pub receivers_events: u64,
    pub ceiling_phase: Duration,
    pub fsync_duration: Duration,
}

impl Scale {
    pub fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                quick,
                connections: 64,
                ingest_phase: Duration::from_secs(3),
                batch_size: 100,
                drain_events: 10_000,
                sustained_rate: 15_000.0,
                sustained_probe: Duration::from_secs(2),
                sustained_duration: Duration::from_secs(5),
                latency_rate: 500.0,
                latency_duration: Duration::from_secs(3),
                isolation_events: 5_000,
                backlog_events: 50_000,
                receivers_events: 2_000,
                ceiling_phase: Duration::from_secs(2),
                fsync_duration: Duration::from_secs(1),
            }
        } else {
            Scale {
                quick,
                connections: 64,
                ingest_phase: Duration::from_secs(20),
                batch_size: 100,
                drain_events: 100_000,
                sustained_rate: 15_000.0,
                sustained_probe: Duration::from_secs(10),
                sustained_duration: Duration::from_secs(60),
                latency_rate: 500.0,
                latency_duration: Duration::from_secs(30),
                isolation_events: 50_000,
                backlog_events: 1_000_000,
                receivers_events: 20_000,
                ceiling_phase: Duration::from_secs(5),
                fsync_duration: Duration::from_secs(2),
            }
        }
    }
}

/// The machine's ceilings, measured at the start of the run.
#[derive(Clone, Debug, Default)]
pub struct Ceilings {
    /// Bare server, single events, 64 connections: requests/s and latency.
    pub http_rate: Option<f64>,
    pub http_p50_ms: Option<f64>,
    pub http_p99_ms: Option<f64>,
    /// The bare server's CPU per request (µs).
    pub http_cpu_us: Option<f64>,
    /// This process's CPU per request while driving the bare server (load generator cost).
    pub client_cpu_us: Option<f64>,
    /// Bare server, batches: events/s, latency and CPU per event.
    pub batch_rate: Option<f64>,
    pub batch_p50_ms: Option<f64>,
    pub batch_p99_ms: Option<f64>,
    pub batch_cpu_us: Option<f64>,
    /// Bare server at the latency scenario's rate: request latency.
    pub paced_p50_ms: Option<f64>,
    pub paced_p99_ms: Option<f64>,
    pub idle_rss_mb: Option<f64>,
    pub fsync: Option<crate::ceiling::Fsync>,
}

/// Figures one scenario hands to a later one.
#[derive(Clone, Debug, Default)]
pub struct Carried {
    /// Scenario 2's drain rate (scenario 6 compares with it).
    pub drain_rate: Option<f64>,
    /// Scenario 2's hookd CPU per delivery, µs.
    pub drain_cpu_us: Option<f64>,
    /// hookd's RSS at the end of scenario 1, MB (scenario 7 reports it).
    pub ingest_end_rss_mb: Option<f64>,
}

/// What every scenario reads.
pub struct Ctx {
    pub hookd: PathBuf,
    /// This binary, for the bare server.
    pub exe: PathBuf,
    /// The folder the data dirs are made in (on the disk whose fsync is measured).
    pub root: PathBuf,
    pub scale: Scale,
    pub recorder: Arc<Recorder>,
    pub ceilings: Ceilings,
    pub carried: Carried,
    /// The PostgreSQL server when the run measures the postgres backend.
    pub postgres: Option<Arc<PgCluster>>,
}

/// What a scenario returns: its table rows and its raw figures.
pub type Outcome = Result<(Vec<Row>, Value), String>;

impl Ctx {
    /// Starts a hookd in `dir` with `settings`, on a fresh database of its own when the run
    /// measures the postgres backend. Returns it and its time to ready.
    pub async fn start_hookd(
        &self,
        dir: &std::path::Path,
        mut settings: crate::hookd::Settings,
    ) -> Result<(Hookd, Duration), String> {
        if let Some(db) = &self.postgres {
            settings.postgres_url = Some(db.new_database("bench")?);
        }
        let (mut hookd, ready) = Hookd::start(&self.hookd, dir, &settings).await?;
        hookd.database = self.postgres.clone();
        Ok((hookd, ready))
    }

    /// A fresh, self-deleting work dir for one hookd.
    pub fn workdir(&self, name: &str) -> Result<tempfile::TempDir, String> {
        tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&self.root)
            .map_err(|e| format!("cannot make a temp dir in {}: {e}", self.root.display()))
    }

    /// A load spec against `hookd` with this run's connection count.
    pub fn spec(&self, hookd: &Hookd, batch: bool, shape: Shape) -> Spec {
        Spec {
            addr: hookd.addr,
            token: Some(hookd.token()),
            path: Hookd::events_path(batch),
            event_type: "bench.event".into(),
            connections: self.scale.connections,
            shape,
            batch: if batch { self.scale.batch_size } else { 1 },
            first_seq: 0,
            retries: 3,
            timeout: Duration::from_secs(30),
            accepted_live: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// The receiver URL of webhook number `hook` on `port`.
pub fn hook_url(port: u16, hook: usize) -> String {
    format!("http://127.0.0.1:{port}/h/{hook}")
}

/// KiB to MB (10^6 bytes), as the targets of BENCHMARKS.md count.
pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Waits until `recorder` has `want` distinct arrivals; gives up after `timeout`, or when
/// nothing new arrived for `stall`. Returns whether everything arrived.
pub async fn wait_unique(
    recorder: &Recorder,
    want: u64,
    timeout: Duration,
    stall: Duration,
) -> bool {
    let start = Instant::now();
    let mut last = recorder.unique();
    let mut last_change = Instant::now();
    while start.elapsed() < timeout {
        let now = recorder.unique();
        if now >= want {
            return true;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() > stall {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    recorder.unique() >= want
}

/// Seqs a load run gave up on (never accepted), in all.
pub fn given_up(outcome: &crate::load::Outcome) -> u64 {
    outcome.given_up.iter().map(|(_, n)| n).sum()
}

/// CPU µs per unit of work, when there was work.
pub fn per(cpu_us: u64, work: u64) -> f64 {
    if work == 0 {
        f64::NAN
    } else {
        cpu_us as f64 / work as f64
    }
}
