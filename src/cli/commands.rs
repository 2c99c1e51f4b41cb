//! The account, token, event and delivery commands: one API call each, printed through
//! [`Output`]. (Webhooks, with their read-modify-write update, live in `webhook.rs`.)

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::http::{Client, segment};
use super::output::Output;
use super::views;
use super::{
    AccountCommand, ApiArgs, DeliveryCommand, EventCommand, Failure, PageArgs, TokenCommand,
};

/// `hookd account create|list`.
pub fn account(api: &ApiArgs, command: AccountCommand) -> Result<(), Failure> {
    let client = Client::new(&api.conn)?;
    let out = Output::new(api.json);
    match command {
        AccountCommand::Create { name, id, language } => {
            let mut body = json!({ "name": name });
            if let Some(id) = id {
                body["id"] = Value::String(id);
            }
            if let Some(language) = language {
                body["language"] = Value::String(language);
            }
            let reply = client.post("/v1/accounts", body.to_string().as_bytes())?;
            out.show(&reply, views::account)
        }
        AccountCommand::List { page } => {
            let reply = client.get("/v1/accounts", &page_query(&page))?;
            out.page(&reply, views::accounts)
        }
    }
}

/// `hookd token create|list`.
pub fn token(api: &ApiArgs, command: TokenCommand) -> Result<(), Failure> {
    let client = Client::new(&api.conn)?;
    let out = Output::new(api.json);
    match command {
        TokenCommand::Create { account, name } => {
            let body = match name {
                Some(name) => json!({ "name": name }),
                None => json!({}),
            };
            let path = format!("/v1/accounts/{}/tokens", segment(&account));
            let reply = client.post(&path, body.to_string().as_bytes())?;
            out.show(&reply, views::token_created)
        }
        TokenCommand::List { account, page } => {
            let path = format!("/v1/accounts/{}/tokens", segment(&account));
            let reply = client.get(&path, &page_query(&page))?;
            out.page(&reply, views::tokens)
        }
    }
}

/// `hookd event send|show`.
pub fn event(api: &ApiArgs, command: EventCommand) -> Result<(), Failure> {
    match command {
        EventCommand::Send {
            account,
            event_type,
            data,
        } => {
            // Read and check the data before anything touches the network.
            let body = event_body(&event_type, &read_data(&data)?)?;
            let client = Client::new(&api.conn)?;
            let path = format!("/v1/accounts/{}/events", segment(&account));
            let reply = client.post(&path, &body)?;
            Output::new(api.json).show(&reply, views::ingested)
        }
        EventCommand::Show { account, id } => {
            let client = Client::new(&api.conn)?;
            let path = format!("/v1/accounts/{}/events/{}", segment(&account), segment(&id));
            let reply = client.get(&path, &[])?;
            // `data` is shown from its raw text, as stored: no float or key-order changes.
            let data = serde_json::from_slice::<RawData>(&reply.body)
                .map(|raw| raw.data.get().to_string())
                .unwrap_or_else(|_| "-".to_string());
            Output::new(api.json).show(&reply, |event| views::event(event, &data))
        }
    }
}

/// `hookd delivery list|retry`.
pub fn delivery(api: &ApiArgs, command: DeliveryCommand) -> Result<(), Failure> {
    let client = Client::new(&api.conn)?;
    let out = Output::new(api.json);
    match command {
        DeliveryCommand::List {
            account,
            webhook,
            status,
            page,
        } => {
            let path = format!("/v1/accounts/{}/deliveries", segment(&account));
            let mut query = vec![("webhookId", webhook), ("status", status)];
            query.extend(page_query(&page));
            let reply = client.get(&path, &query)?;
            out.page(&reply, views::deliveries)
        }
        DeliveryCommand::Retry { account, id } => {
            let path = format!(
                "/v1/accounts/{}/deliveries/{}/retry",
                segment(&account),
                segment(&id)
            );
            let reply = client.post(&path, b"{}")?;
            out.show(&reply, views::delivery)
        }
    }
}

/// The `limit`/`cursor` query pairs of a list command.
pub fn page_query(page: &PageArgs) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("limit", page.limit.map(|n| n.to_string())),
        ("cursor", page.cursor.clone()),
    ]
}

/// The `data` of `event send`: `@path` reads the file, anything else is the JSON itself.
fn read_data(data: &str) -> Result<Vec<u8>, Failure> {
    match data.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map_err(|e| Failure::Usage(format!("cannot read the data file {path}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

/// `{"type":…,"data":<raw>}` with the data's bytes as given (no re-serialising, so numbers
/// and key order reach receivers as written). The data must be exactly one JSON value:
/// anything else could splice extra keys into the body.
fn event_body(event_type: &str, data: &[u8]) -> Result<Vec<u8>, Failure> {
    let text = std::str::from_utf8(data)
        .map_err(|_| Failure::Usage("the event data is not UTF-8 text".to_string()))?;
    let raw: &RawValue = serde_json::from_str(text)
        .map_err(|e| Failure::Usage(format!("the event data is not one JSON value: {e}")))?;
    let event_type = serde_json::to_string(event_type)
        .map_err(|e| Failure::Usage(format!("bad event type: {e}")))?;
    Ok(format!("{{\"type\":{event_type},\"data\":{}}}", raw.get()).into_bytes())
}

/// The `data` of an event response, kept as raw JSON text.
#[derive(Deserialize)]
struct RawData {
    data: Box<RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_body_keeps_data_bytes() {
        let body = event_body("a.b", br#" {"n": 1.10, "z": 1, "a": 2} "#).ok();
        assert_eq!(
            body.as_deref(),
            Some(&br#"{"type":"a.b","data":{"n": 1.10, "z": 1, "a": 2}}"#[..])
        );
        let body = event_body("a.b", b"null").ok();
        assert_eq!(body.as_deref(), Some(&br#"{"type":"a.b","data":null}"#[..]));
    }

    #[test]
    fn event_body_refuses_anything_but_one_value() {
        for bad in [&b"1, \"type\": \"x\""[..], b"", b"{", b"\xff", b"1 2"] {
            assert!(event_body("a.b", bad).is_err(), "{bad:?}");
        }
    }
}
