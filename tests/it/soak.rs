//! Retention under constant load: with a short retention, the store file stops growing.

use std::time::{Duration, Instant};

use crate::common::receiver::Receiver;
use crate::common::*;
use serde_json::json;

#[test]
fn store_size_levels_off_under_constant_load() {
    let server = Server::start_with("[retention]\nevents = \"3s\"\nbuffer = \"3s\"\n", &[]);
    let receiver = Receiver::ok();
    let account = server.create_account("soak");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "sink", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    assert_eq!(r.status, 201);
    let file = server.data_dir().join("hookd.redb");
    let payload = "x".repeat(6000);
    let batch: Vec<_> = (0..50)
        .map(|i| json!({"type": "soak.event", "data": {"i": i, "pad": payload}}))
        .collect();
    let body = json!({ "events": batch });
    let body_len = body.to_string().len() as u64;
    let path = format!("/v1/accounts/{account}/events/batch");
    // Bounded: at most 30 s and 3,000 requests; a steady rate well below the machine's.
    let started = Instant::now();
    let mut sizes: Vec<(Duration, u64)> = Vec::new();
    let mut requests = 0;
    while started.elapsed() < Duration::from_secs(30) && requests < 3000 {
        let tick = Instant::now();
        let r = server.post(&path, ADMIN, &body);
        assert_eq!(r.status, 202, "{}", r.text);
        requests += 1;
        sizes.push((started.elapsed(), std::fs::metadata(&file).unwrap().len()));
        // Pace the load to 5 requests (250 events, about 1.5 MB) per second.
        if let Some(rest) = Duration::from_millis(200).checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    let max_in = |from: u64, to: u64| {
        sizes
            .iter()
            .filter(|(t, _)| t.as_secs() >= from && t.as_secs() < to)
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(0)
    };
    let middle = max_in(10, 20);
    let last = max_in(20, 30);
    eprintln!(
        "store size: 0-10 s {} B, 10-20 s {middle} B, 20-30 s {last} B",
        max_in(0, 10)
    );
    assert!(middle > 0 && last > 0);
    let ingested = requests * body_len;
    // Without the purge, every event stays and the file must grow past what was ingested in
    // the first two thirds; with it, the size levels off well below the data ingested. redb
    // grows its file in doubling steps, and the live data (about 4 s of traffic) sits near
    // one step's size, so a slow moment of a loaded machine may cross it once: one step is
    // allowed, steady growth is not.
    assert!(
        last <= 2 * middle,
        "the store kept growing: {middle} B then {last} B"
    );
    assert!(
        ingested > 2 * last,
        "{ingested} B ingested should not fit in a {last} B store without purging"
    );
}
