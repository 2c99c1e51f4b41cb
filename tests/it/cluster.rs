//! Several hookd nodes sharing one PostgreSQL database: every accepted event delivered once,
//! a node's death or stop costing nothing acknowledged, `ordered`, `rateLimit` and the
//! per-webhook cap holding for the cluster, configuration changes reaching every node, the
//! lifecycle happening once, and a database outage ridden out without a restart.
//!
//! The database is the test process's throwaway PostgreSQL server (`common::pg`), or one of
//! the test's own for the outage. Without PostgreSQL installed, these tests are skipped, loudly.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::pg;
use crate::common::receiver::{Gate, Received, Receiver, Reply};
use crate::common::*;

/// The generous deadline for work that has no bound of its own in the contract.
const WAIT: Duration = Duration::from_secs(45);

/// A new database on the test process's PostgreSQL server; `None`, said loudly, when
/// PostgreSQL is not installed.
fn database() -> Option<String> {
    match pg::cluster() {
        Some(cluster) => Some(cluster.new_database()),
        None => {
            eprintln!("SKIPPED: PostgreSQL is not installed");
            None
        }
    }
}

/// Creates a webhook with extra fields; its id.
fn webhook(node: &Server, account: &str, url: &str, events: &[&str], extra: Value) -> String {
    let mut body = json!({"name": "hook", "eventUrl": url, "eventList": events});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = node.post(&format!("/v1/accounts/{account}/webhooks"), ADMIN, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

/// Waits until `node` knows the account's `count` webhooks (made through another node): within
/// the contract's second, with a margin.
fn wait_for_webhooks(node: &Server, account: &str, count: usize) {
    eventually(Duration::from_secs(3), || {
        let r = node.get(&format!("/v1/accounts/{account}/webhooks"), ADMIN);
        (r.json["items"].as_array().map(Vec::len) == Some(count)).then_some(())
    });
}

/// Ingests events of `event_type` with data `first..first + count` in one batch; their ids.
fn ingest_batch(
    node: &Server,
    account: &str,
    event_type: &str,
    first: usize,
    count: usize,
) -> Vec<String> {
    let events: Vec<Value> = (first..first + count)
        .map(|n| json!({"type": event_type, "data": {"n": n}}))
        .collect();
    let r = node.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": events}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .unwrap_or_else(|| panic!("an event refused: {item}"))
                .to_string()
        })
        .collect()
}

/// Ingests one event through the node at `base`; its id when the node answered 202, else the
/// answer (or why none came).
fn try_ingest(base: &str, account: &str, event_type: &str, n: usize) -> Result<String, String> {
    let body = json!({"type": event_type, "data": {"n": n}}).to_string();
    match try_request(
        "POST",
        &format!("{base}/v1/accounts/{account}/events"),
        Some(ADMIN),
        Some(body.as_bytes()),
        &[],
    ) {
        Ok(r) if r.status == 202 => Ok(r.json["id"].as_str().unwrap().to_string()),
        Ok(r) => Err(format!("{} {}", r.status, r.text)),
        Err(e) => Err(e),
    }
}

/// How often each `webhook-id` (the event id) arrived at a receiver.
fn arrivals(requests: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in requests {
        *counts
            .entry(r.header("webhook-id").unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// The ids of the events whose delivery to `webhook` succeeded, read through `node`.
fn succeeded_events(node: &Server, account: &str, webhook: &str) -> HashSet<String> {
    let mut events = HashSet::new();
    let mut cursor = String::new();
    loop {
        let r = node.get(
            &format!(
                "/v1/accounts/{account}/deliveries?webhookId={webhook}&status=succeeded&limit=200&cursor={}",
                enc(&cursor)
            ),
            ADMIN,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        for item in r.json["items"].as_array().unwrap() {
            events.insert(item["eventId"].as_str().unwrap().to_string());
        }
        match r.json["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return events,
        }
    }
}

/// Waits until every event of `expected` has a succeeded delivery to `webhook`.
fn wait_all_succeeded(
    node: &Server,
    account: &str,
    webhook: &str,
    expected: &HashSet<String>,
    deadline: Instant,
) {
    loop {
        let done = succeeded_events(node, account, webhook);
        let missing = expected.difference(&done).count();
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} accepted events not delivered to {webhook} in time",
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sum of a metric's samples on `node` (all label sets).
fn metric(node: &Server, name: &str) -> f64 {
    let r = node.get("/metrics", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The first node's id in the database: the smallest of those registered (node ids are
/// UUID v7, and the first node registered before the second was started).
fn first_node_id(database: &str) -> String {
    let ids = pg::run_sql(database, "SELECT node_id FROM hookd_nodes ORDER BY node_id");
    ids.lines().next().expect("a registered node").to_string()
}

/// The deliveries `node_id` holds an unexpired lease on.
fn leases_of(database: &str, node_id: &str) -> HashSet<String> {
    pg::run_sql(
        database,
        &format!(
            "SELECT delivery_id FROM hookd_due
             WHERE lease_owner = '{node_id}' AND lease_until > now()"
        ),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// A receiver that answers 200 after `delay`, or — while `frozen` — holds each request until
/// `gate` opens, noting the delivery ids it holds.
struct Freezable {
    receiver: Receiver,
    frozen: Arc<AtomicBool>,
    gate: Gate,
    held: Arc<Mutex<HashSet<String>>>,
}

impl Freezable {
    fn start(delay: Duration) -> Freezable {
        let frozen = Arc::new(AtomicBool::new(false));
        let gate = Gate::new();
        let held: Arc<Mutex<HashSet<String>>> = Arc::default();
        let receiver = {
            let (frozen, gate, held) = (frozen.clone(), gate.clone(), held.clone());
            Receiver::start(move |_, req| {
                if frozen.load(Ordering::SeqCst) {
                    let delivery = req.header("hookd-delivery-id").unwrap().to_string();
                    held.lock().unwrap().insert(delivery);
                    Reply::ok().until_gate(&gate, Duration::from_secs(60))
                } else {
                    Reply::ok().after(delay)
                }
            })
        };
        Freezable {
            receiver,
            frozen,
            gate,
            held,
        }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Answers the held requests and every later one.
    fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
        self.gate.open();
    }

    fn held(&self) -> HashSet<String> {
        self.held.lock().unwrap().clone()
    }
}

#[test]
fn events_are_delivered_exactly_once_through_two_nodes() {
    let Some(db) = database() else { return };
    let a = Server::start_node(&db, "");
    let b = Server::join(&a, "");
    assert_eq!(metric(&a, "hookd_nodes"), 2.0);
    assert_eq!(metric(&b, "hookd_nodes"), 2.0);
    let receivers: Vec<Receiver> = (0..3).map(|_| Receiver::ok()).collect();
    let account = a.create_account("Clinic");
    let webhooks: Vec<String> = receivers
        .iter()
        .map(|r| webhook(&a, &account, &r.url, &["booking.*"], json!({})))
        .collect();
    // The second node knows the webhooks before anything is ingested through it.
    wait_for_webhooks(&b, &account, 3);

    // 1,000 events (3,000 deliveries), half through each node, both at once.
    const BATCHES: usize = 10;
    const PER_BATCH: usize = 50;
    let accepted: Vec<String> = std::thread::scope(|s| {
        let ingesting: Vec<_> = [(&a, 0), (&b, 1_000_000)]
            .into_iter()
            .map(|(node, offset)| {
                let account = &account;
                s.spawn(move || {
                    (0..BATCHES)
                        .flat_map(|batch| {
                            let first = offset + batch * PER_BATCH;
                            ingest_batch(node, account, "booking.created", first, PER_BATCH)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        ingesting
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let accepted_set: HashSet<String> = accepted.iter().cloned().collect();
    assert_eq!(accepted_set.len(), 2 * BATCHES * PER_BATCH);

    for (receiver, webhook) in receivers.iter().zip(&webhooks) {
        receiver.wait_for(accepted.len(), WAIT);
        wait_all_succeeded(&b, &account, webhook, &accepted_set, Instant::now() + WAIT);
        let seen = arrivals(&receiver.requests());
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "delivered more than once: {twice:?}");
        let got: HashSet<String> = seen.keys().cloned().collect();
        assert_eq!(
            got, accepted_set,
            "delivered events differ from accepted ones"
        );
    }
    // Both nodes did the work.
    let by_a = metric(&a, "hookd_delivery_attempts_total");
    let by_b = metric(&b, "hookd_delivery_attempts_total");
    assert!(by_a > 0.0 && by_b > 0.0, "attempts: {by_a} and {by_b}");
    assert_eq!(by_a + by_b, 3.0 * accepted.len() as f64);
}

/// Ingests one event at a time through the node at `base` until `stop` is set or the node
/// stops answering; the ids of the events it accepted (202).
fn ingest_until(base: &str, account: &str, stop: &AtomicBool, from: usize) -> Vec<String> {
    let mut accepted = Vec::new();
    let mut n = from;
    while !stop.load(Ordering::SeqCst) {
        match try_ingest(base, account, "booking.created", n) {
            Ok(id) => accepted.push(id),
            Err(e) if e.starts_with("503") => {}
            Err(_) => break,
        }
        n += 1;
    }
    accepted
}

#[test]
fn a_killed_nodes_deliveries_resume_on_the_other_after_the_lease() {
    let Some(db) = database() else { return };
    // Four attempts at most per node, eight per webhook: neither node can hold all the work,
    // so both hold leases while the receiver is frozen.
    let config = "[postgres]\nlease = \"3s\"\n[delivery]\nmax_in_flight = 4\n\
                  retry_schedule = [\"200ms\", \"200ms\", \"200ms\"]\n";
    let lease = Duration::from_secs(3);
    let a = Server::start_node(&db, config);
    let mut b = Server::join(&a, config);
    let a_id = first_node_id(&db);
    let receiver = Freezable::start(Duration::from_millis(20));
    let account = a.create_account("Clinic");
    let webhooks: Vec<String> = (0..2)
        .map(|_| {
            webhook(
                &a,
                &account,
                &receiver.receiver.url,
                &["booking.*"],
                json!({}),
            )
        })
        .collect();
    wait_for_webhooks(&b, &account, 2);

    let stop = AtomicBool::new(false);
    let (base_a, base_b) = (a.base.clone(), b.base.clone());
    let (accepted, killed_at, orphaned) = std::thread::scope(|s| {
        let through_a = s.spawn(|| ingest_until(&base_a, &account, &stop, 0));
        let through_b = s.spawn(|| ingest_until(&base_b, &account, &stop, 1_000_000));
        // Under load: deliveries flowing through both nodes.
        receiver.receiver.wait_for(100, WAIT);
        // Freeze the receiver until the first node holds a lease on a request held there:
        // an attempt it cannot finish before it dies.
        receiver.freeze();
        eventually(Duration::from_secs(15), || {
            let held = receiver.held();
            leases_of(&db, &a_id)
                .iter()
                .any(|d| held.contains(d))
                .then_some(())
        });
        let mut a = a;
        a.kill();
        let killed_at = Instant::now();
        let orphaned = leases_of(&db, &a_id);
        receiver.thaw();
        // More load through the survivor, then stop.
        let flowing = receiver.receiver.count();
        receiver.receiver.wait_for(flowing + 100, WAIT);
        stop.store(true, Ordering::SeqCst);
        let mut accepted = through_a.join().unwrap();
        accepted.extend(through_b.join().unwrap());
        (accepted, killed_at, orphaned)
    });
    assert!(!orphaned.is_empty(), "the killed node held no lease");

    // The killed node's claims are attempted again by the survivor once their lease expires:
    // within lease + 5 s of the kill they are recorded as succeeded.
    let deadline = killed_at + lease + Duration::from_secs(5);
    for delivery in &orphaned {
        loop {
            let r = b.get(
                &format!("/v1/accounts/{account}/deliveries/{delivery}"),
                ADMIN,
            );
            assert_eq!(r.status, 200, "{}", r.text);
            if r.json["status"] == "succeeded" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "delivery {delivery} of the killed node not taken over within lease + 5 s: {}",
                r.text
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Nothing acknowledged is lost.
    let accepted: HashSet<String> = accepted.into_iter().collect();
    assert!(
        accepted.len() > 50,
        "only {} events accepted",
        accepted.len()
    );
    for webhook in &webhooks {
        wait_all_succeeded(&b, &account, webhook, &accepted, Instant::now() + WAIT);
    }
    // The dead node leaves the gauge once it has not been seen for a lease.
    eventually(lease + Duration::from_secs(2), || {
        (metric(&b, "hookd_nodes") == 1.0).then_some(())
    });
    b.stop();
}

#[test]
fn a_stopped_node_hands_its_claims_over_at_once() {
    let Some(db) = database() else { return };
    // A lease far longer than the test may take: only a release lets the other node in.
    let config = "[postgres]\nlease = \"60s\"\n[delivery]\nmax_in_flight = 4\n\
                  retry_schedule = [\"200ms\", \"200ms\", \"200ms\"]\n";
    let mut a = Server::start_node(&db, &format!("shutdown_grace = \"1s\"\n{config}"));
    let b = Server::join(&a, config);
    let a_id = first_node_id(&db);
    let receiver = Freezable::start(Duration::ZERO);
    receiver.freeze();
    let account = a.create_account("Clinic");
    let webhooks: Vec<String> = (0..2)
        .map(|_| {
            webhook(
                &a,
                &account,
                &receiver.receiver.url,
                &["booking.*"],
                json!({}),
            )
        })
        .collect();
    wait_for_webhooks(&b, &account, 2);
    let mut accepted = ingest_batch(&a, &account, "booking.created", 0, 100);
    accepted.extend(ingest_batch(&b, &account, "booking.created", 100, 100));
    // Each node holds four attempts open at the frozen receiver (four is its own limit).
    eventually(WAIT, || (receiver.receiver.open() == 8).then_some(()));
    let held_by_a = leases_of(&db, &a_id);
    assert_eq!(held_by_a.len(), 4, "{held_by_a:?}");

    let stopping = Instant::now();
    let status = a.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        leases_of(&db, &a_id).is_empty(),
        "the stopped node's leases were not released"
    );
    receiver.thaw();
    // Its held deliveries go out through the other node long before their lease would end.
    let accepted: HashSet<String> = accepted.into_iter().collect();
    for webhook in &webhooks {
        wait_all_succeeded(
            &b,
            &account,
            webhook,
            &accepted,
            stopping + Duration::from_secs(20),
        );
    }
    for delivery in &held_by_a {
        let r = b.get(
            &format!("/v1/accounts/{account}/deliveries/{delivery}"),
            ADMIN,
        );
        assert_eq!(r.json["status"], "succeeded", "{}", r.text);
    }
}

#[test]
fn an_ordered_webhook_stays_in_order_across_nodes() {
    let Some(db) = database() else { return };
    let config = "[delivery]\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\", \"100ms\"]\n";
    let a = Server::start_node(&db, config);
    let b = Server::join(&a, config);
    // Every fifth request fails: the failing head must hold the ones behind it.
    let fails = |n: usize| n % 5 == 2;
    let receiver = Receiver::start(move |n, _| {
        if fails(n) {
            Reply::status(500)
        } else {
            Reply::ok().after(Duration::from_millis(5))
        }
    });
    let account = a.create_account("Clinic");
    webhook(
        &a,
        &account,
        &receiver.url,
        &["booking.*"],
        json!({"ordered": true}),
    );
    wait_for_webhooks(&b, &account, 1);
    // Ingested one after the other, alternately through each node: this is the order.
    let order: Vec<String> = (0..40)
        .map(|n| {
            let node = if n % 2 == 0 { &a } else { &b };
            try_ingest(&node.base, &account, "booking.created", n).unwrap()
        })
        .collect();
    let expected_requests = order.len() + (0..order.len() * 2).filter(|n| fails(*n)).count();
    let got = eventually(WAIT, || {
        let got = receiver.requests();
        let successes = got.iter().enumerate().filter(|(n, _)| !fails(*n)).count();
        (successes >= order.len()).then_some(got)
    });
    let succeeded: Vec<&str> = got
        .iter()
        .enumerate()
        .filter(|(n, _)| !fails(*n))
        .map(|(_, r)| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(succeeded, order, "deliveries out of ingest order");
    // A failed request is followed by the same delivery again: nothing overtook it.
    for (n, r) in got.iter().enumerate().filter(|(n, _)| fails(*n)) {
        if let Some(next) = got.get(n + 1) {
            assert_eq!(next.header("webhook-id"), r.header("webhook-id"));
        }
    }
    assert!(got.len() <= expected_requests, "{} requests", got.len());
    assert_eq!(receiver.peak_open(), 1, "more than one request at once");
}

#[test]
fn rate_limit_holds_for_the_cluster() {
    let Some(db) = database() else { return };
    let a = Server::start_node(&db, "");
    let b = Server::join(&a, "");
    let receiver = Receiver::ok();
    let account = a.create_account("Clinic");
    let rate = 5;
    webhook(
        &a,
        &account,
        &receiver.url,
        &["booking.*"],
        json!({"rateLimit": rate}),
    );
    wait_for_webhooks(&b, &account, 1);
    std::thread::scope(|s| {
        s.spawn(|| ingest_batch(&a, &account, "booking.created", 0, 15));
        s.spawn(|| ingest_batch(&b, &account, "booking.created", 100, 15));
    });
    let got = receiver.wait_for(30, WAIT);
    // No second holds more than the rate, one arrival of tolerance as on one node (an arrival
    // may lag its start on a loaded machine). Paced per node, two nodes would send twice the
    // rate.
    let limit = rate + 1;
    for (i, r) in got.iter().enumerate() {
        let within = got[i..]
            .iter()
            .take_while(|o| o.at.duration_since(r.at) < Duration::from_secs(1))
            .count();
        assert!(
            within <= limit,
            "{within} deliveries within one second at a rate limit of {rate}/s"
        );
    }
    let by_a = metric(&a, "hookd_delivery_attempts_total");
    let by_b = metric(&b, "hookd_delivery_attempts_total");
    assert!(by_a > 0.0 && by_b > 0.0, "attempts: {by_a} and {by_b}");
}

#[test]
fn the_per_webhook_cap_holds_for_the_cluster() {
    let Some(db) = database() else { return };
    // Each node runs at most two attempts, the webhook at most three: three open at once
    // means both nodes send, and no more than three means they share the cap.
    let config = "[delivery]\nmax_in_flight = 2\nmax_in_flight_per_webhook = 3\n";
    let a = Server::start_node(&db, config);
    let b = Server::join(&a, config);
    let receiver = Receiver::start(|_, _| Reply::ok().after(Duration::from_millis(150)));
    let account = a.create_account("Clinic");
    webhook(&a, &account, &receiver.url, &["booking.*"], json!({}));
    wait_for_webhooks(&b, &account, 1);
    std::thread::scope(|s| {
        s.spawn(|| ingest_batch(&a, &account, "booking.created", 0, 20));
        s.spawn(|| ingest_batch(&b, &account, "booking.created", 100, 20));
    });
    let got = receiver.wait_for(40, WAIT);
    assert_eq!(arrivals(&got).len(), 40);
    assert_eq!(
        receiver.peak_open(),
        3,
        "requests open at once at the receiver"
    );
}

#[test]
fn a_change_on_one_node_takes_effect_on_the_other_within_a_second() {
    let Some(db) = database() else { return };
    let a = Server::start_node(&db, "");
    let b = Server::join(&a, "");
    let account = a.create_account("Clinic");
    let (token_id, token) = a.create_token(&account);
    let path = format!("/v1/accounts/{account}");
    // The contract's bound is one second; one more of margin for a loaded machine.
    let bound = Duration::from_secs(2);
    // Made on one node, usable on the other within the bound.
    let made = Instant::now();
    eventually(Duration::from_secs(3), || {
        (b.get(&path, &token).status == 200).then_some(())
    });
    let took = made.elapsed();
    assert!(
        took < bound,
        "the other node accepted the new token only after {took:?}"
    );

    let r = a.delete(&format!("/v1/accounts/{account}/tokens/{token_id}"), ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);
    let revoked = Instant::now();
    assert_eq!(
        a.get(&path, &token).status,
        401,
        "refused at once where revoked"
    );
    eventually(Duration::from_secs(3), || {
        (b.get(&path, &token).status == 401).then_some(())
    });
    let took = revoked.elapsed();
    assert!(
        took < bound,
        "the other node refused the revoked token only after {took:?}"
    );
}

#[test]
fn deactivation_and_replay_happen_once_in_the_cluster() {
    let Some(db) = database() else { return };
    let notices = Receiver::ok();
    let config = format!(
        "[delivery]\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\"]\n\
         [deactivation]\nafter_failures = 3\nafter = \"0s\"\n\
         [notifications]\nurl = \"{}\"\n",
        notices.url
    );
    let a = Server::start_node(&db, &config);
    let b = Server::join(&a, &config);
    let healthy = Arc::new(AtomicBool::new(false));
    let failing = {
        let healthy = healthy.clone();
        Receiver::start(move |_, _| {
            if healthy.load(Ordering::SeqCst) {
                Reply::ok()
            } else {
                Reply::status(500)
            }
        })
    };
    let listener = Receiver::ok();
    let account = a.create_account("Clinic");
    let since = rfc3339_secs(now_secs() - 1);
    let dead = webhook(&a, &account, &failing.url, &["booking.*"], json!({}));
    webhook(
        &a,
        &account,
        &listener.url,
        &["hookd.webhook.deactivated"],
        json!({}),
    );
    wait_for_webhooks(&b, &account, 2);
    // Failures recorded by both nodes at once.
    let events: Vec<String> = std::thread::scope(|s| {
        let from_a = s.spawn(|| ingest_batch(&a, &account, "booking.created", 0, 10));
        let from_b = s.spawn(|| ingest_batch(&b, &account, "booking.created", 10, 10));
        let mut all = from_a.join().unwrap();
        all.extend(from_b.join().unwrap());
        all
    });
    eventually(WAIT, || {
        let w = b.get(&format!("/v1/accounts/{account}/webhooks/{dead}"), ADMIN);
        (w.json["status"] == "deactivated").then_some(())
    });
    let notifications = |node: &Server| -> Vec<Value> {
        let r = node.get("/v1/notifications?limit=200", ADMIN);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "webhook.deactivated")
            .cloned()
            .collect()
    };
    assert_eq!(notifications(&a).len(), 1);
    notices.wait_for(1, WAIT);
    listener.wait_for(1, WAIT);

    // Activated without replay (its buffer cancelled), then replayed since before the events:
    // each delivery is sent once, whichever node claims it.
    healthy.store(true, Ordering::SeqCst);
    let before_replay = failing.count();
    let r = a.post(
        &format!("/v1/accounts/{account}/webhooks/{dead}/activate"),
        ADMIN,
        &json!({"replayEvents": false}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    eventually(Duration::from_secs(3), || {
        let w = b.get(&format!("/v1/accounts/{account}/webhooks/{dead}"), ADMIN);
        (w.json["status"] == "active").then_some(())
    });
    let r = b.post(
        &format!("/v1/accounts/{account}/webhooks/{dead}/replay"),
        ADMIN,
        &json!({"since": since, "status": ["cancelled", "failed"]}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["scheduled"], events.len(), "{}", r.text);
    let expected: HashSet<String> = events.iter().cloned().collect();
    wait_all_succeeded(&a, &account, &dead, &expected, Instant::now() + WAIT);
    let replayed = arrivals(&failing.requests()[before_replay..]);
    assert_eq!(
        replayed.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "replayed events"
    );
    let twice: Vec<_> = replayed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "replayed more than once: {twice:?}");

    // Still one deactivation: one notification, one notice, one system event.
    assert_eq!(notifications(&b).len(), 1);
    assert_eq!(notices.count(), 1, "notices: {}", notices.count());
    assert_eq!(listener.count(), 1, "system events: {}", listener.count());
}

#[test]
fn a_database_outage_is_ridden_out_without_a_restart() {
    let Some(cluster) = pg::private_cluster() else {
        eprintln!("SKIPPED: PostgreSQL is not installed");
        return;
    };
    let db = cluster.new_database();
    let a = Server::start_node(&db, "");
    let b = Server::join(&a, "");
    let receiver = Receiver::ok();
    let account = a.create_account("Clinic");
    let hook = webhook(&a, &account, &receiver.url, &["booking.*"], json!({}));
    wait_for_webhooks(&b, &account, 1);
    let stop = AtomicBool::new(false);
    let refused = AtomicUsize::new(0);
    let accepted = std::thread::scope(|s| {
        let load = |node: &'static str| {
            let (stop, refused, account) = (&stop, &refused, &account);
            let server = if node == "a" { &a } else { &b };
            s.spawn(move || {
                let mut accepted = Vec::new();
                let mut n = if node == "a" { 0 } else { 1_000_000 };
                while !stop.load(Ordering::SeqCst) {
                    match try_ingest(&server.base, account, "booking.created", n) {
                        Ok(id) => accepted.push(id),
                        Err(e) if e.starts_with("503") => {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("ingest through {node}: {e}"),
                    }
                    n += 1;
                }
                accepted
            })
        };
        let through_a = load("a");
        let through_b = load("b");
        receiver.wait_for(50, WAIT);

        cluster.stop();
        // Writes are refused as store-unavailable, and both nodes say they are not ready.
        for node in [&a, &b] {
            let r = eventually(Duration::from_secs(15), || {
                let body = json!({"type": "booking.created", "data": {}}).to_string();
                let r = request(
                    "POST",
                    &node.url(&format!("/v1/accounts/{account}/events")),
                    Some(ADMIN),
                    Some(body.as_bytes()),
                );
                (r.status != 202).then_some(r)
            });
            r.assert_problem(503, "store-unavailable");
            eventually(Duration::from_secs(10), || {
                let r = request("GET", &node.url("/readyz"), None, None);
                (r.status == 503).then_some(())
            });
        }
        assert!(
            refused.load(Ordering::SeqCst) > 0,
            "no write refused under load"
        );

        cluster.restart();
        // Back by themselves: ready, and writes accepted again through both nodes.
        for node in [&a, &b] {
            eventually(WAIT, || {
                let r = request("GET", &node.url("/readyz"), None, None);
                (r.status == 200).then_some(())
            });
        }
        let accepted_before = receiver.count();
        receiver.wait_for(accepted_before + 50, WAIT);
        stop.store(true, Ordering::SeqCst);
        let mut accepted = through_a.join().unwrap();
        accepted.extend(through_b.join().unwrap());
        accepted
    });
    for node in [&a, &b] {
        let r = node.post(
            &format!("/v1/accounts/{account}/events"),
            ADMIN,
            &json!({"type": "booking.created", "data": {}}),
        );
        assert_eq!(r.status, 202, "{}", r.text);
    }
    // Every event acknowledged, before, during or after the outage, is delivered.
    let accepted: HashSet<String> = accepted.into_iter().collect();
    wait_all_succeeded(&b, &account, &hook, &accepted, Instant::now() + WAIT);
    let seen = arrivals(&receiver.requests());
    assert!(accepted.iter().all(|id| seen.contains_key(id)));
}

#[test]
fn a_slow_attempt_keeps_its_lease() {
    let Some(db) = database() else { return };
    let config = "[postgres]\nlease = \"3s\"\n[delivery]\ntimeout = \"20s\"\n";
    let a = Server::start_node(&db, config);
    let b = Server::join(&a, config);
    // Answered after more than two leases: only renewal keeps the other node from taking the
    // delivery over meanwhile.
    let receiver = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(8)));
    let account = a.create_account("Clinic");
    let hook = webhook(&a, &account, &receiver.url, &["booking.*"], json!({}));
    wait_for_webhooks(&b, &account, 1);
    let accepted: HashSet<String> = ingest_batch(&a, &account, "booking.created", 0, 2)
        .into_iter()
        .collect();
    wait_all_succeeded(&b, &account, &hook, &accepted, Instant::now() + WAIT);
    let seen = arrivals(&receiver.requests());
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        accepted,
        "{seen:?}"
    );
    assert!(seen.values().all(|n| *n == 1), "sent again: {seen:?}");
}
