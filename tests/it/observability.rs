//! `/metrics` and the logs: what they show, who may see them, and what they never contain.

use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_ingest_deliveries_and_requests_for_the_admin_only() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("m");
    let (_, token) = server.create_token(&account);
    server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "m", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    for i in 0..3 {
        server.post(
            &format!("/v1/accounts/{account}/events"),
            ADMIN,
            &json!({"type": "m.x", "data": i}),
        );
    }
    receiver.wait_for(3, WAIT);
    let text = eventually(WAIT, || {
        let r = server.get("/metrics", ADMIN);
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        let ok = metric(
            &r.text,
            "hookd_delivery_attempts_total{outcome=\"success\"}",
        ) == Some(3.0)
            && metric(&r.text, "hookd_deliveries_pending") == Some(0.0);
        ok.then_some(r.text)
    });
    assert_eq!(metric(&text, "hookd_events_ingested_total"), Some(3.0));
    assert_eq!(
        metric(&text, "hookd_attempt_duration_seconds_count"),
        Some(3.0)
    );
    assert_eq!(metric(&text, "hookd_deliveries_pending"), Some(0.0));
    assert_eq!(metric(&text, "hookd_deliveries_buffered"), Some(0.0));
    assert_eq!(
        metric(&text, "hookd_webhooks{status=\"active\"}"),
        Some(1.0)
    );
    assert!(metric(&text, "hookd_store_size_bytes").unwrap() > 0.0);
    assert!(metric(&text, "hookd_attempts_in_flight").is_some());
    assert_eq!(
        metric(
            &text,
            "hookd_http_requests_total{route=\"/v1/accounts/{accountId}/events\",method=\"POST\",status=\"202\"}"
        ),
        Some(3.0)
    );
    server
        .get("/metrics", &token)
        .assert_problem(403, "forbidden");
    request("GET", &server.url("/metrics"), None, None).assert_problem(401, "unauthorized");
}

#[test]
fn public_metrics_need_no_token() {
    let server = Server::start_with("[metrics]\npublic = true\n", &[]);
    let r = request("GET", &server.url("/metrics"), None, None);
    assert_eq!(r.status, 200);
    assert!(r.text.contains("hookd_events_ingested_total 0"));
}

#[test]
fn no_token_secret_or_payload_reaches_the_log() {
    for format in ["text", "json"] {
        let mut server = Server::start_with(
            "[deactivation]\nafter_failures = 1\nafter = \"0s\"\n[delivery]\nretry_schedule = [\"100ms\"]\n",
            &[("HOOKD_LOG", "trace"), ("HOOKD_LOG_FORMAT", format)],
        );
        let failing = Receiver::start(|_, _| Reply::status(500).with_body("PAYLOAD-ECHO-SENTINEL"));
        let account = server.create_account("secrets");
        let (token_id, token) = server.create_token(&account);
        let hook = server.post(
            &format!("/v1/accounts/{account}/webhooks"),
            &token,
            &json!({"name": "s", "eventUrl": failing.url, "eventList": ["*"],
                    "headers": {"Authorization": "Bearer HEADER-SECRET-SENTINEL"}}),
        );
        assert_eq!(hook.status, 201, "{}", hook.text);
        let secret = hook.json["secret"].as_str().unwrap().to_string();
        let id = hook.json["id"].as_str().unwrap();
        let rotated = server.post(
            &format!("/v1/accounts/{account}/webhooks/{id}/rotate-secret"),
            &token,
            &json!({}),
        );
        let new_secret = rotated.json["secret"].as_str().unwrap().to_string();
        server.post(
            &format!("/v1/accounts/{account}/events"),
            &token,
            &json!({"type": "s.x", "data": {"card": "PAYLOAD-SENTINEL-4242"}}),
        );
        eventually(WAIT, || {
            let w = server.get(&format!("/v1/accounts/{account}/webhooks/{id}"), ADMIN);
            (w.json["status"] == "deactivated").then_some(())
        });
        let unknown = "hkd_UNKNOWN-TOKEN-SENTINEL-0000000000000000000000";
        server
            .get("/v1/accounts", unknown)
            .assert_problem(401, "unauthorized");
        server.delete(&format!("/v1/accounts/{account}/tokens/{token_id}"), ADMIN);
        server
            .get(&format!("/v1/accounts/{account}"), &token)
            .assert_problem(401, "unauthorized");
        // Stop cleanly so every line is flushed.
        assert!(server.stop().success());
        let log = server.log_text();
        assert!(
            log.contains("webhook deactivated"),
            "the log is really there: {log}"
        );
        for secret_text in [
            ADMIN,
            token.as_str(),
            unknown,
            secret.as_str(),
            new_secret.as_str(),
            "whsec_",
            "PAYLOAD-SENTINEL-4242",
            "PAYLOAD-ECHO-SENTINEL",
            "HEADER-SECRET-SENTINEL",
        ] {
            assert!(
                !log.contains(secret_text),
                "{format} log contains {secret_text:?}:\n{log}"
            );
        }
    }
}
