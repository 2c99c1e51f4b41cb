//! The account holder's side over HTTP: the early warning before deactivation, replaying
//! deliveries since a time, a webhook's health, and portal links.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const NOTIFY_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FAST_RETRIES: &str = "retry_schedule = [\"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\"]";

fn webhook(server: &Server, account: &str, url: &str, events: &[&str]) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "hook", "eventUrl": url, "eventList": events}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn send(server: &Server, account: &str, event_type: &str) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": event_type, "data": {"n": 1}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn notifications(server: &Server, kind: &str) -> Vec<Value> {
    server.get("/v1/notifications", ADMIN).json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

fn a_failing_webhook_is_warned_about_once_per_streak() {
    let notices = Receiver::ok();
    let server = Server::start_with(
        &format!(
            "[delivery]\n{FAST_RETRIES}\n[deactivation]\nafter_failures = 6\nafter = \"0s\"\nwarn_after_failures = 2\nwarn_after = \"0s\"\n[notifications]\nurl = \"{}\"\nsecret = \"{NOTIFY_SECRET}\"\n",
            notices.url
        ),
        &[],
    );
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let flaky = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500)
        }
    });
    let listener = Receiver::ok();
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Klinik", "id": "klinik", "language": "de"}),
    );
    assert_eq!(r.status, 201);
    let hook = webhook(&server, "klinik", &flaky.url, &["booking.*"]);
    webhook(&server, "klinik", &listener.url, &["hookd.webhook.failing"]);

    // Two failures in a row: the warning, once, while the webhook stays active.
    send(&server, "klinik", "booking.created");
    let warning = eventually(WAIT, || notifications(&server, "webhook.failing").pop());
    assert_eq!(warning["accountId"], "klinik");
    assert_eq!(warning["webhookId"], hook.as_str());
    assert_eq!(warning["activationUrl"], Value::Null);
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("schlagen fehl"), "{message}");
    assert!(message.contains("HTTP 500"), "{message}");
    let w = server.get(&format!("/v1/accounts/klinik/webhooks/{hook}"), ADMIN);
    assert_eq!(w.json["status"], "active");

    // The operator's channel gets the notification as JSON, signed with notifications.secret.
    let posted = eventually(WAIT, || {
        notices
            .requests()
            .into_iter()
            .find(|r| r.header("hookd-event-type") == Some("hookd.webhook.failing"))
    });
    let body = posted.json();
    assert_eq!(body["kind"], "webhook.failing");
    assert_eq!(body["id"], warning["id"]);
    assert_eq!(body["message"], warning["message"]);
    let (id, ts) = (
        posted.header("webhook-id").unwrap(),
        posted.header("webhook-timestamp").unwrap(),
    );
    assert_eq!(
        posted.header("webhook-signature"),
        Some(standard_signature(NOTIFY_SECRET, id, ts, &posted.body).as_str())
    );

    // The account's other webhook that listens gets the system event.
    let event = listener.wait_for(1, WAIT).remove(0).json();
    assert_eq!(event["type"], "hookd.webhook.failing");
    assert_eq!(event["data"]["webhookId"], hook.as_str());
    assert_eq!(event["data"]["webhookName"], "hook");
    assert!(event["data"]["failureCount"].as_u64().unwrap() >= 2);
    assert!(event["data"]["failingSince"].is_string());
    assert!(event["data"]["lastError"].as_str().unwrap().contains("500"));

    // More failures up to the deactivation: no second warning, and the deactivation does not
    // repeat it.
    eventually(WAIT, || {
        let w = server.get(&format!("/v1/accounts/klinik/webhooks/{hook}"), ADMIN);
        (w.json["status"] == "deactivated").then_some(())
    });
    assert_eq!(notifications(&server, "webhook.failing").len(), 1);
    assert_eq!(notifications(&server, "webhook.deactivated").len(), 1);

    // A success ends the streak: the next streak is warned about again.
    healthy.store(true, Ordering::SeqCst);
    let r = server.post(
        &format!("/v1/accounts/klinik/webhooks/{hook}/activate"),
        ADMIN,
        &json!({"replayEvents": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    eventually(WAIT, || (flaky.count() >= 7).then_some(()));
    healthy.store(false, Ordering::SeqCst);
    send(&server, "klinik", "booking.updated");
    eventually(WAIT, || {
        (notifications(&server, "webhook.failing").len() == 2).then_some(())
    });
}

fn no_warning_when_it_is_turned_off() {
    let server = Server::start_with(
        &format!(
            "[delivery]\n{FAST_RETRIES}\n[deactivation]\nafter_failures = 3\nafter = \"0s\"\nwarn_after_failures = 0\n"
        ),
        &[],
    );
    let failing = Receiver::start(|_, _| Reply::status(503));
    let account = server.create_account("Quiet");
    let hook = webhook(&server, &account, &failing.url, &["*"]);
    send(&server, &account, "a.b");
    eventually(WAIT, || {
        let w = server.get(&format!("/v1/accounts/{account}/webhooks/{hook}"), ADMIN);
        (w.json["status"] == "deactivated").then_some(())
    });
    assert!(notifications(&server, "webhook.failing").is_empty());
    assert_eq!(notifications(&server, "webhook.deactivated").len(), 1);
}

fn deliveries_of(server: &Server, account: &str, hook: &str) -> Vec<Value> {
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{hook}/deliveries?limit=200"),
        ADMIN,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut items = r.json["items"].as_array().unwrap().clone();
    items.sort_by_key(|d| d["createdDate"].as_str().unwrap().to_string());
    items
}

/// Waits until every delivery of the webhook has left `pending`; returns them oldest first.
fn settled(server: &Server, account: &str, hook: &str, count: usize) -> Vec<Value> {
    eventually(WAIT, || {
        let items = deliveries_of(server, account, hook);
        (items.len() == count && items.iter().all(|d| d["status"] != "pending")).then_some(items)
    })
}

/// Sends an event, then waits for the clock to move on, so the next event is made in a later
/// millisecond (replay ranges are to the millisecond).
fn send_then_tick(server: &Server, account: &str, event_type: &str) {
    send(server, account, event_type);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let sent = now();
    eventually(WAIT, || (now() > sent + 1).then_some(()));
}

fn replay(server: &Server, account: &str, hook: &str, body: &Value) -> Resp {
    server.post(
        &format!("/v1/accounts/{account}/webhooks/{hook}/replay"),
        ADMIN,
        body,
    )
}

fn replay_sends_a_range_again_oldest_first_as_a_fresh_series() {
    let server = Server::start_with(
        "[delivery]\nretry_schedule = [\"100ms\"]\n[deactivation]\nafter_failures = 1000\n[retention]\nevents = \"1h\"\n",
        &[],
    );
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let receiver = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500)
        }
    });
    let account = server.create_account("Hotel");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "pms", "eventUrl": receiver.url, "eventList": ["*"], "ordered": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let hook = r.json["id"].as_str().unwrap().to_string();
    for n in 1..=3 {
        send_then_tick(&server, &account, &format!("booking.n{n}"));
    }
    let failed = settled(&server, &account, &hook, 3);
    assert!(failed.iter().all(|d| d["status"] == "failed"), "{failed:?}");
    assert!(
        failed
            .iter()
            .all(|d| d["attempts"].as_array().unwrap().len() == 2)
    );
    let second = failed[1]["createdDate"].as_str().unwrap().to_string();

    // The second and third, oldest first, each a fresh series (attempt numbers go on).
    healthy.store(true, Ordering::SeqCst);
    let before = receiver.count();
    let r = replay(&server, &account, &hook, &json!({"since": second}));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json, json!({"scheduled": 2}));
    let sent = receiver.wait_for(before + 2, WAIT);
    let types: Vec<String> = sent[before..]
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["booking.n2", "booking.n3"]);
    let after = settled(&server, &account, &hook, 3);
    assert_eq!(after[0]["status"], "failed", "before `since`: untouched");
    for d in &after[1..] {
        assert_eq!(d["status"], "succeeded");
        let numbers: Vec<u64> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, [1, 2, 3]);
    }

    // Default status is failed only; others on request; `until` bounds the range.
    let first = failed[0]["createdDate"].as_str().unwrap().to_string();
    let r = replay(
        &server,
        &account,
        &hook,
        &json!({"since": first, "until": second}),
    );
    assert_eq!(r.json, json!({"scheduled": 1}), "{}", r.text);
    eventually(WAIT, || {
        let d = deliveries_of(&server, &account, &hook);
        (d[0]["status"] == "succeeded").then_some(())
    });
    let r = replay(&server, &account, &hook, &json!({"since": first}));
    assert_eq!(
        r.json,
        json!({"scheduled": 0}),
        "no failed delivery is left"
    );
    let r = replay(
        &server,
        &account,
        &hook,
        &json!({"since": first, "status": ["succeeded", "expired"]}),
    );
    assert_eq!(r.json, json!({"scheduled": 3}), "{}", r.text);
    let r = replay(
        &server,
        &account,
        &hook,
        &json!({"since": first, "until": first}),
    );
    assert_eq!((r.status, r.json.clone()), (202, json!({"scheduled": 0})));
    receiver.wait_for(before + 6, WAIT);
    settled(&server, &account, &hook, 3);
}

fn replay_refuses_bad_ranges_deactivated_webhooks_and_strangers() {
    let server = Server::start_with("[retention]\nevents = \"1h\"\n", &[]);
    let gone = Receiver::start(|_, _| Reply::status(410));
    let account = server.create_account("Clinic");
    let hook = webhook(&server, &account, &gone.url, &["*"]);
    let now = now_secs();
    let at = |offset_secs: i64| rfc3339_secs(now + offset_secs);
    let cases = [
        (json!({}), "since"),
        (json!({"since": "yesterday"}), "since"),
        (json!({"since": 1_700_000_000}), "since"),
        (json!({"since": at(3600)}), "since"),
        (json!({"since": at(-7200)}), "since"),
        (json!({"since": at(-60), "until": at(-120)}), "since"),
        (json!({"since": at(-60), "until": "soon"}), "until"),
        (json!({"since": at(-60), "status": []}), "status"),
        (json!({"since": at(-60), "status": ["pending"]}), "status"),
        (json!({"since": at(-60), "status": ["buffered"]}), "status"),
        (json!({"since": at(-60), "status": "failed"}), "status"),
    ];
    for (body, field) in cases {
        let r = replay(&server, &account, &hook, &body);
        r.assert_problem(400, "validation-error");
        assert_eq!(r.error_fields(), [field], "{body}: {}", r.text);
    }
    let path = format!("/v1/accounts/{account}/webhooks/{hook}/replay");
    let r = request(
        "POST",
        &server.url(&path),
        Some(ADMIN),
        Some(b"{\"since\":"),
    );
    r.assert_problem(400, "validation-error");
    let ok_body = json!({"since": at(-60)});
    let r = request(
        "POST",
        &server.url(&path),
        None,
        Some(ok_body.to_string().as_bytes()),
    );
    r.assert_problem(401, "unauthorized");
    let other = server.create_account("Other");
    let (_, other_token) = server.create_token(&other);
    let r = server.post(&path, &other_token, &ok_body);
    r.assert_problem(403, "forbidden");
    let unknown = "0190f0f0-0000-7000-8000-000000000000";
    let r = replay(&server, &account, unknown, &ok_body);
    r.assert_problem(404, "not-found");

    // A 410 deactivates the webhook at once: a replay is refused until it is activated.
    send(&server, &account, "a.b");
    eventually(WAIT, || {
        let w = server.get(&format!("/v1/accounts/{account}/webhooks/{hook}"), ADMIN);
        (w.json["status"] == "deactivated").then_some(())
    });
    let r = replay(
        &server,
        &account,
        &hook,
        &json!({"since": at(-60), "status": ["failed", "succeeded"]}),
    );
    r.assert_problem(409, "conflict");
    assert_eq!(gone.count(), 1, "a refused replay sends nothing");
}

fn stats_count_attempts_in_utc_buckets_with_latency_of_responses() {
    let server = Server::start_with("[delivery]\nretry_schedule = [\"100ms\"]\n", &[]);
    let receiver = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(500)
        } else {
            Reply::ok().after(Duration::from_millis(150))
        }
    });
    let account = server.create_account("Stats");
    let answered = webhook(&server, &account, &receiver.url, &["answered.*"]);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = webhook(
        &server,
        &account,
        &format!("http://127.0.0.1:{closed}/hook"),
        &["refused.*"],
    );
    let idle = webhook(&server, &account, &receiver.url, &["never.*"]);
    send(&server, &account, "answered.a");
    settled(&server, &account, &answered, 1);
    send(&server, &account, "answered.b");
    send(&server, &account, "refused.a");
    settled(&server, &account, &answered, 2);
    settled(&server, &account, &refused, 1);

    let stats = |hook: &str, window: &str| {
        let r = server.get(
            &format!("/v1/accounts/{account}/webhooks/{hook}/stats{window}"),
            ADMIN,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    };
    let s = stats(&answered, "");
    assert_eq!(s["window"], "24h");
    assert_eq!(
        (
            s["attempts"].as_u64(),
            s["succeeded"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    let rate = s["successRate"].as_f64().unwrap();
    assert!((rate - 0.6667).abs() < 1e-9, "{rate}");
    let (p50, p95) = (
        s["latencyMs"]["p50"].as_u64().unwrap(),
        s["latencyMs"]["p95"].as_u64().unwrap(),
    );
    assert!(p50 >= 150 && p95 >= p50, "p50 {p50} p95 {p95}");

    let s = stats(&refused, "?window=24h");
    assert_eq!(
        (s["attempts"].as_u64(), s["failed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(s["successRate"].as_f64(), Some(0.0));
    assert_eq!(s["latencyMs"], Value::Null, "no attempt got a response");

    let s = stats(&idle, "");
    assert_eq!(s["attempts"], 0);
    assert_eq!(
        (s["successRate"].clone(), s["latencyMs"].clone()),
        (Value::Null, Value::Null)
    );

    // Buckets: aligned, consecutive, covering the window, the last holding now.
    let now_ms = now_secs() * 1000;
    for (window, size_ms, count) in [
        ("1h", 300_000, 12),
        ("24h", 3_600_000, 24),
        ("7d", 21_600_000, 28),
    ] {
        let s = stats(&answered, &format!("?window={window}"));
        assert_eq!(s["window"], window);
        let buckets = s["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), count, "{window}");
        let starts: Vec<i64> = buckets.iter().map(|b| time_millis(&b["start"])).collect();
        assert!(
            starts.iter().all(|s| s % size_ms == 0),
            "{window}: {starts:?}"
        );
        assert!(starts.windows(2).all(|w| w[1] - w[0] == size_ms));
        let last = *starts.last().unwrap();
        assert!(
            last <= now_ms + 1000 && now_ms < last + size_ms + 1000,
            "{window}"
        );
        let total: u64 = buckets
            .iter()
            .map(|b| b["succeeded"].as_u64().unwrap() + b["failed"].as_u64().unwrap())
            .sum();
        assert_eq!(total, 3, "{window}: every attempt in a bucket");
    }

    for bad in ["2h", "24", "week"] {
        let r = server.get(
            &format!("/v1/accounts/{account}/webhooks/{answered}/stats?window={bad}"),
            ADMIN,
        );
        r.assert_problem(400, "validation-error");
        assert_eq!(r.error_fields(), ["window"]);
    }
    let unknown = "0190f0f0-0000-7000-8000-000000000000";
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{unknown}/stats"),
        ADMIN,
    );
    r.assert_problem(404, "not-found");
    let other = server.create_account("Other");
    let (_, other_token) = server.create_token(&other);
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{answered}/stats"),
        &other_token,
    );
    r.assert_problem(403, "forbidden");
    let r = request(
        "GET",
        &server.url(&format!("/v1/accounts/{account}/webhooks/{answered}/stats")),
        None,
        None,
    );
    r.assert_problem(401, "unauthorized");

    // The counts outlive a restart.
    let mut server = server;
    server.restart();
    let s = server.get(
        &format!("/v1/accounts/{account}/webhooks/{answered}/stats"),
        ADMIN,
    );
    assert_eq!(s.json["attempts"], 3, "{}", s.text);
}

/// Trades a portal link for a session token, as the page does.
fn open_portal(server: &Server, url: &str) -> Resp {
    let path = url
        .strip_prefix(&server.base)
        .expect("the link is under public_url");
    request("POST", &server.url(path), None, None)
}

fn portal_links_open_one_account_and_stop_when_revoked() {
    let server = Server::start();
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Tandlæge Aarhus", "id": "tand", "language": "da"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other = server.create_account("Other");
    let receiver = Receiver::ok();
    let hook = webhook(&server, "tand", &receiver.url, &["*"]);

    // Created by the admin with the defaults: an hour, not read-only; the URL shown once.
    let r = server.post("/v1/accounts/tand/portal-links", ADMIN, &json!({}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        sorted(&keys(&r.json).iter().map(String::as_str).collect::<Vec<_>>()),
        sorted(&["id", "url", "createdDate", "expiresDate", "readOnly"])
    );
    assert_eq!(r.json["readOnly"], false);
    let hour = time_millis(&r.json["expiresDate"]) - time_millis(&r.json["createdDate"]);
    assert_eq!(hour, 3_600_000);
    let url = r.json["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/portal/", server.base)),
        "{url}"
    );
    let link_id = r.json["id"].as_str().unwrap().to_string();
    assert!(!url.contains(&link_id), "the id is not the secret");

    // The page it opens is the admin page, under its CSP.
    let page = request("GET", &url, None, None);
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").is_some());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));

    // Opening it gives a session for that account alone.
    let opened = open_portal(&server, &url);
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(opened.json["accountId"], "tand");
    assert_eq!(opened.json["accountName"], "Tandlæge Aarhus");
    assert_eq!(opened.json["language"], "da");
    assert_eq!(opened.json["readOnly"], false);
    let session = opened.json["sessionToken"].as_str().unwrap().to_string();
    assert!(session.starts_with("hkp_"));
    assert!(!opened.text.contains(ADMIN));
    let again = open_portal(&server, &url);
    assert_eq!(again.status, 200, "a link opens any number of times");
    assert_ne!(again.json["sessionToken"], opened.json["sessionToken"]);

    let r = server.get("/v1/accounts/tand/webhooks", &session);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"][0]["id"], hook.as_str());
    let r = server.put(
        &format!("/v1/accounts/tand/webhooks/{hook}"),
        &session,
        &json!({"name": "renamed", "eventUrl": receiver.url, "eventList": ["*"], "version": 1}),
    );
    assert_eq!(r.status, 200, "a full session changes webhooks: {}", r.text);
    let r = server.get(
        &format!("/v1/accounts/tand/webhooks/{hook}/stats"),
        &session,
    );
    assert_eq!(r.status, 200);
    for (method, path) in [
        ("GET", format!("/v1/accounts/{other}/webhooks")),
        ("GET", "/v1/accounts".to_string()),
        ("GET", "/v1/accounts/tand/tokens".to_string()),
        ("POST", "/v1/accounts/tand/tokens".to_string()),
        ("GET", "/v1/accounts/tand/portal-links".to_string()),
        ("POST", "/v1/accounts/tand/portal-links".to_string()),
        (
            "DELETE",
            format!("/v1/accounts/tand/portal-links/{link_id}"),
        ),
        ("PUT", "/v1/accounts/tand".to_string()),
        ("DELETE", "/v1/accounts/tand".to_string()),
        ("POST", "/v1/accounts/tand/events".to_string()),
        ("GET", "/v1/backup".to_string()),
    ] {
        let r = request(method, &server.url(&path), Some(&session), Some(b"{}"));
        r.assert_problem(403, "forbidden");
        assert!(!r.text.is_empty(), "{method} {path}");
    }
    assert_eq!(
        server.get("/v1/accounts/tand", ADMIN).json["name"],
        "Tandlæge Aarhus"
    );

    // Listed without the URL; an account token may manage them too.
    let (_, account_token) = server.create_token("tand");
    let r = server.post(
        "/v1/accounts/tand/portal-links",
        &account_token,
        &json!({"expiresIn": "7d", "readOnly": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let week = time_millis(&r.json["expiresDate"]) - time_millis(&r.json["createdDate"]);
    assert_eq!(week, 7 * 86_400_000);
    let r = server.get("/v1/accounts/tand/portal-links", ADMIN);
    assert_eq!(r.status, 200);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        assert_eq!(
            sorted(&keys(item).iter().map(String::as_str).collect::<Vec<_>>()),
            sorted(&["id", "createdDate", "expiresDate", "readOnly"])
        );
    }
    let r = server.get(
        &format!("/v1/accounts/{other}/portal-links"),
        &account_token,
    );
    r.assert_problem(403, "forbidden");

    // Revoked: the sessions stop at once, the link shows a 410 page in the account's language.
    let r = server.delete(&format!("/v1/accounts/tand/portal-links/{link_id}"), ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);
    server
        .get("/v1/accounts/tand/webhooks", &session)
        .assert_problem(401, "unauthorized");
    let page = request("GET", &url, None, None);
    assert_eq!(page.status, 410);
    assert!(page.text.contains("<html lang=\"da\""), "{}", page.text);
    assert!(page.text.contains("tilbagekaldt"), "{}", page.text);
    open_portal(&server, &url).assert_problem(410, "gone");
    let r = server.get("/v1/accounts/tand/portal-links", ADMIN);
    assert_eq!(
        r.json["items"].as_array().unwrap().len(),
        1,
        "revoked links are not listed"
    );
    let r = server.delete(&format!("/v1/accounts/tand/portal-links/{link_id}"), ADMIN);
    r.assert_problem(404, "not-found");

    // A forged link: 404, in the browser's language (no account is known).
    let forged = format!(
        "{}/portal/{}x",
        server.base,
        url.rsplit('/').next().unwrap()
    );
    let page = request_with(
        "GET",
        &forged,
        None,
        None,
        &[("accept-language", "de-CH, en;q=0.5")],
    );
    assert_eq!(page.status, 404);
    assert!(page.text.contains("<html lang=\"de\""), "{}", page.text);
    assert!(page.text.contains("ungültig"));
    open_portal(&server, &forged).assert_problem(404, "not-found");
    let page = request("GET", &server.url("/portal/nonsense"), None, None);
    assert_eq!(page.status, 404);
}

fn read_only_portal_sessions_see_but_change_nothing() {
    let server = Server::start();
    let account = server.create_account("Hotel Porto");
    let receiver = Receiver::ok();
    let hook = webhook(&server, &account, &receiver.url, &["*"]);
    send(&server, &account, "reservation.created");
    receiver.wait_for(1, WAIT);
    let r = server.post(
        &format!("/v1/accounts/{account}/portal-links"),
        ADMIN,
        &json!({"expiresIn": "5m", "readOnly": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let opened = open_portal(&server, r.json["url"].as_str().unwrap());
    assert_eq!(opened.json["readOnly"], true);
    let session = opened.json["sessionToken"].as_str().unwrap().to_string();
    for path in [
        format!("/v1/accounts/{account}"),
        format!("/v1/accounts/{account}/webhooks"),
        format!("/v1/accounts/{account}/webhooks/{hook}"),
        format!("/v1/accounts/{account}/webhooks/{hook}/deliveries"),
        format!("/v1/accounts/{account}/webhooks/{hook}/stats"),
        format!("/v1/accounts/{account}/deliveries"),
        format!("/v1/accounts/{account}/events"),
        format!("/v1/accounts/{account}/notifications"),
    ] {
        let r = server.get(&path, &session);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let since = rfc3339_secs(now_secs() - 60);
    for (method, path, body) in [
        (
            "POST",
            format!("/v1/accounts/{account}/webhooks"),
            json!({"name": "x", "eventUrl": receiver.url, "eventList": ["*"]}),
        ),
        (
            "PUT",
            format!("/v1/accounts/{account}/webhooks/{hook}"),
            json!({"name": "x", "eventUrl": receiver.url, "eventList": ["*"]}),
        ),
        (
            "DELETE",
            format!("/v1/accounts/{account}/webhooks/{hook}"),
            json!({}),
        ),
        (
            "POST",
            format!("/v1/accounts/{account}/webhooks/{hook}/test"),
            json!({}),
        ),
        (
            "POST",
            format!("/v1/accounts/{account}/webhooks/{hook}/rotate-secret"),
            json!({}),
        ),
        (
            "POST",
            format!("/v1/accounts/{account}/webhooks/{hook}/replay"),
            json!({"since": since, "status": ["succeeded"]}),
        ),
        (
            "GET",
            format!("/v1/accounts/{account}/webhooks/{hook}/secret"),
            json!({}),
        ),
    ] {
        let r = request(
            method,
            &server.url(&path),
            Some(&session),
            Some(body.to_string().as_bytes()),
        );
        r.assert_problem(403, "forbidden");
        assert!(!r.text.is_empty(), "{method} {path}");
    }
    assert_eq!(
        receiver.count(),
        1,
        "nothing was sent on the session's behalf"
    );
    let w = server.get(&format!("/v1/accounts/{account}/webhooks/{hook}"), ADMIN);
    assert_eq!(w.json["name"], "hook");
}

fn portal_link_requests_are_checked() {
    let server = Server::start_with(
        "[limits]\nmax_body_bytes = 2048\nmax_event_bytes = 1024\n",
        &[],
    );
    let account = server.create_account("Checked");
    let path = format!("/v1/accounts/{account}/portal-links");
    for (body, field) in [
        (json!({"expiresIn": "4m"}), "expiresIn"),
        (json!({"expiresIn": "8d"}), "expiresIn"),
        (json!({"expiresIn": "soon"}), "expiresIn"),
        (json!({"expiresIn": 3600}), "expiresIn"),
        (json!({"readOnly": "yes"}), "readOnly"),
    ] {
        let r = server.post(&path, ADMIN, &body);
        r.assert_problem(400, "validation-error");
        assert_eq!(r.error_fields(), [field], "{body}");
    }
    let r = request("POST", &server.url(&path), Some(ADMIN), Some(b"[1]"));
    r.assert_problem(400, "validation-error");
    let r = request_with(
        "POST",
        &server.url(&path),
        Some(ADMIN),
        Some(b"{}"),
        &[("content-type", "text/plain")],
    );
    r.assert_problem(415, "unsupported-media-type");
    let big = format!("{{\"readOnly\": false, \"pad\": \"{}\"}}", "x".repeat(4000));
    let r = request(
        "POST",
        &server.url(&path),
        Some(ADMIN),
        Some(big.as_bytes()),
    );
    r.assert_problem(413, "payload-too-large");
    request("POST", &server.url(&path), None, Some(b"{}")).assert_problem(401, "unauthorized");
    assert_eq!(
        server.get(&path, ADMIN).json["items"],
        json!([]),
        "nothing was made"
    );
    let r = server.post("/v1/accounts/nobody/portal-links", ADMIN, &json!({}));
    r.assert_problem(404, "not-found");
    let r = server.delete(&format!("{path}/not-an-id"), ADMIN);
    r.assert_problem(404, "not-found");
    // Deleting the account ends its links.
    let r = server.post(&path, ADMIN, &json!({"expiresIn": "5m"}));
    let url = r.json["url"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .delete(&format!("/v1/accounts/{account}"), ADMIN)
            .status,
        204
    );
    let page = request("GET", &url, None, None);
    assert_eq!(page.status, 410, "{}", page.text);
}

crate::on_both_backends!(
    a_failing_webhook_is_warned_about_once_per_streak,
    no_warning_when_it_is_turned_off,
    replay_sends_a_range_again_oldest_first_as_a_fresh_series,
    replay_refuses_bad_ranges_deactivated_webhooks_and_strangers,
    stats_count_attempts_in_utc_buckets_with_latency_of_responses,
    portal_links_open_one_account_and_stop_when_revoked,
    read_only_portal_sessions_see_but_change_nothing,
    portal_link_requests_are_checked,
);
