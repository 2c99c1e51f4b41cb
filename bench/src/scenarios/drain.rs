//! Scenario 2, drain: events are ingested while the receiver is down (the webhook points at a
//! port where nothing listens yet), then the receiver starts on that port; deliveries/s until
//! every sequence number has arrived, and none lost.
//!
//! Scenario 6 runs the same drain with a ten times larger backlog, so the code is shared.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Ctx, Outcome, given_up, hook_url, per, wait_unique};
use crate::hookd::{Hookd, Settings, free_port};
use crate::load::{self, Shape};
use crate::payload::now_us;
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

/// A backlog built while the receiver was down.
pub struct Backlog {
    pub hookd: Hookd,
    pub dir: tempfile::TempDir,
    /// The port the webhook points at, where the receiver will start.
    pub port: u16,
    pub ingest: load::Outcome,
    pub ingest_cpu_us: u64,
    /// Events accepted (the seqs the receiver must see).
    pub expected: u64,
}

/// Starts hookd, points one webhook at a dead port and ingests `events` with the batch
/// endpoint.
pub async fn build_backlog(ctx: &Ctx, name: &str, events: u64) -> Result<Backlog, String> {
    let dir = ctx.workdir(name)?;
    let (hookd, _) = ctx.start_hookd(dir.path(), Settings::default()).await?;
    hookd.create_account().await?;
    let port = free_port()?;
    hookd
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    let mut spec = ctx.spec(&hookd, true, Shape::Count(events));
    spec.connections = 16;
    let cpu = hookd.cpu_us();
    let ingest = load::run(spec).await;
    let ingest_cpu_us = hookd.cpu_us().saturating_sub(cpu);
    let expected = events - given_up(&ingest);
    eprintln!(
        "{name}: ingested {} of {events} events in {:.1} s ({:.0}/s) with the receiver down",
        ingest.accepted,
        ingest.elapsed.as_secs_f64(),
        ingest.rate()
    );
    if ingest.accepted < expected {
        return Err(format!(
            "only {} of {expected} events were accepted (first error: {:?})",
            ingest.accepted, ingest.first_error
        ));
    }
    Ok(Backlog {
        hookd,
        dir,
        port,
        ingest,
        ingest_cpu_us,
        expected,
    })
}

/// How a drain went.
pub struct Drained {
    /// Every delivery received, duplicates included.
    pub received: u64,
    pub arrived: u64,
    pub expected: u64,
    pub duplicates: u64,
    pub unreadable: u64,
    /// From the receiver's start to the last new arrival.
    pub seconds: f64,
    pub cpu_us: u64,
    /// Highest RSS seen while draining (KiB).
    pub peak_rss_kib: u64,
    pub first_missing: Vec<u64>,
}

impl Drained {
    pub fn rate(&self) -> f64 {
        self.arrived as f64 / self.seconds.max(1e-9)
    }

    pub fn lost(&self) -> u64 {
        self.expected - self.arrived.min(self.expected)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "expected": self.expected, "received": self.received, "arrived": self.arrived, "lost": self.lost(),
            "duplicates": self.duplicates, "unreadable": self.unreadable,
            "seconds": self.seconds, "deliveries_per_s": self.rate(),
            "cpu_us": self.cpu_us, "cpu_us_per_delivery": per(self.cpu_us, self.arrived),
            "peak_rss_mb": super::mb(self.peak_rss_kib),
            "first_missing": self.first_missing,
        })
    }
}

/// Starts the receiver on the backlog's port and waits (bounded) until every accepted seq has
/// arrived or nothing arrives any more.
pub async fn drain(ctx: &Ctx, backlog: &Backlog) -> Result<Drained, String> {
    ctx.recorder.reset(1, backlog.ingest.next_seq, false);
    let cpu = backlog.hookd.cpu_us();
    let started = now_us();
    let receiver = listen_on(ctx, backlog.port).await?;
    // At least 1,000 deliveries/s, or the run is hopeless anyway.
    let timeout = Duration::from_secs(120.max(backlog.expected / 1000));
    let mut peak_rss_kib = backlog.hookd.rss_kib();
    let wait = wait_unique(
        &ctx.recorder,
        backlog.expected,
        timeout,
        Duration::from_secs(30),
    );
    tokio::pin!(wait);
    // Sample RSS while waiting; the wait itself is bounded.
    loop {
        tokio::select! {
            _ = &mut wait => break,
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                peak_rss_kib = peak_rss_kib.max(backlog.hookd.rss_kib());
            }
        }
    }
    let cpu_us = backlog.hookd.cpu_us().saturating_sub(cpu);
    // Give duplicates a moment to show, then stop listening.
    tokio::time::sleep(Duration::from_millis(200)).await;
    receiver.stop();
    let tally = ctx.recorder.lock();
    let arrived = tally.unique.first().copied().unwrap_or(0);
    let end = tally.last_new_us.unwrap_or(started);
    let mut first_missing = tally.missing(0, 10);
    let given_up: Vec<u64> = backlog
        .ingest
        .given_up
        .iter()
        .flat_map(|&(s, n)| s..s + n)
        .collect();
    first_missing.retain(|s| !given_up.contains(s));
    Ok(Drained {
        received: ctx.recorder.arrivals(),
        arrived,
        expected: backlog.expected,
        duplicates: tally.duplicates,
        unreadable: tally.unreadable,
        seconds: (end.saturating_sub(started)) as f64 / 1e6,
        cpu_us,
        peak_rss_kib,
        first_missing,
    })
}

/// Starts the receiver on `port`, retrying for a moment: one of hookd's outgoing sockets may
/// briefly hold the same local port number.
async fn listen_on(ctx: &Ctx, port: u16) -> Result<Server, String> {
    let mut tries = 0;
    loop {
        match Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone()) {
            Ok(server) => return Ok(server),
            Err(e) if tries >= 50 => {
                return Err(format!("cannot start the receiver on port {port}: {e}"));
            }
            Err(_) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let events = ctx.scale.drain_events;
    let mut backlog = build_backlog(ctx, "drain", events).await?;
    let drained = drain(ctx, &backlog).await?;
    backlog.hookd.stop().await?;
    eprintln!(
        "drain: {} of {} arrived in {:.2} s: {:.0} deliveries/s, {:.1} µs CPU/delivery, {} lost, {} duplicates",
        drained.arrived,
        drained.expected,
        drained.seconds,
        drained.rate(),
        per(drained.cpu_us, drained.arrived),
        drained.lost(),
        drained.duplicates
    );
    ctx.carried.drain_rate = Some(drained.rate());
    ctx.carried.drain_cpu_us = Some(per(drained.cpu_us, drained.arrived));
    let rows = vec![
        Row::new(
            "2 drain",
            format!("{events} backlog: deliveries/s"),
            Unit::PerSecond,
            drained.rate(),
        )
        .ceiling(ctx.ceilings.http_rate)
        .target(Target::at_least(20_000.0)),
        Row::new(
            "2 drain",
            "lost deliveries",
            Unit::Count,
            drained.lost() as f64,
        )
        .target(Target::at_most(0.0)),
        Row::new(
            "2 drain",
            "hookd CPU per delivery",
            Unit::Us,
            per(drained.cpu_us, drained.arrived),
        )
        .ceiling(ctx.ceilings.http_cpu_us),
    ];
    let raw = json!({
        "events": events,
        "ingest_events_per_s": backlog.ingest.rate(),
        "ingest_seconds": backlog.ingest.elapsed.as_secs_f64(),
        "ingest_cpu_us_per_event": per(backlog.ingest_cpu_us, backlog.ingest.accepted),
        "ingest_failed_requests": backlog.ingest.failed_requests,
        "drain": drained.to_json(),
    });
    drop(backlog.dir);
    Ok((rows, raw))
}
