//! Scenario 3, sustained: events are posted at a fixed rate for a minute with the receiver up;
//! events/s in, deliveries/s out, and the backlog (ingested − delivered) at the end.
//!
//! The rate is found first: short probes start at the configured rate (15,000/s) and step down
//! while hookd's backlog grows or it cannot take the rate in; the full run then uses the last
//! rate that held. Each probe and the run get a fresh hookd, so no backlog carries over.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Ctx, Outcome, hook_url, mb, per, wait_unique};
use crate::hookd::{Settings, free_port};
use crate::load::{self, Shape};
use crate::payload::now_us;
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

/// At most this many probes before the full run.
const MAX_PROBES: usize = 6;

/// One run at one rate.
struct Trial {
    rate: f64,
    seconds: f64,
    accepted: u64,
    in_rate: f64,
    delivered: u64,
    out_rate: f64,
    backlog_end: u64,
    backlog_max: u64,
    lost: u64,
    duplicates: u64,
    failed_requests: u64,
    cpu_us: u64,
    rss_mb: f64,
    /// Per second: (seconds since start, accepted, delivered).
    samples: Vec<(f64, u64, u64)>,
}

impl Trial {
    /// The backlog stayed within half a second of traffic, and the rate went in.
    fn steady(&self) -> bool {
        self.verdict() == "steady"
    }

    /// Why a run is or is not steady, in words.
    fn verdict(&self) -> &'static str {
        if self.backlog_end as f64 > allowed_backlog(self.rate) {
            "backlog grew"
        } else if self.in_rate < 0.95 * self.rate {
            "offered rate not taken in"
        } else {
            "steady"
        }
    }

    /// hookd's CPU from the first post until the last delivery, per delivered event.
    fn cpu_per_delivery(&self) -> f64 {
        per(self.cpu_us, self.accepted - self.lost)
    }

    fn to_json(&self) -> Value {
        json!({
            "rate": self.rate, "seconds": self.seconds, "accepted": self.accepted,
            "events_in_per_s": self.in_rate, "delivered_in_window": self.delivered,
            "deliveries_out_per_s": self.out_rate, "backlog_end": self.backlog_end,
            "backlog_max": self.backlog_max, "lost_after_drain_out": self.lost,
            "duplicates": self.duplicates, "failed_requests": self.failed_requests,
            "cpu_us": self.cpu_us,
            "cpu_us_per_delivered_event": self.cpu_per_delivery(),
            "rss_end_mb": self.rss_mb, "steady": self.steady(),
            "verdict": self.verdict(),
            "samples": self.samples,
        })
    }
}

/// The backlog a steady run may end with: half a second of traffic, plus in-flight slack.
fn allowed_backlog(rate: f64) -> f64 {
    rate * 0.5 + 500.0
}

async fn trial(ctx: &Ctx, port: u16, rate: f64, duration: Duration) -> Result<Trial, String> {
    let dir = ctx.workdir("sustained")?;
    let (mut hookd, _) = ctx.start_hookd(dir.path(), Settings::default()).await?;
    hookd.create_account().await?;
    hookd
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    let capacity = (rate * duration.as_secs_f64() * 1.1) as u64 + 10_000;
    ctx.recorder.reset(1, capacity, false);
    let spec = ctx.spec(&hookd, false, Shape::Paced { rate, duration });
    let live = spec.accepted_live.clone();
    let cpu = hookd.cpu_us();
    let start = now_us();
    let load = load::run(spec);
    tokio::pin!(load);
    let mut samples = Vec::new();
    let mut backlog_max = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    // Ends with the load, which is bounded by `duration`.
    let out = loop {
        tokio::select! {
            out = &mut load => break out,
            _ = tick.tick() => {
                let accepted = live.load(std::sync::atomic::Ordering::Relaxed);
                let delivered = ctx.recorder.unique();
                backlog_max = backlog_max.max(accepted.saturating_sub(delivered));
                samples.push(((now_us() - start) as f64 / 1e6, accepted, delivered));
            }
        }
    };
    let delivered = ctx.recorder.unique();
    let seconds = out.elapsed.as_secs_f64();
    let backlog_end = out.accepted.saturating_sub(delivered);
    // Let the rest arrive (bounded), to check that nothing was lost and to charge its CPU.
    wait_unique(
        &ctx.recorder,
        out.accepted,
        Duration::from_secs(60),
        Duration::from_secs(10),
    )
    .await;
    let cpu_us = hookd.cpu_us().saturating_sub(cpu);
    let rss_mb = mb(hookd.rss_kib());
    hookd.stop().await?;
    let tally = ctx.recorder.lock();
    let arrived = tally.unique.first().copied().unwrap_or(0);
    let trial = Trial {
        rate,
        seconds,
        accepted: out.accepted,
        in_rate: out.rate(),
        delivered,
        out_rate: delivered as f64 / seconds.max(1e-9),
        backlog_end,
        backlog_max: backlog_max.max(backlog_end),
        lost: out.accepted.saturating_sub(arrived),
        duplicates: tally.duplicates,
        failed_requests: out.failed_requests,
        cpu_us,
        rss_mb,
        samples,
    };
    eprintln!(
        "sustained at {:.0}/s for {:.0} s: in {:.0}/s, out {:.0}/s, backlog at end {}, {:.1} µs CPU/event, {} lost — {}",
        rate,
        seconds,
        trial.in_rate,
        trial.out_rate,
        trial.backlog_end,
        trial.cpu_per_delivery(),
        trial.lost,
        trial.verdict()
    );
    Ok(trial)
}

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let port = free_port()?;
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let mut rate = ctx.scale.sustained_rate;
    let mut probes = Vec::new();
    for _ in 0..MAX_PROBES {
        let probe = trial(ctx, port, rate, ctx.scale.sustained_probe).await?;
        probes.push(probe.to_json());
        if probe.steady() {
            break;
        }
        // What hookd managed, with a margin; always a real step down.
        let managed = probe.out_rate.min(probe.in_rate) * 0.95;
        rate = (managed.min(rate * 0.8) / 250.0).floor().max(1.0) * 250.0;
    }
    let full = trial(ctx, port, rate, ctx.scale.sustained_duration).await?;
    receiver.stop();
    let in_eq_out = full.in_rate.min(full.out_rate);
    let http_ceiling = ctx.ceilings.http_rate.map(|r| r / 2.0);
    let rows = vec![
        Row::new(
            "3 sustained",
            format!(
                "in = out ({:.0}/s offered, {}): events/s",
                full.rate,
                full.verdict()
            ),
            Unit::PerSecond,
            in_eq_out,
        )
        .ceiling(http_ceiling)
        .target(Target::at_least(15_000.0)),
        Row::new("3 sustained", "events/s in", Unit::PerSecond, full.in_rate).ceiling(http_ceiling),
        Row::new(
            "3 sustained",
            "deliveries/s out",
            Unit::PerSecond,
            full.out_rate,
        )
        .ceiling(http_ceiling),
        Row::new(
            "3 sustained",
            "backlog at end (ingested − delivered)",
            Unit::Count,
            full.backlog_end as f64,
        )
        .target(Target::at_most(allowed_backlog(full.rate).floor())),
        Row::new(
            "3 sustained",
            "hookd CPU per delivered event",
            Unit::Us,
            full.cpu_per_delivery(),
        )
        .ceiling(ctx.ceilings.http_cpu_us)
        .target(Target::at_most(60.0)),
    ];
    let raw = json!({"probes": probes, "run": full.to_json()});
    Ok((rows, raw))
}
