//! `GET /v1/accounts/{accountId}/webhooks/{webhookId}/stats?window=1h|24h|7d`: a webhook's
//! health.

use super::respond::{self, Response};
use super::views::StatsView;
use super::{App, Call};
use crate::error::{Error, FieldError};
use crate::store::stats::Window;
use crate::time::now_millis;
use hyper::StatusCode;

/// The window's attempts, success rate, latency percentiles and buckets.
pub async fn stats(
    app: &App,
    call: &Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store.webhook(account_id, webhook_id)?;
    let window = match call.query()?.get("window") {
        None | Some("") => Window::Day,
        Some(text) => Window::parse(text).ok_or_else(|| {
            Error::Validation(vec![FieldError::new("window", "must be 1h, 24h or 7d")])
        })?,
    };
    let stats = app
        .store
        .webhook_stats(webhook_id, window, now_millis())
        .await?;
    Ok(respond::json(StatusCode::OK, &StatsView::from(&stats)))
}
