//! `GET /` and `/admin/{asset}`: the built-in admin page, embedded in the binary.
//!
//! The page is static; it talks to the API with the token the operator enters. Scripts, styles
//! and the language catalogs are served from hookd itself, so the Content-Security-Policy
//! allows nothing else.

use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, X_CONTENT_TYPE_OPTIONS};

use super::respond::{self, Response};
use crate::error::Error;
use crate::i18n::{self, Lang};

/// Scripts, styles and API calls from hookd itself only; no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const INDEX: &str = include_str!("../admin/index.html");
const APP_JS: &str = include_str!("../admin/app.js");
const STYLE_CSS: &str = include_str!("../admin/style.css");

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /`.
pub fn index() -> Response {
    secured(respond::with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        INDEX,
    ))
}

/// `GET /admin/{asset}`: the script, the styles, and one catalog per language
/// (`/admin/<code>.ftl`, the same files hookd formats its own texts with).
pub fn asset(name: &str) -> Result<Response, Error> {
    let catalog = name
        .strip_suffix(".ftl")
        .and_then(Lang::parse)
        .map(i18n::source);
    let (content_type, body) = match (name, catalog) {
        (_, Some(catalog)) => ("text/plain; charset=utf-8", catalog),
        ("app.js", _) => ("text/javascript; charset=utf-8", APP_JS),
        ("style.css", _) => ("text/css; charset=utf-8", STYLE_CSS),
        _ => return Err(Error::NotFound(format!("asset {name}"))),
    };
    Ok(secured(respond::with_type(
        StatusCode::OK,
        content_type,
        body,
    )))
}
