//! `hookd webhook …`. Most subcommands are one call; `update` is a read-modify-write: the API's
//! PUT replaces the whole webhook (an omitted field takes its default), so the CLI GETs it,
//! changes only the fields given on the command line, and PUTs every mutable field back with
//! the `version` it read — a concurrent change then fails with 409 instead of being lost.

use serde_json::{Map, Value, json};

use super::commands::page_query;
use super::http::{Client, segment};
use super::output::Output;
use super::views;
use super::{ApiArgs, Failure, WebhookCommand};

/// The fields a PUT carries; everything else in a webhook is read-only.
const MUTABLE_FIELDS: [&str; 8] = [
    "name",
    "enabled",
    "eventUrl",
    "eventList",
    "description",
    "headers",
    "rateLimit",
    "ordered",
];

/// Runs one webhook subcommand.
pub fn run(api: &ApiArgs, command: WebhookCommand) -> Result<(), Failure> {
    let client = Client::new(&api.conn)?;
    let out = Output::new(api.json);
    match command {
        WebhookCommand::Create {
            account,
            name,
            url,
            events,
            secret,
        } => {
            let mut body = json!({ "name": name, "eventUrl": url, "eventList": events });
            if let Some(secret) = secret {
                body["secret"] = Value::String(secret);
            }
            let reply = client.post(&collection(&account), body.to_string().as_bytes())?;
            out.show(&reply, views::webhook)
        }
        WebhookCommand::List {
            account,
            name,
            event,
            page,
        } => {
            let mut query = vec![("name", name), ("event", event)];
            query.extend(page_query(&page));
            let reply = client.get(&collection(&account), &query)?;
            out.page(&reply, views::webhooks)
        }
        WebhookCommand::Update {
            account,
            id,
            name,
            url,
            events,
            enabled,
        } => {
            let path = one(&account, &id);
            let current = client.get(&path, &[])?.json()?;
            let change = Change {
                name,
                url,
                events,
                enabled,
            };
            let body = updated(&current, change)?;
            let reply = client.put(&path, body.to_string().as_bytes())?;
            out.show(&reply, views::webhook)
        }
        WebhookCommand::Delete { account, id } => {
            let reply = client.delete(&one(&account, &id))?;
            out.done(&reply, &format!("deleted webhook {id}"))
        }
        WebhookCommand::Activate {
            account,
            id,
            replay,
        } => {
            let body = json!({ "replayEvents": replay });
            let path = format!("{}/activate", one(&account, &id));
            let reply = client.post(&path, body.to_string().as_bytes())?;
            out.show(&reply, views::activation)
        }
        WebhookCommand::RotateSecret { account, id } => {
            let path = format!("{}/rotate-secret", one(&account, &id));
            let reply = client.post(&path, b"{}")?;
            out.show(&reply, views::secret)
        }
        WebhookCommand::Test { account, id } => {
            let path = format!("{}/test", one(&account, &id));
            let reply = client.post(&path, b"{}")?;
            out.show(&reply, views::test_sent)
        }
    }
}

/// `/v1/accounts/{account}/webhooks`.
fn collection(account: &str) -> String {
    format!("/v1/accounts/{}/webhooks", segment(account))
}

/// `/v1/accounts/{account}/webhooks/{id}`.
fn one(account: &str, id: &str) -> String {
    format!("{}/{}", collection(account), segment(id))
}

/// What `webhook update` was asked to change; `None` / empty: keep.
struct Change {
    name: Option<String>,
    url: Option<String>,
    events: Vec<String>,
    enabled: Option<bool>,
}

/// The PUT body: the current webhook's mutable fields and `version`, with `change` applied.
fn updated(current: &Value, change: Change) -> Result<Value, Failure> {
    let unexpected = || Failure::Other("the server's webhook has no version".to_string());
    let current = current.as_object().ok_or_else(unexpected)?;
    let version = current
        .get("version")
        .filter(|v| v.is_u64())
        .ok_or_else(unexpected)?;
    let mut body: Map<String, Value> = MUTABLE_FIELDS
        .iter()
        .filter_map(|&k| current.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    body.insert("version".into(), version.clone());
    if let Some(name) = change.name {
        body.insert("name".into(), Value::String(name));
    }
    if let Some(url) = change.url {
        body.insert("eventUrl".into(), Value::String(url));
    }
    if !change.events.is_empty() {
        body.insert("eventList".into(), json!(change.events));
    }
    if let Some(enabled) = change.enabled {
        body.insert("enabled".into(), Value::Bool(enabled));
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Value {
        json!({"id": "w1", "version": 3, "status": "active", "name": "old",
            "enabled": true, "eventUrl": "https://a/b", "eventList": ["x.y"],
            "description": "kept", "headers": {"x-k": "v"}, "rateLimit": 5, "ordered": true,
            "failureCount": 2})
    }

    #[test]
    fn update_keeps_what_is_not_given() {
        let change = Change {
            name: Some("new".into()),
            url: None,
            events: vec![],
            enabled: None,
        };
        let body = updated(&current(), change).ok();
        assert_eq!(
            body,
            Some(json!({"version": 3, "name": "new", "enabled": true,
                "eventUrl": "https://a/b", "eventList": ["x.y"], "description": "kept",
                "headers": {"x-k": "v"}, "rateLimit": 5, "ordered": true}))
        );
    }

    #[test]
    fn update_replaces_given_fields() {
        let change = Change {
            name: None,
            url: Some("https://c/d".into()),
            events: vec!["a.*".into(), "b".into()],
            enabled: Some(false),
        };
        let body = updated(&current(), change).unwrap_or_default();
        assert_eq!(body["eventUrl"], "https://c/d");
        assert_eq!(body["eventList"], json!(["a.*", "b"]));
        assert_eq!(body["enabled"], false);
        assert_eq!(body["name"], "old");
    }

    #[test]
    fn update_needs_a_version() {
        let no_version = json!({"name": "x"});
        let change = Change {
            name: None,
            url: None,
            events: vec![],
            enabled: Some(true),
        };
        assert!(updated(&no_version, change).is_err());
    }
}
