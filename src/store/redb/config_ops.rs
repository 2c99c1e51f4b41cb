//! Reads and writes of configuration records: accounts, tokens, webhooks.
//!
//! Every write checks everything it can refuse for (existence, conflicts, versions) before it
//! writes anything, so a refused request changes nothing even inside a shared batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use redb::ReadableTable;

use super::tables::*;
use super::{RedbStore, WriteCtx};
use crate::crypto::TokenHash;
use crate::error::Error;
use crate::i18n::Lang;
use crate::ids::{AccountId, PortalLinkId, TokenId, WebhookId};
use crate::model::{Account, PortalLink, TokenRecord, Webhook, WebhookSettings};
use crate::store::catalog::AccountEntry;
use crate::store::rules;
use crate::store::types::TokenOwner;
use crate::time::Millis;

fn not_found_account(id: &AccountId) -> Error {
    Error::NotFound(format!("account {id}"))
}

fn not_found_webhook(id: WebhookId) -> Error {
    Error::NotFound(format!("webhook {id}"))
}

// ---------------------------------------------------------------------------------------------
// Writes (run on the writer thread)
// ---------------------------------------------------------------------------------------------

impl WriteCtx<'_> {
    fn next_account_seq(&mut self) -> Result<u64, Error> {
        let mut meta = self.meta()?;
        let next = match meta.get(META_NEXT_ACCOUNT_SEQ)? {
            Some(v) => <[u8; 8]>::try_from(v.value())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Corrupt("corrupt account counter".into()))?,
            None => 1,
        };
        meta.insert(META_NEXT_ACCOUNT_SEQ, (next + 1).to_be_bytes().as_slice())?;
        Ok(next)
    }

    fn put_account(&mut self, account: &Account) -> Result<(), Error> {
        let bytes = encode(account)?;
        self.accounts()?
            .insert(account.id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    fn put_token(&mut self, token: &TokenRecord) -> Result<(), Error> {
        let bytes = encode(token)?;
        self.tokens()?
            .insert(token.id.to_string().as_str(), bytes.as_slice())?;
        Ok(())
    }

    fn put_webhook(&mut self, webhook: &Webhook) -> Result<(), Error> {
        let bytes = encode(webhook)?;
        self.webhooks()?
            .insert(webhook.id.to_string().as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Creates an account; `id` is generated when absent.
    pub fn create_account(
        &mut self,
        id: Option<AccountId>,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        let id = id.unwrap_or_else(AccountId::generate);
        if self.catalog().accounts.contains_key(&id) {
            return Err(Error::Conflict(format!(
                "account id {id} is already in use"
            )));
        }
        let account = Account {
            id,
            name,
            created: now,
            updated: now,
            seq: self.next_account_seq()?,
            language,
        };
        self.put_account(&account)?;
        self.catalog_mut().accounts.insert(
            account.id.clone(),
            Arc::new(AccountEntry {
                account: account.clone(),
                tokens: BTreeMap::new(),
                webhooks: BTreeMap::new(),
            }),
        );
        Ok(account)
    }

    /// Replaces an account's name and language.
    pub fn update_account(
        &mut self,
        id: &AccountId,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        let mut account = match self.catalog().accounts.get(id) {
            Some(entry) => entry.account.clone(),
            None => return Err(not_found_account(id)),
        };
        account.name = name;
        account.language = language;
        account.updated = now;
        self.put_account(&account)?;
        if let Some(entry) = self.catalog_mut().accounts.get_mut(id) {
            Arc::make_mut(entry).account = account.clone();
        }
        Ok(account)
    }

    /// Deletes an account with its tokens and webhooks.
    pub fn delete_account(&mut self, id: &AccountId) -> Result<Account, Error> {
        let Some(entry) = self.catalog().accounts.get(id).cloned() else {
            return Err(not_found_account(id));
        };
        {
            let mut tokens = self.tokens()?;
            for token_id in entry.tokens.keys() {
                tokens.remove(token_id.to_string().as_str())?;
            }
        }
        {
            let mut webhooks = self.webhooks()?;
            for webhook_id in entry.webhooks.keys() {
                webhooks.remove(webhook_id.to_string().as_str())?;
            }
        }
        let links: Vec<PortalLinkId> = self
            .catalog()
            .portal_links
            .values()
            .filter(|l| &l.account_id == id)
            .map(|l| l.id)
            .collect();
        for link_id in links {
            self.portal_links()?.remove(link_id.as_u128())?;
        }
        let webhook_ids: Vec<WebhookId> = entry.webhooks.keys().copied().collect();
        for webhook_id in &webhook_ids {
            self.purge_stats(*webhook_id, u64::MAX)?;
        }
        self.purge_account_traffic(entry.account.seq, &webhook_ids)?;
        self.accounts()?.remove(id.as_str())?;
        let catalog = self.catalog_mut();
        for token in entry.tokens.values() {
            catalog.token_hashes.remove(&token.hash);
        }
        for webhook_id in entry.webhooks.keys() {
            catalog.remove_webhook(id, *webhook_id);
        }
        catalog.remove_portal_links_of(id);
        catalog.accounts.remove(id);
        Ok(entry.account.clone())
    }

    /// Stores a portal link of an existing account (the caller holds the link token; the
    /// record has only its hash).
    pub fn create_portal_link(&mut self, link: PortalLink) -> Result<PortalLink, Error> {
        if !self.catalog().accounts.contains_key(&link.account_id) {
            return Err(not_found_account(&link.account_id));
        }
        self.portal_links()?
            .insert(link.id.as_u128(), encode(&link)?.as_slice())?;
        self.catalog_mut().insert_portal_link(link.clone());
        Ok(link)
    }

    /// Revokes a live portal link of the account: its sessions stop working as soon as this
    /// returns. An expired link is as gone as a revoked one (404).
    pub fn revoke_portal_link(
        &mut self,
        account_id: &AccountId,
        link_id: PortalLinkId,
        now: Millis,
    ) -> Result<(), Error> {
        let known = self
            .catalog()
            .portal_links
            .get(&link_id)
            .is_some_and(|l| &l.account_id == account_id && l.is_live(now));
        if !known {
            return Err(Error::NotFound(format!("portal link {link_id}")));
        }
        self.portal_links()?.remove(link_id.as_u128())?;
        self.catalog_mut().portal_links.remove(&link_id);
        Ok(())
    }

    /// Forgets portal links past their expiry.
    pub fn purge_expired_portal_links(&mut self, now: Millis) -> Result<(), Error> {
        let expired: Vec<PortalLinkId> = self
            .catalog()
            .portal_links
            .values()
            .filter(|l| !l.is_live(now))
            .map(|l| l.id)
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        for link_id in &expired {
            self.portal_links()?.remove(link_id.as_u128())?;
        }
        let catalog = self.catalog_mut();
        for link_id in &expired {
            catalog.portal_links.remove(link_id);
        }
        Ok(())
    }

    /// Issues a token for an account; the caller holds the plaintext, only `hash` is stored.
    pub fn create_token(
        &mut self,
        account_id: &AccountId,
        name: String,
        hash: TokenHash,
        now: Millis,
    ) -> Result<TokenRecord, Error> {
        if !self.catalog().accounts.contains_key(account_id) {
            return Err(not_found_account(account_id));
        }
        let token = TokenRecord {
            id: TokenId::generate(),
            account_id: account_id.clone(),
            name,
            created: now,
            last_used: None,
            hash,
        };
        self.put_token(&token)?;
        self.catalog_mut().insert_token(token.clone());
        Ok(token)
    }

    /// Revokes a token: it stops working as soon as this returns.
    pub fn delete_token(&mut self, account_id: &AccountId, token_id: TokenId) -> Result<(), Error> {
        let token = {
            let catalog = self.catalog();
            let entry = catalog
                .accounts
                .get(account_id)
                .ok_or_else(|| not_found_account(account_id))?;
            entry
                .tokens
                .get(&token_id)
                .cloned()
                .ok_or_else(|| Error::NotFound(format!("token {token_id}")))?
        };
        self.tokens()?.remove(token_id.to_string().as_str())?;
        let catalog = self.catalog_mut();
        catalog.token_hashes.remove(&token.hash);
        if let Some(entry) = catalog.accounts.get_mut(account_id) {
            Arc::make_mut(entry).tokens.remove(&token_id);
        }
        Ok(())
    }

    /// Records a token's use at `minute_start` (a time truncated to the minute).
    pub fn touch_token(
        &mut self,
        account_id: &AccountId,
        token_id: TokenId,
        minute_start: Millis,
    ) -> Result<(), Error> {
        let token = {
            let catalog = self.catalog();
            match catalog
                .accounts
                .get(account_id)
                .and_then(|e| e.tokens.get(&token_id))
            {
                // Revoked meanwhile, or already recorded: nothing to do.
                None => return Ok(()),
                Some(t) if t.last_used >= Some(minute_start) => return Ok(()),
                Some(t) => t.clone(),
            }
        };
        let token = TokenRecord {
            last_used: Some(minute_start),
            ..token
        };
        self.put_token(&token)?;
        self.catalog_mut().insert_token(token);
        Ok(())
    }

    /// Creates a webhook for an account.
    pub fn create_webhook(
        &mut self,
        account_id: &AccountId,
        settings: WebhookSettings,
        secret: String,
        user_identifier: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        if !self.catalog().accounts.contains_key(account_id) {
            return Err(not_found_account(account_id));
        }
        let webhook = rules::new_webhook(
            WebhookId::generate(),
            account_id.clone(),
            settings,
            secret,
            user_identifier,
            now,
        );
        self.put_webhook(&webhook)?;
        self.store_webhook_in_catalog(webhook.clone());
        Ok(webhook)
    }

    fn existing_webhook(
        &self,
        account_id: &AccountId,
        webhook_id: WebhookId,
    ) -> Result<Arc<Webhook>, Error> {
        let catalog = self.catalog();
        let entry = catalog
            .accounts
            .get(account_id)
            .ok_or_else(|| not_found_account(account_id))?;
        entry
            .webhooks
            .get(&webhook_id)
            .cloned()
            .ok_or_else(|| not_found_webhook(webhook_id))
    }

    fn store_webhook_in_catalog(&mut self, webhook: Webhook) {
        self.catalog_mut().put_webhook(Arc::new(webhook));
    }

    /// Writes a changed webhook to the store and the catalog.
    pub fn replace_webhook(&mut self, webhook: Webhook) -> Result<(), Error> {
        self.put_webhook(&webhook)?;
        self.store_webhook_in_catalog(webhook);
        Ok(())
    }

    /// Replaces a webhook's settings if `version` is the stored one.
    pub fn update_webhook(
        &mut self,
        account_id: &AccountId,
        webhook_id: WebhookId,
        settings: WebhookSettings,
        version: u64,
        now: Millis,
    ) -> Result<Webhook, Error> {
        let current = self.existing_webhook(account_id, webhook_id)?;
        if current.version != version {
            return Err(Error::VersionConflict {
                current: current.version,
            });
        }
        let webhook = rules::updated_webhook(&current, settings, now);
        self.put_webhook(&webhook)?;
        self.store_webhook_in_catalog(webhook.clone());
        Ok(webhook)
    }

    /// Deletes a webhook; its pending and buffered deliveries become `cancelled`.
    pub fn delete_webhook(
        &mut self,
        account_id: &AccountId,
        webhook_id: WebhookId,
    ) -> Result<(), Error> {
        self.existing_webhook(account_id, webhook_id)?;
        self.cancel_webhook_deliveries(webhook_id)?;
        self.purge_stats(webhook_id, u64::MAX)?;
        self.webhooks()?.remove(webhook_id.to_string().as_str())?;
        self.catalog_mut().remove_webhook(account_id, webhook_id);
        Ok(())
    }

    /// Replaces a webhook's secret and `v1a` key pair; the old ones keep signing for 24 hours.
    pub fn rotate_webhook_secret(
        &mut self,
        account_id: &AccountId,
        webhook_id: WebhookId,
        secret: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        let current = self.existing_webhook(account_id, webhook_id)?;
        let webhook = rules::rotated_webhook(&current, secret, now);
        self.put_webhook(&webhook)?;
        self.store_webhook_in_catalog(webhook.clone());
        Ok(webhook)
    }
}

// ---------------------------------------------------------------------------------------------
// Reads (from the catalog) and the async write API
// ---------------------------------------------------------------------------------------------

impl RedbStore {
    /// The account with this id.
    pub fn account(&self, id: &AccountId) -> Option<Account> {
        self.catalog()
            .read()
            .accounts
            .get(id)
            .map(|e| e.account.clone())
    }

    /// See [`WriteCtx::create_account`].
    pub async fn create_account(
        &self,
        id: Option<AccountId>,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        self.write(move |ctx| ctx.create_account(id, name, language, now))
            .await
    }

    /// See [`WriteCtx::update_account`].
    pub async fn update_account(
        &self,
        id: AccountId,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        self.write(move |ctx| ctx.update_account(&id, name, language, now))
            .await
    }

    /// See [`WriteCtx::delete_account`].
    pub async fn delete_account(&self, id: AccountId) -> Result<Account, Error> {
        self.write(move |ctx| ctx.delete_account(&id)).await
    }

    /// See [`WriteCtx::create_portal_link`].
    pub async fn create_portal_link(&self, link: PortalLink) -> Result<PortalLink, Error> {
        self.write(move |ctx| ctx.create_portal_link(link)).await
    }

    /// See [`WriteCtx::revoke_portal_link`].
    pub async fn revoke_portal_link(
        &self,
        account_id: AccountId,
        link_id: PortalLinkId,
        now: Millis,
    ) -> Result<(), Error> {
        self.write(move |ctx| ctx.revoke_portal_link(&account_id, link_id, now))
            .await
    }

    /// See [`WriteCtx::create_token`].
    pub async fn create_token(
        &self,
        account_id: AccountId,
        name: String,
        hash: TokenHash,
        now: Millis,
    ) -> Result<TokenRecord, Error> {
        self.write(move |ctx| ctx.create_token(&account_id, name, hash, now))
            .await
    }

    /// See [`WriteCtx::delete_token`].
    pub async fn delete_token(
        &self,
        account_id: AccountId,
        token_id: TokenId,
    ) -> Result<(), Error> {
        self.write(move |ctx| ctx.delete_token(&account_id, token_id))
            .await
    }

    /// See [`WriteCtx::touch_token`].
    pub async fn touch_token(&self, owner: TokenOwner, minute_start: Millis) -> Result<(), Error> {
        self.write(move |ctx| ctx.touch_token(&owner.account_id, owner.token_id, minute_start))
            .await
    }

    /// See [`WriteCtx::create_webhook`].
    pub async fn create_webhook(
        &self,
        account_id: AccountId,
        settings: WebhookSettings,
        secret: String,
        user_identifier: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        self.write(move |ctx| {
            ctx.create_webhook(&account_id, settings, secret, user_identifier, now)
        })
        .await
    }

    /// See [`WriteCtx::update_webhook`].
    pub async fn update_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        settings: WebhookSettings,
        version: u64,
        now: Millis,
    ) -> Result<Webhook, Error> {
        self.write(move |ctx| ctx.update_webhook(&account_id, webhook_id, settings, version, now))
            .await
    }

    /// See [`WriteCtx::delete_webhook`].
    pub async fn delete_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
    ) -> Result<(), Error> {
        self.write(move |ctx| ctx.delete_webhook(&account_id, webhook_id))
            .await
    }

    /// See [`WriteCtx::rotate_webhook_secret`].
    pub async fn rotate_webhook_secret(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        secret: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        self.write(move |ctx| ctx.rotate_webhook_secret(&account_id, webhook_id, secret, now))
            .await
    }
}
