//! `/v1/accounts/{accountId}/deliveries` and a webhook's deliveries, test and retry.

use hyper::StatusCode;
use serde_json::json;

use super::request::{CursorKind, Query, collect_invalid, next_cursor};
use super::respond::{self, Response};
use super::views::{DeliveryView, TestSentView};
use super::{App, Call, list_response};
use crate::error::{Error, FieldError};
use crate::ids::{AccountId, DeliveryId, EventId, WebhookId};
use crate::receivers::template::{DEFAULT_CONTENT_TYPE, EventView as RenderView};
use crate::records::{DeliveryStatus, envelope};
use crate::store::{DeliveryFilter, FanOut, NewEvent};
use crate::time::{format_rfc3339, now_millis};

/// The event type of test deliveries.
pub const PING_EVENT: &str = "hookd.ping";

fn filter_from(query: &Query, errors: &mut Vec<FieldError>) -> DeliveryFilter {
    let mut id_param = |name: &str| match query.get(name) {
        None | Some("") => None,
        Some(text) => match crate::ids::parse_id(text) {
            Some(id) => Some(id),
            None => {
                errors.push(FieldError::new(name, "must be an id"));
                None
            }
        },
    };
    let webhook_id = id_param("webhookId").map(WebhookId::from_u128);
    let event_id = id_param("eventId").map(EventId::from_u128);
    let status = match query.get("status") {
        None | Some("") => None,
        Some(text) => match DeliveryStatus::parse(text) {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new(
                    "status",
                    "must be pending, succeeded, failed, buffered, cancelled or expired",
                ));
                None
            }
        },
    };
    DeliveryFilter {
        webhook_id,
        event_id,
        status,
    }
}

async fn list_filtered(
    app: &App,
    call: &Call,
    account_id: &AccountId,
    forced_webhook: Option<WebhookId>,
) -> Result<Response, Error> {
    let query = call.query()?;
    let mut errors = Vec::new();
    let paging = collect_invalid(
        query.paging(app.store.signing_key(), CursorKind::Deliveries),
        &mut errors,
    )?;
    let mut filter = filter_from(&query, &mut errors);
    if forced_webhook.is_some() {
        filter.webhook_id = forced_webhook;
    }
    let Some(paging) = paging.filter(|_| errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    let (items, next) = app
        .store
        .list_deliveries(account_id, paging.after()?, paging.limit, filter)
        .await?;
    let views: Vec<DeliveryView> = items
        .iter()
        .map(|(id, d)| DeliveryView::new(*id, d))
        .collect();
    let next = next_cursor(app.store.signing_key(), CursorKind::Deliveries, next);
    Ok(list_response(views, next))
}

/// `GET /v1/accounts/{accountId}/deliveries?webhookId=&eventId=&status=`.
pub async fn list(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    list_filtered(app, call, account_id, None).await
}

/// `GET /v1/accounts/{accountId}/webhooks/{webhookId}/deliveries?status=`.
pub async fn list_for_webhook(
    app: &App,
    call: &Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store.webhook(account_id, webhook_id)?;
    list_filtered(app, call, account_id, Some(webhook_id)).await
}

/// `GET /v1/accounts/{accountId}/deliveries/{deliveryId}`.
pub async fn get(
    app: &App,
    call: &Call,
    account_id: &str,
    delivery_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let not_found = || Error::NotFound(format!("delivery {delivery_id}"));
    let id = DeliveryId::parse(delivery_id).ok_or_else(not_found)?;
    let mut found = app.store.deliveries_by_id(account_id, vec![id]).await?;
    let (id, record) = found.pop().ok_or_else(not_found)?;
    Ok(respond::json(
        StatusCode::OK,
        &DeliveryView::new(id, &record),
    ))
}

/// `POST /v1/accounts/{accountId}/deliveries/{deliveryId}/retry`: scheduled again now.
pub async fn retry(
    app: &App,
    call: &Call,
    account_id: &str,
    delivery_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let id = DeliveryId::parse(delivery_id)
        .ok_or_else(|| Error::NotFound(format!("delivery {delivery_id}")))?;
    let (record, webhook_id) = app
        .store
        .retry_delivery(account_id.clone(), id, now_millis())
        .await?;
    app.engine.wake([webhook_id]);
    Ok(respond::json(
        StatusCode::ACCEPTED,
        &DeliveryView::new(id, &record),
    ))
}

/// `POST /v1/accounts/{accountId}/webhooks/{webhookId}/test`: a `hookd.ping` event to this
/// webhook alone.
pub async fn test(
    app: &App,
    call: &Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    let (webhook, _) = app.store.webhook(account_id, webhook_id)?;
    let data = json!({
        "webhookId": webhook.id,
        "message": "This is a test event sent by hookd.",
    });
    let data = data.to_string().into_bytes();
    let event = NewEvent {
        event_type: PING_EVENT.to_string(),
        data: data.clone(),
        idempotency_key: None,
    };
    let mut results = app
        .store
        .ingest(
            account_id.clone(),
            vec![event],
            FanOut::Only(webhook.id),
            now_millis(),
        )
        .await?;
    let ingested = results
        .pop()
        .ok_or_else(|| Error::Internal("ingest returned no result".into()))??;
    let delivery_id = ingested
        .delivery_ids
        .first()
        .copied()
        .ok_or_else(|| Error::Internal("the test event made no delivery".into()))?;
    let (envelope, _, _) = envelope(
        ingested.id,
        PING_EVENT,
        ingested.created,
        account_id.as_str(),
        &data,
    );
    let (body, content_type) = match &webhook.settings.template {
        None => (
            Some(String::from_utf8_lossy(&envelope).into_owned()),
            DEFAULT_CONTENT_TYPE.to_string(),
        ),
        Some(spec) => {
            let timestamp = format_rfc3339(ingested.created);
            let id = ingested.id.to_string();
            let view = RenderView {
                id: &id,
                event_type: PING_EVENT,
                timestamp: &timestamp,
                account: account_id.as_str(),
                data: &data,
            };
            let limit = app.config.limits.max_event_bytes.saturating_mul(4);
            match spec.compile() {
                Ok(template) => (
                    template
                        .render(&view, limit)
                        .ok()
                        .map(|r| String::from_utf8_lossy(&r.bytes).into_owned()),
                    template.content_type().to_string(),
                ),
                Err(_) => (None, DEFAULT_CONTENT_TYPE.to_string()),
            }
        }
    };
    Ok(respond::json(
        StatusCode::ACCEPTED,
        &TestSentView::new(ingested.id, delivery_id, body, content_type),
    ))
}
