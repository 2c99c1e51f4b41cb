//! `GET` and `POST /activate/{linkToken}`: the one-click reactivation page.
//!
//! GET only shows; the page's two forms POST `replayEvents=true|false` to the same URL. Text
//! from the store is always HTML-escaped.

use bytes::Bytes;
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header::{CONTENT_SECURITY_POLICY, HeaderValue};
use hyper::http::request::Parts;

use super::App;
use super::request::{query_pairs, read_body};
use super::respond::{self, Response};
use crate::error::Error;
use crate::store::LinkTarget;
use crate::time::{format_rfc3339, now_millis};

/// The page needs no script and only its own inline style.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;\
padding:0 1rem;color:#222}dt{font-weight:600;margin-top:.6rem}dd{margin:0;word-break:break-all}\
form{display:inline-block;margin:1.2rem .6rem 0 0}button{font-size:1rem;padding:.6rem 1rem;\
cursor:pointer}h1{font-size:1.5rem}";

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} – hookd</title><style>{STYLE}</style></head><body><main><h1>{}</h1>{body}</main></body></html>",
        escape_html(title),
        escape_html(title)
    );
    let mut response = respond::with_type(status, "text/html; charset=utf-8", Bytes::from(html));
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

fn unknown() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<p>This reactivation link is not valid: it may have been altered, or its webhook was deleted.</p>",
    )
}

fn gone() -> Response {
    page(
        StatusCode::GONE,
        "Link no longer valid",
        "<p>This reactivation link has already been used, the webhook was reactivated another \
         way, or the link expired with the end of its buffer window.</p>",
    )
}

/// `GET /activate/{linkToken}`: shows the webhook and the two choices; changes nothing.
pub async fn show(app: &App, token: &str) -> Result<Response, Error> {
    let (webhook, buffered) = match app.store.link_target(token, now_millis()).await? {
        LinkTarget::Valid {
            webhook, buffered, ..
        } => (webhook, buffered),
        LinkTarget::Unknown => return Ok(unknown()),
        LinkTarget::Gone => return Ok(gone()),
    };
    let s = &webhook.settings;
    let body = format!(
        "<dl><dt>Name</dt><dd>{}</dd><dt>URL</dt><dd>{}</dd><dt>Deactivated</dt><dd>{}</dd>\
         <dt>Reason</dt><dd>{}</dd><dt>Buffered events</dt><dd>{buffered}</dd></dl>\
         <form method=\"post\"><input type=\"hidden\" name=\"replayEvents\" value=\"true\">\
         <button type=\"submit\">Reactivate and deliver the {buffered} buffered events</button></form>\
         <form method=\"post\"><input type=\"hidden\" name=\"replayEvents\" value=\"false\">\
         <button type=\"submit\">Reactivate without them</button></form>",
        escape_html(&s.name),
        escape_html(&s.event_url),
        webhook.deactivated.map(format_rfc3339).unwrap_or_default(),
        escape_html(webhook.deactivation_reason.as_deref().unwrap_or("")),
    );
    Ok(page(StatusCode::OK, "Reactivate webhook", &body))
}

/// `POST /activate/{linkToken}` with `replayEvents=true|false`: reactivates once.
pub async fn submit(
    app: &App,
    token: &str,
    parts: &Parts,
    body: Incoming,
) -> Result<Response, Error> {
    let bytes = read_body(body, parts, 4096, app.config.limits.header_read_timeout).await?;
    let form = std::str::from_utf8(&bytes)
        .map_err(|_| Error::BadRequest("the form is not UTF-8".into()))?;
    let replay = match query_pairs(Some(form))?
        .iter()
        .rev()
        .find(|(k, _)| k == "replayEvents")
        .map(|(_, v)| v.as_str())
    {
        Some("true" | "1") => true,
        Some("false" | "0") | None => false,
        Some(_) => return Err(Error::field("replayEvents", "must be true or false")),
    };
    let (webhook, deactivated) = match app.store.link_target(token, now_millis()).await? {
        LinkTarget::Valid {
            webhook,
            deactivated,
            ..
        } => (webhook, deactivated),
        LinkTarget::Unknown => return Ok(unknown()),
        LinkTarget::Gone => return Ok(gone()),
    };
    let activation = match app
        .store
        .activate(
            webhook.account_id.clone(),
            webhook.id.clone(),
            replay,
            now_millis(),
            app.config.retention.buffer.as_millis() as i64,
            Some(deactivated),
        )
        .await
    {
        Ok(activation) => activation,
        Err(Error::Conflict(_)) => return Ok(gone()),
        Err(Error::NotFound(_)) => return Ok(unknown()),
        Err(e) => return Err(e),
    };
    app.engine.wake(crate::ids::parse_id(&webhook.id));
    let text = if replay {
        format!(
            "<p>The webhook <strong>{}</strong> is active again. {} buffered events will be delivered, oldest first.</p>",
            escape_html(&webhook.settings.name),
            activation.replayed
        )
    } else {
        format!(
            "<p>The webhook <strong>{}</strong> is active again. {} buffered events were dropped.</p>",
            escape_html(&webhook.settings.name),
            activation.dropped
        )
    };
    Ok(page(StatusCode::OK, "Webhook reactivated", &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
