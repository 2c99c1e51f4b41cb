//! Body templates: what a receiver gets instead of the standard envelope.
//!
//! Two kinds:
//!
//! - **Presets** for chat webhooks: `slack` gives `{"text": "…"}`, `discord` gives
//!   `{"content": "…"}`. The text names the event type and the account and shows the event's
//!   data as pretty JSON in a code block, cut to fit the service's limit (3,000 characters for
//!   Slack, 2,000 for Discord, counted in Unicode characters) and marked `… (truncated)` when
//!   cut.
//! - **Body templates** in the Jinja language ([minijinja]) with the variables `event.id`,
//!   `event.type`, `event.timestamp`, `event.account` and `data`, and the `tojson` filter.
//!
//! # Sandbox
//!
//! A template is written by an account's owner and runs inside hookd, so it gets nothing but
//! the event: the environment has no loader (no `include`, `import` or `extends`: those tags
//! are not even compiled in), no macros, no access to files, the network or the process
//! environment. Rendering is bounded: minijinja's fuel ([`FUEL`]) limits the instructions run
//! and the data created, the recursion limit bounds the stack, and the output is cut off at
//! the caller's `max_bytes` (the rendering then fails rather than sending a partial body).
//! `tojson` is hookd's own: serde_json writing into a buffer that stops at the render's byte
//! limit, with indentation capped at [`MAX_TOJSON_INDENT`] (minijinja's built-in one builds the
//! whole text before charging fuel for it, so `tojson(indent=10000000)` would allocate
//! gigabytes first). Its output uses Jinja's separators (`[1, 2]`, `{"a": 1}`).
//!
//! Printing an undefined value is an error (`{{ data.missing }}` fails instead of silently
//! producing a body with a hole), while `{% if data.missing %}` is allowed.
//!
//! # Data
//!
//! The event's data is read from its JSON text with [`json::parse`](super::json::parse):
//! integers up to 128 bits stay exact (and `tojson` writes them back exactly); other numbers
//! are `f64`, and one beyond `f64`'s range (`1e400`) is written back as `null` by `tojson`;
//! object members keep their order.
//!
//! [minijinja]: https://docs.rs/minijinja

use std::cell::Cell;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, State, UndefinedBehavior};
use serde_json::value::RawValue;

use super::json::{self, Json};

/// The content type of a body template when none is given.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";
/// The largest body template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// The longest content type accepted.
pub const MAX_CONTENT_TYPE_LEN: usize = 200;
/// The fuel one rendering may burn: about as many instructions, or data created in units of
/// ~64 bytes. A quarter million is milliseconds of work and at most ~16 MB of data, far more
/// than a body of `max_event_bytes × 4` needs.
pub const FUEL: u64 = 250_000;
/// How deep template constructs may nest while rendering.
const RECURSION_LIMIT: usize = 64;
/// The name under which a body template is kept; error messages quote it.
const TEMPLATE_NAME: &str = "template.body";
/// Slack's limit on a message's `text`, in characters.
pub const SLACK_TEXT_LIMIT: usize = 3000;
/// Discord's limit on a message's `content`, in characters.
pub const DISCORD_CONTENT_LIMIT: usize = 2000;
/// The widest indentation `tojson` accepts.
pub const MAX_TOJSON_INDENT: usize = 16;

thread_local! {
    /// The byte limit of the rendering running on this thread, for `tojson` (rendering is
    /// synchronous, so the limit of the current render is the one set here).
    static RENDER_LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// What replaces the end of the data when it does not fit.
const TRUNCATED: &str = "\n… (truncated)";

/// A chat service with a preset body (stored by its API name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// `{"text": "…"}` for Slack incoming webhooks.
    Slack,
    /// `{"content": "…"}` for Discord webhooks.
    Discord,
}

impl Preset {
    /// The preset's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Slack => "slack",
            Preset::Discord => "discord",
        }
    }

    fn member(self) -> &'static str {
        match self {
            Preset::Slack => "text",
            Preset::Discord => "content",
        }
    }

    fn limit(self) -> usize {
        match self {
            Preset::Slack => SLACK_TEXT_LIMIT,
            Preset::Discord => DISCORD_CONTENT_LIMIT,
        }
    }
}

/// A webhook's body template, parsed once when the webhook is saved.
pub struct Template {
    kind: Kind,
    content_type: String,
}

enum Kind {
    Preset(Preset),
    Body(Box<Environment<'static>>),
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Preset(preset) => preset.as_str(),
            Kind::Body(_) => "body",
        };
        f.debug_struct("Template")
            .field("kind", &kind)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// Why a template was refused: the API field to name in the 400 and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// `template.body`, `template.contentType` or `template.preset`.
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// One event as a template sees it.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    /// The event's creation time, RFC 3339.
    pub timestamp: &'a str,
    pub account: &'a str,
    /// The event's data: its JSON text as ingested.
    pub data: &'a [u8],
}

/// A rendered body and the content type to send it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBody {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

impl Template {
    /// Parses a body template as it is saved. `content_type` defaults to
    /// [`DEFAULT_CONTENT_TYPE`]. Whether the output is valid JSON is only known per event.
    pub fn parse(body: &str, content_type: Option<&str>) -> Result<Template, TemplateError> {
        let content_type = check_content_type(content_type.unwrap_or(DEFAULT_CONTENT_TYPE))?;
        let refuse = |message: String| TemplateError {
            field: "template.body",
            message,
        };
        if body.len() > MAX_TEMPLATE_BYTES {
            return Err(refuse(format!(
                "must be at most {MAX_TEMPLATE_BYTES} bytes"
            )));
        }
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("tojson", tojson);
        env.add_template_owned(TEMPLATE_NAME, body.to_string())
            .map_err(|e| refuse(format!("does not parse: {}", describe(&e))))?;
        Ok(Template {
            kind: Kind::Body(Box::new(env)),
            content_type,
        })
    }

    /// A preset by its API name, `slack` or `discord`.
    pub fn preset(name: &str) -> Result<Template, TemplateError> {
        let preset = match name {
            "slack" => Preset::Slack,
            "discord" => Preset::Discord,
            _ => {
                return Err(TemplateError {
                    field: "template.preset",
                    message: "must be \"slack\" or \"discord\"".into(),
                });
            }
        };
        Ok(Template::of_preset(preset))
    }

    /// The template of a preset already chosen.
    pub fn of_preset(preset: Preset) -> Template {
        Template {
            kind: Kind::Preset(preset),
            content_type: DEFAULT_CONTENT_TYPE.into(),
        }
    }

    /// The content type the rendered body is sent with.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The preset, when this is one.
    pub fn as_preset(&self) -> Option<Preset> {
        match self.kind {
            Kind::Preset(preset) => Some(preset),
            Kind::Body(_) => None,
        }
    }

    /// Renders the body for one event, at most `max_bytes` long. An error is the attempt's
    /// `template_error` (not retried: the same event renders the same way); its message is
    /// short and names no secret.
    pub fn render(&self, event: &EventView<'_>, max_bytes: usize) -> Result<RenderedBody, String> {
        let text = std::str::from_utf8(event.data)
            .map_err(|_| "the event data is not UTF-8".to_string())?;
        let data = json::parse(text).map_err(|e| format!("the event data is not JSON: {e}"))?;
        let bytes = match &self.kind {
            Kind::Preset(preset) => render_preset(*preset, event, &data),
            Kind::Body(env) => render_body(env, event, &data, max_bytes)?,
        };
        if bytes.len() > max_bytes {
            return Err(format!("the rendered body exceeds {max_bytes} bytes"));
        }
        if is_json(&self.content_type)
            && let Err(e) = serde_json::from_slice::<&RawValue>(&bytes)
        {
            return Err(format!("the rendered body is not valid JSON: {e}"));
        }
        Ok(RenderedBody {
            bytes,
            content_type: self.content_type.clone(),
        })
    }
}

/// Checks a template's content type: a plain header value of the form `type/subtype`.
fn check_content_type(content_type: &str) -> Result<String, TemplateError> {
    let refuse = |message: &str| TemplateError {
        field: "template.contentType",
        message: message.into(),
    };
    let trimmed = content_type.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_CONTENT_TYPE_LEN {
        return Err(refuse("must be a media type of at most 200 characters"));
    }
    if !trimmed.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(refuse("must be printable ASCII"));
    }
    let essence = trimmed.split(';').next().unwrap_or("").trim();
    match essence.split_once('/') {
        Some((kind, sub)) if !kind.is_empty() && !sub.is_empty() && !essence.contains(' ') => {
            Ok(trimmed.to_string())
        }
        _ => Err(refuse("must be a media type such as application/json")),
    }
}

/// Whether a content type promises JSON: `application/json` or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// A minijinja error as one line: what, and the template line when known.
fn describe(error: &minijinja::Error) -> String {
    let what = error
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| error.kind().to_string());
    match error.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}

/// An `io::Write` that refuses to grow past its limit, so rendering stops there.
struct BoundedWriter {
    out: Vec<u8>,
    limit: usize,
    overflowed: Arc<AtomicBool>,
}

impl io::Write for BoundedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() + buf.len() > self.limit {
            self.overflowed.store(true, Ordering::Relaxed);
            return Err(io::Error::other("output limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render_body(
    env: &Environment<'static>,
    event: &EventView<'_>,
    data: &Json,
    max_bytes: usize,
) -> Result<Vec<u8>, String> {
    let template = env
        .get_template(TEMPLATE_NAME)
        .map_err(|e| format!("rendering failed: {}", describe(&e)))?;
    let mut event_map = IndexMap::new();
    event_map.insert(Value::from("id"), Value::from(event.id));
    event_map.insert(Value::from("type"), Value::from(event.event_type));
    event_map.insert(Value::from("timestamp"), Value::from(event.timestamp));
    event_map.insert(Value::from("account"), Value::from(event.account));
    let mut root = IndexMap::new();
    root.insert(Value::from("event"), Value::from(event_map));
    root.insert(Value::from("data"), to_value(data));
    let overflowed = Arc::new(AtomicBool::new(false));
    let mut writer = BoundedWriter {
        out: Vec::new(),
        limit: max_bytes,
        overflowed: overflowed.clone(),
    };
    let previous_limit = RENDER_LIMIT.with(|limit| limit.replace(max_bytes));
    let rendered = template.render_captured_to(Value::from(root), &mut writer);
    RENDER_LIMIT.with(|limit| limit.set(previous_limit));
    match rendered {
        Ok(_) => Ok(writer.out),
        Err(_) if overflowed.load(Ordering::Relaxed) => {
            Err(format!("the rendered body exceeds {max_bytes} bytes"))
        }
        Err(e) if e.kind() == ErrorKind::OutOfFuel => {
            Err("rendering took too long (the template ran out of fuel)".into())
        }
        Err(e) => Err(format!("rendering failed: {}", describe(&e))),
    }
}

/// The `tojson` filter: `value|tojson` or `value|tojson(indent=N)` (also `tojson(N)`,
/// `tojson(true)` for 2). Writes at most the render's byte limit, then fails.
fn tojson(
    state: &State,
    value: &Value,
    indent: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, minijinja::Error> {
    let indent = match indent {
        Some(indent) => Some(indent),
        None => kwargs.get::<Option<Value>>("indent")?,
    };
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(value) => match bool::try_from(value.clone()) {
            Ok(true) => Some(2),
            Ok(false) => None,
            Err(_) => Some(usize::try_from(value)?),
        },
    };
    if indent.is_some_and(|n| n > MAX_TOJSON_INDENT) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson indent must be at most {MAX_TOJSON_INDENT}"),
        ));
    }
    let limit = RENDER_LIMIT.with(Cell::get);
    let overflowed = Arc::new(AtomicBool::new(false));
    let mut writer = BoundedWriter {
        out: Vec::new(),
        limit,
        overflowed: overflowed.clone(),
    };
    let written = match indent {
        None => {
            let mut serializer = serde_json::Serializer::with_formatter(&mut writer, Spaced);
            serde::Serialize::serialize(value, &mut serializer)
        }
        Some(width) => {
            let spaces = " ".repeat(width);
            let formatter = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
            let mut serializer = serde_json::Serializer::with_formatter(&mut writer, formatter);
            serde::Serialize::serialize(value, &mut serializer)
        }
    };
    if let Err(e) = written {
        let why = if overflowed.load(Ordering::Relaxed) {
            format!("tojson output exceeds {limit} bytes")
        } else {
            format!("cannot serialize to JSON: {e}")
        };
        return Err(minijinja::Error::new(ErrorKind::InvalidOperation, why));
    }
    // What was made is charged like any string a filter makes (about a fuel per 64 bytes).
    state.consume_fuel(writer.out.len() as u64 / 64)?;
    let text = String::from_utf8(writer.out).map_err(|_| {
        minijinja::Error::new(ErrorKind::InvalidOperation, "tojson made invalid UTF-8")
    })?;
    Ok(Value::from_safe_string(text))
}

/// serde_json's compact output with Jinja's separators: `, ` and `: `.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Event data as a template value.
fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Int(i) => {
            // The smallest representation, so values compare and print as plain integers.
            if let Ok(small) = i64::try_from(*i) {
                Value::from(small)
            } else {
                Value::from(*i)
            }
        }
        Json::Float(f) => Value::from(*f),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(members) => {
            let map: IndexMap<Value, Value> = members
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v)))
                .collect();
            Value::from(map)
        }
    }
}

/// `{"text": "…"}` / `{"content": "…"}` with the event and its data, within the limit.
fn render_preset(preset: Preset, event: &EventView<'_>, data: &Json) -> Vec<u8> {
    let header = format!(
        "Event `{}` for account `{}`\n```\n",
        event.event_type, event.account
    );
    let footer = "\n```";
    let mut pretty = String::new();
    write_pretty(&mut pretty, data, 0);
    let text = fit_text(&header, &pretty, footer, preset.limit());
    let mut body = serde_json::Map::new();
    body.insert(preset.member().into(), serde_json::Value::String(text));
    // A map of one string always serialises.
    serde_json::to_vec(&serde_json::Value::Object(body)).unwrap_or_default()
}

/// `header + content + footer`, with the content cut (and marked) so the whole is at most
/// `limit` characters.
fn fit_text(header: &str, content: &str, footer: &str, limit: usize) -> String {
    let fixed = header.chars().count() + footer.chars().count();
    let content_chars = content.chars().count();
    let text = if fixed + content_chars <= limit {
        format!("{header}{content}{footer}")
    } else {
        let room = limit.saturating_sub(fixed + TRUNCATED.chars().count());
        let cut: String = content.chars().take(room).collect();
        format!("{header}{cut}{TRUNCATED}{footer}")
    };
    // Only a header longer than the limit gets here: cut the whole text.
    if text.chars().count() > limit {
        text.chars().take(limit).collect()
    } else {
        text
    }
}

/// Pretty JSON (two-space indent, like `serde_json::to_string_pretty`), integers exact.
fn write_pretty(out: &mut String, json: &Json, indent: usize) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => out.push_str(&i.to_string()),
        Json::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(number) => out.push_str(&number.to_string()),
            None => out.push_str("null"),
        },
        Json::String(s) => push_json_string(out, s),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                out.push_str(if n == 0 { "\n" } else { ",\n" });
                push_indent(out, indent + 1);
                write_pretty(out, item, indent + 1);
            }
            out.push('\n');
            push_indent(out, indent);
            out.push(']');
        }
        Json::Object(members) if members.is_empty() => out.push_str("{}"),
        Json::Object(members) => {
            out.push('{');
            for (n, (key, value)) in members.iter().enumerate() {
                out.push_str(if n == 0 { "\n" } else { ",\n" });
                push_indent(out, indent + 1);
                push_json_string(out, key);
                out.push_str(": ");
                write_pretty(out, value, indent + 1);
            }
            out.push('\n');
            push_indent(out, indent);
            out.push('}');
        }
    }
}

fn push_indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1024 * 1024;

    fn event(data: &str) -> EventView<'_> {
        EventView {
            id: "evt_1",
            event_type: "booking.created",
            timestamp: "2026-01-02T03:04:05.678Z",
            account: "acc_1",
            data: data.as_bytes(),
        }
    }

    fn render(body: &str, data: &str) -> Result<String, String> {
        let template = Template::parse(body, None).unwrap();
        template
            .render(&event(data), MAX)
            .map(|r| String::from_utf8(r.bytes).unwrap())
    }

    #[test]
    fn renders_exact_bytes() {
        let body = r#"{"id": {{ event.id | tojson }}, "type": "{{ event.type }}", "at": "{{ event.timestamp }}", "acc": "{{ event.account }}", "name": {{ data.name | tojson }}, "n": {{ data.n }}}"#;
        assert_eq!(
            render(body, r#"{"name": "Ann \"A\" <b>", "n": 3}"#).unwrap(),
            r#"{"id": "evt_1", "type": "booking.created", "at": "2026-01-02T03:04:05.678Z", "acc": "acc_1", "name": "Ann \"A\" <b>", "n": 3}"#
        );
        let rendered = Template::parse("{{ data | tojson }}", None)
            .unwrap()
            .render(&event(r#"{"b": [1, 2.5, null, true], "a": {}}"#), MAX)
            .unwrap();
        assert_eq!(rendered.bytes, br#"{"b": [1, 2.5, null, true], "a": {}}"#);
        assert_eq!(rendered.content_type, "application/json");
    }

    #[test]
    fn big_numbers_survive_tojson() {
        assert_eq!(
            render(
                "[{{ data.big | tojson }}, {{ data.neg }}, {{ data.inf | tojson }}, {{ data.f }}]",
                r#"{"big": 123456789012345678901234567890, "neg": -9223372036854775809, "inf": 1e400, "f": 0.1}"#
            )
            .unwrap(),
            "[123456789012345678901234567890, -9223372036854775809, null, 0.1]"
        );
    }

    #[test]
    fn loops_and_conditions() {
        let body = r#"[{% for item in data.items %}{% if not loop.first %},{% endif %}{{ item.sku | tojson }}{% endfor %}]{% if data.missing %}x{% endif %}"#;
        assert_eq!(
            render(body, r#"{"items": [{"sku": "a"}, {"sku": "b"}]}"#).unwrap(),
            r#"["a","b"]"#
        );
    }

    #[test]
    fn invalid_json_output_is_an_error_unless_the_type_is_not_json() {
        let error = render(r#"{"name": {{ data.name }}}"#, r#"{"name": "Ann"}"#).unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
        let text = Template::parse("Hello {{ data.name }}", Some("text/plain; charset=utf-8"))
            .unwrap()
            .render(&event(r#"{"name": "Ann"}"#), MAX)
            .unwrap();
        assert_eq!(text.bytes, b"Hello Ann");
        assert_eq!(text.content_type, "text/plain; charset=utf-8");
        let error = Template::parse("nope", Some("application/cloudevents+json"))
            .unwrap()
            .render(&event("{}"), MAX)
            .unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
    }

    #[test]
    fn undefined_values_are_errors_when_printed() {
        let error = render("{{ data.missing }}", "{}").unwrap_err();
        assert!(error.starts_with("rendering failed"), "{error}");
        let error = render("{{ data.a.b }}", r#"{"a": 1}"#).unwrap_err();
        assert!(error.starts_with("rendering failed"), "{error}");
        assert!(render("{{ data | nosuchfilter }}", "{}").is_err());
    }

    #[test]
    fn parse_errors_name_what_and_where() {
        let error = Template::parse("{\n\"a\": {{ data.x \n}", None).unwrap_err();
        assert_eq!(error.field, "template.body");
        assert!(error.message.starts_with("does not parse:"), "{error}");
        assert!(error.message.contains("line"), "{error}");
        let error = Template::parse("{% for x in data %}", None).unwrap_err();
        assert!(error.message.contains("does not parse"), "{error}");
        for sandboxed in [
            r#"{% include "/etc/passwd" %}"#,
            r#"{% extends "base" %}"#,
            r#"{% import "x" as y %}"#,
            "{% macro m() %}{% endmacro %}",
        ] {
            assert!(Template::parse(sandboxed, None).is_err(), "{sandboxed}");
        }
        let error = Template::parse("{}", Some("json")).unwrap_err();
        assert_eq!(error.field, "template.contentType");
        assert!(Template::parse("{}", Some("text/plain\r\nx: y")).is_err());
        assert!(Template::parse(&"x".repeat(MAX_TEMPLATE_BYTES + 1), None).is_err());
        let error = Template::preset("teams").unwrap_err();
        assert_eq!(error.field, "template.preset");
    }

    #[test]
    fn output_is_bounded() {
        let template = Template::parse(
            r#"{"a": "{% for i in range(1000) %}{{ data.s }}{% endfor %}"}"#,
            None,
        )
        .unwrap();
        let data = format!(r#"{{"s": "{}"}}"#, "x".repeat(100));
        let error = template.render(&event(&data), 10_000).unwrap_err();
        assert!(error.contains("exceeds 10000 bytes"), "{error}");
        assert!(template.render(&event(&data), 200_000).is_ok());
    }

    #[test]
    fn tojson_is_bounded_and_indents_like_jinja() {
        assert_eq!(
            render(
                "{{ data | tojson(indent=2) }}",
                r#"{"a": [1, {"b": null}], "c": {}}"#
            )
            .unwrap(),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}"
        );
        assert_eq!(
            render("{{ data | tojson(true) }}", "[1]").unwrap(),
            "[\n  1\n]"
        );
        assert_eq!(
            render("{{ [data.x, 'é\"'] | tojson }}", r#"{"x": -1.5}"#).unwrap(),
            r#"[-1.5, "é\""]"#
        );
        let error = render("{{ data | tojson(indent=26636666) }}", "[1]").unwrap_err();
        assert!(error.contains("at most 16"), "{error}");
        assert!(render("{{ data | tojson(width=2) }}", "[1]").is_err());
        // A value whose JSON is larger than the body may be fails before it is built whole.
        let template = Template::parse("{{ data | tojson }}", None).unwrap();
        let data = format!(r#""{}""#, "x".repeat(5000));
        let error = template.render(&event(&data), 1000).unwrap_err();
        assert!(error.contains("exceeds 1000 bytes"), "{error}");
    }

    #[test]
    fn endless_work_runs_out_of_fuel() {
        let template = Template::parse(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            Some("text/plain"),
        )
        .unwrap();
        let error = template.render(&event("{}"), MAX).unwrap_err();
        assert!(error.contains("fuel"), "{error}");
        let template = Template::parse("{{ 'x' * 100000000 }}", Some("text/plain")).unwrap();
        assert!(template.render(&event("{}"), usize::MAX).is_err());
    }

    #[test]
    fn bad_event_data_is_an_error() {
        let template = Template::parse("{}", None).unwrap();
        let mut view = event("{");
        assert!(
            template
                .render(&view, MAX)
                .unwrap_err()
                .contains("not JSON")
        );
        view.data = b"\xff";
        assert!(template.render(&view, MAX).unwrap_err().contains("UTF-8"));
    }

    fn preset_text(preset: &str, data: &str) -> String {
        let rendered = Template::preset(preset)
            .unwrap()
            .render(&event(data), MAX)
            .unwrap();
        assert_eq!(rendered.content_type, "application/json");
        let value: serde_json::Value = serde_json::from_slice(&rendered.bytes).unwrap();
        let member = if preset == "slack" { "text" } else { "content" };
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 1);
        object[member].as_str().unwrap().to_string()
    }

    #[test]
    fn presets_show_type_account_and_pretty_data() {
        let text = preset_text(
            "slack",
            r#"{"id": 7, "tags": ["a"], "big": 18446744073709551616}"#,
        );
        assert_eq!(
            text,
            "Event `booking.created` for account `acc_1`\n```\n{\n  \"id\": 7,\n  \"tags\": [\n    \"a\"\n  ],\n  \"big\": 18446744073709551616\n}\n```"
        );
        let rendered = Template::preset("discord")
            .unwrap()
            .render(&event("[]"), MAX)
            .unwrap();
        assert_eq!(
            rendered.bytes,
            br#"{"content":"Event `booking.created` for account `acc_1`\n```\n[]\n```"}"#
        );
    }

    #[test]
    fn presets_cut_long_data_counting_characters() {
        // Multi-byte data: 3,000 characters are far more than 3,000 bytes.
        let data = format!(r#"{{"note": "{}"}}"#, "é😀".repeat(5000));
        for (preset, limit) in [
            ("slack", SLACK_TEXT_LIMIT),
            ("discord", DISCORD_CONTENT_LIMIT),
        ] {
            let text = preset_text(preset, &data);
            assert_eq!(text.chars().count(), limit, "{preset}");
            assert!(text.ends_with("\n… (truncated)\n```"), "{preset}");
            assert!(text.starts_with("Event `booking.created` for account `acc_1`\n```\n{"));
        }
        // Exactly at the limit: not cut.
        let header = "Event `booking.created` for account `acc_1`\n```\n";
        let room = DISCORD_CONTENT_LIMIT - header.chars().count() - 4 - 2;
        let data = format!("\"{}\"", "é".repeat(room));
        let text = preset_text("discord", &data);
        assert_eq!(text.chars().count(), DISCORD_CONTENT_LIMIT);
        assert!(!text.contains("truncated"));
        let data = format!("\"{}\"", "é".repeat(room + 1));
        let text = preset_text("discord", &data);
        assert_eq!(text.chars().count(), DISCORD_CONTENT_LIMIT);
        assert!(text.contains("… (truncated)"));
    }

    #[test]
    fn fit_text_handles_a_header_over_the_limit() {
        assert_eq!(fit_text("abcdef", "xyz", "!", 4), "abcd");
        assert_eq!(fit_text("ab", "xyz", "!", 6), "abxyz!");
    }

    #[test]
    fn templates_are_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Template>();
    }
}
