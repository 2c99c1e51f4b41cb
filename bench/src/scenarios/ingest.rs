//! Scenario 1, ingest: 64 clients post events as fast as hookd acknowledges them (202, after
//! fsync) — with one matching webhook, with ten (fan-out 10), and with 100-event batches.
//!
//! The webhooks point at the live receiver but carry `rateLimit: 1`, so every delivery is
//! created, scheduled and durable exactly as usual while hookd spends (almost) nothing on
//! sending them: this phase measures ingest, as its HTTP ceiling does. Delivering at the same
//! time is scenario 3.

use serde_json::{Value, json};

use super::{Ctx, Outcome, hook_url, mb, per};
use crate::hookd::{Settings, free_port};
use crate::load::{self, Shape};
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

struct Phase {
    label: &'static str,
    webhooks: usize,
    batch: bool,
}

const PHASES: [Phase; 3] = [
    Phase {
        label: "1 webhook",
        webhooks: 1,
        batch: false,
    },
    Phase {
        label: "fan-out 10",
        webhooks: 10,
        batch: false,
    },
    Phase {
        label: "batch 100",
        webhooks: 1,
        batch: true,
    },
];

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let port = free_port()?;
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let mut rows = Vec::new();
    let mut raw = json!({});
    let mut rss_end = Vec::new();
    for phase in &PHASES {
        let dir = ctx.workdir("ingest")?;
        let (mut hookd, _) = ctx.start_hookd(dir.path(), Settings::default()).await?;
        hookd.create_account().await?;
        for i in 0..phase.webhooks {
            hookd
                .create_webhook(&hook_url(port, i), &["bench.*"], Some(1))
                .await?;
        }
        ctx.recorder.reset(phase.webhooks, 0, false);
        let cpu = hookd.cpu_us();
        let out =
            load::run(ctx.spec(&hookd, phase.batch, Shape::Closed(ctx.scale.ingest_phase))).await;
        let cpu = hookd.cpu_us().saturating_sub(cpu);
        let rss = mb(hookd.rss_kib());
        let store = hookd.store_bytes();
        hookd.stop().await?;
        rss_end.push(rss);
        let rate = out.rate();
        let cpu_per_event = per(cpu, out.accepted);
        eprintln!(
            "ingest {}: {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs CPU/event, RSS {:.1} MB, {} failed{}",
            phase.label,
            rate,
            out.latencies.percentile_ms(50.0).unwrap_or(f64::NAN),
            out.latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
            cpu_per_event,
            rss,
            out.failed_requests,
            out.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        let c = &ctx.ceilings;
        let (ceiling_rate, ceiling_p50, ceiling_p99, ceiling_cpu) = if phase.batch {
            (c.batch_rate, c.batch_p50_ms, c.batch_p99_ms, c.batch_cpu_us)
        } else {
            (c.http_rate, c.http_p50_ms, c.http_p99_ms, c.http_cpu_us)
        };
        let rate_target = if phase.webhooks == 1 && !phase.batch {
            Target {
                at_least: Some(25_000.0),
                ratio_at_least: Some(0.5),
                ..Target::default()
            }
        } else {
            Target::none()
        };
        let request = if phase.batch {
            "request (100 events)"
        } else {
            "request"
        };
        rows.push(
            Row::new(
                "1 ingest",
                format!("{}: accepted events/s", phase.label),
                Unit::PerSecond,
                rate,
            )
            .ceiling(ceiling_rate)
            .target(rate_target),
        );
        rows.push(
            Row::new(
                "1 ingest",
                format!("{}: {request} latency p50", phase.label),
                Unit::Ms,
                out.latencies.percentile_ms(50.0).unwrap_or(f64::NAN),
            )
            .ceiling(ceiling_p50),
        );
        rows.push(
            Row::new(
                "1 ingest",
                format!("{}: {request} latency p99", phase.label),
                Unit::Ms,
                out.latencies.percentile_ms(99.0).unwrap_or(f64::NAN),
            )
            .ceiling(ceiling_p99),
        );
        rows.push(
            Row::new(
                "1 ingest",
                format!("{}: hookd CPU per event", phase.label),
                Unit::Us,
                cpu_per_event,
            )
            .ceiling(ceiling_cpu),
        );
        raw[phase.label] = phase_json(phase, &out, cpu, rss, store);
    }
    receiver.stop();
    let end = rss_end.iter().copied().fold(0.0, f64::max);
    ctx.carried.ingest_end_rss_mb = Some(end);
    raw["rss_end_max_mb"] = json!(end);
    Ok((rows, raw))
}

fn phase_json(phase: &Phase, out: &load::Outcome, cpu_us: u64, rss_mb: f64, store: u64) -> Value {
    json!({
        "webhooks": phase.webhooks,
        "events_per_request": if phase.batch { 100 } else { 1 },
        "seconds": out.elapsed.as_secs_f64(),
        "accepted": out.accepted,
        "events_per_s": out.rate(),
        "requests_ok": out.ok_requests,
        "requests_failed": out.failed_requests,
        "non_2xx": out.non_2xx,
        "first_error": out.first_error,
        "latency_p50_ms": out.latencies.percentile_ms(50.0),
        "latency_p99_ms": out.latencies.percentile_ms(99.0),
        "latency_max_ms": out.latencies.max_ms(),
        "cpu_us": cpu_us,
        "cpu_us_per_event": per(cpu_us, out.accepted),
        "rss_end_mb": rss_mb,
        "store_bytes": store,
    })
}
