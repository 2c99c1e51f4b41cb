//! Scenario 5, isolation: a healthy webhook's delivery throughput alone, and again beside a
//! webhook whose endpoint accepts connections and never answers (every attempt times out after
//! `delivery.timeout` = 5 s); the second as a share of the first.
//!
//! The dead webhook listens to its own event type and is saturated first (its in-flight slots
//! all hang), so the second phase measures exactly what a dead endpoint does to another one.
//! Throughput is the healthy events posted (64 clients, as fast as accepted) divided by the
//! time from the first post to the last arrival. A full run alternates two rounds of each
//! phase and sums them; hookd's CPU per healthy delivery is reported too, because unlike the
//! rate it does not move when a neighbour takes the shared cores.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Ctx, Outcome, hook_url, per, wait_unique};
use crate::hookd::{Settings, free_port};
use crate::load::{self, Shape};
use crate::payload::now_us;
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

/// Events posted to the dead webhook before the measurement.
const DEAD_EVENTS: u64 = 200;
/// hookd's default in-flight cap per webhook, which the dead webhook fills.
const PER_WEBHOOK_SLOTS: u64 = 8;

#[derive(Default)]
struct Phase {
    /// Rounds summed into this phase.
    rounds: u32,
    seconds: f64,
    arrived: u64,
    expected: u64,
    cpu_us: u64,
    dead_held: u64,
}

async fn phase(ctx: &Ctx, port: u16, with_dead: bool) -> Result<Phase, String> {
    let dir = ctx.workdir("isolation")?;
    let settings = Settings {
        delivery_timeout: "5s",
        ..Settings::default()
    };
    let (mut hookd, _) = ctx.start_hookd(dir.path(), settings).await?;
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
        rounds: 1,
        seconds,
        arrived,
        expected,
        cpu_us,
        dead_held,
    })
}

impl Phase {
    fn rate(&self) -> f64 {
        self.arrived as f64 / self.seconds.max(1e-9)
    }

    fn cpu_per_delivery(&self) -> f64 {
        per(self.cpu_us, self.arrived)
    }

    fn add(&mut self, other: Phase) {
        self.rounds += other.rounds;
        self.seconds += other.seconds;
        self.arrived += other.arrived;
        self.expected += other.expected;
        self.cpu_us += other.cpu_us;
        self.dead_held = self.dead_held.max(other.dead_held);
    }
}

fn phase_json(p: &Phase) -> Value {
    json!({
        "rounds": p.rounds, "seconds": p.seconds,
        "deliveries_per_s": p.rate(), "arrived": p.arrived, "expected": p.expected,
        "cpu_us_per_delivery": p.cpu_per_delivery(), "dead_connections_held": p.dead_held,
    })
}

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let port = free_port()?;
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    // Alternating rounds, summed, so that a neighbour's burst on the shared cores weighs on
    // both sides rather than on one.
    let rounds = if ctx.scale.quick { 1 } else { 2 };
    let mut alone = Phase::default();
    let mut beside = Phase::default();
    for _ in 0..rounds {
        alone.add(phase(ctx, port, false).await?);
        beside.add(phase(ctx, port, true).await?);
    }
    receiver.stop();
    let share = beside.rate() / alone.rate().max(1e-9) * 100.0;
    let cpu_share = beside.cpu_per_delivery() / alone.cpu_per_delivery() * 100.0;
    eprintln!(
        "isolation: healthy alone {:.0}/s, beside a dead endpoint {:.0}/s ({share:.1} %); CPU per delivery {:.1} vs {:.1} µs; dead held {} connections",
        alone.rate(),
        beside.rate(),
        beside.cpu_per_delivery(),
        alone.cpu_per_delivery(),
        beside.dead_held
    );
    let rows = vec![
        Row::new(
            "5 isolation",
            "healthy webhook alone: deliveries/s",
            Unit::PerSecond,
            alone.rate(),
        ),
        Row::new(
            "5 isolation",
            "healthy beside a dead one: deliveries/s",
            Unit::PerSecond,
            beside.rate(),
        ),
        Row::new(
            "5 isolation",
            "healthy throughput beside a dead one, share of alone",
            Unit::Percent,
            share,
        )
        .target(Target::at_least(95.0)),
        Row::new(
            "5 isolation",
            "hookd CPU per healthy delivery beside a dead one, % of alone",
            Unit::Percent,
            cpu_share,
        ),
        Row::new(
            "5 isolation",
            "lost deliveries (both phases)",
            Unit::Count,
            (alone.expected - alone.arrived.min(alone.expected) + beside.expected
                - beside.arrived.min(beside.expected)) as f64,
        )
        .target(Target::at_most(0.0)),
    ];
    let raw = json!({
        "events": ctx.scale.isolation_events,
        "alone": phase_json(&alone),
        "beside_dead": phase_json(&beside),
        "share_percent": share,
        "cpu_per_delivery_share_percent": cpu_share,
    });
    Ok((rows, raw))
}
