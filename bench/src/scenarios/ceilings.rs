//! Measures the ceilings before the scenarios: the disk's fsync rate in the data root, and the
//! bare hyper server driven by the same client with the same requests as hookd's ingest
//! (single events with 64 connections, batches, and the latency scenario's steady rate).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Ceilings, Ctx, mb, per};
use crate::ceiling::{BareServer, measure_fsync};
use crate::hookd::Hookd;
use crate::load::{self, Shape, Spec};
use crate::procfs;

/// Measures every ceiling; a ceiling that cannot be measured stays `None`.
pub async fn measure(ctx: &Ctx) -> (Ceilings, Value) {
    let mut c = Ceilings::default();
    let mut raw = json!({});
    let root = ctx.root.clone();
    let fsync_for = ctx.scale.fsync_duration;
    match tokio::task::spawn_blocking(move || measure_fsync(&root, fsync_for)).await {
        Ok(Ok(f)) => {
            eprintln!(
                "ceiling: fsync {:.0}/s, p50 {:.3} ms, p99 {:.3} ms{}",
                f.ops_per_s,
                f.p50_ms,
                f.p99_ms,
                if f.disturbed() { " (disturbed)" } else { "" }
            );
            raw["fsync"] = json!({
                "ops_per_s": f.ops_per_s, "p50_ms": f.p50_ms, "p99_ms": f.p99_ms,
                "ops": f.ops, "disturbed": f.disturbed(),
            });
            c.fsync = Some(f);
        }
        Ok(Err(e)) => eprintln!("ceiling: fsync could not be measured: {e}"),
        Err(e) => eprintln!("ceiling: fsync task failed: {e}"),
    }

    let server = match BareServer::start(&ctx.exe).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ceiling: {e}");
            raw["http_error"] = json!(e);
            return (c, raw);
        }
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.idle_rss_mb = Some(mb(server.rss_kib()));
    let spec = |batch: u64, connections: usize, shape: Shape| Spec {
        addr: server.addr,
        token: Some(crate::hookd::TOKEN.into()),
        path: Hookd::events_path(batch > 1),
        event_type: "bench.event".into(),
        connections,
        shape,
        batch,
        first_seq: 0,
        retries: 0,
        timeout: Duration::from_secs(30),
        accepted_live: Arc::new(AtomicU64::new(0)),
    };
    let phase = ctx.scale.ceiling_phase;
    let conns = ctx.scale.connections;

    let cpu = server.cpu_us();
    let own = procfs::cpu_us(std::process::id()).unwrap_or(0);
    let single = load::run(spec(1, conns, Shape::Closed(phase))).await;
    let cpu = server.cpu_us().saturating_sub(cpu);
    let own = procfs::cpu_us(std::process::id())
        .unwrap_or(0)
        .saturating_sub(own);
    c.client_cpu_us = Some(per(own, single.accepted));
    c.http_rate = Some(single.rate());
    c.http_p50_ms = single.latencies.percentile_ms(50.0);
    c.http_p99_ms = single.latencies.percentile_ms(99.0);
    c.http_cpu_us = Some(per(cpu, single.accepted));
    eprintln!(
        "ceiling: bare server {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs CPU/req; load generator {:.1} µs CPU/req ({} failed)",
        single.rate(),
        c.http_p50_ms.unwrap_or(0.0),
        c.http_p99_ms.unwrap_or(0.0),
        per(cpu, single.accepted),
        per(own, single.accepted),
        single.failed_requests
    );

    let cpu = server.cpu_us();
    let batch = load::run(spec(ctx.scale.batch_size, conns, Shape::Closed(phase))).await;
    let cpu = server.cpu_us().saturating_sub(cpu);
    c.batch_rate = Some(batch.rate());
    c.batch_p50_ms = batch.latencies.percentile_ms(50.0);
    c.batch_p99_ms = batch.latencies.percentile_ms(99.0);
    c.batch_cpu_us = Some(per(cpu, batch.accepted));
    eprintln!(
        "ceiling: bare server, batches of {}: {:.0} events/s ({} failed)",
        ctx.scale.batch_size,
        batch.rate(),
        batch.failed_requests
    );

    let paced_for = if ctx.scale.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(3)
    };
    let paced = load::run(spec(
        1,
        8,
        Shape::Paced {
            rate: ctx.scale.latency_rate,
            duration: paced_for,
        },
    ))
    .await;
    c.paced_p50_ms = paced.latencies.percentile_ms(50.0);
    c.paced_p99_ms = paced.latencies.percentile_ms(99.0);

    raw["http"] = json!({
        "single": {
            "connections": conns, "requests_per_s": single.rate(), "requests": single.ok_requests,
            "failed": single.failed_requests, "p50_ms": c.http_p50_ms, "p99_ms": c.http_p99_ms,
            "cpu_us_per_request": c.http_cpu_us,
            "load_generator_cpu_us_per_request": c.client_cpu_us,
        },
        "batch": {
            "events_per_request": ctx.scale.batch_size, "events_per_s": batch.rate(),
            "failed": batch.failed_requests, "p50_ms": c.batch_p50_ms, "p99_ms": c.batch_p99_ms,
            "cpu_us_per_event": c.batch_cpu_us,
        },
        "paced": {
            "rate": ctx.scale.latency_rate, "connections": 8,
            "p50_ms": c.paced_p50_ms, "p99_ms": c.paced_p99_ms,
        },
        "idle_rss_mb": c.idle_rss_mb,
    });
    (c, raw)
}
