//! A crash loop: hookd is killed with SIGKILL at random moments under ingest load, four times
//! in a row, and restarted each time on the same store. Every event a client got a 202 for must
//! still reach the receiver (api.md: "a 202 is a promise that the event will be delivered or
//! visibly fail"; delivery.md: at-least-once), and the store must open cleanly afterwards.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::{Value, json};

/// Upper bounds: events acknowledged in all, requests sent in all, time under load.
const MAX_ACKED: usize = 4000;
const MAX_REQUESTS: usize = 8000;
const MAX_LOAD: Duration = Duration::from_secs(60);
const KILLS: usize = 4;
const CLIENTS: usize = 4;

/// xorshift64*: a small PRNG, seeded from the clock and printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Where the clients send events; `generation` goes up on every restart (new port).
struct Target {
    url: String,
    generation: u64,
    stopped: bool,
}

#[test]
fn repeated_sigkill_under_load_loses_no_acknowledged_event_and_the_store_reopens() {
    let seed = std::env::var("CRASH_LOOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash loop seed: {seed} (CRASH_LOOP_SEED={seed} replays the kill moments)");
    let mut rng = Rng(seed);

    let mut server = Server::start_with(
        "[delivery]\nretry_schedule = [\"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \
         \"200ms\", \"200ms\", \"200ms\"]\n",
        &[],
    );
    // 200 after a small pseudo-random delay (0–15 ms), so attempts are in flight at each kill.
    let receiver = Receiver::start(move |n, _| {
        let mut r = Rng(seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Reply::ok().after(Duration::from_millis(r.next() % 16))
    });
    let account = server.create_account("crash loop");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "sink", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook_id = r.json["id"].as_str().unwrap().to_string();
    let secret = r.json["secret"].as_str().unwrap().to_string();
    let account_before = server.get(&format!("/v1/accounts/{account}"), ADMIN).json;
    let webhook_path = format!("/v1/accounts/{account}/webhooks/{webhook_id}");
    let webhook_before = server.get(&webhook_path, ADMIN).json;
    let events_path = format!("/v1/accounts/{account}/events");

    let target = Arc::new((
        Mutex::new(Target {
            url: server.url(&events_path),
            generation: 0,
            stopped: false,
        }),
        Condvar::new(),
    ));
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (target, acknowledged, requests, failures, stop) = (
                target.clone(),
                acknowledged.clone(),
                requests.clone(),
                failures.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                let mut i = 0u64;
                // Bounded by the stop flag, the request and ack budgets and the load time.
                while !stop.load(Ordering::Relaxed)
                    && requests.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                    && acknowledged.lock().unwrap().len() < MAX_ACKED
                    && load_started.elapsed() < MAX_LOAD
                {
                    let (url, generation) = {
                        let t = target.0.lock().unwrap();
                        (t.url.clone(), t.generation)
                    };
                    i += 1;
                    let body = json!({"type": "crash.loop", "data": {"client": c, "i": i}});
                    let sent = agent
                        .post(&url)
                        .header("authorization", format!("Bearer {ADMIN}"))
                        .header("content-type", "application/json")
                        .send(body.to_string().as_bytes());
                    match sent {
                        Ok(mut response) if response.status().as_u16() == 202 => {
                            let text = response.body_mut().read_to_string().unwrap_or_default();
                            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                            let id = v["id"].as_str().expect("202 carries the event id");
                            acknowledged.lock().unwrap().push(id.to_string());
                        }
                        Ok(response) => {
                            panic!("ingest answered {} (not 202)", response.status());
                        }
                        Err(_) => {
                            // The server is gone (killed): wait for the next generation, i.e.
                            // the restarted server's address, or the end of the test.
                            failures.fetch_add(1, Ordering::Relaxed);
                            let (lock, changed) = &*target;
                            let t = lock.lock().unwrap();
                            let _ = changed
                                .wait_timeout_while(t, Duration::from_secs(60), |t| {
                                    t.generation == generation && !t.stopped
                                })
                                .unwrap();
                        }
                    }
                }
            })
        })
        .collect();

    let acked_count = || acknowledged.lock().unwrap().len();
    let budget_left = || {
        acknowledged.lock().unwrap().len() < MAX_ACKED
            && requests.load(Ordering::Relaxed) < MAX_REQUESTS
            && load_started.elapsed() < MAX_LOAD
    };
    for round in 1..=KILLS {
        // The current process is taking load: some events are acknowledged by it.
        let base = acked_count();
        eventually(Duration::from_secs(30), || {
            (acked_count() >= base + 20 || !budget_left()).then_some(())
        });
        let delay = Duration::from_millis(300 + rng.next() % 1200);
        // Not synchronisation: the random moment of the crash, under load.
        std::thread::sleep(delay);
        let at = acked_count();
        server.kill();
        eprintln!("kill {round}/{KILLS} after {delay:?}: {at} events acknowledged so far");
        server.restart();
        let (lock, changed) = &*target;
        {
            let mut t = lock.lock().unwrap();
            t.url = server.url(&events_path);
            t.generation += 1;
        }
        changed.notify_all();
    }
    // A little load on the last process too, then stop ingesting.
    let base = acked_count();
    eventually(Duration::from_secs(30), || {
        (acked_count() >= base + 20 || !budget_left()).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    target.0.lock().unwrap().stopped = true;
    target.1.notify_all();
    for c in clients {
        c.join().expect("client thread");
    }
    let load_time = load_started.elapsed();
    let acked: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    eprintln!(
        "load: {} events acknowledged, {} requests, {} failed by the kills, in {load_time:?}",
        acked.len(),
        requests.load(Ordering::Relaxed).min(MAX_REQUESTS),
        failures.load(Ordering::Relaxed)
    );
    assert_eq!(
        acked.len(),
        acknowledged.lock().unwrap().len(),
        "an event id was acknowledged twice"
    );
    assert!(
        acked.len() >= (KILLS + 1) * 20,
        "too little load: {}",
        acked.len()
    );

    // Every acknowledged event reaches the receiver.
    let drain_started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen: HashSet<String> = receiver
            .requests()
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_string))
            .collect();
        let missing: Vec<&String> = acked.difference(&seen).collect();
        if missing.is_empty() {
            eprintln!(
                "every acknowledged event delivered {:?} after the load ({} requests received, \
                 {} distinct events)",
                drain_started.elapsed(),
                receiver.count(),
                seen.len()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} acknowledged events never reached the receiver, e.g. {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Nothing is left pending or failed (the receiver always answers 200).
    eventually(Duration::from_secs(60), || {
        let pending = server.get(
            &format!("/v1/accounts/{account}/deliveries?status=pending&limit=1"),
            ADMIN,
        );
        assert_eq!(pending.status, 200, "{}", pending.text);
        pending.json["items"].as_array()?.is_empty().then_some(())
    });
    let failed = server.get(
        &format!("/v1/accounts/{account}/deliveries?status=failed&limit=1"),
        ADMIN,
    );
    assert_eq!(failed.json["items"], json!([]), "{}", failed.text);

    // A clean stop, one more start: the store opens and holds what it held.
    let status = server.stop();
    assert!(status.success(), "SIGTERM exit: {status:?}");
    server.restart();
    let ready = eventually(Duration::from_secs(30), || {
        let r = server.get("/readyz", "");
        (r.status == 200).then_some(r)
    });
    assert_eq!(ready.status, 200);
    assert_eq!(
        server.get(&format!("/v1/accounts/{account}"), ADMIN).json,
        account_before
    );
    let webhook_after = server.get(&webhook_path, ADMIN).json;
    for field in [
        "id",
        "name",
        "eventUrl",
        "eventList",
        "version",
        "enabled",
        "status",
        "createdDate",
        "lastUpdate",
        "ownerIdentifier",
    ] {
        assert_eq!(
            webhook_after[field], webhook_before[field],
            "webhook {field} changed: {webhook_after}"
        );
    }
    let r = server.get(&format!("{webhook_path}/secret"), ADMIN);
    assert_eq!(r.json["secret"], secret.as_str());
    // Every acknowledged event is still listed (paging bounded by the event count).
    let mut listed = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..(MAX_REQUESTS / 200 + 2) {
        let path = match &cursor {
            None => format!("{events_path}?limit=200"),
            Some(c) => format!("{events_path}?limit=200&cursor={c}"),
        };
        let page = server.get(&path, ADMIN);
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.json["items"].as_array().unwrap() {
            listed.insert(item["id"].as_str().unwrap().to_string());
        }
        match page.json["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                cursor = None;
                break;
            }
        }
    }
    assert!(cursor.is_none(), "the event list did not end");
    let missing = acked.difference(&listed).count();
    assert_eq!(missing, 0, "acknowledged events missing from the store");
    eprintln!(
        "store reopened: {} events listed ({} acknowledged)",
        listed.len(),
        acked.len()
    );
}
