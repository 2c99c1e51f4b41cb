//! Scenario 4, latency: a steady 500 events/s for 30 s with the receiver up; the time from
//! posting each event to its arrival at the receiver (the send time travels in `data`, and
//! both ends read the same monotonic clock of this process).
//!
//! The floor printed beside it is what the machine needs at least: two HTTP exchanges at this
//! rate on the bare server plus one fsync.

use std::time::Duration;

use serde_json::json;

use super::{Ctx, Outcome, hook_url, per, wait_unique};
use crate::hookd::{Settings, free_port};
use crate::load::{self, Shape};
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};
use crate::stats::Latencies;

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let port = free_port()?;
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let dir = ctx.workdir("latency")?;
    let (mut hookd, _) = ctx.start_hookd(dir.path(), Settings::default()).await?;
    hookd.create_account().await?;
    hookd
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    let rate = ctx.scale.latency_rate;
    let duration = ctx.scale.latency_duration;
    ctx.recorder
        .reset(1, (rate * duration.as_secs_f64() * 1.2) as u64 + 1000, true);
    let mut spec = ctx.spec(&hookd, false, Shape::Paced { rate, duration });
    spec.connections = 8;
    let cpu = hookd.cpu_us();
    let out = load::run(spec).await;
    let all = wait_unique(
        &ctx.recorder,
        out.accepted,
        Duration::from_secs(30),
        Duration::from_secs(10),
    )
    .await;
    let cpu = hookd.cpu_us().saturating_sub(cpu);
    hookd.stop().await?;
    receiver.stop();
    let (latencies, arrived, duplicates) = {
        let mut tally = ctx.recorder.lock();
        let samples = tally.latencies_us.take().unwrap_or_default();
        (
            Latencies::new(samples),
            tally.unique.first().copied().unwrap_or(0),
            tally.duplicates,
        )
    };
    let p50 = latencies.percentile_ms(50.0).unwrap_or(f64::NAN);
    let p99 = latencies.percentile_ms(99.0).unwrap_or(f64::NAN);
    let max = latencies.max_ms().unwrap_or(f64::NAN);
    eprintln!(
        "latency at {rate:.0}/s: ingest-to-arrival p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; {} of {} arrived{}",
        arrived,
        out.accepted,
        if all { "" } else { " (some missing)" }
    );
    let c = &ctx.ceilings;
    let fsync = c.fsync.as_ref();
    let floor = |http: Option<f64>, disk: Option<f64>| Some(2.0 * http? + disk?);
    let floor_p50 = floor(c.paced_p50_ms, fsync.map(|f| f.p50_ms));
    let floor_p99 = floor(c.paced_p99_ms, fsync.map(|f| f.p99_ms));
    let rows = vec![
        Row::new("4 latency", "ingest-to-arrival p50", Unit::Ms, p50)
            .ceiling(floor_p50)
            .target(Target::at_most(1.0)),
        Row::new("4 latency", "ingest-to-arrival p99", Unit::Ms, p99)
            .ceiling(floor_p99)
            .target(Target::at_most(5.0)),
        Row::new("4 latency", "ingest-to-arrival max", Unit::Ms, max),
        Row::new(
            "4 latency",
            "hookd CPU per event (ingest + delivery)",
            Unit::Us,
            per(cpu, arrived),
        )
        .ceiling(c.http_cpu_us),
    ];
    let raw = json!({
        "rate": rate, "seconds": out.elapsed.as_secs_f64(), "accepted": out.accepted,
        "arrived": arrived, "duplicates": duplicates, "samples": latencies.len(),
        "p50_ms": p50, "p99_ms": p99, "max_ms": max,
        "request_p50_ms": out.latencies.percentile_ms(50.0),
        "request_p99_ms": out.latencies.percentile_ms(99.0),
        "failed_requests": out.failed_requests,
        "cpu_us_per_event": per(cpu, arrived),
        "floor_p50_ms": floor_p50, "floor_p99_ms": floor_p99,
    });
    Ok((rows, raw))
}
