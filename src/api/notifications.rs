//! `/v1/notifications` and `/v1/accounts/{accountId}/notifications`.

use super::auth::Principal;
use super::request::{CursorKind, next_cursor};
use super::respond::Response;
use super::views::NotificationView;
use super::{App, Call, list_response};
use crate::error::Error;
use crate::ids::AccountId;

async fn list_of(app: &App, call: &Call, account_id: Option<AccountId>) -> Result<Response, Error> {
    let paging = call
        .query()?
        .paging(app.store.signing_key(), CursorKind::Notifications)?;
    let (items, next) = app
        .store
        .list_notifications(account_id, paging.after()?, paging.limit)
        .await?;
    let views: Vec<NotificationView> = items
        .iter()
        .map(|(id, n)| NotificationView::new(*id, n))
        .collect();
    let next = next_cursor(app.store.signing_key(), CursorKind::Notifications, next);
    Ok(list_response(views, next))
}

/// `GET /v1/notifications`: all for the admin, its own for an account token.
pub async fn list_all(app: &App, call: &Call) -> Result<Response, Error> {
    let account = match &call.principal {
        Principal::Admin => None,
        Principal::Account { account_id, .. } | Principal::Portal { account_id, .. } => {
            Some(account_id.clone())
        }
    };
    list_of(app, call, account).await
}

/// `GET /v1/accounts/{accountId}/notifications`.
pub async fn list_for_account(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    list_of(app, call, Some(account_id.clone())).await
}
