//! Manual retries, activation (replay or drop of the buffer), buffer expiry and the retention
//! purge (run by one node of the cluster), activation links and notifications.

use std::collections::HashMap;

use uuid::Uuid;

use super::config_ops::{account_seq, lock_webhook, put_webhook};
use super::{Batch, Db, Fail, PgStore, apply_catalog, from_json, sync, uid};
use crate::error::Error;
use crate::ids::{AccountId, DeliveryId, NotificationId, WebhookId, v7_floor};
use crate::model::Webhook;
use crate::records::{DeliveryRecord, DeliveryStatus, NotificationRecord};
use crate::store::rules;
use crate::store::types::Activation;
use crate::time::Millis;

/// A batch's failure as the API's error.
fn plain(fail: Fail) -> Error {
    match fail {
        Fail::Retry => Error::StoreUnavailable(crate::error::Unstored::NothingStored),
        Fail::Error(e) => e,
    }
}

impl PgStore {
    /// Schedules a delivery again now: a finished one starts a fresh series of attempts, a
    /// pending one is moved to now. Deliveries of deactivated or deleted webhooks are refused.
    pub async fn retry_delivery(
        &self,
        account_id: AccountId,
        delivery_id: DeliveryId,
        now: Millis,
    ) -> Result<(DeliveryRecord, WebhookId), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let seq = account_seq(&*tx, shared, &account_id).await?;
        let row = tx
            .query_opt(
                "SELECT record FROM hookd_deliveries WHERE account_seq = $1 AND id = $2 FOR UPDATE",
                &[&seq, &uid(delivery_id)],
            )
            .await
            .db(shared)?
            .ok_or_else(|| Error::NotFound(format!("delivery {delivery_id}")))?;
        let mut record: DeliveryRecord = super::delivery_from(row.get(0))?;
        let webhook = tx
            .query_opt(
                "SELECT record FROM hookd_webhooks WHERE id = $1 FOR NO KEY UPDATE",
                &[&uid(record.webhook_id)],
            )
            .await
            .db(shared)?;
        let webhook: crate::model::Webhook = match webhook {
            Some(row) => from_json(row.get(0))?,
            None => return Err(Error::Conflict("the delivery's webhook was deleted".into())),
        };
        if webhook.is_deactivated() {
            return Err(Error::Conflict(
                "the delivery's webhook is deactivated; activate it first".into(),
            ));
        }
        let webhook_key = uid(record.webhook_id);
        match record.status {
            DeliveryStatus::Pending => {
                tx.execute(
                    "DELETE FROM hookd_due WHERE account_seq = $1 AND webhook_id = $2
                     AND due_key = $3 AND delivery_id = $4",
                    &[
                        &seq,
                        &webhook_key,
                        &(record.due_key as i64),
                        &uid(delivery_id),
                    ],
                )
                .await
                .db(shared)?;
            }
            DeliveryStatus::Failed | DeliveryStatus::Succeeded | DeliveryStatus::Expired => {
                record.series_start = record.attempt_count;
            }
            DeliveryStatus::Buffered | DeliveryStatus::Cancelled => {
                return Err(Error::Conflict(format!(
                    "a {} delivery cannot be retried",
                    record.status.as_str()
                )));
            }
        }
        record.status = DeliveryStatus::Pending;
        record.next_attempt = Some(now);
        // An ordered webhook's queue is in commit order: the delivery keeps its place.
        if !webhook.settings.ordered {
            record.due_key = rules::due_key(false, now);
        }
        tx.execute(
            "INSERT INTO hookd_due (account_seq, webhook_id, due_key, delivery_id, due_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &seq,
                &webhook_key,
                &(record.due_key as i64),
                &uid(delivery_id),
                &now,
            ],
        )
        .await
        .db(shared)?;
        tx.execute(
            "UPDATE hookd_deliveries SET status = $3, record = $4 WHERE account_seq = $1 AND id = $2",
            &[&seq, &uid(delivery_id), &record.status.as_str(), &super::delivery_json(&record)?],
        )
        .await
        .db(shared)?;
        sync::notify_due(&*tx, &[record.webhook_id])
            .await
            .db(shared)?;
        shared.commit(tx).await?;
        let webhook_id = record.webhook_id;
        Ok((record, webhook_id))
    }

    /// Reactivates a webhook. With `replay`, its buffered deliveries still inside the buffer
    /// window are scheduled now (oldest event first) as fresh series; without, they are
    /// cancelled. Activating an active webhook changes nothing. `link` (the deactivation an
    /// activation link was issued for) refuses with `Conflict` unless the webhook is still in
    /// that very deactivation, so a link works once.
    pub async fn activate(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        replay: bool,
        now: Millis,
        buffer_window: Millis,
        link: Option<Millis>,
    ) -> Result<Activation, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let (seq, current) = lock_webhook(&*tx, shared, &account_id, webhook_id).await?;
        if let Some(deactivated) = link
            && !rules::link_still_applies(&current, deactivated)
        {
            return Err(Error::Conflict(
                "this activation link was already used".into(),
            ));
        }
        if !current.is_deactivated() {
            return Ok(Activation {
                webhook: current,
                replayed: 0,
                dropped: 0,
            });
        }
        let webhook = rules::activated(&current);
        put_webhook(&*tx, shared, &webhook).await?;
        let mut buffered: Vec<Uuid> = tx
            .query(
                "DELETE FROM hookd_buffer WHERE account_seq = $1 AND webhook_id = $2
                 RETURNING delivery_id",
                &[&seq, &uid(webhook_id)],
            )
            .await
            .db(shared)?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        // Delivery ids increase with their events, so this is oldest event first.
        buffered.sort_unstable();
        let mut records: HashMap<Uuid, DeliveryRecord> = HashMap::new();
        for row in tx
            .query(
                "SELECT id, record FROM hookd_deliveries WHERE account_seq = $1 AND id = ANY($2)
                 FOR UPDATE",
                &[&seq, &buffered],
            )
            .await
            .db(shared)?
        {
            records.insert(row.get(0), super::delivery_from(row.get(1))?);
        }
        let (mut replayed, mut dropped) = (0, 0);
        let mut due = Vec::new();
        let (mut ids, mut statuses, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for id in buffered {
            let Some(mut record) = records.remove(&id) else {
                continue;
            };
            let kept_key = record.due_key;
            match rules::unbuffer(&mut record, &webhook, replay, now, buffer_window) {
                rules::Unbuffered::Expired => {}
                rules::Unbuffered::Replayed { due_key } => {
                    // An ordered webhook's queue is in commit order: each keeps its place.
                    if webhook.settings.ordered {
                        record.due_key = kept_key;
                    } else {
                        record.due_key = due_key;
                    }
                    due.push((seq, uid(webhook_id), record.due_key as i64, id, now));
                    replayed += 1;
                }
                rules::Unbuffered::Dropped => dropped += 1,
            }
            ids.push(id);
            statuses.push(record.status.as_str());
            values.push(super::delivery_json(&record)?);
        }
        super::ingest::write_due(&*tx, &due)
            .await
            .batch(shared)
            .map_err(plain)?;
        if !ids.is_empty() {
            let statement = tx
                .prepare(
                    "UPDATE hookd_deliveries SET status = $3, record = $4
                     WHERE account_seq = $1 AND id = $2",
                )
                .await
                .db(shared)?;
            let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 4]> = ids
                .iter()
                .zip(&statuses)
                .zip(&values)
                .map(|((id, status), value)| [&seq as _, id as _, status as _, value as _])
                .collect();
            for done in
                super::join_all(params.iter().map(|p| tx.execute(&statement, p)).collect()).await
            {
                done.db(shared)?;
            }
        }
        if replayed > 0 {
            sync::notify_due(&*tx, &[webhook_id]).await.db(shared)?;
        }
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let activated = std::sync::Arc::new(webhook.clone());
        apply_catalog(shared, version, |c| c.put_webhook(activated));
        Ok(Activation {
            webhook,
            replayed,
            dropped,
        })
    }

    /// Marks buffered deliveries whose event is older than the buffer window `expired`, at
    /// most `limit` of them; returns how many. Only the node holding the housekeeping lock
    /// does this work; the others find nothing to do.
    pub async fn expire_buffered(
        &self,
        now: Millis,
        buffer_window: Millis,
        limit: usize,
    ) -> Result<usize, Error> {
        let shared = self.shared();
        if !shared.housekeeper.is_leader(shared).await {
            return Ok(0);
        }
        let floor = Uuid::from_u128(v7_floor(now - buffer_window));
        let client = shared.client().await?;
        let count: i64 = client
            .query_one(
                "WITH picked AS (
                     SELECT account_seq, webhook_id, delivery_id FROM hookd_buffer
                     WHERE delivery_id < $1 LIMIT $2
                 ), gone AS (
                     DELETE FROM hookd_buffer b USING picked p
                     WHERE b.account_seq = p.account_seq AND b.webhook_id = p.webhook_id
                       AND b.delivery_id = p.delivery_id
                     RETURNING b.account_seq, b.delivery_id
                 ), marked AS (
                     UPDATE hookd_deliveries d
                     SET status = 'expired', record = d.record || '{\"status\": \"expired\"}'::jsonb
                     FROM gone g WHERE d.account_seq = g.account_seq AND d.id = g.delivery_id
                     RETURNING 1
                 )
                 SELECT count(*) FROM gone",
                &[&floor, &(limit as i64)],
            )
            .await
            .db(shared)?
            .get(0);
        Ok(count as usize)
    }

    /// Removes events, deliveries (with their queue entries), idempotency keys and
    /// notifications created before `cutoff`, at most about `limit` records; returns how many.
    /// Only the node holding the housekeeping lock does this work.
    pub async fn purge_before(&self, cutoff: Millis, limit: usize) -> Result<usize, Error> {
        let shared = self.shared();
        if !shared.housekeeper.is_leader(shared).await {
            return Ok(0);
        }
        let floor = Uuid::from_u128(v7_floor(cutoff));
        let seqs: Vec<i64> = shared
            .catalog
            .read()
            .accounts
            .values()
            .map(|e| e.account.seq as i64)
            .collect();
        let client = shared.client().await?;
        let mut removed = 0usize;
        for seq in seqs {
            if removed >= limit {
                break;
            }
            let deliveries: i64 = client
                .query_one(
                    "WITH old AS (
                         DELETE FROM hookd_deliveries WHERE account_seq = $1 AND id IN (
                             SELECT id FROM hookd_deliveries WHERE account_seq = $1 AND id < $2
                             ORDER BY id LIMIT $3)
                         RETURNING id, webhook_id, status,
                                   COALESCE((record->>'due_key')::bigint, 0) AS due_key
                     ), due AS (
                         DELETE FROM hookd_due q USING old
                         WHERE old.status = 'pending' AND q.account_seq = $1
                           AND q.webhook_id = old.webhook_id AND q.due_key = old.due_key
                           AND q.delivery_id = old.id
                         RETURNING 1
                     ), buffered AS (
                         DELETE FROM hookd_buffer q USING old
                         WHERE old.status = 'buffered' AND q.account_seq = $1
                           AND q.webhook_id = old.webhook_id AND q.delivery_id = old.id
                         RETURNING 1
                     )
                     SELECT count(*) FROM old",
                    &[&seq, &floor, &((limit - removed) as i64)],
                )
                .await
                .db(shared)?
                .get(0);
            removed += deliveries as usize;
            let events: i64 = client
                .query_one(
                    "WITH old AS (
                         DELETE FROM hookd_events WHERE account_seq = $1 AND id IN (
                             SELECT id FROM hookd_events WHERE account_seq = $1 AND id < $2
                             ORDER BY id LIMIT $3)
                         RETURNING idempotency_key
                     ), keys AS (
                         DELETE FROM hookd_idempotency q USING old
                         WHERE q.account_seq = $1 AND q.key = old.idempotency_key
                         RETURNING 1
                     )
                     SELECT count(*) FROM old",
                    &[&seq, &floor, &(limit.saturating_sub(removed).max(1) as i64)],
                )
                .await
                .db(shared)?
                .get(0);
            removed += events as usize;
        }
        let notifications = client
            .execute(
                "DELETE FROM hookd_notifications WHERE id IN (
                     SELECT id FROM hookd_notifications WHERE id < $1 ORDER BY id LIMIT $2)",
                &[&floor, &(limit.saturating_sub(removed).max(1) as i64)],
            )
            .await
            .db(shared)?;
        Ok(removed + notifications as usize)
    }

    /// A page of notifications in creation order, of one account or of all.
    pub async fn list_notifications(
        &self,
        account_id: Option<AccountId>,
        after: Option<NotificationId>,
        limit: usize,
    ) -> Result<
        (
            Vec<(NotificationId, NotificationRecord)>,
            Option<NotificationId>,
        ),
        Error,
    > {
        let shared = self.shared();
        let client = shared.client().await?;
        let rows = client
            .query(
                "SELECT id, record FROM hookd_notifications
                 WHERE ($1::text IS NULL OR record->>'account_id' = $1)
                   AND ($2::uuid IS NULL OR id > $2)
                 ORDER BY id LIMIT $3",
                &[
                    &account_id.as_ref().map(|a| a.as_str()),
                    &after.map(uid),
                    &(limit as i64 + 1),
                ],
            )
            .await
            .db(shared)?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit.min(rows.len()));
        for row in rows.into_iter().take(limit) {
            let id: Uuid = row.get(0);
            items.push((
                NotificationId::from_u128(id.as_u128()),
                from_json(row.get(1))?,
            ));
        }
        let next = if more {
            items.last().map(|(id, _)| *id)
        } else {
            None
        };
        Ok((items, next))
    }

    /// How many deliveries of the webhook wait in the buffer (for its activation page).
    pub async fn buffered_count(&self, webhook: &Webhook) -> Result<u64, Error> {
        let shared = self.shared();
        let seq = shared
            .catalog
            .read()
            .accounts
            .get(&webhook.account_id)
            .map_or(-1, |e| e.account.seq as i64);
        let client = shared.client().await?;
        let buffered: i64 = client
            .query_one(
                "SELECT count(*) FROM hookd_buffer WHERE account_seq = $1 AND webhook_id = $2",
                &[&seq, &uid(webhook.id)],
            )
            .await
            .db(shared)?
            .get(0);
        Ok(buffered.max(0) as u64)
    }
}
