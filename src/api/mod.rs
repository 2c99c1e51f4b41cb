//! The HTTP API: routing, authentication, and the handlers of every route.
//!
//! Handlers validate input, check access and call the store; they never touch redb themselves
//! and never block the runtime.

mod accounts;
mod activation;
mod admin_page;
pub mod auth;
mod backup;
mod deliveries;
pub mod events;
pub mod input;
pub mod json;
mod notifications;
pub mod openapi;
mod portal;
mod receiver_fields;
mod replay;
pub mod request;
pub mod respond;
pub mod routes;
mod stats;
mod tokens;
pub mod views;
mod webhooks;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};

use crate::config::Config;
use crate::error::{Error, PROBLEM_TYPES};
use crate::ids::WebhookId;
use crate::store::Store;
use crate::target::TargetPolicy;
use auth::{Auth, Principal};
use request::Query;
pub use respond::Response;
use routes::RouteId;

/// Everything a request handler may use; one per server, shared by all connections.
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub auth: Auth,
    pub engine: crate::engine::Engine,
    pub metrics: Arc<crate::metrics::Metrics>,
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
    /// Reads the body (bounded by `limits.max_body_bytes`) for [`input::Fields`]. With
    /// `optional`, an empty body is allowed; any other must be declared JSON.
    pub async fn json_body(&mut self, app: &App, optional: bool) -> Result<bytes::Bytes, Error> {
        let body = self
            .body
            .take()
            .ok_or_else(|| Error::Internal("request body read twice".into()))?;
        let limits = &app.config.limits;
        let bytes = request::read_body(
            body,
            &self.parts,
            limits.max_body_bytes,
            limits.header_read_timeout,
        )
        .await?;
        if !(optional && bytes.iter().all(u8::is_ascii_whitespace)) {
            request::require_json(&self.parts, &bytes)?;
        }
        Ok(bytes)
    }

    /// Reads a JSON body of at most `limit` bytes without parsing it (for event ingest, which
    /// keeps `data` byte-for-byte).
    pub async fn raw_json_body(&mut self, app: &App, limit: usize) -> Result<bytes::Bytes, Error> {
        let body = self
            .body
            .take()
            .ok_or_else(|| Error::Internal("request body read twice".into()))?;
        let deadline = app.config.limits.header_read_timeout;
        let bytes = request::read_body(body, &self.parts, limit, deadline).await?;
        request::require_json(&self.parts, &bytes)?;
        Ok(bytes)
    }

    /// The parsed query string.
    pub fn query(&self) -> Result<Query, Error> {
        Query::parse(self.parts.uri.query())
    }
}

/// Answers one request. Never fails: every error becomes a problem response here.
pub async fn handle(app: Arc<App>, peer: IpAddr, req: Request<Incoming>) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let matched = routes::resolve(&path);
    let route = matched.as_ref().map_or("unmatched", |m| m.template);
    let response = match dispatch(&app, peer, req, matched).await {
        Ok(response) => response,
        Err(error) => respond::problem(&error, &path),
    };
    let method_name = match method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    };
    app.metrics
        .http_request(route, method_name, response.status().as_u16());
    tracing::debug!(
        method = %method,
        route = route,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

async fn dispatch(
    app: &App,
    peer: IpAddr,
    req: Request<Incoming>,
    route: Option<routes::Matched<'_>>,
) -> Result<Response, Error> {
    let (parts, body) = req.into_parts();
    let route = route.ok_or_else(|| Error::NotFound("route".into()))?;
    if !route.methods.contains(&parts.method.as_str()) {
        return Err(Error::MethodNotAllowed(route.methods));
    }
    let (p0, p1) = (route.param(0), route.param(1));
    match route.id {
        RouteId::Healthz => {
            return Ok(respond::json(
                StatusCode::OK,
                &serde_json::json!({"status": "ok"}),
            ));
        }
        RouteId::Readyz => return Ok(readiness(app).await),
        RouteId::Problem => return problem_page(p0),
        RouteId::ActivationLink => {
            return if parts.method == Method::GET {
                activation::show(app, p0, &parts).await
            } else {
                activation::submit(app, p0, &parts, body).await
            };
        }
        RouteId::PortalPage => {
            return if parts.method == Method::GET {
                Ok(portal::show(app, p0, &parts))
            } else {
                portal::session(app, p0)
            };
        }
        RouteId::AdminPage => return Ok(admin_page::index()),
        RouteId::AdminAsset => return admin_page::asset(p0),
        RouteId::OpenApi => return Ok(openapi::document()),
        RouteId::Metrics => {
            if !app.config.metrics.public {
                app.auth
                    .authenticate(&app.store, &parts.headers, peer)?
                    .require_admin()?;
            }
            return metrics(app).await;
        }
        _ => {}
    }
    let principal = app.auth.authenticate(&app.store, &parts.headers, peer)?;
    portal::check_access(&principal, route.id, parts.method.as_str())?;
    let mut call = Call {
        parts,
        body: Some(body),
        principal,
    };
    let post = call.parts.method == Method::POST;
    let get = call.parts.method == Method::GET;
    let put = call.parts.method == Method::PUT;
    match route.id {
        RouteId::Accounts if post => accounts::create(app, &mut call).await,
        RouteId::Accounts => accounts::list(app, &call),
        RouteId::Account if get => accounts::get(app, &call, p0),
        RouteId::Account if put => accounts::update(app, &mut call, p0).await,
        RouteId::Account => accounts::delete(app, &call, p0).await,
        RouteId::AccountNotifications => notifications::list_for_account(app, &call, p0).await,
        RouteId::Tokens if post => tokens::create(app, &mut call, p0).await,
        RouteId::Tokens => tokens::list(app, &call, p0),
        RouteId::Token => tokens::delete(app, &call, p0, p1).await,
        RouteId::Webhooks if post => webhooks::create(app, &mut call, p0).await,
        RouteId::Webhooks => webhooks::list(app, &call, p0),
        RouteId::Webhook if get => webhooks::get(app, &call, p0, p1),
        RouteId::Webhook if put => webhooks::update(app, &mut call, p0, p1).await,
        RouteId::Webhook => webhooks::delete(app, &call, p0, p1).await,
        RouteId::WebhookSecret => webhooks::secret(app, &call, p0, p1),
        RouteId::WebhookRotateSecret => webhooks::rotate_secret(app, &mut call, p0, p1).await,
        RouteId::WebhookActivate => webhooks::activate(app, &mut call, p0, p1).await,
        RouteId::WebhookTest => deliveries::test(app, &call, p0, p1).await,
        RouteId::WebhookDeliveries => deliveries::list_for_webhook(app, &call, p0, p1).await,
        RouteId::WebhookReplay => replay::replay(app, &mut call, p0, p1).await,
        RouteId::WebhookStats => stats::stats(app, &call, p0, p1).await,
        RouteId::PortalLinks if post => portal::create(app, &mut call, p0).await,
        RouteId::PortalLinks => portal::list(app, &call, p0),
        RouteId::PortalLink => portal::revoke(app, &call, p0, p1).await,
        RouteId::Events if post => events::ingest(app, &mut call, p0).await,
        RouteId::Events => events::list(app, &call, p0).await,
        RouteId::EventsBatch => events::ingest_batch(app, &mut call, p0).await,
        RouteId::Event => events::get(app, &call, p0, p1).await,
        RouteId::Deliveries => deliveries::list(app, &call, p0).await,
        RouteId::Delivery => deliveries::get(app, &call, p0, p1).await,
        RouteId::DeliveryRetry => deliveries::retry(app, &call, p0, p1).await,
        RouteId::Notifications => notifications::list_all(app, &call).await,
        RouteId::Backup => backup::backup(app, &call).await,
        RouteId::Healthz
        | RouteId::Readyz
        | RouteId::Problem
        | RouteId::ActivationLink
        | RouteId::PortalPage
        | RouteId::AdminPage
        | RouteId::AdminAsset
        | RouteId::OpenApi
        | RouteId::Metrics => Err(Error::Internal(
            "unauthenticated route reached the API".into(),
        )),
    }
}

async fn metrics(app: &App) -> Result<Response, Error> {
    let mut gauges = app.store.gauges().await?;
    gauges.in_flight = app.engine.in_flight() as u64;
    Ok(respond::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        app.metrics.render(&gauges),
    ))
}

async fn readiness(app: &App) -> Response {
    if let Some(fault) = app.store.fault().or_else(|| app.store.unavailable()) {
        return respond::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "unavailable", "reason": &*fault}),
        );
    }
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

/// The webhook a path segment names; 404 for anything that is not a webhook id.
pub fn webhook_id(text: &str) -> Result<WebhookId, Error> {
    WebhookId::parse(text).ok_or_else(|| Error::NotFound(format!("webhook {text}")))
}

/// A list response: `{"items": [...], "nextCursor": ...}`, serialised straight to bytes (so raw
/// JSON items such as event data stay exactly as stored).
pub fn list_response<T: serde::Serialize>(items: Vec<T>, next_cursor: Option<String>) -> Response {
    #[derive(serde::Serialize)]
    struct ListPage<T> {
        items: Vec<T>,
        #[serde(rename = "nextCursor")]
        next_cursor: Option<String>,
    }
    respond::json(StatusCode::OK, &ListPage { items, next_cursor })
}
