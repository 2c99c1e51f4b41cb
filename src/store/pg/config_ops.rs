//! Writes of configuration records: accounts, tokens, webhooks.
//!
//! Each runs in a transaction of its own and reads the record it changes from the database
//! under its row lock (never from this node's catalog, which may lag another node's change by
//! up to a second), so concurrent changes on two nodes never overwrite each other. After the
//! commit the change is published in this node's catalog at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_postgres::GenericClient;

use super::{Db, PgStore, Shared, apply_catalog, from_json, sync, to_json, uid};
use crate::crypto::TokenHash;
use crate::error::Error;
use crate::i18n::Lang;
use crate::ids::{AccountId, TokenId, WebhookId};
use crate::model::{Account, TokenRecord, Webhook, WebhookSettings};
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

/// The account's `seq`, locked against its deletion until the transaction ends.
pub(super) async fn account_seq(
    client: &impl GenericClient,
    shared: &Shared,
    account_id: &AccountId,
) -> Result<i64, Error> {
    client
        .query_opt(
            "SELECT seq FROM hookd_accounts WHERE id = $1 FOR KEY SHARE",
            &[&account_id.as_str()],
        )
        .await
        .db(shared)?
        .map(|row| row.get(0))
        .ok_or_else(|| not_found_account(account_id))
}

/// A webhook of an account, read under its row lock.
pub(super) async fn lock_webhook(
    client: &impl GenericClient,
    shared: &Shared,
    account_id: &AccountId,
    webhook_id: WebhookId,
) -> Result<(i64, Webhook), Error> {
    let seq = account_seq(client, shared, account_id).await?;
    let row = client
        .query_opt(
            "SELECT record FROM hookd_webhooks WHERE id = $1 AND account_id = $2
             FOR NO KEY UPDATE",
            &[&uid(webhook_id), &account_id.as_str()],
        )
        .await
        .db(shared)?
        .ok_or_else(|| not_found_webhook(webhook_id))?;
    Ok((seq, from_json(row.get(0))?))
}

/// Writes a changed webhook record.
pub(super) async fn put_webhook(
    client: &impl GenericClient,
    shared: &Shared,
    webhook: &Webhook,
) -> Result<(), Error> {
    client
        .execute(
            "UPDATE hookd_webhooks SET record = $2 WHERE id = $1",
            &[&uid(webhook.id), &to_json(webhook)?],
        )
        .await
        .db(shared)?;
    Ok(())
}

impl PgStore {
    /// Creates an account; `id` is generated when absent.
    pub async fn create_account(
        &self,
        id: Option<AccountId>,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        let shared = self.shared();
        let id = id.unwrap_or_else(AccountId::generate);
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let seq: i64 = tx
            .query_one(
                "UPDATE hookd_meta SET value = (value::bigint + 1)::text WHERE key = $1
                 RETURNING value::bigint - 1",
                &[&super::schema::META_NEXT_ACCOUNT_SEQ],
            )
            .await
            .db(shared)?
            .get(0);
        let account = Account {
            id,
            name,
            created: now,
            updated: now,
            seq: seq as u64,
            language,
        };
        let inserted = tx
            .execute(
                "INSERT INTO hookd_accounts (id, seq, record) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
                &[&account.id.as_str(), &seq, &to_json(&account)?],
            )
            .await
            .db(shared)?;
        if inserted == 0 {
            return Err(Error::Conflict(format!(
                "account id {} is already in use",
                account.id
            )));
        }
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let entry = AccountEntry {
            account: account.clone(),
            tokens: BTreeMap::new(),
            webhooks: BTreeMap::new(),
        };
        apply_catalog(shared, version, |c| {
            c.accounts.insert(entry.account.id.clone(), Arc::new(entry));
        });
        Ok(account)
    }

    /// Replaces an account's name and language.
    pub async fn update_account(
        &self,
        id: AccountId,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let row = tx
            .query_opt(
                "SELECT record FROM hookd_accounts WHERE id = $1 FOR NO KEY UPDATE",
                &[&id.as_str()],
            )
            .await
            .db(shared)?
            .ok_or_else(|| not_found_account(&id))?;
        let mut account: Account = from_json(row.get(0))?;
        account.name = name;
        account.language = language;
        account.updated = now;
        tx.execute(
            "UPDATE hookd_accounts SET record = $2 WHERE id = $1",
            &[&id.as_str(), &to_json(&account)?],
        )
        .await
        .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let updated = account.clone();
        apply_catalog(shared, version, |c| {
            if let Some(entry) = c.accounts.get_mut(&updated.id) {
                Arc::make_mut(entry).account = updated;
            }
        });
        Ok(account)
    }

    /// Deletes an account with everything it owns.
    pub async fn delete_account(&self, id: AccountId) -> Result<Account, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let row = tx
            .query_opt(
                "SELECT seq, record FROM hookd_accounts WHERE id = $1 FOR UPDATE",
                &[&id.as_str()],
            )
            .await
            .db(shared)?
            .ok_or_else(|| not_found_account(&id))?;
        let seq: i64 = row.get(0);
        let account: Account = from_json(row.get(1))?;
        tx.execute(
            "DELETE FROM hookd_tokens WHERE account_id = $1",
            &[&id.as_str()],
        )
        .await
        .db(shared)?;
        for table in [
            "hookd_due",
            "hookd_buffer",
            "hookd_deliveries",
            "hookd_events",
            "hookd_idempotency",
            "hookd_notifications",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE account_seq = $1"),
                &[&seq],
            )
            .await
            .db(shared)?;
        }
        tx.execute(
            "DELETE FROM hookd_stats WHERE webhook_id IN
                 (SELECT id FROM hookd_webhooks WHERE account_id = $1)",
            &[&id.as_str()],
        )
        .await
        .db(shared)?;
        tx.execute(
            "DELETE FROM hookd_portal_links WHERE account_id = $1",
            &[&id.as_str()],
        )
        .await
        .db(shared)?;
        tx.execute(
            "DELETE FROM hookd_webhooks WHERE account_id = $1",
            &[&id.as_str()],
        )
        .await
        .db(shared)?;
        tx.execute("DELETE FROM hookd_accounts WHERE id = $1", &[&id.as_str()])
            .await
            .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| {
            if let Some(entry) = c.accounts.get(&id).cloned() {
                for token in entry.tokens.values() {
                    c.token_hashes.remove(&token.hash);
                }
                for webhook_id in entry.webhooks.keys() {
                    c.remove_webhook(&id, *webhook_id);
                }
            }
            c.remove_portal_links_of(&id);
            c.accounts.remove(&id);
        });
        Ok(account)
    }

    /// Issues a token for an account; only its `hash` is stored.
    pub async fn create_token(
        &self,
        account_id: AccountId,
        name: String,
        hash: TokenHash,
        now: Millis,
    ) -> Result<TokenRecord, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        account_seq(&*tx, shared, &account_id).await?;
        let token = TokenRecord {
            id: TokenId::generate(),
            account_id,
            name,
            created: now,
            last_used: None,
            hash,
        };
        tx.execute(
            "INSERT INTO hookd_tokens (id, account_id, record) VALUES ($1, $2, $3)",
            &[
                &uid(token.id),
                &token.account_id.as_str(),
                &to_json(&token)?,
            ],
        )
        .await
        .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let created = token.clone();
        apply_catalog(shared, version, |c| c.insert_token(created));
        Ok(token)
    }

    /// Revokes a token: it stops working on this node as soon as this returns, on the others
    /// within a second.
    pub async fn delete_token(
        &self,
        account_id: AccountId,
        token_id: TokenId,
    ) -> Result<(), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        account_seq(&*tx, shared, &account_id).await?;
        let row = tx
            .query_opt(
                "DELETE FROM hookd_tokens WHERE id = $1 AND account_id = $2 RETURNING record",
                &[&uid(token_id), &account_id.as_str()],
            )
            .await
            .db(shared)?
            .ok_or_else(|| Error::NotFound(format!("token {token_id}")))?;
        let token: TokenRecord = from_json(row.get(0))?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| {
            c.token_hashes.remove(&token.hash);
            if let Some(entry) = c.accounts.get_mut(&account_id) {
                Arc::make_mut(entry).tokens.remove(&token_id);
            }
        });
        Ok(())
    }

    /// Records a token's use at `minute_start` (a time truncated to the minute).
    pub async fn touch_token(&self, owner: TokenOwner, minute_start: Millis) -> Result<(), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let row = tx
            .query_opt(
                "UPDATE hookd_tokens SET record = jsonb_set(record, '{last_used}', to_jsonb($2::bigint))
                 WHERE id = $1 AND COALESCE((record->>'last_used')::bigint, -1) < $2
                 RETURNING record",
                &[&uid(owner.token_id), &minute_start],
            )
            .await
            .db(shared)?;
        // Revoked meanwhile, or already recorded: nothing to do.
        let Some(row) = row else { return Ok(()) };
        let token: TokenRecord = from_json(row.get(0))?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| c.insert_token(token));
        Ok(())
    }

    /// Creates a webhook for an account.
    pub async fn create_webhook(
        &self,
        account_id: AccountId,
        settings: WebhookSettings,
        secret: String,
        user_identifier: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let seq = account_seq(&*tx, shared, &account_id).await?;
        let webhook = rules::new_webhook(
            WebhookId::generate(),
            account_id,
            settings,
            secret,
            user_identifier,
            now,
        );
        tx.execute(
            "INSERT INTO hookd_webhooks (id, account_id, account_seq, record) VALUES ($1, $2, $3, $4)",
            &[
                &uid(webhook.id),
                &webhook.account_id.as_str(),
                &seq,
                &to_json(&webhook)?,
            ],
        )
        .await
        .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let created = Arc::new(webhook.clone());
        apply_catalog(shared, version, |c| c.put_webhook(created));
        Ok(webhook)
    }

    /// Replaces a webhook's settings if `version` is the stored one.
    pub async fn update_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        settings: WebhookSettings,
        version: u64,
        now: Millis,
    ) -> Result<Webhook, Error> {
        self.change_webhook(account_id, webhook_id, |current| {
            if current.version != version {
                return Err(Error::VersionConflict {
                    current: current.version,
                });
            }
            Ok(rules::updated_webhook(&current, settings, now))
        })
        .await
    }

    /// Replaces a webhook's secret; the old one keeps signing for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        secret: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        self.change_webhook(account_id, webhook_id, |current| {
            Ok(rules::rotated_webhook(&current, secret, now))
        })
        .await
    }

    /// Reads a webhook under its row lock, changes it with `change` and writes it back.
    async fn change_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        change: impl FnOnce(Webhook) -> Result<Webhook, Error>,
    ) -> Result<Webhook, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let (_, current) = lock_webhook(&*tx, shared, &account_id, webhook_id).await?;
        let webhook = change(current)?;
        put_webhook(&*tx, shared, &webhook).await?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let changed = Arc::new(webhook.clone());
        apply_catalog(shared, version, |c| c.put_webhook(changed));
        Ok(webhook)
    }

    /// Deletes a webhook; its pending and buffered deliveries become `cancelled`.
    pub async fn delete_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
    ) -> Result<(), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let seq = account_seq(&*tx, shared, &account_id).await?;
        let found = tx
            .query_opt(
                "SELECT 1 FROM hookd_webhooks WHERE id = $1 AND account_id = $2 FOR UPDATE",
                &[&uid(webhook_id), &account_id.as_str()],
            )
            .await
            .db(shared)?;
        if found.is_none() {
            return Err(not_found_webhook(webhook_id));
        }
        tx.execute(
            "WITH due AS (
                 DELETE FROM hookd_due WHERE account_seq = $1 AND webhook_id = $2
                 RETURNING delivery_id
             ), buffered AS (
                 DELETE FROM hookd_buffer WHERE account_seq = $1 AND webhook_id = $2
                 RETURNING delivery_id
             )
             UPDATE hookd_deliveries
             SET status = 'cancelled',
                 record = record || '{\"status\": \"cancelled\", \"next_attempt\": null}'::jsonb
             WHERE account_seq = $1
               AND id IN (SELECT delivery_id FROM due UNION ALL SELECT delivery_id FROM buffered)",
            &[&seq, &uid(webhook_id)],
        )
        .await
        .db(shared)?;
        tx.execute(
            "DELETE FROM hookd_stats WHERE webhook_id = $1",
            &[&uid(webhook_id)],
        )
        .await
        .db(shared)?;
        tx.execute(
            "DELETE FROM hookd_webhooks WHERE id = $1",
            &[&uid(webhook_id)],
        )
        .await
        .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| {
            c.remove_webhook(&account_id, webhook_id)
        });
        Ok(())
    }
}
