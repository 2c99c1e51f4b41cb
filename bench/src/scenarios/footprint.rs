//! Scenario 7, footprint: hookd's RSS when idle after a start and at the end of scenario 1,
//! and the size of the release binary. hookd is the whole system (no database process), so
//! its RSS is the whole footprint.

use std::time::Duration;

use serde_json::json;

use super::{Ctx, Outcome, mb};
use crate::hookd::Settings;
use crate::report::{Row, Target, Unit};

pub async fn run(ctx: &mut Ctx) -> Outcome {
    let dir = ctx.workdir("footprint")?;
    let (mut hookd, ready) = ctx.start_hookd(dir.path(), Settings::default()).await?;
    // Let start-up work (store creation, first scheduler pass) settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = mb(hookd.rss_kib());
    hookd.stop().await?;
    let binary = std::fs::metadata(&ctx.hookd).map_or(0, |m| m.len()) as f64 / 1e6;
    eprintln!(
        "footprint: idle RSS {idle:.1} MB, binary {binary:.1} MB, fresh start to ready {:.3} s",
        ready.as_secs_f64()
    );
    let mut rows = vec![
        Row::new("7 footprint", "idle RSS after start", Unit::MB, idle)
            .ceiling(ctx.ceilings.idle_rss_mb)
            .target(Target::at_most(12.0)),
    ];
    if let Some(rss) = ctx.carried.ingest_end_rss_mb {
        rows.push(Row::new(
            "7 footprint",
            "RSS at the end of scenario 1 (highest of its phases)",
            Unit::MB,
            rss,
        ));
    }
    rows.push(
        Row::new("7 footprint", "release binary size", Unit::MB, binary)
            .target(Target::at_most(15.0)),
    );
    let raw = json!({
        "idle_rss_mb": idle,
        "ingest_end_rss_mb": ctx.carried.ingest_end_rss_mb,
        "binary_mb": binary,
        "fresh_start_to_ready_s": ready.as_secs_f64(),
    });
    Ok((rows, raw))
}
