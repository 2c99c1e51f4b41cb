//! Scenario 5, isolation: a healthy webhook's delivery throughput alone, and again beside a
//! webhook whose endpoint accepts connections and never answers (every attempt times out after
//! `delivery.timeout` = 5 s); the second as a share of the first.
//!
//! The dead webhook listens to its own event type and is saturated first (its in-flight slots
//! all hang), so the second phase measures exactly what a dead endpoint does to another one.
//! Throughput is the healthy events posted (64 clients, as fast as accepted) divided by the
//! time from the first post to the last arrival.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Ctx, Outcome, hook_url, per, wait_unique};
use crate::hookd::{Hookd, Settings, free_port};
use crate::load::{self, Shape};
use crate::payload::now_us;
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

/// Events posted to the dead webhook before the measurement.
const DEAD_EVENTS: u64 = 200;
/// hookd's default in-flight cap per webhook, which the dead webhook fills.
const PER_WEBHOOK_SLOTS: u64 = 8;

struct Phase {
    rate: f64,
    arrived: u64,
    expected: u64,
    cpu_us: u64,
    dead_held: u64,
}

async fn phase(ctx: &Ctx, port: u16, with_dead: bool) -> Result<Phase, String> {
    let dir = ctx.workdir("isolation")?;
    let settings = Settings {
        delivery_timeout: "5s",
    };
    let (mut hookd, _) = Hookd::start(&ctx.hookd, dir.path(), &settings).await?;
    hookd.create_account().await?;
    hookd
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    let mut black_hole = None;
    let mut dead_held = 0;
    if with_dead {
        let hole = Server::black_hole(([127, 0, 0, 1], 0).into())
            .map_err(|e| format!("cannot start the black hole: {e}"))?;
        hookd
            .create_webhook(&format!("http://{}/dead", hole.addr), &["dead.*"], None)
            .await?;
        let mut spec = ctx.spec(&hookd, false, Shape::Count(DEAD_EVENTS));
        spec.event_type = "dead.event".into();
        spec.connections = 8;
        load::run(spec).await;
        // Wait (bounded) until the dead webhook holds all its slots.
        let since = Instant::now();
        while hole.held.load(std::sync::atomic::Ordering::Relaxed) < PER_WEBHOOK_SLOTS
            && since.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        dead_held = hole.held.load(std::sync::atomic::Ordering::Relaxed);
        black_hole = Some(hole);
    }
    let events = ctx.scale.isolation_events;
    ctx.recorder.reset(1, events, false);
    let cpu = hookd.cpu_us();
    let start = now_us();
    let out = load::run(ctx.spec(&hookd, false, Shape::Count(events))).await;
    let expected = events - super::given_up(&out);
    wait_unique(
        &ctx.recorder,
        expected,
        Duration::from_secs(120.max(events / 500)),
        Duration::from_secs(20),
    )
    .await;
    let cpu_us = hookd.cpu_us().saturating_sub(cpu);
    // Closing the hanging connections first lets hookd stop without waiting for them.
    drop(black_hole);
    hookd.stop().await?;
    let (arrived, end) = {
        let tally = ctx.recorder.lock();
        (
            tally.unique.first().copied().unwrap_or(0),
            tally.last_new_us.unwrap_or(start),
        )
    };
    let seconds = end.saturating_sub(start) as f64 / 1e6;
    Ok(Phase {
        rate: arrived as f64 / seconds.max(1e-9),
        arrived,
        expected,
        cpu_us,
        dead_held,
    })
}

fn phase_json(p: &Phase) -> Value {
    json!({
        "deliveries_per_s": p.rate, "arrived": p.arrived, "expected": p.expected,
        "cpu_us_per_delivery": per(p.cpu_us, p.arrived), "dead_connections_held": p.dead_held,
    })
}

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let port = free_port()?;
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let alone = phase(ctx, port, false).await?;
    let beside = phase(ctx, port, true).await?;
    receiver.stop();
    let share = beside.rate / alone.rate.max(1e-9) * 100.0;
    eprintln!(
        "isolation: healthy alone {:.0}/s, beside a dead endpoint {:.0}/s ({share:.1} %), dead held {} connections",
        alone.rate, beside.rate, beside.dead_held
    );
    let rows = vec![
        Row::new(
            "5 isolation",
            "healthy webhook alone: deliveries/s",
            Unit::PerSecond,
            alone.rate,
        ),
        Row::new(
            "5 isolation",
            "healthy beside a dead one: deliveries/s",
            Unit::PerSecond,
            beside.rate,
        ),
        Row::new(
            "5 isolation",
            "healthy throughput beside a dead one, share of alone",
            Unit::Percent,
            share,
        )
        .target(Target::at_least(90.0)),
        Row::new(
            "5 isolation",
            "lost deliveries (both phases)",
            Unit::Count,
            (alone.expected - alone.arrived.min(alone.expected)
                + beside.expected
                - beside.arrived.min(beside.expected)) as f64,
        )
        .target(Target::at_most(0.0)),
    ];
    let raw = json!({
        "events": ctx.scale.isolation_events,
        "alone": phase_json(&alone),
        "beside_dead": phase_json(&beside),
        "share_percent": share,
    });
    Ok((rows, raw))
}
