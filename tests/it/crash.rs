//! Durability: every acknowledged event is delivered even when hookd is killed under load, and
//! a graceful stop lets in-flight attempts finish and records them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::json;

#[test]
fn sigkill_under_load_loses_no_acknowledged_event() {
    let mut server = Server::start();
    // A slow receiver keeps a backlog pending when the process dies.
    let receiver = Receiver::start(|_, _| Reply::ok().after(Duration::from_millis(5)));
    let account = server.create_account("crash");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "sink", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    assert_eq!(r.status, 201);

    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url(&format!("/v1/accounts/{account}/events"));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body =
                        json!({"type": "load.event", "data": {"client": c, "i": i}}).to_string();
                    let Ok(r) = std::panic::catch_unwind(|| {
                        request("POST", &url, Some(ADMIN), Some(body.as_bytes()))
                    }) else {
                        break; // the server is gone
                    };
                    if r.status == 202 {
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(r.json["id"].as_str().unwrap().to_string());
                    }
                }
            })
        })
        .collect();
    // Kill once a few thousand events are acknowledged, mid-stream.
    eventually(Duration::from_secs(60), || {
        (acknowledged.lock().unwrap().len() >= 2000).then_some(())
    });
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    let acknowledged: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(acknowledged.len() >= 2000);

    server.restart();
    // Killed mid-stream, the store's last writes were only in its write-ahead log.
    assert!(
        server
            .log_text()
            .contains("applied the write batches a crash took from the store again from its log"),
        "the restart replayed nothing from the log:\n{}",
        server.log_text()
    );
    eventually(Duration::from_secs(120), || {
        let seen: HashSet<String> = receiver
            .requests()
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_string))
            .collect();
        acknowledged.is_subset(&seen).then_some(())
    });
}

#[test]
fn sigterm_lets_an_in_flight_attempt_finish_and_records_it() {
    let mut server = Server::start();
    let receiver = Receiver::start(|_, _| Reply::ok().after(Duration::from_millis(1500)));
    let account = server.create_account("graceful");
    server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "slow", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "a.b", "data": 1}),
    );
    let event_id = r.json["id"].as_str().unwrap().to_string();
    receiver.wait_for(1, Duration::from_secs(10));
    // The attempt is in flight now: stop while the receiver is still answering.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
    server.restart();
    let r = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    assert_eq!(r.json["deliveries"][0]["status"], "succeeded", "{}", r.text);
    assert_eq!(r.json["deliveries"][0]["attemptCount"], 1);
    assert_eq!(receiver.count(), 1, "the finished attempt is not repeated");
}
