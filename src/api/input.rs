//! Validation of request bodies into typed inputs, collecting every bad field.
//!
//! Fields hookd does not know, and read-only fields of a resource sent back to it (a client may
//! PUT the object it just GOT), are ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use serde_json::value::RawValue;

use super::json::Member;
use super::receiver_fields;
use crate::crypto;
use crate::error::{Error, FieldError};
use crate::model::{Auth, WebhookSettings};
use crate::patterns;
use crate::target::{self, TargetPolicy};
use crate::time::Millis;

/// A request body's JSON object being read field by field; errors accumulate until
/// [`Fields::finish`].
///
/// Every body hookd reads — accounts, tokens, webhooks and events alike — goes through this one
/// reader. It keeps each top-level member's raw JSON text (so an event's `data` stays
/// byte-for-byte as sent) and parses a member only when a validator asks for it, so a member
/// that no JSON number type can hold (`1e400`) or that repeats a key is an error naming that
/// member, like any other bad field.
pub struct Fields<'a> {
    members: Vec<Member<'a>>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Reads `body` as a JSON object: duplicate top-level keys and nesting deeper than
    /// [`super::json::MAX_DEPTH`] are refused; members are kept raw.
    pub fn parse(body: &'a [u8]) -> Result<Fields<'a>, Error> {
        match super::json::object_members(body) {
            Ok(members) => Ok(Fields {
                members,
                errors: Vec::new(),
            }),
            Err(e) if e.is_data() => Err(Error::BadRequest(format!(
                "the body must be a JSON object: {e}"
            ))),
            Err(e) => Err(Error::BadRequest(format!("malformed JSON: {e}"))),
        }
    }

    /// Like [`Fields::parse`], reading an empty body as `{}` (routes whose body is optional).
    pub fn parse_optional(body: &'a [u8]) -> Result<Fields<'a>, Error> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields {
                members: Vec::new(),
                errors: Vec::new(),
            });
        }
        Fields::parse(body)
    }

    /// Records an error for `field`.
    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records that a required field is missing, unless an error about it is already recorded
    /// (it was present but unreadable).
    pub fn missing(&mut self, name: &str) {
        if !self.errors.iter().any(|e| e.field == name) {
            self.error(name, "is required");
        }
    }

    /// Takes a member's raw JSON text, `null` included (event `data`, where `null` is a value).
    pub fn raw(&mut self, name: &str) -> Option<&'a RawValue> {
        let at = self.members.iter().position(|(key, _)| key == name)?;
        Some(self.members.swap_remove(at).1)
    }

    /// Takes a member's value; JSON `null` counts as absent. A value that repeats a key inside
    /// it, or holds a number out of every JSON number type's range, is recorded as an error and
    /// reads as absent.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        let raw = self.raw(name)?.get();
        if raw == "null" {
            return None;
        }
        let parsed = super::json::check_no_duplicate_keys(raw.as_bytes())
            .and_then(|()| serde_json::from_str::<Value>(raw));
        match parsed {
            Ok(value) => Some(value),
            Err(e) if e.to_string().starts_with("number out of range") => {
                let message = if raw.starts_with(['{', '[']) {
                    "contains a number out of range"
                } else {
                    "is a number out of range"
                };
                self.error(name, message);
                None
            }
            Err(e) => {
                self.error(name, format!("is not valid JSON here: {e}"));
                None
            }
        }
    }

    /// A required string of `min..=max` characters.
    pub fn required_string(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        match self.take(name) {
            None => {
                self.missing(name);
                None
            }
            Some(v) => self.string_value(name, v, min, max),
        }
    }

    /// An optional string of `min..=max` characters (`null` or absent: `None`).
    pub fn optional_string(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        let v = self.take(name)?;
        self.string_value(name, v, min, max)
    }

    fn string_value(&mut self, name: &str, v: Value, min: usize, max: usize) -> Option<String> {
        match v {
            Value::String(s) => {
                let len = s.chars().count();
                if len < min || len > max {
                    if min == max {
                        self.error(name, format!("must be {min} characters"));
                    } else if min > 0 {
                        self.error(name, format!("must be {min} to {max} characters"));
                    } else {
                        self.error(name, format!("must be at most {max} characters"));
                    }
                    None
                } else {
                    Some(s)
                }
            }
            _ => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A boolean with a default when absent.
    pub fn bool_or(&mut self, name: &str, default: bool) -> bool {
        match self.take(name) {
            None => default,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                self.error(name, "must be true or false");
                default
            }
        }
    }

    /// An optional integer in `min..=max`.
    pub fn optional_integer(&mut self, name: &str, min: u64, max: u64) -> Option<u64> {
        let v = self.take(name)?;
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(name, format!("must be an integer from {min} to {max}"));
                None
            }
        }
    }

    /// An optional RFC 3339 date-time (`null` or absent: `None`).
    pub fn optional_time(&mut self, name: &str) -> Option<crate::time::Millis> {
        match self.take(name)? {
            Value::String(text) => {
                let parsed = crate::time::parse_rfc3339(&text);
                if parsed.is_none() {
                    self.error(
                        name,
                        "must be an RFC 3339 date-time, e.g. 2026-11-22T10:15:02Z",
                    );
                }
                parsed
            }
            _ => {
                self.error(name, "must be an RFC 3339 date-time string");
                None
            }
        }
    }

    /// Fails with every recorded error, else yields `value` (which every validator leaves
    /// `Some` when it recorded no error).
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, Error> {
        self.finish()?;
        value.ok_or_else(|| Error::Internal("a validator returned nothing without an error".into()))
    }

    /// Fails with every recorded error, if any.
    pub fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// Request headers a webhook may not set: hookd owns them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
];

/// The most custom headers a webhook may carry.
pub const MAX_CUSTOM_HEADERS: usize = 20;

/// What reading a webhook body needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct WebhookContext<'a> {
    /// The path's account, which an `entity.id` must equal.
    pub account_id: &'a str,
    /// What `eventUrl` and `auth.tokenUrl` may target.
    pub policy: TargetPolicy,
    /// The stored `auth` when the body replaces a webhook (PUT): an `auth` of the same type
    /// without its secret member keeps this one's secret.
    pub current_auth: Option<&'a Auth>,
    /// Now, to refuse an expired client certificate.
    pub now: Millis,
}

/// The settings of a webhook from a create or update body. An omitted optional member takes
/// its default (a PUT replaces the whole webhook).
pub fn webhook_settings(
    fields: &mut Fields<'_>,
    context: &WebhookContext<'_>,
) -> Option<WebhookSettings> {
    let name = fields.required_string("name", 1, 200);
    let enabled = fields.bool_or("enabled", true);
    let event_url = match fields.required_string("eventUrl", 1, usize::MAX) {
        Some(url) => match target::check_url(&url, context.policy) {
            Ok(()) => Some(url),
            Err(message) => {
                fields.error("eventUrl", message);
                None
            }
        },
        None => None,
    };
    let event_list = event_list(fields);
    let description = fields.optional_string("description", 0, 1000);
    let headers = custom_headers(fields);
    let rate_limit = fields
        .optional_integer("rateLimit", 1, 100_000)
        .map(|n| n as u32);
    let ordered = fields.bool_or("ordered", false);
    let auth = receiver_fields::auth(fields, context.current_auth, context.policy, context.now);
    let filter = receiver_fields::filter(fields);
    let template = receiver_fields::template(fields);
    let signature = receiver_fields::signature(fields);
    check_entity(fields, context.account_id);
    if let Some(Some(auth)) = &auth {
        // The header auth sets wins; a custom one of the same name is refused.
        let conflicting = receiver_fields::sets_authorization(auth)
            && headers
                .as_ref()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("authorization")));
        if conflicting {
            fields.error(
                "headers.authorization",
                format!(
                    "conflicts with auth of type {}, which sets Authorization",
                    auth.kind()
                ),
            );
            return None;
        }
        if matches!(auth, Auth::Mtls(_))
            && let Some(url) = &event_url
            && !url
                .get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        {
            fields.error(
                "auth",
                "a client certificate (mtls) needs an https:// eventUrl",
            );
            return None;
        }
    }
    Some(WebhookSettings {
        name: name?,
        enabled,
        event_url: event_url?,
        event_list: event_list?,
        description,
        headers: headers?,
        rate_limit,
        ordered,
        auth: auth?,
        filter: filter?,
        template: template?,
        signature: signature?,
    })
}

fn event_list(fields: &mut Fields<'_>) -> Option<Vec<String>> {
    let Some(value) = fields.take("eventList") else {
        fields.missing("eventList");
        return None;
    };
    let Value::Array(items) = value else {
        fields.error("eventList", "must be an array of event types");
        return None;
    };
    if items.is_empty() {
        fields.error("eventList", "must not be empty");
        return None;
    }
    if items.len() > 100 {
        fields.error("eventList", "must have at most 100 entries");
        return None;
    }
    let mut list = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("eventList[{i}]");
        match item {
            Value::String(p) => match patterns::check_pattern(&p) {
                Ok(()) => {
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
                Err(message) => {
                    fields.error(field, message);
                    ok = false;
                }
            },
            _ => {
                fields.error(field, "must be a string");
                ok = false;
            }
        }
    }
    ok.then_some(list)
}

fn custom_headers(fields: &mut Fields<'_>) -> Option<BTreeMap<String, String>> {
    let Some(value) = fields.take("headers") else {
        return Some(BTreeMap::new());
    };
    let Value::Object(map) = value else {
        fields.error("headers", "must be an object of header names to values");
        return None;
    };
    if map.len() > MAX_CUSTOM_HEADERS {
        fields.error(
            "headers",
            format!("must have at most {MAX_CUSTOM_HEADERS} entries"),
        );
        return None;
    }
    let mut headers = BTreeMap::new();
    let mut ok = true;
    for (name, value) in map {
        let field = format!("headers.{name}");
        let lower = name.to_ascii_lowercase();
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            fields.error(field, "is not a valid header name");
            ok = false;
        } else if RESERVED_HEADERS.contains(&lower.as_str())
            || lower.starts_with("webhook-")
            || lower.starts_with("hookd-")
        {
            fields.error(field, "is reserved and cannot be set");
            ok = false;
        } else {
            match value {
                Value::String(v) if hyper::header::HeaderValue::from_str(&v).is_ok() => {
                    headers.insert(name, v);
                }
                Value::String(_) => {
                    fields.error(field, "is not a valid header value");
                    ok = false;
                }
                _ => {
                    fields.error(field, "must be a string");
                    ok = false;
                }
            }
        }
    }
    ok.then_some(headers)
}

/// The compatibility `entity` object: its `id` must be the path's account.
fn check_entity(fields: &mut Fields<'_>, account_id: &str) {
    let Some(entity) = fields.take("entity") else {
        return;
    };
    match entity {
        Value::Object(map) => match map.get("id") {
            Some(Value::String(id)) if id == account_id => {}
            Some(Value::String(_)) => {
                fields.error("entity.id", "must equal the account in the path")
            }
            None | Some(Value::Null) => fields.error("entity.id", "is required"),
            Some(_) => fields.error("entity.id", "must be a string"),
        },
        _ => fields.error("entity", "must be an object {\"id\", \"name\"}"),
    }
}

/// An optional `secret` in Standard Webhooks form (`whsec_` + base64 of 24–64 bytes).
pub fn optional_secret(fields: &mut Fields<'_>) -> Option<String> {
    let value = fields.take("secret")?;
    match value {
        Value::String(s) if crypto::decode_webhook_secret(&s).is_some() => Some(s),
        _ => {
            fields.error(
                "secret",
                "must be whsec_ followed by base64 of 24 to 64 bytes",
            );
            None
        }
    }
}

/// The required `version` of an update.
pub fn version(fields: &mut Fields<'_>) -> Option<u64> {
    match fields.take("version") {
        None => {
            fields.missing("version");
            None
        }
        Some(v) => match v.as_u64() {
            Some(n) if (1..=i64::MAX as u64).contains(&n) => Some(n),
            _ => {
                fields.error("version", "must be a positive integer");
                None
            }
        },
    }
}
