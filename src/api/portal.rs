//! Portal links: `/v1/accounts/{accountId}/portal-links` (create, list, revoke), the page a
//! link opens (`GET /portal/{linkToken}`), the trade of a link for a session token
//! (`POST /portal/{linkToken}`), and what a portal session may do.

use std::time::Duration;

use hyper::StatusCode;
use hyper::http::request::Parts;
use serde_json::Value;

use super::activation::{browser_language, page, paragraph};
use super::auth::Principal;
use super::input::Fields;
use super::respond::{self, Response};
use super::routes::RouteId;
use super::views::{CreatedPortalLinkView, PortalLinkView, PortalSessionView};
use super::{App, Call, admin_page, list_response};
use crate::crypto;
use crate::error::Error;
use crate::i18n::{self, Lang};
use crate::ids::{AccountId, PortalLinkId};
use crate::model::PortalLink;
use crate::portal::{self, LinkClaims};
use crate::time::{Millis, now_millis};

/// The shortest and longest `expiresIn`, and the default.
const SHORTEST: Duration = Duration::from_secs(5 * 60);
const LONGEST: Duration = Duration::from_secs(7 * 86_400);
const DEFAULT: Duration = Duration::from_secs(3600);

/// What a portal session may not do, beyond other accounts (which `require_account` refuses):
/// manage tokens or portal links (it would outlive or widen itself), create or delete
/// accounts, change its account, or post events (the platform's job, not its customer's). A
/// read-only session changes nothing and is not shown webhook secrets. Everything else an
/// account token may do, a full session may too.
pub fn check_access(principal: &Principal, route: RouteId, method: &str) -> Result<(), Error> {
    let Principal::Portal { read_only, .. } = principal else {
        return Ok(());
    };
    let read = method == "GET";
    let refused = match route {
        RouteId::Tokens
        | RouteId::Token
        | RouteId::PortalLinks
        | RouteId::PortalLink
        | RouteId::Accounts
        | RouteId::Backup
        | RouteId::EventsBatch => true,
        RouteId::Account | RouteId::Events => !read,
        RouteId::WebhookSecret => *read_only,
        _ => *read_only && !read,
    };
    if refused {
        Err(Error::Forbidden)
    } else {
        Ok(())
    }
}

/// `POST /v1/accounts/{accountId}/portal-links` `{"expiresIn": "1h", "readOnly": false}`: 201
/// with the link's `url`, shown this once.
pub async fn create(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let body = call.json_body(app, true).await?;
    let mut fields = Fields::parse_optional(&body)?;
    let expires_in = match fields.take("expiresIn") {
        None => Some(DEFAULT),
        Some(Value::String(text)) => {
            let parsed =
                crate::config::parse_duration(&text).filter(|d| (SHORTEST..=LONGEST).contains(d));
            if parsed.is_none() {
                fields.error("expiresIn", "must be a duration from 5m to 7d, e.g. 1h");
            }
            parsed
        }
        Some(_) => {
            fields.error(
                "expiresIn",
                "must be a duration string from 5m to 7d, e.g. 1h",
            );
            None
        }
    };
    let read_only = fields.bool_or("readOnly", false);
    let expires_in = fields.finish_with(expires_in)?;
    let now = now_millis();
    let claims = LinkClaims {
        link_id: PortalLinkId::generate(),
        expires: now + expires_in.as_millis() as Millis,
        account_id,
    };
    let token = portal::issue_link(app.store.signing_key(), &claims);
    let link = app
        .store
        .create_portal_link(PortalLink {
            id: claims.link_id,
            account_id: claims.account_id,
            created: now,
            expires: claims.expires,
            read_only,
            hash: crypto::hash_token(&token),
        })
        .await?;
    let url = format!("{}/portal/{token}", app.config.public_url);
    Ok(respond::json(
        StatusCode::CREATED,
        &CreatedPortalLinkView::new(&link, url),
    ))
}

/// `GET /v1/accounts/{accountId}/portal-links`: the links that have not expired (never their
/// URLs).
pub fn list(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let links = app.store.live_portal_links(&account_id, now_millis());
    let views = links.iter().map(PortalLinkView::from).collect();
    Ok(list_response::<PortalLinkView>(views, None))
}

/// `DELETE /v1/accounts/{accountId}/portal-links/{id}`: 204; its sessions stop at once.
pub async fn revoke(
    app: &App,
    call: &Call,
    account_id: &str,
    link_id: &str,
) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let link_id = PortalLinkId::parse(link_id)
        .ok_or_else(|| Error::NotFound(format!("portal link {link_id}")))?;
    app.store
        .revoke_portal_link(account_id, link_id, now_millis())
        .await?;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}

/// What an opened link turns out to be.
enum Opened {
    Live(PortalLink),
    /// Issued by hookd, for this account, but expired or revoked.
    Expired(AccountId),
    Revoked(AccountId),
    /// Forged or malformed.
    Unknown,
}

fn open(app: &App, token: &str, now: Millis) -> Opened {
    classify(app.store.signing_key(), token, now, |id| {
        app.store.portal_link(id)
    })
}

/// Tells what an opened link is at `now`, given the stored link of an id.
fn classify(
    key: &[u8],
    token: &str,
    now: Millis,
    stored: impl Fn(PortalLinkId) -> Option<PortalLink>,
) -> Opened {
    let Some(claims) = portal::verify_link(key, token) else {
        return Opened::Unknown;
    };
    if claims.expires <= now {
        return Opened::Expired(claims.account_id);
    }
    match stored(claims.link_id) {
        Some(link)
            if link.is_live(now)
                && crypto::constant_time_eq(&link.hash, &crypto::hash_token(token)) =>
        {
            Opened::Live(link)
        }
        _ => Opened::Revoked(claims.account_id),
    }
}

/// `GET /portal/{linkToken}`: the admin page for a live link (the page trades the link for a
/// session, see [`session`]); otherwise a page saying the link expired (410), was revoked
/// (410) or is not one hookd issued (404), in the account's language where it is known.
pub fn show(app: &App, token: &str, parts: &Parts) -> Response {
    let account_language = |account: &AccountId| {
        app.store
            .account(account)
            .map(|a| a.language)
            .unwrap_or_else(|| browser_language(parts))
    };
    let (lang, status, title, text) = match open(app, token, now_millis()) {
        Opened::Live(_) => return admin_page::index(),
        Opened::Expired(account) => (
            account_language(&account),
            StatusCode::GONE,
            "portal-expired-title",
            "portal-expired-text",
        ),
        Opened::Revoked(account) => (
            account_language(&account),
            StatusCode::GONE,
            "portal-revoked-title",
            "portal-revoked-text",
        ),
        Opened::Unknown => (
            browser_language(parts),
            StatusCode::NOT_FOUND,
            "portal-invalid-title",
            "portal-invalid-text",
        ),
    };
    closed_page(lang, status, title, text)
}

fn closed_page(lang: Lang, status: StatusCode, title: &str, text: &str) -> Response {
    page(
        lang,
        status,
        &i18n::text(lang, title, &[]),
        &paragraph(&i18n::text(lang, text, &[])),
    )
}

/// `POST /portal/{linkToken}`: a new session token for a live link, with what the page needs
/// to show that account; 410 for an expired or revoked link, 404 for anything else.
pub fn session(app: &App, token: &str) -> Result<Response, Error> {
    match open(app, token, now_millis()) {
        Opened::Live(link) => {
            let account = app
                .store
                .account(&link.account_id)
                .ok_or_else(|| Error::Gone("this portal link's account was deleted".into()))?;
            let session = portal::issue_session(app.store.signing_key(), link.id);
            Ok(respond::json(
                StatusCode::OK,
                &PortalSessionView::new(&link, &account, session),
            ))
        }
        Opened::Expired(_) => Err(Error::Gone("this portal link has expired".into())),
        Opened::Revoked(_) => Err(Error::Gone("this portal link was revoked".into())),
        Opened::Unknown => Err(Error::NotFound("portal link".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(read_only: bool) -> Principal {
        Principal::Portal {
            account_id: AccountId::parse("a").unwrap(),
            link_id: PortalLinkId::from_u128(1),
            read_only,
        }
    }

    #[test]
    fn opened_links_are_live_expired_revoked_or_unknown() {
        let key = [9u8; 32];
        let now = 1_800_000_000_000;
        let claims = LinkClaims {
            link_id: PortalLinkId::from_u128(42),
            expires: now + 60_000,
            account_id: AccountId::parse("hotel").unwrap(),
        };
        let token = portal::issue_link(&key, &claims);
        let record = PortalLink {
            id: claims.link_id,
            account_id: claims.account_id.clone(),
            created: now - 1000,
            expires: claims.expires,
            read_only: false,
            hash: crypto::hash_token(&token),
        };
        let stored = |id: PortalLinkId| (id == record.id).then(|| record.clone());
        let kind = |opened: Opened| match opened {
            Opened::Live(_) => "live",
            Opened::Expired(a) if a == "hotel" => "expired",
            Opened::Revoked(a) if a == "hotel" => "revoked",
            Opened::Unknown => "unknown",
            _ => "wrong account",
        };
        assert_eq!(kind(classify(&key, &token, now, stored)), "live");
        assert_eq!(
            kind(classify(&key, &token, now + 60_000, stored)),
            "expired"
        );
        assert_eq!(
            kind(classify(&key, &token, now + 90_000, |_| None)),
            "expired"
        );
        assert_eq!(kind(classify(&key, &token, now, |_| None)), "revoked");
        assert_eq!(kind(classify(&[1u8; 32], &token, now, stored)), "unknown");
        assert_eq!(kind(classify(&key, "forged", now, stored)), "unknown");
        assert!(
            record.is_live(now) && !record.is_live(now + 60_000),
            "sessions end with it"
        );
    }

    #[test]
    fn sessions_never_manage_credentials_and_read_only_changes_nothing() {
        for read_only in [false, true] {
            let p = session(read_only);
            for route in [RouteId::Tokens, RouteId::PortalLinks, RouteId::PortalLink] {
                for method in ["GET", "POST", "DELETE"] {
                    assert!(
                        check_access(&p, route, method).is_err(),
                        "{route:?} {method}"
                    );
                }
            }
            assert!(check_access(&p, RouteId::Events, "POST").is_err());
            assert!(check_access(&p, RouteId::Account, "PUT").is_err());
            assert!(check_access(&p, RouteId::Webhooks, "GET").is_ok());
            assert!(check_access(&p, RouteId::WebhookStats, "GET").is_ok());
            assert_eq!(
                check_access(&p, RouteId::Webhooks, "POST").is_ok(),
                !read_only
            );
            assert_eq!(
                check_access(&p, RouteId::WebhookReplay, "POST").is_ok(),
                !read_only
            );
            assert_eq!(
                check_access(&p, RouteId::WebhookSecret, "GET").is_ok(),
                !read_only
            );
        }
        assert!(check_access(&Principal::Admin, RouteId::Tokens, "POST").is_ok());
    }
}
