//! Scenario 8, receivers: what filters and body templates cost. Events fan out to ten
//! webhooks three times over — plain, each webhook with a filter (true for every event), each
//! with a body template (the data rendered into a JSON body) — and every delivery is awaited.
//! The figure is hookd's CPU per delivery, ingest included, beside the plain path's.
//!
//! The receiver is up from the start, so ingest and delivery overlap as in production. The
//! filter and the template keep the `"seq":…,"sent":…` the receiver reads.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Ctx, Outcome, given_up, hook_url, per, wait_unique};
use crate::hookd::{Hookd, Settings, free_port};
use crate::load::{self, Shape};
use crate::receiver::Server;
use crate::report::{Row, Unit};

/// Webhooks every event goes to.
const FAN_OUT: usize = 10;

struct Phase {
    label: &'static str,
    /// Members of each webhook beyond URL and events.
    options: fn() -> Value,
}

const PHASES: [Phase; 3] = [
    Phase {
        label: "plain",
        options: || json!({}),
    },
    Phase {
        label: "filters",
        options: || json!({"filter": "data.seq >= 0 && has(data.pad)"}),
    },
    Phase {
        label: "templates",
        options: || json!({"template": {"body": r#"{"event": {{ event.type | tojson }}, "seq":{{ data.seq }},"sent":{{ data.sent }}, "pad": {{ data.pad | tojson }}}"#}}),
    },
];

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let events = ctx.scale.receivers_events;
    let mut rows = Vec::new();
    let mut raw = json!({ "events": events, "fan_out": FAN_OUT });
    let mut plain_cpu = None;
    for phase in &PHASES {
        let port = free_port()?;
        let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
            .map_err(|e| format!("cannot start the receiver: {e}"))?;
        let dir = ctx.workdir("receivers")?;
        let (mut hookd, _) = Hookd::start(&ctx.hookd, dir.path(), &Settings::default()).await?;
        hookd.create_account().await?;
        for i in 0..FAN_OUT {
            hookd
                .create_webhook_with(&hook_url(port, i), &["bench.*"], None, (phase.options)())
                .await?;
        }
        ctx.recorder.reset(FAN_OUT, events, false);
        let cpu = hookd.cpu_us();
        let mut spec = ctx.spec(&hookd, true, Shape::Count(events));
        spec.connections = 16;
        let ingest = load::run(spec).await;
        let expected = (events - given_up(&ingest)) * FAN_OUT as u64;
        let all = wait_unique(
            &ctx.recorder,
            expected,
            Duration::from_secs(120.max(expected / 500)),
            Duration::from_secs(30),
        )
        .await;
        let cpu = hookd.cpu_us().saturating_sub(cpu);
        let elapsed = ingest.elapsed.as_secs_f64();
        let arrived = ctx.recorder.unique();
        hookd.stop().await?;
        receiver.stop();
        if !all {
            return Err(format!(
                "{}: {arrived} of {expected} deliveries arrived",
                phase.label
            ));
        }
        let cpu_per_delivery = per(cpu, arrived);
        let base = *plain_cpu.get_or_insert(cpu_per_delivery);
        eprintln!(
            "receivers {}: {arrived} deliveries, {:.1} µs hookd CPU per delivery ({:+.0} % against plain)",
            phase.label,
            cpu_per_delivery,
            (cpu_per_delivery / base - 1.0) * 100.0
        );
        rows.push(Row::new(
            "8 receivers",
            format!("fan-out {FAN_OUT}, {}: hookd CPU per delivery", phase.label),
            Unit::Us,
            cpu_per_delivery,
        ));
        if phase.label != "plain" {
            rows.push(Row::new(
                "8 receivers",
                format!(
                    "fan-out {FAN_OUT}, {}: CPU beyond the plain path",
                    phase.label
                ),
                Unit::Percent,
                (cpu_per_delivery / base - 1.0) * 100.0,
            ));
        }
        raw[phase.label] = json!({
            "deliveries": arrived,
            "ingest_seconds": elapsed,
            "ingest_events_per_s": ingest.rate(),
            "cpu_us": cpu,
            "cpu_us_per_delivery": cpu_per_delivery,
            "against_plain": cpu_per_delivery / base,
        });
    }
    Ok((rows, raw))
}
