//! `/v1/accounts` and `/v1/accounts/{accountId}`.

use hyper::StatusCode;

use super::input::Fields;
use super::request::{CursorKind, next_cursor};
use super::respond::{self, Response};
use super::views::AccountView;
use super::{App, Call, list_response};
use crate::error::Error;
use crate::i18n::Lang;
use crate::ids::AccountId;
use crate::time::now_millis;

/// The optional `language`: absent or `null` is English, like any omitted optional field on
/// `PUT`; anything but one of the five exact codes is a field error.
fn language(fields: &mut Fields<'_>) -> Lang {
    let Some(value) = fields.take("language") else {
        return Lang::default();
    };
    value.as_str().and_then(Lang::parse).unwrap_or_else(|| {
        fields.error("language", "must be one of en, de, da, nb, pt");
        Lang::default()
    })
}

/// `POST /v1/accounts` (admin).
pub async fn create(app: &App, call: &mut Call) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let body = call.json_body(app, false).await?;
    let mut fields = Fields::parse(&body)?;
    let name = fields.required_string("name", 1, 200);
    let id = match fields.take("id") {
        None => None,
        Some(value) => {
            let id = value.as_str().and_then(AccountId::parse);
            if id.is_none() {
                fields.error("id", "must be 1 to 64 characters of A-Z a-z 0-9 _ -");
            }
            id
        }
    };
    let language = language(&mut fields);
    let name = fields.finish_with(name)?;
    let account = app
        .store
        .create_account(id, name, language, now_millis())
        .await?;
    Ok(respond::json(
        StatusCode::CREATED,
        &AccountView::from(&account),
    ))
}

/// `GET /v1/accounts` (admin).
pub fn list(app: &App, call: &Call) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let paging = call
        .query()?
        .paging(app.store.signing_key(), CursorKind::Accounts)?;
    let page = app
        .store
        .list_accounts(paging.after()?.as_ref(), paging.limit);
    let items: Vec<AccountView> = page.items.iter().map(AccountView::from).collect();
    let next = next_cursor(
        app.store.signing_key(),
        CursorKind::Accounts,
        page.next_after,
    );
    Ok(list_response(items, next))
}

/// `GET /v1/accounts/{accountId}` (admin, or the account's own token).
pub fn get(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let account = app
        .store
        .account(&account_id)
        .ok_or_else(|| Error::NotFound(format!("account {account_id}")))?;
    Ok(respond::json(StatusCode::OK, &AccountView::from(&account)))
}

/// `PUT /v1/accounts/{accountId}` (admin).
pub async fn update(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    call.principal.require_admin()?;
    let body = call.json_body(app, false).await?;
    let mut fields = Fields::parse(&body)?;
    let name = fields.required_string("name", 1, 200);
    let language = language(&mut fields);
    let name = fields.finish_with(name)?;
    let account = app
        .store
        .update_account(account_id, name, language, now_millis())
        .await?;
    Ok(respond::json(StatusCode::OK, &AccountView::from(&account)))
}

/// `DELETE /v1/accounts/{accountId}` (admin).
pub async fn delete(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = call.principal.require_account(&app.store, account_id)?;
    call.principal.require_admin()?;
    app.store.delete_account(account_id).await?;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}
