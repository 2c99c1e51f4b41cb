//! Ingest and delivery end to end: real hookd, real receivers on 127.0.0.1.

use std::time::Duration;

use crate::common::receiver::{Gate, Receiver, Reply};
use crate::common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// Fast retries so failure paths finish in a test's time.
const FAST_RETRIES: &str = "[delivery]\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\"]\n";

fn webhook(server: &Server, account: &str, url: &str, events: &[&str], extra: Value) -> Value {
    let mut body = json!({"name": "hook", "eventUrl": url, "eventList": events});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let r = server.post(&format!("/v1/accounts/{account}/webhooks"), ADMIN, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn send(server: &Server, account: &str, event_type: &str, data: Value) -> Resp {
    server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": event_type, "data": data}),
    )
}

fn delivery_of(server: &Server, account: &str, event_id: &str) -> Value {
    let r = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    let delivery_id = r.json["deliveries"][0]["id"].as_str().unwrap().to_string();
    server
        .get(
            &format!("/v1/accounts/{account}/deliveries/{delivery_id}"),
            ADMIN,
        )
        .json
}

fn wait_status(server: &Server, account: &str, event_id: &str, status: &str) -> Value {
    eventually(WAIT, || {
        let d = delivery_of(server, account, event_id);
        (d["status"] == status).then_some(d)
    })
}

/// Attempts running in hookd now (`hookd_attempts_in_flight`: from the start of an attempt
/// until its result is recorded; an attempt that hands its slot over starts the next one
/// before it ends, so a chain of hand-overs never shows 0).
fn attempts_in_flight(server: &Server) -> u64 {
    let r = server.get("/metrics", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
        .lines()
        .find_map(|line| line.strip_prefix("hookd_attempts_in_flight "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no hookd_attempts_in_flight in {}", r.text))
}

/// Waits until nothing is in flight: hookd runs no attempt and the receiver holds no request.
fn wait_quiet(server: &Server, receiver: &Receiver) {
    eventually(WAIT, || {
        (receiver.open() == 0 && attempts_in_flight(server) == 0).then_some(())
    });
}

fn receiver_gets_the_exact_body_and_signed_standard_webhooks_headers() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("Clinic");
    let hook = webhook(
        &server,
        &account,
        &receiver.url,
        &["booking.*"],
        json!({"headers": {"X-Custom": "yes"}}),
    );
    let secret = hook["secret"].as_str().unwrap();
    // Numbers and key order must survive byte for byte.
    let raw =
        br#"{"type":"booking.created","data":{"z":1.10,"a":12345678901234567890123,"s":"\u00e9"}}"#;
    let r = request(
        "POST",
        &server.url(&format!("/v1/accounts/{account}/events")),
        Some(ADMIN),
        Some(raw),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["deliveries"], 1);
    assert_eq!(r.json["type"], "booking.created");
    let event_id = r.json["id"].as_str().unwrap().to_string();
    let created = r.json["createdDate"].as_str().unwrap().to_string();

    let got = receiver.wait_for(1, WAIT).remove(0);
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hook");
    let expected_body = format!(
        r#"{{"id":"{event_id}","type":"booking.created","timestamp":"{created}","account":"{account}","data":{{"z":1.10,"a":12345678901234567890123,"s":"\u00e9"}}}}"#
    );
    assert_eq!(String::from_utf8(got.body.clone()).unwrap(), expected_body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert!(got.header("user-agent").unwrap().starts_with("hookd/"));
    assert_eq!(got.header("webhook-id"), Some(event_id.as_str()));
    let ts = got.header("webhook-timestamp").unwrap();
    let ts_num: i64 = ts.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts_num).abs() < 60);
    assert_eq!(
        got.header("webhook-signature"),
        Some(standard_signature(secret, &event_id, ts, &got.body).as_str())
    );
    assert_eq!(got.header("hookd-event-type"), Some("booking.created"));
    assert_eq!(got.header("hookd-attempt"), Some("1"));
    assert_eq!(got.header("x-custom"), Some("yes"));
    let d = wait_status(&server, &account, &event_id, "succeeded");
    assert_eq!(got.header("hookd-delivery-id"), d["id"].as_str());
    // The API shows the data exactly as ingested too, alone and in lists.
    let raw_data = r#""data":{"z":1.10,"a":12345678901234567890123,"s":"\u00e9"}"#;
    let shown = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    assert!(shown.text.contains(raw_data), "{}", shown.text);
    let listed = server.get(&format!("/v1/accounts/{account}/events"), ADMIN);
    assert!(listed.text.contains(raw_data), "{}", listed.text);
    assert_eq!(d["attempts"][0]["outcome"], "success");
    assert_eq!(d["attempts"][0]["statusCode"], 200);
}

fn after_rotation_both_secrets_sign() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    let hook = webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let id = hook["id"].as_str().unwrap();
    let old = hook["secret"].as_str().unwrap().to_string();
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks/{id}/rotate-secret"),
        ADMIN,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let new = r.json["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    send(&server, &account, "x.y", json!(1));
    let got = receiver.wait_for(1, WAIT).remove(0);
    let id = got.header("webhook-id").unwrap();
    let ts = got.header("webhook-timestamp").unwrap();
    let header = got.header("webhook-signature").unwrap();
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(
        parts,
        vec![
            standard_signature(&new, id, ts, &got.body).as_str(),
            standard_signature(&old, id, ts, &got.body).as_str()
        ]
    );
}

fn a_500_then_200_makes_two_attempts_and_succeeds() {
    let server = Server::start_with(FAST_RETRIES, &[]);
    let receiver = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(500).with_body("oops")
        } else {
            Reply::ok()
        }
    });
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let r = send(&server, &account, "a.b", json!({"k": 1}));
    let event_id = r.json["id"].as_str().unwrap().to_string();
    let d = wait_status(&server, &account, &event_id, "succeeded");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{d}");
    assert_eq!(attempts[0]["outcome"], "http_error");
    assert_eq!(attempts[0]["statusCode"], 500);
    assert_eq!(attempts[0]["responseBody"], "oops");
    assert_eq!(attempts[1]["number"], 2);
    assert_eq!(receiver.count(), 2);
    let reqs = receiver.requests();
    assert_eq!(reqs[1].header("hookd-attempt"), Some("2"));
    assert_eq!(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"));
}

fn always_500_fails_after_every_scheduled_attempt_and_can_be_retried_by_hand() {
    let server = Server::start_with(FAST_RETRIES, &[]);
    let receiver = Receiver::start(|_, _| Reply::status(500));
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let r = send(&server, &account, "a.b", json!(null));
    let event_id = r.json["id"].as_str().unwrap().to_string();
    let d = wait_status(&server, &account, &event_id, "failed");
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        4,
        "3 waits = 4 attempts: {d}"
    );
    assert_eq!(d["nextAttemptDate"], Value::Null);
    let delivery_id = d["id"].as_str().unwrap();
    let r = server.post(
        &format!("/v1/accounts/{account}/deliveries/{delivery_id}/retry"),
        ADMIN,
        &json!({}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["status"], "pending");
    let d = eventually(WAIT, || {
        let d = delivery_of(&server, &account, &event_id);
        (d["status"] == "failed" && d["attempts"].as_array().unwrap().len() == 8).then_some(d)
    });
    let numbers: Vec<u64> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6, 7, 8]);
}

fn retry_after_on_429_delays_the_next_attempt() {
    let server = Server::start_with(FAST_RETRIES, &[]);
    let receiver = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(429).with_header("retry-after", "2")
        } else {
            Reply::ok()
        }
    });
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let r = send(&server, &account, "a.b", json!(1));
    let event_id = r.json["id"].as_str().unwrap().to_string();
    let d = wait_status(&server, &account, &event_id, "succeeded");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{d}");
    assert_eq!(attempts[0]["statusCode"], 429);
    // The second attempt is due 2 s after the first started (not the 100 ms of the schedule),
    // and hookd starts nothing before it is due: both dates are hookd's own starts, so a slow
    // machine only makes the gap longer.
    let gap = time_millis(&attempts[1]["date"]) - time_millis(&attempts[0]["date"]);
    assert!(gap >= 2000, "second attempt {gap} ms after the first: {d}");
}

fn idempotency_keys_replay_conflict_and_must_agree() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let path = format!("/v1/accounts/{account}/events");
    let body = json!({"type": "a.b", "data": {"n": 1}, "idempotencyKey": "k-1"});
    let first = server.post(&path, ADMIN, &body);
    assert_eq!(first.status, 202);
    let again = server.post(&path, ADMIN, &body);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json, first.json);
    // The header works too, and matches the body key.
    let by_header = request_with(
        "POST",
        &server.url(&path),
        Some(ADMIN),
        Some(
            json!({"type": "a.b", "data": {"n": 1}})
                .to_string()
                .as_bytes(),
        ),
        &[("idempotency-key", "k-1")],
    );
    assert_eq!(by_header.status, 200);
    assert_eq!(by_header.json["id"], first.json["id"]);
    let conflict = server.post(
        &path,
        ADMIN,
        &json!({"type": "a.b", "data": {"n": 2}, "idempotencyKey": "k-1"}),
    );
    conflict.assert_problem(409, "conflict");
    let differ = request_with(
        "POST",
        &server.url(&path),
        Some(ADMIN),
        Some(body.to_string().as_bytes()),
        &[("idempotency-key", "k-2")],
    );
    differ.assert_problem(400, "validation-error");
    receiver.wait_for(1, WAIT);
    let r = server.get(&path, ADMIN);
    assert_eq!(
        r.json["items"].as_array().unwrap().len(),
        1,
        "nothing fanned out again"
    );
    assert_eq!(receiver.count(), 1);
}

fn events_over_the_limit_get_413_and_invalid_events_400() {
    let server = Server::start_with("[limits]\nmax_event_bytes = 1024\n", &[]);
    let account = server.create_account("a");
    let path = format!("/v1/accounts/{account}/events");
    let big = server.post(
        &path,
        ADMIN,
        &json!({"type": "a.b", "data": "x".repeat(2000)}),
    );
    big.assert_problem(413, "payload-too-large");
    for (body, field) in [
        (json!({"data": 1}), "type"),
        (json!({"type": "a.b"}), "data"),
        (json!({"type": "hookd.ping", "data": 1}), "type"),
        (json!({"type": "a..b", "data": 1}), "type"),
        (json!({"type": 5, "data": 1}), "type"),
        (
            json!({"type": "a.b", "data": 1, "idempotencyKey": ""}),
            "idempotencyKey",
        ),
    ] {
        let r = server.post(&path, ADMIN, &body);
        r.assert_problem(400, "validation-error");
        assert!(
            r.error_fields().contains(&field.to_string()),
            "{body}: {}",
            r.text
        );
    }
    let null_data = server.post(&path, ADMIN, &json!({"type": "a.b", "data": null}));
    assert_eq!(
        null_data.status, 202,
        "null data is allowed: {}",
        null_data.text
    );
    let list = server.get(&path, ADMIN);
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
}

fn batch_commits_valid_events_and_reports_each() {
    let server = Server::start_with("[limits]\nmax_event_bytes = 1024\n", &[]);
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let path = format!("/v1/accounts/{account}/events/batch");
    let r = server.post(
        &path,
        ADMIN,
        &json!({"events": [
            {"type": "a.one", "data": 1},
            {"type": "", "data": 2},
            {"type": "a.three", "data": "x".repeat(2000)},
            {"type": "a.four", "data": 4}
        ]}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items[0]["type"], "a.one");
    assert_eq!(items[1]["status"], 400);
    assert_eq!(items[2]["status"], 413);
    assert_eq!(items[3]["deliveries"], 1);
    receiver.wait_for(2, WAIT);
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"type": "a.b", "data": i}))
        .collect();
    let r = server.post(&path, ADMIN, &json!({"events": too_many}));
    r.assert_problem(400, "validation-error");
}

fn ordered_webhook_receives_strictly_in_order_while_failing_at_first() {
    let server = Server::start_with(FAST_RETRIES, &[]);
    // The first three requests fail, whatever they carry.
    let receiver = Receiver::start(|n, _| {
        if n < 3 {
            Reply::status(503)
        } else {
            Reply::ok()
        }
    });
    let account = server.create_account("a");
    webhook(
        &server,
        &account,
        &receiver.url,
        &["*"],
        json!({"ordered": true}),
    );
    let batch: Vec<Value> = (0..20)
        .map(|i| json!({"type": "seq.n", "data": i}))
        .collect();
    let r = server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    assert_eq!(r.status, 202);
    let reqs = receiver.wait_for(23, WAIT);
    let seqs: Vec<i64> = reqs
        .iter()
        .map(|r| r.json()["data"].as_i64().unwrap())
        .collect();
    // The failing head is retried until it succeeds; nothing overtakes it.
    assert_eq!(&seqs[..4], &[0, 0, 0, 0]);
    let successes: Vec<i64> = seqs[3..].to_vec();
    assert_eq!(successes, (0..20).collect::<Vec<_>>());
}

fn rate_limit_spaces_the_starts() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    webhook(
        &server,
        &account,
        &receiver.url,
        &["*"],
        json!({"rateLimit": 5}),
    );
    let batch: Vec<Value> = (0..12).map(|i| json!({"type": "r.n", "data": i})).collect();
    server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    let reqs = receiver.wait_for(12, WAIT);
    // No second, anywhere in the run, holds more than the rate. hookd spaces its starts by a
    // little over 200 ms; an arrival may lag its start by however long a loaded machine takes,
    // so one more arrival in a second is tolerated (two neighbours squeezed together by up to
    // one spacing). Unpaced, the 12 would arrive within one second.
    let limit = 5 + 1;
    for (i, r) in reqs.iter().enumerate() {
        let within = reqs[i..]
            .iter()
            .take_while(|o| o.at.duration_since(r.at) < Duration::from_secs(1))
            .count();
        assert!(
            within <= limit,
            "{within} deliveries within one second at a rate limit of 5/s"
        );
    }
}

fn a_hung_endpoint_does_not_slow_a_healthy_one() {
    let server = Server::start_with("[delivery]\ntimeout = \"30s\"\n", &[]);
    let hung = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(60)));
    let healthy = Receiver::ok();
    let account = server.create_account("a");
    webhook(&server, &account, &hung.url, &["*"], json!({}));
    webhook(&server, &account, &healthy.url, &["*"], json!({}));
    let batch: Vec<Value> = (0..50).map(|i| json!({"type": "h.n", "data": i})).collect();
    server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    // Every healthy delivery arrives while the hung endpoint holds its attempts open.
    healthy.wait_for(50, WAIT);
    // The hung endpoint holds at most its in-flight cap.
    assert!(
        hung.count() <= 8,
        "{} attempts at the hung endpoint",
        hung.count()
    );
}

fn private_targets_are_refused_at_creation_and_blocked_at_connect() {
    let server = Server::start_with(
        "[delivery]\nallow_private_targets = false\nallow_http = true\n",
        &[],
    );
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "x", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    r.assert_problem(400, "validation-error");
    assert_eq!(r.error_fields(), vec!["eventUrl"]);
    let url = format!("http://localhost:{}/hook", receiver.port);
    webhook(&server, &account, &url, &["*"], json!({}));
    let r = send(&server, &account, "a.b", json!(1));
    let event_id = r.json["id"].as_str().unwrap().to_string();
    let d = eventually(WAIT, || {
        let d = delivery_of(&server, &account, &event_id);
        (!d["attempts"].as_array().unwrap().is_empty()).then_some(d)
    });
    assert_eq!(d["attempts"][0]["outcome"], "blocked", "{d}");
    assert_eq!(receiver.count(), 0, "nothing reached the loopback receiver");
}

fn test_event_lists_and_shows() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    let hook = webhook(&server, &account, &receiver.url, &["booking.*"], json!({}));
    let id = hook["id"].as_str().unwrap();
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks/{id}/test"),
        ADMIN,
        &json!({}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let got = receiver.wait_for(1, WAIT).remove(0);
    assert_eq!(got.json()["type"], "hookd.ping");
    assert_eq!(got.header("webhook-id"), r.json["eventId"].as_str());
    // The answer shows the very body the receiver gets.
    assert_eq!(
        r.json["body"].as_str().map(str::as_bytes),
        Some(&got.body[..])
    );
    assert_eq!(r.json["contentType"], "application/json");
    let delivery_id = r.json["deliveryId"].as_str().unwrap().to_string();
    let d = eventually(WAIT, || {
        let d = server.get(
            &format!("/v1/accounts/{account}/deliveries/{delivery_id}"),
            ADMIN,
        );
        (d.json["status"] == "succeeded").then_some(d.json)
    });
    assert_eq!(d["webhookId"], id);
    assert_eq!(d["eventType"], "hookd.ping");
    for i in 0..3 {
        send(&server, &account, "booking.created", json!({"i": i}));
    }
    let list = server.get(&format!("/v1/accounts/{account}/events?limit=2"), ADMIN);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["data"], json!({"i": 2}), "newest first");
    let cursor = list.json["nextCursor"].as_str().unwrap();
    let rest = server.get(
        &format!("/v1/accounts/{account}/events?limit=2&cursor={cursor}"),
        ADMIN,
    );
    let rest_items = rest.json["items"].as_array().unwrap();
    assert_eq!(rest_items.len(), 2);
    assert_eq!(rest_items[0]["data"], json!({"i": 0}));
    assert_eq!(rest_items[1]["type"], "hookd.ping");
    assert_eq!(rest.json["nextCursor"], Value::Null);
    let typed = server.get(
        &format!("/v1/accounts/{account}/events?type=hookd.ping"),
        ADMIN,
    );
    assert_eq!(typed.json["items"].as_array().unwrap().len(), 1);
    receiver.wait_for(4, WAIT);
    let by_webhook = server.get(
        &format!("/v1/accounts/{account}/webhooks/{id}/deliveries"),
        ADMIN,
    );
    assert_eq!(by_webhook.json["items"].as_array().unwrap().len(), 4);
    let pending = eventually(WAIT, || {
        let r = server.get(
            &format!("/v1/accounts/{account}/deliveries?status=succeeded"),
            ADMIN,
        );
        (r.json["items"].as_array().unwrap().len() == 4).then_some(r)
    });
    assert_eq!(pending.status, 200);
    let bad = server.get(
        &format!("/v1/accounts/{account}/deliveries?status=nope"),
        ADMIN,
    );
    bad.assert_problem(400, "validation-error");
    let missing = server.get(
        &format!("/v1/accounts/{account}/events/00000000-0000-7000-8000-000000000000"),
        ADMIN,
    );
    missing.assert_problem(404, "not-found");
}

fn the_global_in_flight_cap_holds_across_webhooks() {
    let server = Server::start_with("[delivery]\nmax_in_flight = 3\n", &[]);
    // The first three requests stay open until the test lets them go, so the cap is reached
    // and held however slowly hookd starts them; the rest are answered after a short while.
    let gate = Gate::new();
    let receiver = Receiver::start({
        let gate = gate.clone();
        move |n, _| {
            let reply = Reply::ok().after(Duration::from_millis(20));
            if n < 3 {
                reply.until_gate(&gate, WAIT)
            } else {
                reply
            }
        }
    });
    let account = server.create_account("a");
    for _ in 0..3 {
        webhook(&server, &account, &receiver.url, &["*"], json!({}));
    }
    let batch: Vec<Value> = (0..10).map(|i| json!({"type": "h.n", "data": i})).collect();
    server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    eventually(WAIT, || (receiver.open() == 3).then_some(()));
    // More events wake the scheduler while every slot is taken. Without the global cap, 24
    // attempts (3 webhooks x 8) would be open at once.
    send(&server, &account, "h.n", json!(99));
    gate.open();
    receiver.wait_for(33, WAIT);
    wait_quiet(&server, &receiver);
    assert_eq!(receiver.count(), 33, "each delivery once");
    assert_eq!(
        receiver.peak_open(),
        3,
        "the most requests open at once with max_in_flight = 3"
    );
}

fn a_webhooks_attempts_stay_within_its_cap_and_stop_when_it_is_disabled() {
    let server = Server::start_with("[delivery]\nmax_in_flight_per_webhook = 3\n", &[]);
    // Requests 0-2 stay open until three are open at once, so the cap is reached however
    // slowly hookd starts them; requests 30-32 (the second batch's first) stay open until the
    // test lets them go, so every slot is taken while the webhook is disabled. The rest are
    // answered after a short while, so the slots stay busy.
    let gate = Gate::new();
    let receiver = Receiver::start({
        let gate = gate.clone();
        move |n, _| {
            let reply = Reply::ok().after(Duration::from_millis(30));
            match n {
                0..3 => reply.until_open(3, WAIT),
                30..33 => reply.until_gate(&gate, WAIT),
                _ => reply,
            }
        }
    });
    let account = server.create_account("a");
    let created = webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let id = created["id"].as_str().unwrap().to_string();
    let batch: Vec<Value> = (0..30).map(|i| json!({"type": "c.n", "data": i})).collect();
    let r = server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    receiver.wait_for(30, WAIT);
    // A slot starts its next request only after the last one's answer: whatever the timing,
    // the receiver never has more requests open than the webhook has slots.
    assert_eq!(
        receiver.peak_open(),
        3,
        "the most requests open at once (cap 3)"
    );

    // Disabled under load: what is in flight ends, nothing new starts.
    let batch: Vec<Value> = (0..30).map(|i| json!({"type": "c.n", "data": i})).collect();
    server.post(
        &format!("/v1/accounts/{account}/events/batch"),
        ADMIN,
        &json!({"events": batch}),
    );
    eventually(WAIT, || {
        (receiver.count() == 33 && receiver.open() == 3).then_some(())
    });
    let current = server.get(&format!("/v1/accounts/{account}/webhooks/{id}"), ADMIN);
    let mut body = current.json.clone();
    body["enabled"] = json!(false);
    let r = server.put(
        &format!("/v1/accounts/{account}/webhooks/{id}"),
        ADMIN,
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let before = receiver.count();
    // Every slot was held open across the update, so no start was decided before hookd knew:
    // the three in flight end, and a slot that went on to its next delivery would show up
    // here as a request after the update.
    gate.open();
    wait_quiet(&server, &receiver);
    assert_eq!(
        receiver.count() - before,
        0,
        "requests started after the webhook was disabled"
    );
    assert_eq!(
        receiver.peak_open(),
        3,
        "the most requests open at once (cap 3)"
    );
    let r = server.get(
        &format!("/v1/accounts/{account}/deliveries?webhookId={id}&status=pending"),
        ADMIN,
    );
    assert!(
        !r.json["items"].as_array().unwrap().is_empty(),
        "the disabled webhook keeps its pending deliveries: {}",
        r.text
    );
}

fn a_fast_drain_sends_every_delivery_exactly_once() {
    let server = Server::start();
    let receiver = Receiver::start(|_, _| Reply::ok());
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"], json!({}));
    let total = 10_000;
    for chunk in 0..total / 100 {
        let batch: Vec<Value> = (0..100)
            .map(|i| json!({"type": "d.n", "data": chunk * 100 + i}))
            .collect();
        let r = server.post(
            &format!("/v1/accounts/{account}/events/batch"),
            ADMIN,
            &json!({"events": batch}),
        );
        assert_eq!(r.status, 202, "{}", r.text);
    }
    receiver.wait_for(total, Duration::from_secs(120));
    // A healthy receiver answers at once: no attempt fails, so none is repeated, and the slots'
    // hand-overs (read-ahead) never start one delivery twice.
    let mut ids: Vec<String> = receiver
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_string))
        .collect();
    assert_eq!(ids.len(), total);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "some delivery was sent twice");
}

crate::on_both_backends!(
    receiver_gets_the_exact_body_and_signed_standard_webhooks_headers,
    after_rotation_both_secrets_sign,
    a_500_then_200_makes_two_attempts_and_succeeds,
    always_500_fails_after_every_scheduled_attempt_and_can_be_retried_by_hand,
    retry_after_on_429_delays_the_next_attempt,
    idempotency_keys_replay_conflict_and_must_agree,
    events_over_the_limit_get_413_and_invalid_events_400,
    batch_commits_valid_events_and_reports_each,
    ordered_webhook_receives_strictly_in_order_while_failing_at_first,
    rate_limit_spaces_the_starts,
    a_hung_endpoint_does_not_slow_a_healthy_one,
    private_targets_are_refused_at_creation_and_blocked_at_connect,
    test_event_lists_and_shows,
    the_global_in_flight_cap_holds_across_webhooks,
    a_webhooks_attempts_stay_within_its_cap_and_stop_when_it_is_disabled,
    a_fast_drain_sends_every_delivery_exactly_once,
);
