//! The API's reads of traffic (events, deliveries) and the gauges of `/metrics`: the same
//! orders, pages and cursors as the embedded backend (ids are UUID v7, and PostgreSQL orders
//! `uuid` as the embedded store orders its 128-bit keys).

use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::{Db, PgStore, uid};
use crate::error::Error;
use crate::ids::{AccountId, DeliveryId, EventId, WebhookId};
use crate::records::{DeliveryRecord, EventMeta, StoredEvent};
use crate::store::types::DeliveryFilter;

/// The columns [`event_of`] reads, in its order.
const EVENT_COLUMNS: &str =
    "id, event_type, created_ms, idempotency_key, deliveries, data_start, data_end, envelope";

/// A stored event from a row of [`EVENT_COLUMNS`].
pub(super) fn event_of(row: &Row) -> Result<StoredEvent, Error> {
    let corrupt = |e: tokio_postgres::Error| Error::Corrupt(format!("corrupt event row: {e}"));
    let id: Uuid = row.try_get(0).map_err(corrupt)?;
    let deliveries: Json<Vec<(DeliveryId, WebhookId)>> = row.try_get(4).map_err(corrupt)?;
    Ok(StoredEvent {
        id: EventId::from_u128(id.as_u128()),
        meta: EventMeta {
            event_type: row.try_get(1).map_err(corrupt)?,
            created: row.try_get(2).map_err(corrupt)?,
            idempotency_key: row.try_get(3).map_err(corrupt)?,
            deliveries: deliveries.0,
            data_start: row.try_get::<_, i32>(5).map_err(corrupt)? as u32,
            data_end: row.try_get::<_, i32>(6).map_err(corrupt)? as u32,
        },
        envelope: row.try_get(7).map_err(corrupt)?,
    })
}

impl PgStore {
    fn seq_of(&self, account_id: &AccountId) -> Result<i64, Error> {
        self.catalog()
            .read()
            .accounts
            .get(account_id)
            .map(|e| e.account.seq as i64)
            .ok_or_else(|| Error::NotFound(format!("account {account_id}")))
    }

    /// One event of an account.
    pub async fn event(
        &self,
        account_id: &AccountId,
        event_id: EventId,
    ) -> Result<Option<StoredEvent>, Error> {
        let seq = self.seq_of(account_id)?;
        let shared = self.shared();
        let client = shared.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM hookd_events WHERE account_seq = $1 AND id = $2"
                ),
                &[&seq, &uid(event_id)],
            )
            .await
            .db(shared)?;
        row.as_ref().map(event_of).transpose()
    }

    /// A page of an account's events, newest first, optionally of one type; with the id to
    /// continue before when more follow.
    pub async fn list_events(
        &self,
        account_id: &AccountId,
        before: Option<EventId>,
        limit: usize,
        event_type: Option<String>,
    ) -> Result<(Vec<StoredEvent>, Option<EventId>), Error> {
        let seq = self.seq_of(account_id)?;
        let shared = self.shared();
        let client = shared.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM hookd_events
                     WHERE account_seq = $1 AND ($2::uuid IS NULL OR id < $2)
                       AND ($3::text IS NULL OR event_type = $3)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[&seq, &before.map(uid), &event_type, &(limit as i64 + 1)],
            )
            .await
            .db(shared)?;
        let more = rows.len() > limit;
        let items = rows
            .iter()
            .take(limit)
            .map(event_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok((items, next))
    }

    /// Several deliveries of an account by id (missing ones are skipped), in the order asked.
    pub async fn deliveries_by_id(
        &self,
        account_id: &AccountId,
        ids: Vec<DeliveryId>,
    ) -> Result<Vec<(DeliveryId, DeliveryRecord)>, Error> {
        let seq = self.seq_of(account_id)?;
        let shared = self.shared();
        let client = shared.client().await?;
        let keys: Vec<Uuid> = ids.iter().map(|id| uid(*id)).collect();
        let mut found = std::collections::HashMap::new();
        for row in client
            .query(
                "SELECT id, record FROM hookd_deliveries WHERE account_seq = $1 AND id = ANY($2)",
                &[&seq, &keys],
            )
            .await
            .db(shared)?
        {
            let id: Uuid = row.get(0);
            found.insert(id, row.get::<_, serde_json::Value>(1));
        }
        let mut out = Vec::with_capacity(found.len());
        for id in ids {
            if let Some(value) = found.remove(&uid(id)) {
                out.push((id, super::delivery_from(value)?));
            }
        }
        Ok(out)
    }

    /// A page of an account's deliveries in creation order, filtered.
    pub async fn list_deliveries(
        &self,
        account_id: &AccountId,
        after: Option<DeliveryId>,
        limit: usize,
        filter: DeliveryFilter,
    ) -> Result<(Vec<(DeliveryId, DeliveryRecord)>, Option<DeliveryId>), Error> {
        let seq = self.seq_of(account_id)?;
        let shared = self.shared();
        let client = shared.client().await?;
        let rows = client
            .query(
                "SELECT id, record FROM hookd_deliveries
                 WHERE account_seq = $1 AND ($2::uuid IS NULL OR id > $2)
                   AND ($3::uuid IS NULL OR webhook_id = $3)
                   AND ($4::uuid IS NULL OR event_id = $4)
                   AND ($5::text IS NULL OR status = $5)
                 ORDER BY id LIMIT $6",
                &[
                    &seq,
                    &after.map(uid),
                    &filter.webhook_id.map(uid),
                    &filter.event_id.map(uid),
                    &filter.status.map(|s| s.as_str()),
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
                DeliveryId::from_u128(id.as_u128()),
                super::delivery_from(row.get(1))?,
            ));
        }
        let next = if more {
            items.last().map(|(id, _)| *id)
        } else {
            None
        };
        Ok((items, next))
    }

    /// The gauges `/metrics` shows that the store knows: queue sizes, webhooks by status,
    /// the database's size and the nodes seen within a lease. `in_flight` is left 0 for the
    /// engine to fill in.
    pub async fn gauges(&self) -> Result<crate::metrics::Gauges, Error> {
        let (active, deactivated) = {
            let catalog = self.catalog().read();
            let deactivated = catalog
                .webhooks_by_id
                .values()
                .filter(|w| w.is_deactivated())
                .count() as u64;
            (
                catalog.webhooks_by_id.len() as u64 - deactivated,
                deactivated,
            )
        };
        let shared = self.shared();
        let client = shared.client().await?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM hookd_due),
                        (SELECT count(*) FROM hookd_buffer),
                        pg_database_size(current_database()),
                        (SELECT count(*) FROM hookd_nodes
                         WHERE last_seen > now() - make_interval(secs => $1))",
                &[&shared.lease.as_secs_f64()],
            )
            .await
            .db(shared)?;
        let count = |i: usize| row.get::<_, i64>(i).max(0) as u64;
        Ok(crate::metrics::Gauges {
            pending: count(0),
            buffered: count(1),
            in_flight: 0,
            webhooks_active: active,
            webhooks_deactivated: deactivated,
            store_bytes: count(2),
            nodes: count(3),
        })
    }
}
