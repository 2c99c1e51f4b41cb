//! How each API resource reads as text: which columns a list shows, which fields one
//! resource shows. Renderers take the parsed response and never fail: a missing field shows
//! as `-`, so a newer server with a changed shape still prints something useful.

use serde_json::Value;

use super::table::{Table, pairs, text};

/// The items of a page (`{"items": […], "nextCursor"}`); none when the shape is unexpected.
pub fn items(page: &Value) -> &[Value] {
    page.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn field(value: &Value, name: &str) -> String {
    text(value.get(name))
}

/// `GET /v1/accounts`.
pub fn accounts(page: &Value) -> String {
    let mut table = Table::new(&["ID", "NAME", "CREATED"]);
    for a in items(page) {
        table.row(vec![
            field(a, "id"),
            field(a, "name"),
            field(a, "createdDate"),
        ]);
    }
    table.render()
}

/// One account.
pub fn account(a: &Value) -> String {
    pairs(&[
        ("id", field(a, "id")),
        ("name", field(a, "name")),
        ("created", field(a, "createdDate")),
        ("updated", field(a, "lastUpdate")),
    ])
}

/// `GET …/tokens`.
pub fn tokens(page: &Value) -> String {
    let mut table = Table::new(&["ID", "NAME", "CREATED", "LAST USED"]);
    for t in items(page) {
        table.row(vec![
            field(t, "id"),
            field(t, "name"),
            field(t, "createdDate"),
            field(t, "lastUsedDate"),
        ]);
    }
    table.render()
}

/// A new token, with the token itself: the only time it is ever shown.
pub fn token_created(t: &Value) -> String {
    pairs(&[
        ("id", field(t, "id")),
        ("name", field(t, "name")),
        ("account", field(t, "accountId")),
        ("created", field(t, "createdDate")),
        ("token", field(t, "token")),
    ])
}

/// `GET …/webhooks`.
pub fn webhooks(page: &Value) -> String {
    let mut table = Table::new(&[
        "ID", "NAME", "STATUS", "ENABLED", "VERSION", "FAILURES", "EVENTS", "URL",
    ]);
    for w in items(page) {
        table.row(vec![
            field(w, "id"),
            field(w, "name"),
            field(w, "status"),
            field(w, "enabled"),
            field(w, "version"),
            field(w, "failureCount"),
            field(w, "eventList"),
            field(w, "eventUrl"),
        ]);
    }
    table.render()
}

/// One webhook; its secret too when the response carries it (creation).
pub fn webhook(w: &Value) -> String {
    let mut rows = vec![
        ("id", field(w, "id")),
        ("name", field(w, "name")),
        ("account", field(w, "ownerIdentifier")),
        ("url", field(w, "eventUrl")),
        ("events", field(w, "eventList")),
        ("enabled", field(w, "enabled")),
        ("status", field(w, "status")),
        ("version", field(w, "version")),
        ("description", field(w, "description")),
        ("headers", field(w, "headers")),
        ("rate limit", field(w, "rateLimit")),
        ("ordered", field(w, "ordered")),
        ("failures", field(w, "failureCount")),
        ("failing since", field(w, "failingSince")),
        ("deactivated", field(w, "deactivatedDate")),
        ("reason", field(w, "deactivationReason")),
        ("auth", auth_summary(w.get("auth"))),
        ("filter", field(w, "filter")),
        ("template", template_summary(w.get("template"))),
        ("signature", field(w, "signature")),
        ("created", field(w, "createdDate")),
        ("updated", field(w, "lastUpdate")),
    ];
    if w.get("secret").is_some() {
        rows.push(("secret", field(w, "secret")));
    }
    pairs(&rows)
}

/// `POST …/activate`: the webhook, then what happened to its buffered events.
pub fn activation(a: &Value) -> String {
    let webhook = a.get("webhook").cloned().unwrap_or(Value::Null);
    pairs(&[
        ("id", field(&webhook, "id")),
        ("name", field(&webhook, "name")),
        ("status", field(&webhook, "status")),
        ("enabled", field(&webhook, "enabled")),
        ("replayed", field(a, "replayed")),
        ("dropped", field(a, "dropped")),
    ])
}

/// A webhook's `auth` in a few words: its type and who it authenticates as (never a
/// secret: responses have none).
fn auth_summary(auth: Option<&Value>) -> String {
    let Some(auth) = auth.filter(|a| !a.is_null()) else {
        return text(None);
    };
    let who = match auth["type"].as_str() {
        Some("basic") => field(auth, "username"),
        Some("oauth2") => format!("{} at {}", field(auth, "clientId"), field(auth, "tokenUrl")),
        Some("mtls") => format!(
            "{}, until {}",
            field(auth, "certificateSubject"),
            field(auth, "certificateNotAfter")
        ),
        _ => String::new(),
    };
    let kind = field(auth, "type");
    if who.is_empty() {
        kind
    } else {
        format!("{kind} ({who})")
    }
}

/// A webhook's `template`: the preset, or the body's content type.
fn template_summary(template: Option<&Value>) -> String {
    match template.filter(|t| !t.is_null()) {
        None => text(None),
        Some(t) if t.get("preset").is_some() => format!("preset {}", field(t, "preset")),
        Some(t) => format!("body ({})", field(t, "contentType")),
    }
}

/// `{"secret"}` of a rotation, and `publicKey` when the webhook signs with `v1a`.
pub fn secret(s: &Value) -> String {
    let mut rows = vec![("secret", field(s, "secret"))];
    if s.get("publicKey").is_some() {
        rows.push(("public key", field(s, "publicKey")));
    }
    pairs(&rows)
}

/// `POST …/test`: the ping event and its one delivery.
pub fn test_sent(t: &Value) -> String {
    pairs(&[
        ("event", field(t, "eventId")),
        ("delivery", field(t, "deliveryId")),
    ])
}

/// `POST …/events`: the accepted event.
pub fn ingested(e: &Value) -> String {
    pairs(&[
        ("id", field(e, "id")),
        ("type", field(e, "type")),
        ("created", field(e, "createdDate")),
        ("deliveries", field(e, "deliveries")),
    ])
}

/// `GET …/events/{id}`: the event (its `data` as the server sent it, given separately so
/// numbers are not re-rendered), then its deliveries.
pub fn event(e: &Value, data: &str) -> String {
    let mut out = pairs(&[
        ("id", field(e, "id")),
        ("type", field(e, "type")),
        ("created", field(e, "createdDate")),
        ("idempotency key", field(e, "idempotencyKey")),
        ("data", data.to_string()),
    ]);
    let deliveries = e
        .get("deliveries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    out.push('\n');
    let mut table = Table::new(&["DELIVERY", "WEBHOOK", "STATUS", "ATTEMPTS", "NEXT ATTEMPT"]);
    for d in deliveries {
        table.row(vec![
            field(d, "id"),
            field(d, "webhookId"),
            field(d, "status"),
            field(d, "attemptCount"),
            field(d, "nextAttemptDate"),
        ]);
    }
    out.push_str(&table.render());
    out
}

/// `GET …/deliveries`.
pub fn deliveries(page: &Value) -> String {
    let mut table = Table::new(&[
        "ID",
        "STATUS",
        "EVENT TYPE",
        "WEBHOOK",
        "ATTEMPTS",
        "LAST OUTCOME",
        "NEXT ATTEMPT",
        "CREATED",
    ]);
    for d in items(page) {
        let attempts = attempts(d);
        table.row(vec![
            field(d, "id"),
            field(d, "status"),
            field(d, "eventType"),
            field(d, "webhookId"),
            attempts.len().to_string(),
            attempts
                .last()
                .map(outcome)
                .unwrap_or_else(|| "-".to_string()),
            field(d, "nextAttemptDate"),
            field(d, "createdDate"),
        ]);
    }
    table.render()
}

/// One delivery, then its attempts.
pub fn delivery(d: &Value) -> String {
    let mut out = pairs(&[
        ("id", field(d, "id")),
        ("status", field(d, "status")),
        ("event", field(d, "eventId")),
        ("event type", field(d, "eventType")),
        ("webhook", field(d, "webhookId")),
        ("next attempt", field(d, "nextAttemptDate")),
        ("created", field(d, "createdDate")),
    ]);
    out.push('\n');
    let mut table = Table::new(&["ATTEMPT", "DATE", "OUTCOME", "DURATION MS", "ERROR"]);
    for a in attempts(d) {
        table.row(vec![
            field(a, "number"),
            field(a, "date"),
            outcome(a),
            field(a, "durationMs"),
            field(a, "error"),
        ]);
    }
    out.push_str(&table.render());
    out
}

fn attempts(d: &Value) -> &[Value] {
    d.get("attempts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `success (200)`, `http_error (500)`, `timeout`.
fn outcome(a: &Value) -> String {
    match a.get("statusCode").and_then(Value::as_u64) {
        Some(code) => format!("{} ({code})", field(a, "outcome")),
        None => field(a, "outcome"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn webhook_list_shows_the_main_columns() {
        let page = json!({"items": [{"id": "w1", "name": "alpha", "status": "active",
            "enabled": true, "version": 2, "failureCount": 0,
            "eventList": ["a.b", "c.*"], "eventUrl": "https://x/y"}], "nextCursor": null});
        let text = webhooks(&page);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID"));
        for cell in [
            "w1",
            "alpha",
            "active",
            "true",
            "2",
            "a.b, c.*",
            "https://x/y",
        ] {
            assert!(lines[1].contains(cell), "{cell} in {}", lines[1]);
        }
    }

    #[test]
    fn delivery_rows_show_the_last_outcome() {
        let page = json!({"items": [{"id": "d1", "status": "failed", "attempts": [
            {"number": 1, "outcome": "timeout", "statusCode": null},
            {"number": 2, "outcome": "http_error", "statusCode": 500}]}]});
        let text = deliveries(&page);
        assert!(text.contains("http_error (500)"), "{text}");
        assert_eq!(items(&json!({"nope": 1})).len(), 0);
    }

    #[test]
    fn secret_is_shown_only_when_present() {
        assert!(!webhook(&json!({"id": "w"})).contains("secret"));
        assert!(webhook(&json!({"id": "w", "secret": "whsec_x"})).contains("whsec_x"));
    }
}
