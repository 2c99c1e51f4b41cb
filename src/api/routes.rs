//! The route table: every path hookd serves, with its methods. The router, the 405 `Allow`
//! header and the OpenAPI consistency test all read this one table.

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Healthz,
    Readyz,
    Problem,
    AdminPage,
    AdminAsset,
    OpenApi,
    Metrics,
    ActivationLink,
    Backup,
    Notifications,
    Accounts,
    Account,
    AccountNotifications,
    Tokens,
    Token,
    Webhooks,
    Webhook,
    WebhookSecret,
    WebhookRotateSecret,
    WebhookTest,
    WebhookActivate,
    WebhookDeliveries,
    WebhookReplay,
    WebhookStats,
    PortalLinks,
    PortalLink,
    PortalPage,
    Events,
    EventsBatch,
    Event,
    Deliveries,
    Delivery,
    DeliveryRetry,
}

const GET: &[&str] = &["GET"];
const POST: &[&str] = &["POST"];
const GET_POST: &[&str] = &["GET", "POST"];
const GET_PUT_DELETE: &[&str] = &["GET", "PUT", "DELETE"];
const DELETE: &[&str] = &["DELETE"];

/// Every route: path template (`{name}` is one path segment), what it names, its methods.
/// More specific templates come before ones they could be mistaken for.
pub const ROUTES: &[(&str, RouteId, &[&str])] = &[
    ("/", RouteId::AdminPage, GET),
    ("/admin/{asset}", RouteId::AdminAsset, GET),
    ("/healthz", RouteId::Healthz, GET),
    ("/readyz", RouteId::Readyz, GET),
    ("/metrics", RouteId::Metrics, GET),
    ("/openapi.json", RouteId::OpenApi, GET),
    ("/problems/{name}", RouteId::Problem, GET),
    ("/activate/{linkToken}", RouteId::ActivationLink, GET_POST),
    ("/portal/{linkToken}", RouteId::PortalPage, GET_POST),
    ("/v1/backup", RouteId::Backup, GET),
    ("/v1/notifications", RouteId::Notifications, GET),
    ("/v1/accounts", RouteId::Accounts, GET_POST),
    ("/v1/accounts/{accountId}", RouteId::Account, GET_PUT_DELETE),
    (
        "/v1/accounts/{accountId}/notifications",
        RouteId::AccountNotifications,
        GET,
    ),
    ("/v1/accounts/{accountId}/tokens", RouteId::Tokens, GET_POST),
    (
        "/v1/accounts/{accountId}/tokens/{tokenId}",
        RouteId::Token,
        DELETE,
    ),
    (
        "/v1/accounts/{accountId}/webhooks",
        RouteId::Webhooks,
        GET_POST,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}",
        RouteId::Webhook,
        GET_PUT_DELETE,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/secret",
        RouteId::WebhookSecret,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret",
        RouteId::WebhookRotateSecret,
        POST,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/test",
        RouteId::WebhookTest,
        POST,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/activate",
        RouteId::WebhookActivate,
        POST,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/deliveries",
        RouteId::WebhookDeliveries,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/replay",
        RouteId::WebhookReplay,
        POST,
    ),
    (
        "/v1/accounts/{accountId}/webhooks/{webhookId}/stats",
        RouteId::WebhookStats,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/portal-links",
        RouteId::PortalLinks,
        GET_POST,
    ),
    (
        "/v1/accounts/{accountId}/portal-links/{portalLinkId}",
        RouteId::PortalLink,
        DELETE,
    ),
    ("/v1/accounts/{accountId}/events", RouteId::Events, GET_POST),
    (
        "/v1/accounts/{accountId}/events/batch",
        RouteId::EventsBatch,
        POST,
    ),
    (
        "/v1/accounts/{accountId}/events/{eventId}",
        RouteId::Event,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/deliveries",
        RouteId::Deliveries,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/deliveries/{deliveryId}",
        RouteId::Delivery,
        GET,
    ),
    (
        "/v1/accounts/{accountId}/deliveries/{deliveryId}/retry",
        RouteId::DeliveryRetry,
        POST,
    ),
];

/// A path matched against the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub id: RouteId,
    /// The template, for logs and metrics (never the raw path: ids would explode them).
    pub template: &'static str,
    pub methods: &'static [&'static str],
    /// The `{…}` segments in order.
    pub params: Vec<&'a str>,
}

impl Matched<'_> {
    /// The `n`th path parameter (the table guarantees it exists for the route).
    pub fn param(&self, n: usize) -> &str {
        self.params.get(n).copied().unwrap_or("")
    }
}

/// Finds the route of `path`; `None` for paths hookd does not serve.
pub fn resolve(path: &str) -> Option<Matched<'_>> {
    // The path is split once; each template was split once, at first use (this runs for every
    // request, and splitting every template per request showed in profiles).
    let have: Vec<&str> = path.split('/').collect();
    let templates = SPLIT_ROUTES.get_or_init(|| {
        ROUTES
            .iter()
            .map(|(template, _, _)| template.split('/').collect())
            .collect()
    });
    ROUTES
        .iter()
        .zip(templates)
        .find_map(|((template, id, methods), want)| {
            match_segments(want, &have).map(|params| Matched {
                id: *id,
                template,
                methods,
                params,
            })
        })
}

/// The segments of each template of [`ROUTES`], in the same order.
static SPLIT_ROUTES: std::sync::OnceLock<Vec<Vec<&'static str>>> = std::sync::OnceLock::new();

fn match_segments<'a>(want: &[&str], have: &[&'a str]) -> Option<Vec<&'a str>> {
    if want.len() != have.len() {
        return None;
    }
    let mut params = Vec::new();
    for (w, h) in want.iter().zip(have) {
        if w.starts_with('{') {
            if h.is_empty() {
                return None;
            }
            params.push(*h);
        } else if w != h {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_resolves_to_itself() {
        for (template, id, methods) in ROUTES {
            let path = template
                .split('/')
                .map(|s| if s.starts_with('{') { "x1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let m = resolve(&path).unwrap_or_else(|| panic!("{template} does not resolve"));
            assert_eq!((m.id, m.methods), (*id, *methods), "{template}");
        }
    }

    #[test]
    fn literals_win_over_parameters_and_junk_is_refused() {
        assert_eq!(
            resolve("/v1/accounts/a/events/batch").unwrap().id,
            RouteId::EventsBatch
        );
        assert_eq!(
            resolve("/v1/accounts/a/events/e1").unwrap().params,
            vec!["a", "e1"]
        );
        assert!(resolve("/v1/accounts/").is_none());
        assert!(resolve("/v1/accounts//webhooks").is_none());
        assert!(resolve("/v1/nothing").is_none());
        assert!(resolve("").is_none());
    }
}
