//! The failure lifecycle: deactivation, buffer, notifications, replay, one-click links,
//! expiry and retention — with thresholds and windows set small.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const NOTIFY_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(extra: &str) -> String {
    format!(
        "[delivery]\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\", \"100ms\"]\n{extra}"
    )
}

fn webhook(server: &Server, account: &str, url: &str, events: &[&str]) -> String {
    webhook_named(server, account, url, events, "hook")
}

fn webhook_named(server: &Server, account: &str, url: &str, events: &[&str], name: &str) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": name, "eventUrl": url, "eventList": events}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn send(server: &Server, account: &str, event_type: &str, data: Value) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": event_type, "data": data}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn get_webhook(server: &Server, account: &str, id: &str) -> Value {
    server
        .get(&format!("/v1/accounts/{account}/webhooks/{id}"), ADMIN)
        .json
}

fn wait_deactivated(server: &Server, account: &str, id: &str) -> Value {
    eventually(WAIT, || {
        let w = get_webhook(server, account, id);
        (w["status"] == "deactivated").then_some(w)
    })
}

/// The event's first delivery.
fn delivery(server: &Server, account: &str, event_id: &str) -> Value {
    let e = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    assert_eq!(e.status, 200, "{}", e.text);
    let id = e.json["deliveries"][0]["id"].as_str().unwrap().to_string();
    server
        .get(&format!("/v1/accounts/{account}/deliveries/{id}"), ADMIN)
        .json
}

/// The path part of an activation URL, to call on the test server.
fn link_path(url: &str) -> String {
    let at = url.find("/activate/").expect("an activation URL");
    url[at..].to_string()
}

fn failing_endpoint_is_deactivated_buffered_announced_and_replayed() {
    let notices = Receiver::ok();
    let server = Server::start_with(
        &config(&format!(
            "[deactivation]\nafter_failures = 3\nafter = \"0s\"\n[notifications]\nurl = \"{}\"\nsecret = \"{NOTIFY_SECRET}\"\n",
            notices.url
        )),
        &[],
    );
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let failing = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500)
        }
    });
    let listener = Receiver::ok();
    let account = server.create_account("Clinic");
    // Ordered, so the replay must also complete oldest first (docs/delivery.md "Precise rules");
    // an unordered webhook only dispatches in that order, and may complete in any.
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "hook", "eventUrl": failing.url, "eventList": ["booking.*"], "ordered": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let dead = r.json["id"].as_str().unwrap().to_string();
    let other = webhook(
        &server,
        &account,
        &listener.url,
        &["hookd.webhook.deactivated"],
    );

    let first = send(&server, &account, "booking.created", json!({"n": 1}));
    let w = wait_deactivated(&server, &account, &dead);
    // Deactivated at the third failure, not before, and nothing after.
    assert_eq!(w["failureCount"], 3, "{w}");
    assert!(w["deactivatedDate"].is_string());
    assert!(
        w["deactivationReason"]
            .as_str()
            .unwrap()
            .contains("3 failed attempts"),
        "{w}"
    );
    assert!(w["failingSince"].is_string());
    assert_eq!(failing.count(), 3);
    let d = delivery(&server, &account, &first);
    assert_eq!(d["status"], "buffered", "{d}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 3);

    // Later events are buffered at fan-out: no traffic to the dead endpoint.
    let second = send(&server, &account, "booking.updated", json!({"n": 2}));
    assert_eq!(delivery(&server, &account, &second)["status"], "buffered");

    // The notification, listed for the admin and for the account.
    let all = server.get("/v1/notifications", ADMIN);
    assert_eq!(all.status, 200);
    let notes = all.json["items"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{}", all.text);
    let note = &notes[0];
    assert_eq!(note["kind"], "webhook.deactivated");
    assert_eq!(note["accountId"], account.as_str());
    assert_eq!(note["webhookId"], dead.as_str());
    assert!(note["message"].is_string() && note["createdDate"].is_string());
    let activation_url = note["activationUrl"].as_str().unwrap().to_string();
    assert!(
        activation_url.starts_with(&format!("{}/activate/", server.base)),
        "{activation_url}"
    );
    let mine = server.get(&format!("/v1/accounts/{account}/notifications"), ADMIN);
    assert_eq!(mine.json["items"][0]["id"], note["id"]);
    let (_, token) = server.create_token(&account);
    let as_account = server.get("/v1/notifications", &token);
    assert_eq!(as_account.json["items"].as_array().unwrap().len(), 1);
    let stranger = server.create_account("Other");
    let (_, stranger_token) = server.create_token(&stranger);
    let theirs = server.get("/v1/notifications", &stranger_token);
    assert_eq!(theirs.json["items"].as_array().unwrap().len(), 0);

    // The system event reaches the other webhook that listens for it.
    let system = listener.wait_for(1, WAIT).remove(0);
    let body = system.json();
    assert_eq!(body["type"], "hookd.webhook.deactivated");
    assert_eq!(body["account"], account.as_str());
    assert_eq!(body["data"]["webhookId"], dead.as_str());
    assert_eq!(body["data"]["activationUrl"], activation_url.as_str());
    assert!(body["data"]["reason"].is_string() && body["data"]["deactivatedDate"].is_string());
    assert_eq!(body["data"]["name"], "hook");
    assert_eq!(body["data"]["eventUrl"], failing.url.as_str());
    let _ = other;

    // The operator's channel: the same envelope, signed with notifications.secret.
    let notice = notices.wait_for(1, WAIT).remove(0);
    assert_eq!(notice.json()["type"], "hookd.webhook.deactivated");
    assert_eq!(notice.json()["data"]["webhookId"], dead.as_str());
    let id = notice.header("webhook-id").unwrap();
    let ts = notice.header("webhook-timestamp").unwrap();
    assert_eq!(
        notice.header("webhook-signature"),
        Some(standard_signature(NOTIFY_SECRET, id, ts, &notice.body).as_str())
    );

    // Replay: every buffered event, oldest first, counted.
    healthy.store(true, Ordering::SeqCst);
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks/{dead}/activate"),
        ADMIN,
        &json!({"replayEvents": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["replayed"], 2);
    assert_eq!(r.json["dropped"], 0);
    assert_eq!(r.json["webhook"]["status"], "active");
    assert_eq!(r.json["webhook"]["failureCount"], 0);
    assert_eq!(r.json["webhook"]["failingSince"], Value::Null);
    assert_eq!(r.json["webhook"]["deactivatedDate"], Value::Null);
    assert_eq!(r.json["webhook"]["deactivationReason"], Value::Null);
    let got = failing.wait_for(5, WAIT);
    let replayed: Vec<&str> = got[3..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(replayed, vec![first.as_str(), second.as_str()]);
    let d = eventually(WAIT, || {
        let d = delivery(&server, &account, &first);
        (d["status"] == "succeeded").then_some(d)
    });
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        4,
        "earlier attempts are kept"
    );
    // The link of a deactivation that ended another way is gone.
    let r = request("GET", &server.url(&link_path(&activation_url)), None, None);
    assert_eq!(r.status, 410);
}

fn thresholds_need_both_count_and_time() {
    let server = Server::start_with(
        &config("[deactivation]\nafter_failures = 2\nafter = \"1h\"\n"),
        &[],
    );
    let failing = Receiver::start(|_, _| Reply::status(500));
    let account = server.create_account("a");
    let id = webhook(&server, &account, &failing.url, &["*"]);
    let event = send(&server, &account, "a.b", json!(1));
    let d = eventually(WAIT, || {
        let d = delivery(&server, &account, &event);
        (d["status"] == "failed").then_some(d)
    });
    assert_eq!(d["attempts"].as_array().unwrap().len(), 7);
    let w = get_webhook(&server, &account, &id);
    assert_eq!(w["status"], "active", "failing for less than an hour: {w}");
    assert_eq!(w["failureCount"], 7);
}

fn gone_deactivates_at_once_and_activation_without_replay_cancels() {
    let server = Server::start_with(&config(""), &[]);
    let receiver = Receiver::start(|_, _| Reply::status(410));
    let account = server.create_account("a");
    let id = webhook(&server, &account, &receiver.url, &["*"]);
    let first = send(&server, &account, "a.b", json!(1));
    let w = wait_deactivated(&server, &account, &id);
    assert_eq!(w["failureCount"], 1);
    assert!(
        w["deactivationReason"].as_str().unwrap().contains("410"),
        "{w}"
    );
    assert_eq!(receiver.count(), 1);
    // The failing delivery had attempts left: it is buffered.
    assert_eq!(delivery(&server, &account, &first)["status"], "buffered");
    let second = send(&server, &account, "a.b", json!(2));
    // A manual retry of a deactivated webhook's delivery is a conflict.
    let d = delivery(&server, &account, &second);
    let retry = server.post(
        &format!(
            "/v1/accounts/{account}/deliveries/{}/retry",
            d["id"].as_str().unwrap()
        ),
        ADMIN,
        &json!({}),
    );
    retry.assert_problem(409, "conflict");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks/{id}/activate"),
        ADMIN,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json["replayed"].as_u64(), r.json["dropped"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(delivery(&server, &account, &first)["status"], "cancelled");
    assert_eq!(delivery(&server, &account, &second)["status"], "cancelled");
    // Activating an active webhook is a no-op.
    let again = request(
        "POST",
        &server.url(&format!(
            "/v1/accounts/{account}/webhooks/{id}/activate?replayEvents=1"
        )),
        Some(ADMIN),
        None,
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        (
            again.json["replayed"].as_u64(),
            again.json["dropped"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(receiver.count(), 1, "nothing was sent to the gone endpoint");
}

fn one_click_link_shows_without_changing_and_reactivates_once() {
    let server = Server::start_with(&config(""), &[]);
    let first_gone = Arc::new(AtomicBool::new(true));
    let flag = first_gone.clone();
    let receiver = Receiver::start(move |_, _| {
        if flag.swap(false, Ordering::SeqCst) {
            Reply::status(410)
        } else {
            Reply::ok()
        }
    });
    let account = server.create_account("a");
    let id = webhook_named(&server, &account, &receiver.url, &["*"], "<b>Bookings</b>");
    let event = send(&server, &account, "a.b", json!(1));
    wait_deactivated(&server, &account, &id);
    let note = server.get("/v1/notifications", ADMIN).json["items"][0].clone();
    let path = link_path(note["activationUrl"].as_str().unwrap());

    let page = request("GET", &server.url(&path), None, None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text.contains("&lt;b&gt;Bookings&lt;/b&gt;"),
        "escaped name: {}",
        page.text
    );
    assert!(!page.text.contains("<b>Bookings</b>"));
    assert!(
        page.text
            .contains("Reactivate and deliver the buffered event<")
    );
    assert!(
        page.text
            .contains("Reactivate and discard the buffered event<")
    );
    assert!(page.text.contains("name=\"replayEvents\" value=\"true\""));
    assert!(page.text.contains("name=\"replayEvents\" value=\"false\""));
    // GET changed nothing.
    assert_eq!(get_webhook(&server, &account, &id)["status"], "deactivated");
    assert_eq!(delivery(&server, &account, &event)["status"], "buffered");

    // A tampered link is refused clearly.
    let mut tampered = path.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let bad = request("GET", &server.url(&tampered), None, None);
    assert_eq!(bad.status, 404);
    assert!(bad.text.contains("not valid"));
    let bad_post = request_with(
        "POST",
        &server.url(&tampered),
        None,
        Some(b"replayEvents=true"),
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(bad_post.status, 404);

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let done = request_with(
        "POST",
        &server.url(&path),
        None,
        Some(b"replayEvents=true"),
        &form,
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("active again"));
    assert_eq!(get_webhook(&server, &account, &id)["status"], "active");
    let got = receiver.wait_for(2, WAIT);
    assert_eq!(got[1].header("webhook-id"), Some(event.as_str()));
    let twice = request_with(
        "POST",
        &server.url(&path),
        None,
        Some(b"replayEvents=true"),
        &form,
    );
    assert_eq!(twice.status, 410, "a link works once");
    let after = request("GET", &server.url(&path), None, None);
    assert_eq!(after.status, 410);
}

fn buffered_deliveries_expire_with_the_buffer_window() {
    let server = Server::start_with(&config("[retention]\nbuffer = \"2s\"\n"), &[]);
    let receiver = Receiver::start(|_, _| Reply::status(410));
    let account = server.create_account("a");
    let id = webhook(&server, &account, &receiver.url, &["*"]);
    let event = send(&server, &account, "a.b", json!(1));
    wait_deactivated(&server, &account, &id);
    let note = server.get("/v1/notifications", ADMIN).json["items"][0].clone();
    let path = link_path(note["activationUrl"].as_str().unwrap());
    let d = eventually(WAIT, || {
        let d = delivery(&server, &account, &event);
        (d["status"] == "expired").then_some(d)
    });
    assert_eq!(d["nextAttemptDate"], Value::Null);
    // The link expires with the window too.
    let page = request("GET", &server.url(&path), None, None);
    assert_eq!(page.status, 410);
    // Replaying now delivers nothing: the expired delivery is not counted.
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks/{id}/activate"),
        ADMIN,
        &json!({"replayEvents": true}),
    );
    assert_eq!(r.json["replayed"], 0, "{}", r.text);
}

fn retention_purges_old_records_while_ingest_goes_on() {
    let server = Server::start_with("[retention]\nevents = \"2s\"\n", &[]);
    let receiver = Receiver::ok();
    let account = server.create_account("a");
    webhook(&server, &account, &receiver.url, &["*"]);
    let old = send(&server, &account, "a.b", json!("old"));
    let old_delivery = delivery(&server, &account, &old)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut accepted = 0;
    eventually(Duration::from_secs(30), || {
        // Ingest keeps being answered while the purge runs.
        send(&server, &account, "a.b", json!("new"));
        accepted += 1;
        let gone = server.get(&format!("/v1/accounts/{account}/events/{old}"), ADMIN);
        (gone.status == 404).then_some(())
    });
    assert!(accepted > 0);
    let d = server.get(
        &format!("/v1/accounts/{account}/deliveries/{old_delivery}"),
        ADMIN,
    );
    assert_eq!(d.status, 404, "the delivery went with its event");
    let fresh = send(&server, &account, "a.b", json!("fresh"));
    let r = server.get(&format!("/v1/accounts/{account}/events/{fresh}"), ADMIN);
    assert_eq!(r.status, 200, "new events stay");
}

fn deleting_an_account_removes_its_notifications() {
    let server = Server::start_with(
        &config("[deactivation]\nafter_failures = 1\nafter = \"0s\"\n"),
        &[],
    );
    let failing = Receiver::start(|_, _| Reply::status(500));
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Gone soon", "id": "gone-soon"}),
    );
    assert_eq!(r.status, 201);
    let keeper = server.create_account("Keeper");
    let mut dead = Vec::new();
    for account in ["gone-soon", keeper.as_str()] {
        let id = webhook(&server, account, &failing.url, &["*"]);
        send(&server, account, "booking.created", json!({}));
        wait_deactivated(&server, account, &id);
        dead.push(id);
    }
    let all = server.get("/v1/notifications", ADMIN);
    assert_eq!(
        all.json["items"].as_array().unwrap().len(),
        2,
        "{}",
        all.text
    );

    assert_eq!(server.delete("/v1/accounts/gone-soon", ADMIN).status, 204);
    let all = server.get("/v1/notifications", ADMIN);
    let items = all.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", all.text);
    assert_eq!(items[0]["accountId"], keeper.as_str());
    // A new account with the deleted one's id starts with none.
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Reborn", "id": "gone-soon"}),
    );
    assert_eq!(r.status, 201);
    let theirs = server.get("/v1/accounts/gone-soon/notifications", ADMIN);
    assert_eq!(
        theirs.json["items"].as_array().unwrap().len(),
        0,
        "{}",
        theirs.text
    );
}

crate::on_both_backends!(
    failing_endpoint_is_deactivated_buffered_announced_and_replayed,
    thresholds_need_both_count_and_time,
    gone_deactivates_at_once_and_activation_without_replay_cancels,
    one_click_link_shows_without_changing_and_reactivates_once,
    buffered_deliveries_expire_with_the_buffer_window,
    retention_purges_old_records_while_ingest_goes_on,
    deleting_an_account_removes_its_notifications,
);
