//! The HTTP API: routing, authentication, and the handlers of every route.
//!
//! Handlers validate input, check access and call the store; they never touch redb themselves
//! and never block the runtime.

mod accounts;
mod activation;
pub mod auth;
mod deliveries;
mod events;
pub mod input;
mod notifications;
pub mod request;
pub mod respond;
mod tokens;
mod webhooks;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::{Error, PROBLEM_TYPES};
use crate::store::Store;
use crate::target::TargetPolicy;
use auth::{Auth, Principal};
use request::Query;
pub use respond::Response;

/// Everything a request handler may use; one per server, shared by all connections.
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub auth: Auth,
    pub engine: crate::engine::Engine,
    /// Set once every background part has started; cleared when shutting down.
    pub ready: AtomicBool,
}

impl App {
    /// What `eventUrl`s may target, from the delivery settings.
    pub fn target_policy(&self) -> TargetPolicy {
        TargetPolicy {
            allow_http: self.config.delivery.allow_http,
            allow_private_targets: self.config.delivery.allow_private_targets,
        }
    }
}

/// One authenticated API call: the request's head, its unread body, and the caller.
pub struct Call {
    pub parts: Parts,
    body: Option<Incoming>,
    pub principal: Principal,
}

impl Call {
    /// Reads the body (bounded by `limits.max_body_bytes`) as a JSON object.
    /// With `optional`, an empty body reads as `{}`.
    pub async fn json_object(
        &mut self,
        app: &App,
        optional: bool,
    ) -> Result<Map<String, Value>, Error> {
        let body = self
            .body
            .take()
            .ok_or_else(|| Error::Internal("request body read twice".into()))?;
        let bytes = request::read_body(body, &self.parts, app.config.limits.max_body_bytes).await?;
        request::json_object(&self.parts, &bytes, optional)
    }

    /// Reads a JSON body of at most `limit` bytes without parsing it (for event ingest, which
    /// keeps `data` byte-for-byte).
    pub async fn raw_json_body(&mut self, limit: usize) -> Result<bytes::Bytes, Error> {
        let body = self
            .body
            .take()
            .ok_or_else(|| Error::Internal("request body read twice".into()))?;
        let bytes = request::read_body(body, &self.parts, limit).await?;
        request::require_json(&self.parts, &bytes)?;
        Ok(bytes)
    }

    /// The parsed query string.
    pub fn query(&self) -> Result<Query, Error> {
        Query::parse(self.parts.uri.query())
    }
}

/// The routes hookd serves, with their path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Healthz,
    Readyz,
    Problem(&'a str),
    ActivationLink(&'a str),
    Notifications,
    AccountNotifications(&'a str),
    WebhookActivate(&'a str, &'a str),
    Accounts,
    Account(&'a str),
    Tokens(&'a str),
    Token(&'a str, &'a str),
    Webhooks(&'a str),
    Webhook(&'a str, &'a str),
    WebhookSecret(&'a str, &'a str),
    WebhookRotateSecret(&'a str, &'a str),
    WebhookTest(&'a str, &'a str),
    WebhookDeliveries(&'a str, &'a str),
    Events(&'a str),
    EventsBatch(&'a str),
    Event(&'a str, &'a str),
    Deliveries(&'a str),
    Delivery(&'a str, &'a str),
    DeliveryRetry(&'a str, &'a str),
}

const GET: &[&str] = &["GET"];
const POST: &[&str] = &["POST"];
const GET_POST: &[&str] = &["GET", "POST"];
const GET_PUT_DELETE: &[&str] = &["GET", "PUT", "DELETE"];
const DELETE: &[&str] = &["DELETE"];

impl<'a> Route<'a> {
    fn resolve(path: &'a str) -> Option<Route<'a>> {
        let rest = path.strip_prefix('/')?;
        let segments: Vec<&str> = rest.split('/').collect();
        Some(match segments.as_slice() {
            ["healthz"] => Route::Healthz,
            ["readyz"] => Route::Readyz,
            ["problems", name] => Route::Problem(name),
            ["activate", token] => Route::ActivationLink(token),
            ["v1", "notifications"] => Route::Notifications,
            ["v1", "accounts", a, "notifications"] => Route::AccountNotifications(a),
            ["v1", "accounts", a, "webhooks", w, "activate"] => Route::WebhookActivate(a, w),
            ["v1", "accounts"] => Route::Accounts,
            ["v1", "accounts", a] => Route::Account(a),
            ["v1", "accounts", a, "tokens"] => Route::Tokens(a),
            ["v1", "accounts", a, "tokens", t] => Route::Token(a, t),
            ["v1", "accounts", a, "webhooks"] => Route::Webhooks(a),
            ["v1", "accounts", a, "webhooks", w] => Route::Webhook(a, w),
            ["v1", "accounts", a, "webhooks", w, "secret"] => Route::WebhookSecret(a, w),
            ["v1", "accounts", a, "webhooks", w, "rotate-secret"] => {
                Route::WebhookRotateSecret(a, w)
            }
            ["v1", "accounts", a, "webhooks", w, "test"] => Route::WebhookTest(a, w),
            ["v1", "accounts", a, "webhooks", w, "deliveries"] => Route::WebhookDeliveries(a, w),
            ["v1", "accounts", a, "events"] => Route::Events(a),
            ["v1", "accounts", a, "events", "batch"] => Route::EventsBatch(a),
            ["v1", "accounts", a, "events", e] => Route::Event(a, e),
            ["v1", "accounts", a, "deliveries"] => Route::Deliveries(a),
            ["v1", "accounts", a, "deliveries", d] => Route::Delivery(a, d),
            ["v1", "accounts", a, "deliveries", d, "retry"] => Route::DeliveryRetry(a, d),
            _ => return None,
        })
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Healthz | Route::Readyz | Route::Problem(_) => GET,
            Route::ActivationLink(_) => GET_POST,
            Route::Notifications | Route::AccountNotifications(_) => GET,
            Route::WebhookActivate(..) => POST,
            Route::Accounts | Route::Tokens(_) | Route::Webhooks(_) | Route::Events(_) => GET_POST,
            Route::Account(_) | Route::Webhook(..) => GET_PUT_DELETE,
            Route::Token(..) => DELETE,
            Route::WebhookSecret(..)
            | Route::WebhookDeliveries(..)
            | Route::Event(..)
            | Route::Deliveries(_)
            | Route::Delivery(..) => GET,
            Route::WebhookRotateSecret(..)
            | Route::WebhookTest(..)
            | Route::EventsBatch(_)
            | Route::DeliveryRetry(..) => POST,
        }
    }
}

/// Answers one request. Never fails: every error becomes a problem response here.
pub async fn handle(app: Arc<App>, peer: IpAddr, req: Request<Incoming>) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = match dispatch(&app, peer, req).await {
        Ok(response) => response,
        Err(error) => respond::problem(&error, &path),
    };
    tracing::debug!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn dispatch(app: &App, peer: IpAddr, req: Request<Incoming>) -> Result<Response, Error> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let route = Route::resolve(&path).ok_or_else(|| Error::NotFound("route".into()))?;
    let allowed = route.methods();
    if !allowed.contains(&parts.method.as_str()) {
        return Err(Error::MethodNotAllowed(allowed));
    }
    match route {
        Route::Healthz => {
            return Ok(respond::json(
                StatusCode::OK,
                &serde_json::json!({"status": "ok"}),
            ));
        }
        Route::Readyz => return Ok(readiness(app).await),
        Route::Problem(name) => return problem_page(name),
        Route::ActivationLink(token) => {
            return if parts.method == Method::GET {
                activation::show(app, token).await
            } else {
                activation::submit(app, token, &parts, body).await
            };
        }
        _ => {}
    }
    let principal = app.auth.authenticate(&app.store, &parts.headers, peer)?;
    let mut call = Call {
        parts,
        body: Some(body),
        principal,
    };
    let method = call.parts.method.clone();
    match (route, method) {
        (Route::Accounts, Method::POST) => accounts::create(app, &mut call).await,
        (Route::Accounts, _) => accounts::list(app, &call),
        (Route::Account(a), Method::GET) => accounts::get(app, &call, a),
        (Route::Account(a), Method::PUT) => accounts::update(app, &mut call, a).await,
        (Route::Account(a), _) => accounts::delete(app, &call, a).await,
        (Route::Tokens(a), Method::POST) => tokens::create(app, &mut call, a).await,
        (Route::Tokens(a), _) => tokens::list(app, &call, a),
        (Route::Token(a, t), _) => tokens::delete(app, &call, a, t).await,
        (Route::Webhooks(a), Method::POST) => webhooks::create(app, &mut call, a).await,
        (Route::Webhooks(a), _) => webhooks::list(app, &call, a),
        (Route::Webhook(a, w), Method::GET) => webhooks::get(app, &call, a, w),
        (Route::Webhook(a, w), Method::PUT) => webhooks::update(app, &mut call, a, w).await,
        (Route::Webhook(a, w), _) => webhooks::delete(app, &call, a, w).await,
        (Route::WebhookSecret(a, w), _) => webhooks::secret(app, &call, a, w),
        (Route::WebhookRotateSecret(a, w), _) => {
            webhooks::rotate_secret(app, &mut call, a, w).await
        }
        (Route::WebhookTest(a, w), _) => deliveries::test(app, &call, a, w).await,
        (Route::WebhookDeliveries(a, w), _) => deliveries::list_for_webhook(app, &call, a, w).await,
        (Route::Events(a), Method::POST) => events::ingest(app, &mut call, a).await,
        (Route::Events(a), _) => events::list(app, &call, a).await,
        (Route::EventsBatch(a), _) => events::ingest_batch(app, &mut call, a).await,
        (Route::Event(a, e), _) => events::get(app, &call, a, e).await,
        (Route::Deliveries(a), _) => deliveries::list(app, &call, a).await,
        (Route::Delivery(a, d), _) => deliveries::get(app, &call, a, d).await,
        (Route::DeliveryRetry(a, d), _) => deliveries::retry(app, &call, a, d).await,
        (Route::Notifications, _) => notifications::list_all(app, &call).await,
        (Route::AccountNotifications(a), _) => {
            notifications::list_for_account(app, &call, a).await
        }
        (Route::WebhookActivate(a, w), _) => webhooks::activate(app, &mut call, a, w).await,
        (Route::Healthz | Route::Readyz | Route::Problem(_) | Route::ActivationLink(_), _) => Err(Error::Internal(
            "unauthenticated route reached the API".into(),
        )),
    }
}

async fn readiness(app: &App) -> Response {
    let ready = app.ready.load(Ordering::Acquire)
        && app.engine.is_running()
        && app.store.is_healthy().await;
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    respond::json(status, &serde_json::json!({"status": word}))
}

fn problem_page(name: &str) -> Result<Response, Error> {
    let (_, title, text) = PROBLEM_TYPES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| Error::NotFound(format!("problem type {name}")))?;
    Ok(respond::with_type(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        format!("{title}\n\n{text}\n"),
    ))
}

/// A list response: `{"items": [...], "nextCursor": ...}`.
pub fn list_response<T: serde::Serialize>(items: Vec<T>, next_cursor: Option<String>) -> Response {
    respond::json(
        StatusCode::OK,
        &serde_json::json!({"items": items, "nextCursor": next_cursor}),
    )
}
