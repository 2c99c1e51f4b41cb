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

#[test]
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
    assert!(message.contains("schlägt fehl"), "{message}");
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

#[test]
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
