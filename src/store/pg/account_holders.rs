//! The account holder's side on the postgres backend: portal links (configuration, kept in
//! every node's catalog like tokens), webhook health counters (one row per webhook and
//! five-minute slot, added to by every node's attempt batches), replay since a time, and the
//! expiry of both.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::config_ops::account_seq;
use super::{Batch, Db, Fail, PgStore, Shared, apply_catalog, from_json, sync, to_json, uid};
use crate::error::Error;
use crate::ids::{AccountId, DeliveryId, PortalLinkId, WebhookId};
use crate::model::{PortalLink, Webhook};
use crate::records::DeliveryRecord;
use crate::store::rules;
use crate::store::stats::{KEPT_MS, SlotCounts, slot_of};
use crate::store::types::ReplayRange;
use crate::time::Millis;

/// Counts of one record batch, by webhook and slot.
pub(super) type BatchStats = HashMap<(Uuid, u64), SlotCounts>;

/// Adds a record batch's counts to the stored slots inside its transaction. The rows are made
/// first (so two nodes adding to a new slot cannot both insert it), then read under their row
/// locks in key order (so batches of several nodes never wait on each other in a cycle),
/// merged and written back.
pub(super) async fn add_stats(
    tx: &impl GenericClient,
    shared: &Shared,
    counts: BatchStats,
) -> Result<(), Fail> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut counts: Vec<((Uuid, u64), SlotCounts)> = counts.into_iter().collect();
    counts.sort_unstable_by_key(|(key, _)| *key);
    let webhooks: Vec<Uuid> = counts.iter().map(|((w, _), _)| *w).collect();
    let slots: Vec<i64> = counts.iter().map(|((_, s), _)| *s as i64).collect();
    let empty = SlotCounts::default().encode();
    tx.execute(
        "INSERT INTO hookd_stats (webhook_id, slot, counts)
         SELECT w, s, $3 FROM unnest($1::uuid[], $2::bigint[]) AS k(w, s)
         ON CONFLICT DO NOTHING",
        &[&webhooks, &slots, &empty],
    )
    .await
    .batch(shared)?;
    let mut stored: HashMap<(Uuid, u64), SlotCounts> = HashMap::new();
    for row in tx
        .query(
            "SELECT webhook_id, slot, counts FROM hookd_stats
             WHERE (webhook_id, slot) IN (SELECT * FROM unnest($1::uuid[], $2::bigint[]))
             ORDER BY webhook_id, slot FOR UPDATE",
            &[&webhooks, &slots],
        )
        .await
        .batch(shared)?
    {
        let slot: i64 = row.get(1);
        let bytes: Vec<u8> = row.get(2);
        stored.insert((row.get(0), slot as u64), SlotCounts::decode(&bytes)?);
    }
    let mut merged: Vec<Vec<u8>> = Vec::with_capacity(counts.len());
    for (key, added) in &counts {
        let mut slot = stored.remove(key).unwrap_or_default();
        slot.merge(added);
        merged.push(slot.encode());
    }
    tx.execute(
        "UPDATE hookd_stats SET counts = k.c
         FROM unnest($1::uuid[], $2::bigint[], $3::bytea[]) AS k(w, s, c)
         WHERE webhook_id = k.w AND slot = k.s",
        &[&webhooks, &slots, &merged],
    )
    .await
    .batch(shared)?;
    Ok(())
}

/// Counts an attempt of an existing webhook in `stats` (see [`add_stats`]).
pub(super) fn count_attempt(stats: &mut BatchStats, report: &crate::store::AttemptReport) {
    stats
        .entry((uid(report.webhook_id), slot_of(report.date)))
        .or_default()
        .add_attempt(report);
}

impl PgStore {
    /// Stores a portal link of an existing account (the record has only its token's hash).
    pub async fn create_portal_link(&self, link: PortalLink) -> Result<PortalLink, Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        account_seq(&*tx, shared, &link.account_id).await?;
        tx.execute(
            "INSERT INTO hookd_portal_links (id, account_id, expires_ms, record)
             VALUES ($1, $2, $3, $4)",
            &[
                &uid(link.id),
                &link.account_id.as_str(),
                &link.expires,
                &to_json(&link)?,
            ],
        )
        .await
        .db(shared)?;
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        let stored = link.clone();
        apply_catalog(shared, version, |c| c.insert_portal_link(stored));
        Ok(link)
    }

    /// Revokes a live portal link of the account; every node refuses its sessions once the
    /// change reaches its catalog (within a second). An expired link is as gone as a revoked
    /// one (404).
    pub async fn revoke_portal_link(
        &self,
        account_id: AccountId,
        link_id: PortalLinkId,
        now: Millis,
    ) -> Result<(), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let removed = tx
            .execute(
                "DELETE FROM hookd_portal_links WHERE id = $1 AND account_id = $2 AND expires_ms > $3",
                &[&uid(link_id), &account_id.as_str(), &now],
            )
            .await
            .db(shared)?;
        if removed == 0 {
            return Err(Error::NotFound(format!("portal link {link_id}")));
        }
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| {
            c.portal_links.remove(&link_id);
        });
        Ok(())
    }

    /// Forgets health slots older than [`KEPT_MS`] and portal links past their expiry. Only
    /// the node holding the housekeeping lock does this work.
    pub async fn purge_expired(&self, now: Millis) -> Result<(), Error> {
        let shared = self.shared();
        if !shared.housekeeper.is_leader(shared).await {
            return Ok(());
        }
        let mut client = shared.client().await?;
        let before = slot_of(now - KEPT_MS) as i64;
        client
            .execute("DELETE FROM hookd_stats WHERE slot < $1", &[&before])
            .await
            .db(shared)?;
        let tx = client.transaction().await.db(shared)?;
        let expired: Vec<Uuid> = tx
            .query(
                "DELETE FROM hookd_portal_links WHERE expires_ms <= $1 RETURNING id",
                &[&now],
            )
            .await
            .db(shared)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        let version = sync::bump(&*tx, shared).await?;
        shared.commit(tx).await?;
        apply_catalog(shared, version, |c| {
            for id in &expired {
                c.portal_links
                    .remove(&PortalLinkId::from_u128(id.as_u128()));
            }
        });
        Ok(())
    }

    /// A webhook's slots in `[from, to)`.
    pub async fn webhook_stats(
        &self,
        webhook_id: WebhookId,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, SlotCounts)>, Error> {
        let shared = self.shared();
        let client = shared.client().await?;
        let rows = client
            .query(
                "SELECT slot, counts FROM hookd_stats
                 WHERE webhook_id = $1 AND slot >= $2 AND slot < $3 ORDER BY slot",
                &[
                    &uid(webhook_id),
                    &(from as i64),
                    &(to.min(i64::MAX as u64) as i64),
                ],
            )
            .await
            .db(shared)?;
        let mut slots = Vec::with_capacity(rows.len());
        for row in rows {
            let slot: i64 = row.get(0);
            let bytes: Vec<u8> = row.get(1);
            slots.push((slot as u64, SlotCounts::decode(&bytes)?));
        }
        Ok(slots)
    }

    /// Sends at most `limit` of a webhook's finished deliveries of `range` again, oldest
    /// first, after `after`; returns how many and, when more may follow, the last one's id.
    pub async fn replay(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        range: Arc<ReplayRange>,
        after: Option<DeliveryId>,
        limit: usize,
    ) -> Result<(usize, Option<DeliveryId>), Error> {
        let shared = self.shared();
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        let seq = account_seq(&*tx, shared, &account_id).await?;
        let webhook: Webhook = match tx
            .query_opt(
                "SELECT record FROM hookd_webhooks WHERE id = $1 AND account_id = $2 FOR KEY SHARE",
                &[&uid(webhook_id), &account_id.as_str()],
            )
            .await
            .db(shared)?
        {
            Some(row) => from_json(row.get(0))?,
            None => return Err(Error::NotFound(format!("webhook {webhook_id}"))),
        };
        if webhook.is_deactivated() {
            return Err(rules::replay_refused_while_deactivated());
        }
        let from = match after {
            Some(id) => Uuid::from_u128(id.as_u128().saturating_add(1)),
            None => Uuid::from_u128(crate::ids::v7_floor(range.since)),
        };
        let to = Uuid::from_u128(crate::ids::v7_floor(range.until));
        let statuses: Vec<&str> = range.statuses.iter().map(|s| s.as_str()).collect();
        let rows = tx
            .query(
                "SELECT id, record FROM hookd_deliveries
                 WHERE account_seq = $1 AND id >= $2 AND id < $3 AND webhook_id = $4
                   AND status = ANY($5)
                 ORDER BY id LIMIT $6 FOR UPDATE",
                &[
                    &seq,
                    &from,
                    &to,
                    &uid(webhook_id),
                    &statuses,
                    &(limit as i64),
                ],
            )
            .await
            .db(shared)?;
        let count = rows.len();
        let mut last = None;
        for row in rows {
            let id: Uuid = row.get(0);
            let mut record: DeliveryRecord = super::delivery_from(row.get(1))?;
            let kept_key = record.due_key;
            rules::send_again(&mut record, &webhook, range.now);
            // An ordered webhook's queue is in commit order: the delivery keeps its place.
            if webhook.settings.ordered {
                record.due_key = kept_key;
            }
            tx.execute(
                "INSERT INTO hookd_due (account_seq, webhook_id, due_key, delivery_id, due_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &seq,
                    &uid(webhook_id),
                    &(record.due_key as i64),
                    &id,
                    &range.now,
                ],
            )
            .await
            .db(shared)?;
            tx.execute(
                "UPDATE hookd_deliveries SET status = $3, record = $4
                 WHERE account_seq = $1 AND id = $2",
                &[
                    &seq,
                    &id,
                    &record.status.as_str(),
                    &super::delivery_json(&record)?,
                ],
            )
            .await
            .db(shared)?;
            last = Some(DeliveryId::from_u128(id.as_u128()));
        }
        if count > 0 {
            sync::notify_due(&*tx, &[webhook_id]).await.db(shared)?;
        }
        shared.commit(tx).await?;
        if count > 0 {
            shared.wake(&[webhook_id]);
        }
        Ok((count, if count == limit { last } else { None }))
    }
}
