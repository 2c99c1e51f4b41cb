//! `/v1/accounts/{accountId}/tokens` (admin only).

use hyper::StatusCode;

use super::input::Fields;
use super::request::{CursorKind, next_cursor};
use super::respond::{self, Response};
use super::views::{CreatedTokenView, TokenView};
use super::{App, Call, list_response};
use crate::crypto;
use crate::error::Error;
use crate::ids::TokenId;
use crate::time::now_millis;

/// The name a token gets when the admin gives none.
const DEFAULT_TOKEN_NAME: &str = "token";

/// `POST /v1/accounts/{accountId}/tokens`: the only response that shows the token.
pub async fn create(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let body = call.json_body(app, true).await?;
    let mut fields = Fields::parse_optional(&body)?;
    let name = fields
        .optional_string("name", 1, 200)
        .unwrap_or_else(|| DEFAULT_TOKEN_NAME.to_string());
    fields.finish()?;
    let (token, hash) = crypto::new_token();
    let record = app
        .store
        .create_token(account_id, name, hash, now_millis())
        .await?;
    Ok(respond::json(
        StatusCode::CREATED,
        &CreatedTokenView::new(&record, &token),
    ))
}

/// `GET /v1/accounts/{accountId}/tokens`.
pub fn list(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let paging = call
        .query()?
        .paging(app.store.signing_key(), CursorKind::Tokens)?;
    let page = app
        .store
        .list_tokens(&account_id, paging.after()?.as_ref(), paging.limit)
        .ok_or_else(|| Error::NotFound(format!("account {account_id}")))?;
    let items: Vec<TokenView> = page.items.iter().map(TokenView::from).collect();
    let next = next_cursor(app.store.signing_key(), CursorKind::Tokens, page.next_after);
    Ok(list_response(items, next))
}

/// `DELETE /v1/accounts/{accountId}/tokens/{tokenId}`: revokes at once.
pub async fn delete(
    app: &App,
    call: &Call,
    account_id: &str,
    token_id: &str,
) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let account_id = call.principal.require_account(&app.store, account_id)?;
    let token_id =
        TokenId::parse(token_id).ok_or_else(|| Error::NotFound(format!("token {token_id}")))?;
    app.store.delete_token(account_id, token_id).await?;
    Ok(respond::empty(StatusCode::NO_CONTENT))
}
