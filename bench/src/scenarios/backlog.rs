//! Scenario 6, backlog scale: a million pending deliveries (batch endpoint, receiver down);
//! the store's size and hookd's RSS, the time from a restart to `/readyz` 200 — after a clean
//! stop, and after SIGKILL while hookd keeps recording failed attempts (a crash restart: redb
//! reopened after a crash, the log's last writes applied again) — and the drain rate compared
//! with scenario 2's ten times smaller backlog: how cost grows with the backlog. The drain
//! after the crash also shows that nothing acknowledged was lost.

use serde_json::json;

use super::drain::{build_backlog, drain};
use super::{Ctx, Outcome, mb, per};
use crate::report::{Row, Target, Unit};

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let events = ctx.scale.backlog_events;
    let mut backlog = build_backlog(ctx, "backlog", events).await?;
    let store_bytes = backlog.hookd.store_bytes();
    let rss_loaded_kib = backlog.hookd.rss_kib();
    let stop_started = std::time::Instant::now();
    let ready = backlog.hookd.restart().await?;
    let restart_total = stop_started.elapsed();
    let rss_restarted_kib = backlog.hookd.rss_kib();
    // hookd is busy recording failed attempts (the receiver is down): the kill lands mid-write.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let crash_ready = backlog.hookd.crash_restart().await?;
    eprintln!(
        "backlog: {events} pending, store {:.1} MB, RSS {:.1} MB; restart to ready {:.2} s, after SIGKILL {:.2} s",
        store_bytes as f64 / 1e6,
        mb(rss_loaded_kib),
        ready.as_secs_f64(),
        crash_ready.as_secs_f64()
    );
    let drained = drain(ctx, &backlog).await?;
    let store_after = backlog.hookd.store_bytes();
    backlog.hookd.stop().await?;
    let peak_rss_kib = rss_loaded_kib
        .max(rss_restarted_kib)
        .max(drained.peak_rss_kib);
    let vs_drain = ctx.carried.drain_rate.map(|d| drained.rate() / d * 100.0);
    eprintln!(
        "backlog: drained {} of {} in {:.1} s: {:.0} deliveries/s ({}), peak RSS {:.1} MB, {} lost",
        drained.arrived,
        drained.expected,
        drained.seconds,
        drained.rate(),
        vs_drain.map_or("scenario 2 not run".into(), |v| format!(
            "{v:.1} % of scenario 2"
        )),
        mb(peak_rss_kib),
        drained.lost()
    );
    let mut rows = vec![
        Row::new(
            "6 backlog",
            format!("{events} backlog: deliveries/s (ceiling column: scenario 2)"),
            Unit::PerSecond,
            drained.rate(),
        )
        .ceiling(ctx.carried.drain_rate)
        .target(Target {
            ratio_at_least: Some(0.8),
            ..Target::default()
        }),
    ];
    rows.extend([
        Row::new(
            "6 backlog",
            "hookd RSS (peak of loaded, restarted, draining)",
            Unit::MB,
            mb(peak_rss_kib),
        )
        .target(Target::at_most(150.0)),
        Row::new(
            "6 backlog",
            "restart to /readyz 200",
            Unit::Seconds,
            ready.as_secs_f64(),
        )
        .target(Target::at_most(2.0)),
        Row::new(
            "6 backlog",
            "restart to /readyz 200 after SIGKILL",
            Unit::Seconds,
            crash_ready.as_secs_f64(),
        )
        .target(Target::at_most(2.0)),
        Row::new(
            "6 backlog",
            "store size with the backlog",
            Unit::MB,
            store_bytes as f64 / 1e6,
        ),
        Row::new(
            "6 backlog",
            "lost deliveries",
            Unit::Count,
            drained.lost() as f64,
        )
        .target(Target::at_most(0.0)),
        Row::new(
            "6 backlog",
            "hookd CPU per delivery (ceiling column: scenario 2)",
            Unit::Us,
            per(drained.cpu_us, drained.arrived),
        )
        .ceiling(ctx.carried.drain_cpu_us),
    ]);
    let raw = json!({
        "events": events,
        "ingest_events_per_s": backlog.ingest.rate(),
        "ingest_seconds": backlog.ingest.elapsed.as_secs_f64(),
        "ingest_cpu_us_per_event": per(backlog.ingest_cpu_us, backlog.ingest.accepted),
        "ingest_failed_requests": backlog.ingest.failed_requests,
        "store_bytes": store_bytes,
        "store_bytes_after_drain": store_after,
        "rss_loaded_mb": mb(rss_loaded_kib),
        "rss_restarted_mb": mb(rss_restarted_kib),
        "rss_peak_mb": mb(peak_rss_kib),
        "restart_to_ready_s": ready.as_secs_f64(),
        "crash_restart_to_ready_s": crash_ready.as_secs_f64(),
        "stop_and_restart_s": restart_total.as_secs_f64(),
        "drain": drained.to_json(),
        "drain_vs_scenario_2_percent": vs_drain,
    });
    drop(backlog.dir);
    Ok((rows, raw))
}
