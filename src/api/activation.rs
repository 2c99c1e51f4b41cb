//! `GET` and `POST /activate/{linkToken}`: the one-click reactivation page.
//!
//! GET only shows; the page's two forms POST `replayEvents=true|false` to the same URL. Text
//! from the store is always HTML-escaped. Every sentence, title and button comes from the
//! catalogs (`crate::i18n`) in the page's language (see [`page_language`]).

use bytes::Bytes;
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, HeaderValue};
use hyper::http::request::Parts;

use super::App;
use super::request::{query_pairs, read_body};
use super::respond::{self, Response};
use crate::error::Error;
use crate::i18n::{self, Lang};
use crate::links;
use crate::store::LinkTarget;
use crate::time::now_millis;

/// The page needs no script and only its own inline style.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;\
padding:0 1rem;color:#222}dt{font-weight:600;margin-top:.6rem}dd{margin:0;overflow-wrap:anywhere}\
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

/// The language of a link's page: `?lang=` when it is one of the five codes (any other value
/// is ignored), else the language of the webhook's account, else — for links that lead to no
/// account — the browser's `Accept-Language`, else English.
fn page_language(app: &App, token: &str, parts: &Parts) -> Lang {
    let asked = query_pairs(parts.uri.query())
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "lang"))
        .and_then(|(_, code)| Lang::parse(&code));
    let account = || {
        let claims = links::verify(app.store.signing_key(), token)?;
        let webhook = app.store.webhook_by_id(claims.webhook_id)?;
        Some(app.store.account(&webhook.account_id)?.language)
    };
    asked
        .or_else(account)
        .unwrap_or_else(|| browser_language(parts))
}

/// The language the browser prefers (`Accept-Language`), else English.
pub(super) fn browser_language(parts: &Parts) -> Lang {
    parts
        .headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map(i18n::negotiate)
        .unwrap_or_default()
}

/// A page of its own (no script) in `lang`: a title and `body` (already HTML).
pub(super) fn page(lang: Lang, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} – hookd</title><style>{STYLE}</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        code = lang.code(),
        title = escape_html(title),
    );
    let mut response = respond::with_type(status, "text/html; charset=utf-8", Bytes::from(html));
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// A paragraph of catalog text (escaped: the text may quote a webhook's name).
pub(super) fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape_html(text))
}

/// A form that POSTs `replayEvents` to the page's own URL (its `?lang=` included).
fn button(replay: bool, label: &str) -> String {
    format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"replayEvents\" value=\"{replay}\">\
         <button type=\"submit\">{}</button></form>",
        escape_html(label)
    )
}

fn unknown(lang: Lang) -> Response {
    page(
        lang,
        StatusCode::NOT_FOUND,
        &i18n::text(lang, "activation-invalid-title", &[]),
        &paragraph(&i18n::text(lang, "activation-invalid-text", &[])),
    )
}

fn gone(lang: Lang) -> Response {
    page(
        lang,
        StatusCode::GONE,
        &i18n::text(lang, "activation-gone-title", &[]),
        &paragraph(&i18n::text(lang, "activation-gone-text", &[])),
    )
}

/// `GET /activate/{linkToken}`: shows the webhook and the two choices; changes nothing.
pub async fn show(app: &App, token: &str, parts: &Parts) -> Result<Response, Error> {
    let lang = page_language(app, token, parts);
    let (webhook, buffered) = match app.store.link_target(token, now_millis()).await? {
        LinkTarget::Valid {
            webhook, buffered, ..
        } => (webhook, buffered),
        LinkTarget::Unknown => return Ok(unknown(lang)),
        LinkTarget::Gone => return Ok(gone(lang)),
    };
    let s = &webhook.settings;
    let t = |id: &str| escape_html(&i18n::text(lang, id, &[]));
    let count = || [("count", i18n::Arg::from(buffered))];
    let choices = if buffered == 0 {
        // Nothing is held back now, but events may arrive until the click: deliver them.
        button(true, &i18n::text(lang, "activation-reactivate", &[]))
    } else {
        button(true, &i18n::text(lang, "activation-replay", &count()))
            + &button(false, &i18n::text(lang, "activation-drop", &count()))
    };
    let body = format!(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{buffered}</dd></dl>{choices}",
        t("field-name"),
        escape_html(&s.name),
        t("field-url"),
        escape_html(&s.event_url),
        t("activation-deactivated"),
        webhook
            .deactivated
            .map(|at| escape_html(&i18n::long_date(lang, at)))
            .unwrap_or_default(),
        t("activation-reason"),
        escape_html(&i18n::deactivation_reason(
            lang,
            webhook.deactivation_reason.as_deref().unwrap_or("")
        )),
        t("activation-buffered"),
    );
    Ok(page(
        lang,
        StatusCode::OK,
        &i18n::text(lang, "activation-title", &[]),
        &body,
    ))
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
    let lang = page_language(app, token, parts);
    let (webhook, deactivated) = match app.store.link_target(token, now_millis()).await? {
        LinkTarget::Valid {
            webhook,
            deactivated,
            ..
        } => (webhook, deactivated),
        LinkTarget::Unknown => return Ok(unknown(lang)),
        LinkTarget::Gone => return Ok(gone(lang)),
    };
    let activation = match app
        .store
        .activate(
            webhook.account_id.clone(),
            webhook.id,
            replay,
            now_millis(),
            app.config.retention.buffer.as_millis() as i64,
            Some(deactivated),
        )
        .await
    {
        Ok(activation) => activation,
        Err(Error::Conflict(_)) => return Ok(gone(lang)),
        Err(Error::NotFound(_)) => return Ok(unknown(lang)),
        Err(e) => return Err(e),
    };
    app.engine.wake([webhook.id]);
    let (id, count) = if replay {
        ("activation-done-replayed", activation.replayed)
    } else {
        ("activation-done-dropped", activation.dropped)
    };
    let text = i18n::text(
        lang,
        id,
        &[
            ("count", count.into()),
            ("name", webhook.settings.name.as_str().into()),
        ],
    );
    Ok(page(
        lang,
        StatusCode::OK,
        &i18n::text(lang, "activation-done-title", &[]),
        &paragraph(&text),
    ))
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
