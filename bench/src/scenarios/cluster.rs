//! The postgres backend with two nodes on one database (runs only with `--backend postgres`):
//!
//! - **two nodes, end to end**: 20,000 events ingested through both nodes at once (half each),
//!   one webhook, the receiver up; every event must arrive once (none lost, none sent twice
//!   without a node failure), and the rate of the whole;
//! - **a node killed under load**: both nodes ingest at a steady rate, one is killed with
//!   SIGKILL half-way; every acknowledged event must still arrive (the other node takes over the
//!   dead node's claims once their lease runs out), and the time from the kill until the last of
//!   them arrived is compared with `lease + 5 s`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Ctx, Outcome, given_up, hook_url, per, wait_unique};
use crate::hookd::{Hookd, Settings, free_port};
use crate::load::{self, Shape};
use crate::receiver::Server;
use crate::report::{Row, Target, Unit};

/// The lease the nodes run with: short, so the takeover is measured in seconds.
const LEASE: &str = "5s";
const LEASE_SECS: f64 = 5.0;

/// Two nodes on a fresh database of the run's PostgreSQL server.
async fn two_nodes(ctx: &Ctx, dir: &std::path::Path) -> Result<(Hookd, Hookd), String> {
    let db = ctx
        .postgres
        .as_ref()
        .ok_or("the cluster scenario needs --backend postgres")?;
    let settings = Settings {
        postgres_url: Some(db.new_database("cluster")?),
        lease: Some(LEASE),
        ..Settings::default()
    };
    let a_dir = dir.join("a");
    let b_dir = dir.join("b");
    for d in [&a_dir, &b_dir] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let (mut a, _) = Hookd::start(&ctx.hookd, &a_dir, &settings).await?;
    let (mut b, _) = Hookd::start(&ctx.hookd, &b_dir, &settings).await?;
    a.database = ctx.postgres.clone();
    b.database = None; // the database's CPU is counted once, with the first node
    Ok((a, b))
}

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let dir = ctx.workdir("cluster")?;
    let events: u64 = if ctx.scale.quick { 4_000 } else { 20_000 };

    // Two nodes, end to end.
    let (a, b) = two_nodes(ctx, dir.path()).await?;
    a.create_account().await?;
    let port = free_port()?;
    let webhook = a
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    b.wait_for_webhook(&webhook).await?;
    ctx.recorder.reset(1, events, false);
    let receiver = Server::receiver(([127, 0, 0, 1], port).into(), ctx.recorder.clone())
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let cpu = a.cpu_us() + b.cpu_us();
    let started = Instant::now();
    let half = events / 2;
    let mut spec_a = ctx.spec(&a, false, Shape::Count(half));
    spec_a.connections = 32;
    let mut spec_b = ctx.spec(&b, false, Shape::Count(events - half));
    spec_b.connections = 32;
    spec_b.first_seq = half;
    let (in_a, in_b) = tokio::join!(load::run(spec_a), load::run(spec_b));
    let accepted = in_a.accepted + in_b.accepted;
    let expected = events - given_up(&in_a) - given_up(&in_b);
    let all = wait_unique(
        &ctx.recorder,
        expected,
        Duration::from_secs(180),
        Duration::from_secs(30),
    )
    .await;
    let e2e_seconds = started.elapsed().as_secs_f64();
    let cpu_us = (a.cpu_us() + b.cpu_us()).saturating_sub(cpu);
    let (duplicates, lost) = {
        let tally = ctx.recorder.lock();
        (tally.duplicates, expected.saturating_sub(tally.unique[0]))
    };
    eprintln!(
        "cluster: {accepted} of {events} events through two nodes, {} arrived in {e2e_seconds:.1} s, {lost} lost, {duplicates} sent twice{}",
        ctx.recorder.unique(),
        if all { "" } else { " (gave up waiting)" }
    );
    drop((a, b));

    // A node killed under load.
    let (mut a, b) = two_nodes(ctx, &dir.path().join("failover")).await?;
    a.create_account().await?;
    let webhook = a
        .create_webhook(&hook_url(port, 0), &["bench.*"], None)
        .await?;
    b.wait_for_webhook(&webhook).await?;
    let rate = if ctx.scale.quick { 400.0 } else { 1_000.0 };
    let duration = Duration::from_secs(if ctx.scale.quick { 6 } else { 20 });
    let planned = (rate * duration.as_secs_f64()) as u64;
    ctx.recorder.reset(1, planned + 10_000, false);
    let paced = |hookd: &Hookd, first_seq: u64| {
        let mut spec = ctx.spec(
            hookd,
            false,
            Shape::Paced {
                rate: rate / 2.0,
                duration,
            },
        );
        spec.connections = 8;
        spec.first_seq = first_seq;
        spec.retries = 0;
        spec.timeout = Duration::from_secs(5);
        spec.accepted_live = Arc::new(AtomicU64::new(0));
        spec
    };
    let spec_a = paced(&a, 0);
    let spec_b = paced(&b, planned);
    let load_a = tokio::spawn(load::run(spec_a));
    let load_b = tokio::spawn(load::run(spec_b));
    tokio::time::sleep(duration / 2).await;
    a.kill();
    let killed_us = crate::payload::now_us();
    let (in_a, in_b) = (
        load_a.await.map_err(|e| e.to_string())?,
        load_b.await.map_err(|e| e.to_string())?,
    );
    // Every event a node acknowledged must arrive; the dead node's unanswered ones are not
    // promised (their clients saw the connection fail).
    let acknowledged = in_a.accepted + in_b.accepted;
    let all_after_kill = wait_unique(
        &ctx.recorder,
        acknowledged,
        Duration::from_secs(120),
        Duration::from_secs(60),
    )
    .await;
    let takeover = {
        let tally = ctx.recorder.lock();
        tally.last_new_us
    };
    let resumed_seconds = match takeover {
        Some(last_us) => last_us.saturating_sub(killed_us) as f64 / 1e6,
        None => f64::NAN,
    };
    let failover_lost = acknowledged.saturating_sub(ctx.recorder.unique());
    eprintln!(
        "cluster: a node killed under load: {acknowledged} acknowledged, {} arrived, last {resumed_seconds:.1} s after the kill{}",
        ctx.recorder.unique(),
        if all_after_kill {
            ""
        } else {
            " (gave up waiting)"
        }
    );
    drop(b);
    receiver.stop();

    let rows = vec![
        Row::new(
            "8 cluster",
            format!("{events} events through two nodes: events/s end to end"),
            Unit::PerSecond,
            accepted as f64 / e2e_seconds.max(1e-9),
        ),
        Row::new(
            "8 cluster",
            "two nodes: lost deliveries",
            Unit::Count,
            lost as f64,
        )
        .target(Target::at_most(0.0)),
        Row::new(
            "8 cluster",
            "two nodes: deliveries sent twice",
            Unit::Count,
            duplicates as f64,
        )
        .target(Target::at_most(0.0)),
        Row::new(
            "8 cluster",
            "two nodes: CPU per event (both nodes + PostgreSQL)",
            Unit::Us,
            per(cpu_us, accepted),
        ),
        Row::new(
            "8 cluster",
            "node killed under load: acknowledged events lost",
            Unit::Count,
            failover_lost as f64,
        )
        .target(Target::at_most(0.0)),
        Row::new(
            "8 cluster",
            format!("node killed under load: last delivery after the kill (lease {LEASE})"),
            Unit::Seconds,
            resumed_seconds,
        )
        .target(Target::at_most(LEASE_SECS + 5.0)),
    ];
    let raw = json!({
        "events": events,
        "accepted": accepted,
        "e2e_seconds": e2e_seconds,
        "lost": lost,
        "duplicates": duplicates,
        "cpu_us_per_event": per(cpu_us, accepted),
        "failover": {
            "lease": LEASE,
            "rate": rate,
            "acknowledged": acknowledged,
            "arrived": ctx.recorder.unique(),
            "lost": failover_lost,
            "last_arrival_after_kill_s": resumed_seconds,
            "given_up_by_the_dead_node": given_up(&in_a),
        },
    });
    Ok((rows, raw))
}
