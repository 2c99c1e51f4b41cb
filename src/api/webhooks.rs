//! `/v1/accounts/{accountId}/webhooks` and the routes of one webhook.

use hyper::StatusCode;

use super::input::{self, Fields, WebhookContext};
use super::request::{CursorKind, collect_invalid, next_cursor};
use super::respond::{self, Response};
use super::views::{ActivationView, SecretView, WebhookView};
use super::{App, Call, list_response};
use crate::crypto;
use crate::dispatch::signature::SigningKeyPair;
use crate::error::Error;
use crate::ids::AccountId;
use crate::model::{Webhook, WebhookStatus};
use crate::patterns;
use crate::time::now_millis;

/// The current name of an account, for `ownerName`.
fn owner_name(app: &App, account_id: &AccountId) -> String {
    app.store
        .account(account_id)
        .map(|a| a.name)
        .unwrap_or_default()
}

/// `POST /v1/accounts/{accountId}/webhooks`: the response shows the secret.
pub async fn create(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let body = call.json_body(app, false).await?;
    let mut fields = Fields::parse(&body)?;
    let context = WebhookContext {
        account_id: account_id.as_str(),
        policy: app.target_policy(),
        current_auth: None,
        now: now_millis(),
    };
    let settings = input::webhook_settings(&mut fields, &context);
    let secret = input::optional_secret(&mut fields);
    let settings = fields.finish_with(settings)?;
    let secret = secret.unwrap_or_else(crypto::new_webhook_secret);
    let webhook = app
        .store
        .create_webhook(
            account_id.clone(),
            settings,
            secret,
            call.principal.user_identifier(),
            now_millis(),
        )
        .await?;
    let owner_name = owner_name(app, account_id);
    Ok(respond::json(
        StatusCode::CREATED,
        &WebhookView::new(&webhook, &owner_name).with_secret(&webhook.secret),
    ))
}

/// `GET /v1/accounts/{accountId}/webhooks` with filters `name`, `event`, `enabled`, `status`.
pub fn list(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let query = call.query()?;
    let mut errors = Vec::new();
    let paging = collect_invalid(
        query.paging(app.store.signing_key(), CursorKind::Webhooks),
        &mut errors,
    )?;
    let name = query.get("name");
    let event = query.get("event");
    if let Some(event) = event
        && let Err(message) = patterns::check_event_type(event)
    {
        errors.push(crate::error::FieldError::new("event", message));
    }
    let enabled = collect_invalid(query.bool("enabled"), &mut errors)?.flatten();
    let status = match query.get("status") {
        None => None,
        Some("active") => Some(WebhookStatus::Active),
        Some("deactivated") => Some(WebhookStatus::Deactivated),
        Some(_) => {
            errors.push(crate::error::FieldError::new(
                "status",
                "must be active or deactivated",
            ));
            None
        }
    };
    let Some(paging) = paging.filter(|_| errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let after = paging.after()?;
    let (page, owner_name) =
        app.store
            .list_webhooks(account_id, after.as_ref(), paging.limit, |w| {
                name.is_none_or(|n| w.settings.name == n)
                    && event.is_none_or(|e| patterns::any_matches(&w.settings.event_list, e))
                    && enabled.is_none_or(|en| w.settings.enabled == en)
                    && status.is_none_or(|s| w.status == s)
            })?;
    let items: Vec<WebhookView> = page
        .items
        .iter()
        .map(|w| WebhookView::new(w, &owner_name))
        .collect();
    let next = next_cursor(
        app.store.signing_key(),
        CursorKind::Webhooks,
        page.next_after,
    );
    Ok(list_response(items, next))
}

/// `GET /v1/accounts/{accountId}/webhooks/{webhookId}`.
pub fn get(app: &App, call: &Call, account_id: &str, webhook_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    let (webhook, owner_name) = app.store.webhook(account_id, webhook_id)?;
    Ok(respond::json(
        StatusCode::OK,
        &WebhookView::new(&webhook, &owner_name),
    ))
}

/// `PUT /v1/accounts/{accountId}/webhooks/{webhookId}`: a full replacement, guarded by
/// `version`.
pub async fn update(
    app: &App,
    call: &mut Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    // A missing webhook is 404 whatever the body says.
    let (current, _) = app.store.webhook(account_id, webhook_id)?;
    let body = call.json_body(app, false).await?;
    let mut fields = Fields::parse(&body)?;
    // Secrets omitted from a same-type `auth` are kept from this version; if another update
    // comes first, its version no longer matches and the store refuses this one (409).
    let context = WebhookContext {
        account_id: account_id.as_str(),
        policy: app.target_policy(),
        current_auth: current.settings.auth.as_ref(),
        now: now_millis(),
    };
    let settings = input::webhook_settings(&mut fields, &context);
    let version = input::version(&mut fields);
    let (settings, version) = fields.finish_with(settings.zip(version))?;
    let webhook = app
        .store
        .update_webhook(
            account_id.clone(),
            webhook_id,
            settings,
            version,
            now_millis(),
        )
        .await?;
    // Re-enabled, or its pacing changed: the scheduler looks at its queue again.
    app.engine.wake([webhook.id]);
    let owner_name = owner_name(app, account_id);
    Ok(respond::json(
        StatusCode::OK,
        &WebhookView::new(&webhook, &owner_name),
    ))
}

/// `DELETE /v1/accounts/{accountId}/webhooks/{webhookId}`.
pub async fn delete(
    app: &App,
    call: &Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store
        .delete_webhook(account_id.clone(), webhook_id)
        .await?;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}

/// `GET /v1/accounts/{accountId}/webhooks/{webhookId}/secret`.
pub fn secret(
    app: &App,
    call: &Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    let (webhook, _) = app.store.webhook(account_id, webhook_id)?;
    Ok(respond::json(StatusCode::OK, &secret_view(&webhook)?))
}

/// The secret, and the public key when the webhook signs with `v1a`.
fn secret_view(webhook: &Webhook) -> Result<SecretView<'_>, Error> {
    let public_key = match (&webhook.key_pair, webhook.settings.signature.asymmetric()) {
        (Some(document), true) => Some(
            SigningKeyPair::from_pkcs8(&document.0)
                .map_err(|e| Error::Corrupt(format!("webhook {}: {e}", webhook.id)))?
                .public_key(),
        ),
        _ => None,
    };
    Ok(SecretView {
        secret: &webhook.secret,
        public_key,
    })
}

/// `POST /v1/accounts/{accountId}/webhooks/{webhookId}/rotate-secret`: the previous secret
/// keeps signing beside the new one for 24 hours.
pub async fn rotate_secret(
    app: &App,
    call: &mut Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store.webhook(account_id, webhook_id)?;
    let body = call.json_body(app, true).await?;
    let mut fields = Fields::parse_optional(&body)?;
    let secret = input::optional_secret(&mut fields);
    fields.finish()?;
    let secret = secret.unwrap_or_else(crypto::new_webhook_secret);
    let webhook = app
        .store
        .rotate_webhook_secret(account_id.clone(), webhook_id, secret, now_millis())
        .await?;
    Ok(respond::json(StatusCode::OK, &secret_view(&webhook)?))
}

/// `POST /v1/accounts/{accountId}/webhooks/{webhookId}/activate` with `{"replayEvents": bool}`
/// or `?replayEvents=1`.
pub async fn activate(
    app: &App,
    call: &mut Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store.webhook(account_id, webhook_id)?;
    let from_query = call.query()?.bool("replayEvents")?;
    let body = call.json_body(app, true).await?;
    let mut fields = Fields::parse_optional(&body)?;
    let from_body = match fields.take("replayEvents") {
        None => None,
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(_) => {
            fields.error("replayEvents", "must be true or false");
            None
        }
    };
    fields.finish()?;
    let replay = from_body.or(from_query).unwrap_or(false);
    let activation = app
        .store
        .activate(
            account_id.clone(),
            webhook_id,
            replay,
            now_millis(),
            app.config.retention.buffer.as_millis() as i64,
            None,
        )
        .await?;
    app.engine.wake([activation.webhook.id]);
    let owner_name = owner_name(app, account_id);
    Ok(respond::json(
        StatusCode::OK,
        &ActivationView {
            webhook: WebhookView::new(&activation.webhook, &owner_name),
            replayed: activation.replayed,
            dropped: activation.dropped,
        },
    ))
}
