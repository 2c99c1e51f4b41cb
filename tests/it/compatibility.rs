//! A store written by an earlier build (`fixtures/store-schema2.redb`, made by the build of
//! 2026-12-04 before typed ids and outcomes: an account in German, a token, a webhook with
//! custom headers, a rate limit and a rotated secret, an ordered webhook deactivated after three
//! failed attempts, five events with idempotency keys and a 23-digit number in their data, their
//! deliveries and attempts, and a notification) is read by this build as it was written.

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::{Value, json};

const STORE: &[u8] = include_bytes!("fixtures/store-schema2.redb");
const IDS: &str = include_str!("fixtures/store-schema2.json");

fn opened() -> (Server, Value) {
    let server = Server::start_prepared("", &[], |data| {
        std::fs::write(data.join("hookd.redb"), STORE).unwrap();
    });
    (server, serde_json::from_str(IDS).unwrap())
}

#[test]
fn a_store_written_by_an_earlier_build_reads_as_it_was_written() {
    let (server, ids) = opened();
    let (ok, broken) = (
        ids["webhook_ok"].as_str().unwrap(),
        ids["webhook_broken"].as_str().unwrap(),
    );

    let account = server.get("/v1/accounts/fixture-clinic", ADMIN);
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!(account.json["name"], "Fixture Clinic");
    assert_eq!(account.json["language"], "de");
    let accounts = server.get("/v1/accounts", ADMIN);
    assert_eq!(accounts.json["items"].as_array().unwrap().len(), 2);

    // The token still authenticates, with its own account only.
    let token = ids["token"].as_str().unwrap();
    assert_eq!(server.get("/v1/accounts/fixture-clinic", token).status, 200);
    let tokens = server.get("/v1/accounts/fixture-clinic/tokens", ADMIN);
    assert_eq!(tokens.json["items"][0]["id"], ids["token_id"]);
    assert_eq!(tokens.json["items"][0]["name"], "backend");

    let hook = server.get(&format!("/v1/accounts/fixture-clinic/webhooks/{ok}"), ADMIN);
    assert_eq!(hook.status, 200, "{}", hook.text);
    assert_eq!(hook.json["name"], "Bookings");
    assert_eq!(hook.json["headers"], json!({"x-clinic": "42"}));
    assert_eq!(hook.json["rateLimit"], 50);
    assert_eq!(hook.json["status"], "active");
    assert_eq!(hook.json["version"], 1);
    let secret = server.get(
        &format!("/v1/accounts/fixture-clinic/webhooks/{ok}/secret"),
        ADMIN,
    );
    assert!(
        secret.json["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    assert_ne!(secret.json["secret"], ids["secret_before_rotation"]);

    let dead = server.get(
        &format!("/v1/accounts/fixture-clinic/webhooks/{broken}"),
        ADMIN,
    );
    assert_eq!(dead.json["status"], "deactivated", "{}", dead.text);
    assert_eq!(dead.json["ordered"], true);
    assert_eq!(dead.json["failureCount"], 3);
    assert!(dead.json["deactivationReason"].is_string());

    // Five events, their keys and their data byte for byte (a number no f64 holds).
    let all = server.get("/v1/accounts/fixture-clinic/events", ADMIN);
    assert_eq!(all.json["items"][0]["type"], "hookd.webhook.deactivated");
    let events = server.get(
        "/v1/accounts/fixture-clinic/events?type=booking.created",
        ADMIN,
    );
    let items = events.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{}", events.text);
    let keys: BTreeSet<&str> = items
        .iter()
        .map(|e| e["idempotencyKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"].into());
    let first = items.last().unwrap()["id"].as_str().unwrap();
    let event = server.get(
        &format!("/v1/accounts/fixture-clinic/events/{first}"),
        ADMIN,
    );
    assert!(
        event
            .text
            .contains(r#""data":{"n": 0, "big": 12345678901234567890123}"#),
        "{}",
        event.text
    );
    assert_eq!(event.json["deliveries"].as_array().unwrap().len(), 2);

    // Deliveries and attempts: succeeded to one webhook, failed then buffered to the other.
    let delivered = server.get(
        &format!("/v1/accounts/fixture-clinic/deliveries?webhookId={ok}"),
        ADMIN,
    );
    let delivered = delivered.json["items"].as_array().unwrap().clone();
    assert_eq!(delivered.len(), 5);
    for d in &delivered {
        assert_eq!(d["status"], "succeeded", "{d}");
        assert_eq!(d["attempts"][0]["outcome"], "success");
        assert_eq!(d["attempts"][0]["statusCode"], 200);
    }
    let held = server.get(
        &format!("/v1/accounts/fixture-clinic/deliveries?webhookId={broken}"),
        ADMIN,
    );
    let held = held.json["items"].as_array().unwrap().clone();
    assert_eq!(held.len(), 5);
    // The first used its three attempts (its failure deactivated the webhook); the rest wait.
    assert_eq!(held[0]["status"], "failed", "{held:?}");
    assert!(
        held[1..].iter().all(|d| d["status"] == "buffered"),
        "{held:?}"
    );
    let attempts = held[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    for (n, a) in attempts.iter().enumerate() {
        assert_eq!(a["number"], n + 1);
        assert_eq!(a["outcome"], "http_error");
        assert_eq!(a["statusCode"], 500);
        assert_eq!(a["responseBody"], "no");
    }

    // The notification, in German as it was written.
    let notes = server.get("/v1/notifications", ADMIN);
    let note = &notes.json["items"][0];
    assert_eq!(note["kind"], "webhook.deactivated");
    assert_eq!(note["webhookId"], broken);
    assert!(
        note["message"].as_str().unwrap().contains("Webhook"),
        "{note}"
    );

    // Idempotency keys still hold: the same key and body is a replay, not a new event.
    let again = request(
        "POST",
        &server.url("/v1/accounts/fixture-clinic/events"),
        Some(ADMIN),
        Some(
            br#"{"type": "booking.created", "data": {"n": 0, "big": 12345678901234567890123}, "idempotencyKey": "k0"}"#,
        ),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["id"], first);
}
