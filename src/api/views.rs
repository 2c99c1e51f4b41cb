//! The API's JSON shape of every resource, in one place: what `GET` returns and what a
//! create or an action answers. Records (src/model.rs, src/records.rs) are what the store keeps;
//! these views are built from them only at the edge, camelCase as docs/api.md shows them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::ids::{
    AccountId, DeliveryId, EventId, NotificationId, PortalLinkId, TokenId, WebhookId,
};
use crate::model::{Account, Auth, PortalLink, TemplateSpec, TokenRecord, Webhook};
use crate::records::{DeliveryRecord, NotificationRecord, Outcome};
use crate::store::Ingested;
use crate::store::stats::WindowStats;
use crate::time::format_rfc3339;

// Accounts and tokens --------------------------------------------------------------------------

/// The API shape of an account.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView<'a> {
    id: &'a AccountId,
    name: &'a str,
    language: &'static str,
    created_date: String,
    last_update: String,
}

impl<'a> From<&'a Account> for AccountView<'a> {
    fn from(a: &'a Account) -> Self {
        AccountView {
            id: &a.id,
            name: &a.name,
            language: a.language.code(),
            created_date: format_rfc3339(a.created),
            last_update: format_rfc3339(a.updated),
        }
    }
}

/// The API shape of a token in lists (never the token itself).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView<'a> {
    id: TokenId,
    name: &'a str,
    account_id: &'a AccountId,
    created_date: String,
    last_used_date: Option<String>,
}

impl<'a> From<&'a TokenRecord> for TokenView<'a> {
    fn from(t: &'a TokenRecord) -> Self {
        TokenView {
            id: t.id,
            name: &t.name,
            account_id: &t.account_id,
            created_date: format_rfc3339(t.created),
            last_used_date: t.last_used.map(format_rfc3339),
        }
    }
}

/// The answer to `POST …/tokens`: the only time the token itself is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTokenView<'a> {
    id: TokenId,
    name: &'a str,
    account_id: &'a AccountId,
    created_date: String,
    token: &'a str,
}

impl<'a> CreatedTokenView<'a> {
    /// The view of a token just created, with its plaintext.
    pub fn new(record: &'a TokenRecord, token: &'a str) -> Self {
        CreatedTokenView {
            id: record.id,
            name: &record.name,
            account_id: &record.account_id,
            created_date: format_rfc3339(record.created),
            token,
        }
    }
}

// Webhooks -------------------------------------------------------------------------------------

/// The API shape of a webhook; `secret` only where docs/api.md shows it (creation).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView<'a> {
    id: WebhookId,
    created_date: String,
    last_update: String,
    version: u64,
    user_identifier: &'a str,
    owner_identifier: &'a AccountId,
    owner_name: &'a str,
    name: &'a str,
    enabled: bool,
    event_url: &'a str,
    event_list: &'a [String],
    description: Option<&'a str>,
    headers: &'a BTreeMap<String, String>,
    rate_limit: Option<u32>,
    ordered: bool,
    status: &'static str,
    deactivated_date: Option<String>,
    deactivation_reason: Option<&'a str>,
    failure_count: u32,
    failing_since: Option<String>,
    auth: Option<AuthView<'a>>,
    filter: Option<&'a str>,
    template: Option<TemplateView<'a>>,
    signature: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

/// A webhook's `auth` as responses show it: never its password, token, client secret or
/// private key; for a client certificate, the facts of its first certificate.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum AuthView<'a> {
    Basic {
        username: &'a str,
    },
    Bearer {},
    #[serde(rename_all = "camelCase")]
    OAuth2 {
        token_url: &'a str,
        client_id: &'a str,
        scope: Option<&'a str>,
        audience: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    Mtls {
        certificate: &'a str,
        certificate_subject: &'a str,
        certificate_not_after: String,
        certificate_sha256: &'a str,
    },
}

impl<'a> From<&'a Auth> for AuthView<'a> {
    fn from(auth: &'a Auth) -> Self {
        match auth {
            Auth::Basic { username, .. } => AuthView::Basic { username },
            Auth::Bearer { .. } => AuthView::Bearer {},
            Auth::OAuth2(o) => AuthView::OAuth2 {
                token_url: &o.token_url,
                client_id: &o.client_id,
                scope: o.scope.as_deref(),
                audience: o.audience.as_deref(),
            },
            Auth::Mtls(m) => AuthView::Mtls {
                certificate: &m.certificate,
                certificate_subject: &m.subject,
                certificate_not_after: format_rfc3339(m.not_after),
                certificate_sha256: &m.sha256,
            },
        }
    }
}

/// A webhook's `template` as given, with the content type of a body template filled in.
#[derive(Serialize)]
#[serde(untagged)]
enum TemplateView<'a> {
    Preset {
        preset: &'static str,
    },
    Body {
        body: &'a str,
        #[serde(rename = "contentType")]
        content_type: &'a str,
    },
}

impl<'a> From<&'a TemplateSpec> for TemplateView<'a> {
    fn from(template: &'a TemplateSpec) -> Self {
        match template {
            TemplateSpec::Preset(preset) => TemplateView::Preset {
                preset: preset.as_str(),
            },
            TemplateSpec::Body { body, content_type } => TemplateView::Body { body, content_type },
        }
    }
}

impl<'a> WebhookView<'a> {
    /// The view of `w`, owned by the account named `owner_name`.
    pub fn new(w: &'a Webhook, owner_name: &'a str) -> Self {
        let s = &w.settings;
        WebhookView {
            id: w.id,
            created_date: format_rfc3339(w.created),
            last_update: format_rfc3339(w.updated),
            version: w.version,
            user_identifier: &w.user_identifier,
            owner_identifier: &w.account_id,
            owner_name,
            name: &s.name,
            enabled: s.enabled,
            event_url: &s.event_url,
            event_list: &s.event_list,
            description: s.description.as_deref(),
            headers: &s.headers,
            rate_limit: s.rate_limit,
            ordered: s.ordered,
            status: w.status.as_str(),
            deactivated_date: w.deactivated.map(format_rfc3339),
            deactivation_reason: w.deactivation_reason.as_deref(),
            failure_count: w.failure_count,
            failing_since: w.failing_since.map(format_rfc3339),
            auth: s.auth.as_ref().map(AuthView::from),
            filter: s.filter.as_deref(),
            template: s.template.as_ref().map(TemplateView::from),
            signature: s.signature.as_str(),
            secret: None,
        }
    }

    /// The same view with the secret shown (creation only).
    pub fn with_secret(mut self, secret: &'a str) -> Self {
        self.secret = Some(secret);
        self
    }
}

/// The answer to `GET …/secret` and `POST …/rotate-secret`: the `v1` secret, and the `v1a`
/// public key when the webhook signs with `v1a`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretView<'a> {
    pub secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The answer to `POST …/activate`.
#[derive(Serialize)]
pub struct ActivationView<'a> {
    pub webhook: WebhookView<'a>,
    pub replayed: u32,
    pub dropped: u32,
}

/// The answer to `POST …/test`: the ping event, its one delivery, and the body the receiver
/// gets (the envelope, or the template rendered for the ping; `null` when it does not render,
/// which the attempt then reports as `template_error`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSentView {
    event_id: EventId,
    delivery_id: DeliveryId,
    body: Option<String>,
    content_type: String,
}

impl TestSentView {
    pub fn new(
        event_id: EventId,
        delivery_id: DeliveryId,
        body: Option<String>,
        content_type: String,
    ) -> Self {
        TestSentView {
            event_id,
            delivery_id,
            body,
            content_type,
        }
    }
}

// Events and deliveries ------------------------------------------------------------------------

/// The response to an accepted event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestView {
    id: EventId,
    #[serde(rename = "type")]
    event_type: String,
    created_date: String,
    deliveries: u32,
}

impl From<&Ingested> for IngestView {
    fn from(i: &Ingested) -> Self {
        IngestView {
            id: i.id,
            event_type: i.event_type.clone(),
            created_date: format_rfc3339(i.created),
            deliveries: i.deliveries,
        }
    }
}

/// A delivery as listed inside an event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub status: &'static str,
    pub next_attempt_date: Option<String>,
    pub attempt_count: u32,
}

/// An event as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView<'a> {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub created_date: String,
    pub data: &'a RawValue,
    pub idempotency_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliverySummary>>,
}

/// The API shape of an attempt.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView<'a> {
    number: u32,
    date: String,
    duration_ms: u64,
    outcome: Outcome,
    status_code: Option<u16>,
    response_body: Option<&'a str>,
    error: Option<&'a str>,
}

/// The API shape of a delivery.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView<'a> {
    id: DeliveryId,
    event_id: EventId,
    webhook_id: WebhookId,
    event_type: &'a str,
    created_date: String,
    status: &'static str,
    next_attempt_date: Option<String>,
    attempts: Vec<AttemptView<'a>>,
}

impl<'a> DeliveryView<'a> {
    /// The view of the delivery `id`.
    pub fn new(id: DeliveryId, d: &'a DeliveryRecord) -> Self {
        DeliveryView {
            id,
            event_id: d.event_id,
            webhook_id: d.webhook_id,
            event_type: &d.event_type,
            created_date: format_rfc3339(d.created),
            status: d.status.as_str(),
            next_attempt_date: d.next_attempt.map(format_rfc3339),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    number: a.number,
                    date: format_rfc3339(a.date),
                    duration_ms: a.duration_ms,
                    outcome: a.outcome,
                    status_code: a.status_code,
                    response_body: a.response_body.as_deref(),
                    error: a.error.as_deref(),
                })
                .collect(),
        }
    }
}

// Notifications --------------------------------------------------------------------------------

/// The API shape of a notification.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView<'a> {
    id: NotificationId,
    kind: &'a str,
    account_id: &'a AccountId,
    webhook_id: WebhookId,
    created_date: String,
    message: &'a str,
    activation_url: Option<&'a str>,
}

impl<'a> NotificationView<'a> {
    /// The view of notification `id`.
    pub fn new(id: NotificationId, n: &'a NotificationRecord) -> Self {
        NotificationView {
            id,
            kind: &n.kind,
            account_id: &n.account_id,
            webhook_id: n.webhook_id,
            created_date: format_rfc3339(n.created),
            message: &n.message,
            activation_url: n.activation_url.as_deref(),
        }
    }
}

// Portal links ---------------------------------------------------------------------------------

/// A portal link in lists: never its URL (hookd keeps only the link token's hash).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalLinkView {
    id: PortalLinkId,
    created_date: String,
    expires_date: String,
    read_only: bool,
}

impl From<&PortalLink> for PortalLinkView {
    fn from(l: &PortalLink) -> Self {
        PortalLinkView {
            id: l.id,
            created_date: format_rfc3339(l.created),
            expires_date: format_rfc3339(l.expires),
            read_only: l.read_only,
        }
    }
}

/// The answer to `POST …/portal-links`: the only time the link's URL is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPortalLinkView {
    id: PortalLinkId,
    url: String,
    created_date: String,
    expires_date: String,
    read_only: bool,
}

impl CreatedPortalLinkView {
    pub fn new(link: &PortalLink, url: String) -> Self {
        CreatedPortalLinkView {
            id: link.id,
            url,
            created_date: format_rfc3339(link.created),
            expires_date: format_rfc3339(link.expires),
            read_only: link.read_only,
        }
    }
}

/// The answer to `POST /portal/{linkToken}`: the tab's session token and what the page shows
/// of its account.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortalSessionView<'a> {
    session_token: String,
    account_id: &'a AccountId,
    account_name: &'a str,
    language: &'static str,
    read_only: bool,
    expires_date: String,
}

impl<'a> PortalSessionView<'a> {
    pub fn new(link: &PortalLink, account: &'a Account, session_token: String) -> Self {
        PortalSessionView {
            session_token,
            account_id: &account.id,
            account_name: &account.name,
            language: account.language.code(),
            read_only: link.read_only,
            expires_date: format_rfc3339(link.expires),
        }
    }
}

// Health ---------------------------------------------------------------------------------------

/// `GET …/stats`: a webhook's health over a window.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    window: &'static str,
    attempts: u64,
    succeeded: u64,
    failed: u64,
    success_rate: Option<f64>,
    latency_ms: Option<LatencyView>,
    buckets: Vec<BucketView>,
}

#[derive(Serialize)]
struct LatencyView {
    p50: u64,
    p95: u64,
}

#[derive(Serialize)]
struct BucketView {
    start: String,
    succeeded: u32,
    failed: u32,
}

impl From<&WindowStats> for StatsView {
    fn from(stats: &WindowStats) -> Self {
        StatsView {
            window: stats.window.as_str(),
            attempts: stats.attempts,
            succeeded: stats.succeeded,
            failed: stats.failed,
            // Four decimals: a rate, not a measurement of the float's precision.
            success_rate: stats
                .success_rate
                .map(|r| (r * 10_000.0).round() / 10_000.0),
            latency_ms: stats.latency.map(|(p50, p95)| LatencyView { p50, p95 }),
            buckets: stats
                .buckets
                .iter()
                .map(|b| BucketView {
                    start: format_rfc3339(b.start),
                    succeeded: b.succeeded,
                    failed: b.failed,
                })
                .collect(),
        }
    }
}
