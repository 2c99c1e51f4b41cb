//! hookd-bench: runs the performance scenarios of BENCHMARKS.md against a release hookd and
//! prints each figure beside the machine's own ceiling, measured in the same run.
//!
//! `cargo run -p hookd-bench --release -- --hookd target/release/hookd [--quick]
//! [--scenario NAME]... [--json out.json]`
//!
//! The tool builds nothing: it takes the path of a hookd binary. It starts every hookd it
//! measures itself (fresh temp data dir, free port, SIGTERM at the end), runs its own receiver
//! and load generator, and shares the machine's cores with hookd: the load generator gets a
//! small multi-thread runtime (`--client-threads`, default 2), the receiver one thread.

mod ceiling;
mod hookd;
mod http;
mod load;
mod payload;
mod postgres;
mod procfs;
mod receiver;
mod report;
mod scenarios;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use serde_json::{Value, json};

use crate::receiver::Recorder;
use crate::report::Row;
use crate::scenarios::{Carried, Ceilings, Ctx, NAMES, Scale};

/// Benchmarks a hookd binary against the machine's ceilings (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "hookd-bench", version, about)]
struct Args {
    /// Path of the hookd binary to measure (build it with `cargo build --release -p hookd`).
    #[arg(long, value_name = "PATH", required_unless_present = "serve_ceiling")]
    hookd: Option<PathBuf>,
    /// Scale every scenario down so the whole run takes about a minute.
    #[arg(long)]
    quick: bool,
    /// Run only this scenario (repeatable); default: all, in order.
    #[arg(long = "scenario", value_name = "NAME", value_parser = NAMES)]
    scenarios: Vec<String>,
    /// Write the figures (and the machine's facts) to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Folder for the temp data dirs (default: the system temp dir); its disk is the one
    /// whose fsync rate is measured.
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// Events of the drain scenario (default 100,000; 10,000 with --quick).
    #[arg(long, value_name = "N")]
    drain_events: Option<u64>,
    /// Pending deliveries of the backlog scenario (default 1,000,000; 50,000 with --quick).
    #[arg(long, value_name = "N")]
    backlog_events: Option<u64>,
    /// Events of each phase of the receivers scenario (default 20,000; 2,000 with --quick).
    #[arg(long, value_name = "N")]
    receivers_events: Option<u64>,
    /// The first rate the sustained scenario tries, events/s (default 15,000).
    #[arg(long, value_name = "RATE")]
    sustained_rate: Option<f64>,
    /// Worker threads of the load generator's runtime.
    #[arg(long, value_name = "N", default_value_t = 2)]
    client_threads: usize,
    /// The storage backend to measure: `redb` (the embedded store, default) or `postgres`
    /// (a PostgreSQL server made with initdb in the run's temp dir; one or two nodes).
    #[arg(long, value_name = "NAME", default_value = "redb", value_parser = ["redb", "postgres"])]
    backend: String,
    /// Skip the ceiling measurements (for smoke tests).
    #[arg(long)]
    no_ceilings: bool,
    /// Internal: run the bare ceiling server on this address.
    #[arg(long, value_name = "ADDR", hide = true)]
    serve_ceiling: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(addr) = args.serve_ceiling {
        return match ceiling::serve(addr) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hookd-bench: bare server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .thread_name("bench-client")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookd-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hookd-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the selected scenarios; `Ok(false)` when one of them failed to complete.
async fn run(args: Args) -> Result<bool, String> {
    let hookd = args.hookd.clone().ok_or("--hookd is required")?;
    if !hookd.is_file() {
        return Err(format!(
            "{} is not a file (build it with `cargo build --release -p hookd`)",
            hookd.display()
        ));
    }
    let hookd = hookd
        .canonicalize()
        .map_err(|e| format!("{}: {e}", hookd.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let root_parent = args.data_root.clone().unwrap_or_else(std::env::temp_dir);
    let root = tempfile::Builder::new()
        .prefix("hookd-bench-")
        .tempdir_in(&root_parent)
        .map_err(|e| format!("cannot make a temp dir in {}: {e}", root_parent.display()))?;
    let mut scale = Scale::new(args.quick);
    if let Some(n) = args.drain_events {
        scale.drain_events = n.max(1);
    }
    if let Some(n) = args.backlog_events {
        scale.backlog_events = n.max(1);
    }
    if let Some(n) = args.receivers_events {
        scale.receivers_events = n.max(1);
    }
    if let Some(r) = args.sustained_rate {
        scale.sustained_rate = r.max(1.0);
    }
    let postgres = args.backend == "postgres";
    let selected: Vec<&str> = NAMES
        .into_iter()
        .filter(|n| {
            if args.scenarios.is_empty() {
                if postgres {
                    scenarios::POSTGRES_DEFAULT.contains(n)
                } else {
                    *n != "cluster"
                }
            } else {
                args.scenarios.iter().any(|s| s == n)
            }
        })
        .collect();
    let database = if postgres {
        let db = postgres::PgCluster::start(&root.path().join("postgres"))?;
        eprintln!("hookd-bench: PostgreSQL on port {}", db.port);
        Some(Arc::new(db))
    } else {
        None
    };

    let machine = procfs::Machine::read(root.path());
    let commit = procfs::commit();
    let load_before = procfs::loadavg();
    let (ticks, ticks_read) = procfs::clock_ticks();
    eprintln!(
        "hookd-bench: {} ({} cores, {:.1} GiB, {}), kernel {}, {}, commit {commit}, load {load_before}",
        machine.cpu_model,
        machine.cores,
        machine.memory_gib,
        machine.disk,
        machine.kernel,
        machine.date
    );

    let mut ctx = Ctx {
        hookd: hookd.clone(),
        exe,
        root: root.path().to_path_buf(),
        scale,
        recorder: Arc::new(Recorder::default()),
        ceilings: Ceilings::default(),
        carried: Carried::default(),
        postgres: database.clone(),
    };
    let mut figures = json!({});
    let mut rows: Vec<Row> = Vec::new();
    if !args.no_ceilings {
        let (ceilings, raw) = scenarios::ceilings::measure(&ctx).await;
        ctx.ceilings = ceilings;
        figures["ceilings"] = raw;
        if let Some(db) = &database {
            match db.ceiling(root.path(), ctx.scale.ceiling_phase) {
                Ok(rate) => {
                    eprintln!(
                        "ceiling: PostgreSQL, multi-row inserts of 100 events' rows from one client: {rate:.0} events/s"
                    );
                    figures["ceilings"]["postgres_events_per_s"] = json!(rate);
                    rows.push(Row::new(
                        "0 ceilings",
                        "PostgreSQL: events/s as multi-row inserts (100 per commit, one client)",
                        report::Unit::PerSecond,
                        rate,
                    ));
                }
                Err(e) => eprintln!("ceiling: PostgreSQL: {e}"),
            }
        }
    }

    let mut failures = Vec::new();
    for name in &selected {
        let load_at_start = procfs::loadavg();
        eprintln!("== {name} (load {load_at_start})");
        let outcome = match *name {
            "ingest" => scenarios::ingest::run(&mut ctx).await,
            "drain" => scenarios::drain::run(&mut ctx).await,
            "sustained" => scenarios::sustained::run(&mut ctx).await,
            "latency" => scenarios::latency::run(&mut ctx).await,
            "isolation" => scenarios::isolation::run(&mut ctx).await,
            "backlog" => scenarios::backlog::run(&mut ctx).await,
            "footprint" => scenarios::footprint::run(&mut ctx).await,
            "cluster" => scenarios::cluster::run(&mut ctx).await,
            "receivers" => scenarios::receivers::run(&mut ctx).await,
            other => Err(format!("unknown scenario {other}")),
        };
        match outcome {
            Ok((mut r, mut raw)) => {
                rows.append(&mut r);
                raw["loadavg_at_start"] = json!(load_at_start);
                figures[*name] = raw;
            }
            Err(e) => {
                eprintln!("{name}: FAILED: {e}");
                figures[*name] = json!({ "error": e });
                failures.push(format!("{name}: {e}"));
            }
        }
    }

    let load_after = procfs::loadavg();
    let fsync = ctx.ceilings.fsync.clone();
    let disturbed = fsync.as_ref().is_some_and(|f| f.disturbed());
    let table = report::markdown(&rows);
    println!();
    println!(
        "hookd-bench {} — {} — commit {commit} — {} cores, {:.1} GiB, {} — kernel {}",
        if args.quick { "(quick)" } else { "(full)" },
        machine.date,
        machine.cores,
        machine.memory_gib,
        machine.disk,
        machine.kernel
    );
    if let Some(f) = &fsync {
        println!(
            "fsync of the data dir's disk: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms{}",
            f.ops_per_s,
            f.p50_ms,
            f.p99_ms,
            if disturbed {
                " — DISTURBED run (fsync p50 > 0.5 ms)"
            } else {
                ""
            }
        );
    }
    println!("load average before {load_before}, after {load_after}");
    if !ticks_read {
        println!("(CLK_TCK could not be read; CPU times assume 100 ticks/s)");
    }
    println!();
    print!("{table}");
    for failure in &failures {
        println!("FAILED {failure}");
    }

    if let Some(path) = &args.json {
        let doc = json!({
            "tool": "hookd-bench",
            "quick": args.quick,
            "backend": args.backend,
            "hookd": hookd.display().to_string(),
            "commit": commit,
            "machine": {
                "cores": machine.cores,
                "cpu": machine.cpu_model,
                "memory_gib": machine.memory_gib,
                "disk": machine.disk,
                "kernel": machine.kernel,
                "date": machine.date,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "clk_tck": ticks,
                "clk_tck_read": ticks_read,
            },
            "disturbed": disturbed,
            "scale": format!("{:?}", ctx.scale),
            "client_threads": args.client_threads,
            "figures": figures,
            "table": rows.iter().map(Row::to_json).collect::<Vec<Value>>(),
            "failures": failures,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(failures.is_empty())
}
