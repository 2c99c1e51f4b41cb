//! `hookd webhook …`. Most subcommands are one call; `update` is a read-modify-write: the API's
//! PUT replaces the whole webhook (an omitted field takes its default), so the CLI GETs it,
//! changes only the fields given on the command line, and PUTs every mutable field back with
//! the `version` it read — a concurrent change then fails with 409 instead of being lost.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::commands::page_query;
use super::http::{Client, segment};
use super::output::Output;
use super::views;
use super::{ApiArgs, Failure, ReceiverArgs, WebhookCommand};

/// The fields a PUT carries; everything else in a webhook is read-only. `auth` comes back
/// without its secrets, which the API then keeps (the same type without its secret).
const MUTABLE_FIELDS: [&str; 12] = [
    "name",
    "enabled",
    "eventUrl",
    "eventList",
    "description",
    "headers",
    "rateLimit",
    "ordered",
    "auth",
    "filter",
    "template",
    "signature",
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
            receiver,
        } => {
            let mut body = json!({ "name": name, "eventUrl": url, "eventList": events });
            if let Some(secret) = secret {
                body["secret"] = Value::String(secret);
            }
            for (member, value) in receiver_members(&receiver, None)? {
                body[member] = value;
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
            receiver,
            no_auth,
            no_filter,
            no_template,
        } => {
            let path = one(&account, &id);
            let current = client.get(&path, &[])?.json()?;
            let mut receiver = receiver_members(&receiver, current.get("auth"))?;
            for (cleared, member) in [
                (no_auth, "auth"),
                (no_filter, "filter"),
                (no_template, "template"),
            ] {
                if cleared {
                    receiver.push((member, Value::Null));
                }
            }
            let change = Change {
                name,
                url,
                events,
                enabled,
                receiver,
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
    /// Receiver-side members to set (`null` clears one).
    receiver: Vec<(&'static str, Value)>,
}

/// The receiver-side members the flags ask for. `current_auth` is the webhook's `auth` as
/// read (on update): an oauth2 or mtls flag of the same type without its secret then keeps
/// the stored secret, since the API keeps an omitted secret of the same type.
fn receiver_members(
    args: &ReceiverArgs,
    current_auth: Option<&Value>,
) -> Result<Vec<(&'static str, Value)>, Failure> {
    let mut members = Vec::new();
    if let Some(auth) = auth_member(args, current_auth)? {
        members.push(("auth", auth));
    }
    if let Some(filter) = &args.filter {
        members.push(("filter", Value::String(filter.clone())));
    }
    if let Some(preset) = &args.template_preset {
        members.push(("template", json!({ "preset": preset })));
    }
    if let Some(file) = &args.template_file {
        let mut template = json!({ "body": read_file(file)? });
        if let Some(content_type) = &args.content_type {
            template["contentType"] = Value::String(content_type.clone());
        }
        members.push(("template", template));
    }
    if let Some(signature) = &args.signature {
        members.push(("signature", Value::String(signature.clone())));
    }
    Ok(members)
}

/// The `auth` object of the auth flags, if one was given.
fn auth_member(args: &ReceiverArgs, current: Option<&Value>) -> Result<Option<Value>, Failure> {
    if let Some(pair) = &args.auth_basic {
        // RFC 7617: the user ends at the first colon; the password may hold more.
        let Some((username, password)) = pair.split_once(':') else {
            return Err(Failure::Usage(
                "--auth-basic takes USER:PASS (split at the first colon)".into(),
            ));
        };
        return Ok(Some(
            json!({"type": "basic", "username": username, "password": password}),
        ));
    }
    if let Some(token) = &args.auth_bearer {
        return Ok(Some(json!({"type": "bearer", "token": token})));
    }
    let same_type = |kind: &str| current.filter(|a| a["type"] == kind);
    if let Some(token_url) = &args.auth_oauth2 {
        let kept = same_type("oauth2");
        let mut auth = json!({"type": "oauth2", "tokenUrl": token_url});
        for (member, given) in [
            ("clientId", &args.client_id),
            ("clientSecret", &args.client_secret),
            ("scope", &args.scope),
            ("audience", &args.audience),
        ] {
            match (given, kept.and_then(|k| k.get(member))) {
                (Some(value), _) => auth[member] = Value::String(value.clone()),
                (None, Some(stored)) => auth[member] = stored.clone(),
                (None, None) => {}
            }
        }
        return Ok(Some(auth));
    }
    if let Some(cert) = &args.auth_mtls_cert {
        let mut auth = json!({"type": "mtls", "certificate": read_file(cert)?});
        if let Some(key) = &args.auth_mtls_key {
            auth["privateKey"] = Value::String(read_file(key)?);
        }
        return Ok(Some(auth));
    }
    Ok(None)
}

/// A file named on the command line, as text.
fn read_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Other(format!("cannot read {}: {e}", path.display())))
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
    for (member, value) in change.receiver {
        body.insert(member.into(), value);
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
            receiver: vec![],
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
            receiver: vec![("filter", json!("data.n > 1")), ("template", Value::Null)],
        };
        let body = updated(&current(), change).unwrap_or_default();
        assert_eq!(body["eventUrl"], "https://c/d");
        assert_eq!(body["eventList"], json!(["a.*", "b"]));
        assert_eq!(body["enabled"], false);
        assert_eq!(body["name"], "old");
        assert_eq!(body["filter"], "data.n > 1");
        assert_eq!(body["template"], Value::Null);
    }

    #[test]
    fn receiver_flags_become_api_members() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, "CERT").unwrap();
        std::fs::write(&key, "KEY").unwrap();
        let mtls = ReceiverArgs {
            auth_mtls_cert: Some(cert.clone()),
            auth_mtls_key: Some(key),
            signature: Some("v1a".into()),
            ..ReceiverArgs::default()
        };
        let members = receiver_members(&mtls, None).unwrap_or_default();
        assert_eq!(
            members,
            vec![
                (
                    "auth",
                    json!({"type": "mtls", "certificate": "CERT", "privateKey": "KEY"})
                ),
                ("signature", json!("v1a")),
            ]
        );
        // A new certificate alone: the stored key is kept by the API.
        let cert_only = ReceiverArgs {
            auth_mtls_cert: Some(cert),
            ..ReceiverArgs::default()
        };
        let members = receiver_members(&cert_only, None).unwrap_or_default();
        assert_eq!(members[0].1, json!({"type": "mtls", "certificate": "CERT"}));
        let basic = ReceiverArgs {
            auth_basic: Some("ann:a:b".into()),
            ..ReceiverArgs::default()
        };
        let members = receiver_members(&basic, None).unwrap_or_default();
        assert_eq!(
            members[0].1,
            json!({"type": "basic", "username": "ann", "password": "a:b"})
        );
        let missing = ReceiverArgs {
            template_file: Some(dir.path().join("absent.j2")),
            ..ReceiverArgs::default()
        };
        assert!(matches!(
            receiver_members(&missing, None),
            Err(Failure::Other(_))
        ));
    }

    #[test]
    fn update_needs_a_version() {
        let no_version = json!({"name": "x"});
        let change = Change {
            name: None,
            url: None,
            events: vec![],
            enabled: Some(true),
            receiver: vec![],
        };
        assert!(updated(&no_version, change).is_err());
    }
}
