//! Ingest: events, their fan-out and deliveries, group-committed.
//!
//! Ingest calls become jobs on a channel; a few worker tasks each take every job waiting (up
//! to [`MAX_BATCH`]) and store them in one transaction with multi-row inserts of events,
//! deliveries and due-queue entries. Every caller is answered only after the COMMIT.
//!
//! Idempotency keys are inserted first (`ON CONFLICT DO NOTHING`): a key another transaction
//! (on this node or another) holds makes the insert wait for it, and once it committed the
//! event becomes that event's replay (or a conflict, with another body) — never an error.
//! An `ordered` webhook's deliveries get their due key from the webhook's counter, taken under
//! its row lock, so their queue order is their commit order whichever node ingests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::GenericClient;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::{BATCH_TRIES, Batch, Db, Fail, Shared, error_copy, sync, uid};
use crate::crypto;
use crate::error::Error;
use crate::ids::{AccountId, DeliveryId, EventId, WebhookId};
use crate::model::{Webhook, WebhookStatus};
use crate::records::{DeliveryStatus, envelope};
use crate::store::rules;
use crate::store::types::{FanOut, Ingested, NewEvent};
use crate::time::Millis;

/// The most ingest calls in one transaction.
const MAX_BATCH: usize = 512;

/// One ingest call: events of one account.
pub(super) struct IngestRequest {
    pub account_id: AccountId,
    pub events: Vec<NewEvent>,
    pub fan_out: FanOut,
    pub now: Millis,
}

/// What an ingest call gets back.
pub(super) type IngestResult = Result<Vec<Result<Ingested, Error>>, Error>;

/// An ingest call waiting for its batch.
pub(super) struct IngestJob {
    pub request: IngestRequest,
    pub reply: oneshot::Sender<IngestResult>,
}

/// One event stored by [`ingest_in`], with what the caller may need besides the answer.
pub(super) struct StoredEvent {
    pub ingested: Ingested,
    /// The envelope receivers get (empty on a replay).
    pub envelope: Vec<u8>,
}

/// What [`ingest_in`] did: per request, per event; and the webhooks given due work.
pub(super) struct Outcome {
    pub results: Vec<Result<Vec<Result<StoredEvent, Error>>, Error>>,
    pub woken: Vec<WebhookId>,
}

/// Takes ingest jobs off the channel and commits them in batches until the channel closes.
pub(super) async fn worker(shared: Arc<Shared>, jobs: Arc<Mutex<mpsc::Receiver<IngestJob>>>) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let (requests, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|j| (j.request, j.reply)).unzip();
        match run_batch(&shared, &requests).await {
            Ok(outcome) => {
                shared.wake(&outcome.woken);
                for (reply, result) in replies.into_iter().zip(outcome.results) {
                    let answer = result.map(|events| {
                        events
                            .into_iter()
                            .map(|e| e.map(|stored| stored.ingested))
                            .collect()
                    });
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(error_copy(&e)));
                }
            }
        }
    }
}

/// Runs one batch in a transaction and commits it, again after a deadlock.
async fn run_batch(shared: &Shared, requests: &[IngestRequest]) -> Result<Outcome, Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        match ingest_in(&*tx, shared, requests).await {
            Ok(outcome) => {
                shared.commit(tx).await?;
                return Ok(outcome);
            }
            Err(Fail::Retry) if tries < BATCH_TRIES => continue,
            Err(Fail::Retry) => {
                return Err(Error::Storage(
                    "an ingest batch kept meeting deadlocks".into(),
                ));
            }
            Err(Fail::Error(e)) => return Err(e),
        }
    }
}

/// One event on its way into the store.
struct Plan<'r> {
    request: usize,
    event: &'r NewEvent,
    seq: i64,
    account_id: &'r AccountId,
    now: Millis,
    id: EventId,
    /// The body's hash when it has an idempotency key.
    hash: Option<[u8; 32]>,
    webhooks: Vec<Arc<Webhook>>,
    /// Webhooks whose filter gave no answer for the event.
    filter_errors: u32,
    /// Decided before anything is written: a replay, a conflict, or `None` to store.
    answer: Option<Result<Ingested, Error>>,
    /// Another event of this batch with the same idempotency key, stored or replayed first.
    same_key_as: Option<usize>,
}

/// Stores the requests' events inside `tx` (no commit): the ingest of a batch, and the system
/// event of a deactivation.
pub(super) async fn ingest_in(
    tx: &impl GenericClient,
    shared: &Shared,
    requests: &[IngestRequest],
) -> Result<Outcome, Fail> {
    // The accounts, locked against deletion until the commit.
    let mut account_ids: Vec<&str> = requests.iter().map(|r| r.account_id.as_str()).collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let seqs: HashMap<String, i64> = tx
        .query(
            "SELECT id, seq FROM hookd_accounts WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
            &[&account_ids],
        )
        .await
        .batch(shared)?
        .into_iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
        .collect();

    // Fan-out from the catalog; ids from this node's generator.
    let mut plans: Vec<Plan<'_>> = Vec::new();
    {
        let catalog = shared.catalog.read();
        let mut ids = shared.ids.lock().unwrap_or_else(|e| e.into_inner());
        for (r, request) in requests.iter().enumerate() {
            let Some(&seq) = seqs.get(request.account_id.as_str()) else {
                continue;
            };
            let webhooks: Vec<Arc<Webhook>> = match catalog.accounts.get(&request.account_id) {
                Some(entry) => entry.webhooks.values().cloned().collect(),
                None => Vec::new(),
            };
            for event in &request.events {
                let fanned_out = rules::fan_out(
                    webhooks.iter(),
                    &catalog.filters,
                    &request.account_id,
                    event,
                    request.fan_out,
                );
                plans.push(Plan {
                    request: r,
                    event,
                    seq,
                    account_id: &request.account_id,
                    now: request.now,
                    id: ids.event(request.now),
                    hash: event.idempotency_key.as_ref().map(|_| event.body_hash()),
                    webhooks: fanned_out.webhooks,
                    filter_errors: fanned_out.filter_errors,
                    answer: None,
                    same_key_as: None,
                });
            }
        }
    }

    resolve_idempotency(tx, shared, &mut plans).await?;

    // The webhooks as the database has them: existing, deactivated, ordered.
    let mut webhook_ids: Vec<Uuid> = plans
        .iter()
        .filter(|p| p.answer.is_none() && p.same_key_as.is_none())
        .flat_map(|p| p.webhooks.iter().map(|w| uid(w.id)))
        .collect();
    webhook_ids.sort_unstable();
    webhook_ids.dedup();
    let mut current: HashMap<Uuid, (bool, bool)> = HashMap::new();
    if !webhook_ids.is_empty() {
        for row in tx
            .query(
                "SELECT id, record->>'status' = 'deactivated',
                        COALESCE((record->'settings'->>'ordered')::boolean, false)
                 FROM hookd_webhooks WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
                &[&webhook_ids],
            )
            .await
            .batch(shared)?
        {
            current.insert(row.get(0), (row.get(1), row.get(2)));
        }
    }
    // Due keys of ordered webhooks, from their counters, locked in id order.
    let mut wanted: BTreeMap<Uuid, i64> = BTreeMap::new();
    for plan in plans
        .iter()
        .filter(|p| p.answer.is_none() && p.same_key_as.is_none())
    {
        for webhook in &plan.webhooks {
            if let Some((_, true)) = current.get(&uid(webhook.id)) {
                *wanted.entry(uid(webhook.id)).or_default() += 1;
            }
        }
    }
    let mut next_key: HashMap<Uuid, i64> = HashMap::new();
    for (webhook, count) in &wanted {
        let last: i64 = tx
            .query_one(
                "UPDATE hookd_webhooks SET ordered_seq = ordered_seq + $2 WHERE id = $1
                 RETURNING ordered_seq",
                &[webhook, count],
            )
            .await
            .batch(shared)?
            .get(0);
        next_key.insert(*webhook, last - count + 1);
    }

    let mut rows = Rows::default();
    let mut woken: Vec<WebhookId> = Vec::new();
    let mut stored: Vec<Option<StoredEvent>> = Vec::with_capacity(plans.len());
    {
        let mut ids = shared.ids.lock().unwrap_or_else(|e| e.into_inner());
        for plan in &plans {
            if plan.answer.is_some() || plan.same_key_as.is_some() {
                stored.push(None);
                continue;
            }
            let event = plan.event;
            let (bytes, data_start, data_end) = envelope(
                plan.id,
                &event.event_type,
                plan.now,
                plan.account_id.as_str(),
                &event.data,
            );
            let mut deliveries: Vec<(DeliveryId, WebhookId)> = Vec::new();
            for webhook in &plan.webhooks {
                let Some(&(deactivated, ordered)) = current.get(&uid(webhook.id)) else {
                    continue; // deleted on another node meanwhile
                };
                let delivery_id = ids.delivery(plan.now);
                let as_stored;
                let webhook: &Webhook = if deactivated == webhook.is_deactivated()
                    && ordered == webhook.settings.ordered
                {
                    webhook
                } else {
                    // Changed on another node since this catalog: the database decides.
                    let mut changed = (**webhook).clone();
                    changed.status = if deactivated {
                        WebhookStatus::Deactivated
                    } else {
                        WebhookStatus::Active
                    };
                    changed.settings.ordered = ordered;
                    as_stored = changed;
                    &as_stored
                };
                let mut record = rules::new_delivery(plan.id, event, webhook, plan.now);
                if ordered && let Some(key) = next_key.get_mut(&uid(webhook.id)) {
                    record.due_key = *key as u64;
                    *key += 1;
                }
                if record.status == DeliveryStatus::Buffered {
                    rows.buffer
                        .push((plan.seq, uid(webhook.id), uid(delivery_id)));
                } else {
                    rows.due.push((
                        plan.seq,
                        uid(webhook.id),
                        record.due_key as i64,
                        uid(delivery_id),
                        plan.now,
                    ));
                    woken.push(webhook.id);
                }
                rows.deliveries.push((
                    plan.seq,
                    uid(delivery_id),
                    uid(webhook.id),
                    uid(plan.id),
                    record.status.as_str().to_string(),
                    super::delivery_json(&record)?,
                ));
                deliveries.push((delivery_id, webhook.id));
            }
            rows.events.push(EventRow {
                seq: plan.seq,
                id: uid(plan.id),
                event_type: event.event_type.clone(),
                created: plan.now,
                key: event.idempotency_key.clone(),
                deliveries: deliveries.clone(),
                data_start: data_start as i32,
                data_end: data_end as i32,
                envelope: bytes.clone(),
            });
            stored.push(Some(StoredEvent {
                ingested: Ingested {
                    id: plan.id,
                    event_type: event.event_type.clone(),
                    created: plan.now,
                    deliveries: deliveries.len() as u32,
                    replayed: false,
                    delivery_ids: deliveries.iter().map(|(d, _)| *d).collect(),
                    filter_errors: plan.filter_errors,
                },
                envelope: bytes,
            }));
        }
    }
    rows.insert(tx, shared).await?;
    woken.sort_unstable();
    woken.dedup();
    if !woken.is_empty() {
        sync::notify_due(tx, &woken).await.batch(shared)?;
    }

    // The answers, per request, in the order of its events.
    let mut answers: Vec<Option<Result<StoredEvent, Error>>> = Vec::with_capacity(plans.len());
    for (plan, stored) in plans.iter_mut().zip(stored) {
        answers.push(match (plan.answer.take(), stored) {
            (Some(answer), _) => Some(answer.map(|ingested| StoredEvent {
                ingested,
                envelope: Vec::new(),
            })),
            (None, Some(stored)) => Some(Ok(stored)),
            (None, None) => None,
        });
    }
    // An event with the same key as one before it in the batch: that one's replay.
    for i in 0..plans.len() {
        let Some(first) = plans[i].same_key_as else {
            continue;
        };
        let same_body = plans[first]
            .hash
            .as_ref()
            .zip(plans[i].hash.as_ref())
            .is_some_and(|(a, b)| crypto::constant_time_eq(a, b));
        let answer = match &answers[first] {
            Some(Ok(earlier)) if same_body => Ok(StoredEvent {
                ingested: Ingested {
                    replayed: true,
                    delivery_ids: Vec::new(),
                    ..earlier.ingested.clone()
                },
                envelope: Vec::new(),
            }),
            Some(Err(e)) if same_body => Err(error_copy(e)),
            _ => Err(key_conflict(
                plans[i]
                    .event
                    .idempotency_key
                    .as_deref()
                    .unwrap_or_default(),
            )),
        };
        answers[i] = Some(answer);
    }
    let mut results: Vec<Result<Vec<Result<StoredEvent, Error>>, Error>> = requests
        .iter()
        .map(|r| {
            if seqs.contains_key(r.account_id.as_str()) {
                Ok(Vec::with_capacity(r.events.len()))
            } else {
                Ok(r.events
                    .iter()
                    .map(|_| Err(Error::NotFound(format!("account {}", r.account_id))))
                    .collect())
            }
        })
        .collect();
    for (plan, answer) in plans.iter().zip(answers) {
        if let (Ok(events), Some(answer)) = (&mut results[plan.request], answer) {
            events.push(answer);
        }
    }
    Ok(Outcome { results, woken })
}

fn key_conflict(key: &str) -> Error {
    Error::Conflict(format!(
        "idempotency key {key:?} was used with a different body"
    ))
}

/// An idempotency key as stored: its event, the body's hash, and the event's type, creation
/// time and delivery count (none when the event was purged).
type HeldKey = (Uuid, Vec<u8>, Option<(String, i64, i32)>);

/// Claims the idempotency keys of the batch's events; an event whose key is already held
/// becomes a replay of the event that holds it (or a conflict).
async fn resolve_idempotency(
    tx: &impl GenericClient,
    shared: &Shared,
    plans: &mut [Plan<'_>],
) -> Result<(), Fail> {
    let mut first_with: HashMap<(i64, &str), usize> = HashMap::new();
    let mut claims: Vec<usize> = Vec::new();
    for (i, plan) in plans.iter_mut().enumerate() {
        let Some(key) = plan.event.idempotency_key.as_deref() else {
            continue;
        };
        match first_with.get(&(plan.seq, key)) {
            Some(&first) => plan.same_key_as = Some(first),
            None => {
                first_with.insert((plan.seq, key), i);
                claims.push(i);
            }
        }
    }
    if claims.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = claims.iter().map(|&i| plans[i].seq).collect();
    let keys: Vec<&str> = claims
        .iter()
        .filter_map(|&i| plans[i].event.idempotency_key.as_deref())
        .collect();
    let ids: Vec<Uuid> = claims.iter().map(|&i| uid(plans[i].id)).collect();
    let hashes: Vec<&[u8]> = claims
        .iter()
        .map(|&i| plans[i].hash.as_ref().map_or(&[][..], |h| &h[..]))
        .collect();
    let claimed: std::collections::HashSet<(i64, String)> = tx
        .query(
            "INSERT INTO hookd_idempotency (account_seq, key, event_id, body_hash)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bytea[])
             ON CONFLICT DO NOTHING
             RETURNING account_seq, key",
            &[&seqs, &keys, &ids, &hashes],
        )
        .await
        .batch(shared)?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let taken: Vec<usize> = claims
        .into_iter()
        .filter(|&i| {
            let key = plans[i].event.idempotency_key.clone().unwrap_or_default();
            !claimed.contains(&(plans[i].seq, key))
        })
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = taken.iter().map(|&i| plans[i].seq).collect();
    let keys: Vec<&str> = taken
        .iter()
        .filter_map(|&i| plans[i].event.idempotency_key.as_deref())
        .collect();
    let mut held: HashMap<(i64, String), HeldKey> = HashMap::new();
    for row in tx
        .query(
            "SELECT i.account_seq, i.key, i.event_id, i.body_hash,
                    e.event_type, e.created_ms, jsonb_array_length(e.deliveries)
             FROM unnest($1::bigint[], $2::text[]) AS k(account_seq, key)
             CROSS JOIN LATERAL (
                 SELECT * FROM hookd_idempotency i
                 WHERE i.account_seq = k.account_seq AND i.key = k.key
             ) i
             LEFT JOIN LATERAL (
                 SELECT * FROM hookd_events e
                 WHERE e.account_seq = i.account_seq AND e.id = i.event_id
             ) e ON true",
            &[&seqs, &keys],
        )
        .await
        .batch(shared)?
    {
        let event = row
            .get::<_, Option<String>>(4)
            .map(|event_type| (event_type, row.get(5), row.get(6)));
        held.insert((row.get(0), row.get(1)), (row.get(2), row.get(3), event));
    }
    for i in taken {
        let plan = &mut plans[i];
        let key = plan.event.idempotency_key.clone().unwrap_or_default();
        let corrupt = || Error::Corrupt("corrupt idempotency record".into());
        plan.answer = Some(match held.get(&(plan.seq, key.clone())) {
            Some((event_id, hash, Some((event_type, created, count)))) => {
                let same = plan
                    .hash
                    .as_ref()
                    .is_some_and(|h| crypto::constant_time_eq(hash, h));
                if same {
                    Ok(Ingested {
                        id: EventId::from_u128(event_id.as_u128()),
                        event_type: event_type.clone(),
                        created: *created,
                        deliveries: (*count).max(0) as u32,
                        replayed: true,
                        delivery_ids: Vec::new(),
                        filter_errors: 0,
                    })
                } else {
                    Err(key_conflict(&key))
                }
            }
            _ => Err(corrupt()),
        });
    }
    Ok(())
}

/// An event row to insert.
pub(super) struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    pub event_type: String,
    pub created: Millis,
    pub key: Option<String>,
    pub deliveries: Vec<(DeliveryId, WebhookId)>,
    pub data_start: i32,
    pub data_end: i32,
    pub envelope: Vec<u8>,
}

/// The rows a batch inserts, table by table.
#[derive(Default)]
struct Rows {
    events: Vec<EventRow>,
    /// (seq, id, webhook, event, status, record)
    deliveries: Vec<(i64, Uuid, Uuid, Uuid, String, serde_json::Value)>,
    /// (seq, webhook, due key, delivery, due time)
    due: Vec<(i64, Uuid, i64, Uuid, i64)>,
    /// (seq, webhook, delivery)
    buffer: Vec<(i64, Uuid, Uuid)>,
}

impl Rows {
    /// One multi-row insert per table.
    async fn insert(self, tx: &impl GenericClient, shared: &Shared) -> Result<(), Fail> {
        write_events(tx, &self.events).await.batch(shared)?;
        write_deliveries(tx, &self.deliveries).await.batch(shared)?;
        write_due(tx, &self.due).await.batch(shared)?;
        write_buffer(tx, &self.buffer).await.batch(shared)?;
        Ok(())
    }
}

/// Inserts event rows: one multi-row statement (the ingest's batches and a store copy's pages
/// both write events this way).
pub(super) async fn write_events(
    client: &impl GenericClient,
    rows: &[EventRow],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    let created: Vec<i64> = rows.iter().map(|r| r.created).collect();
    let keys: Vec<Option<&str>> = rows.iter().map(|r| r.key.as_deref()).collect();
    let deliveries: Vec<Json<&Vec<(DeliveryId, WebhookId)>>> =
        rows.iter().map(|r| Json(&r.deliveries)).collect();
    let starts: Vec<i32> = rows.iter().map(|r| r.data_start).collect();
    let ends: Vec<i32> = rows.iter().map(|r| r.data_end).collect();
    let envelopes: Vec<&[u8]> = rows.iter().map(|r| r.envelope.as_slice()).collect();
    client
        .execute(
            "INSERT INTO hookd_events (account_seq, id, event_type, created_ms,
                 idempotency_key, deliveries, data_start, data_end, envelope)
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[],
                 $5::text[], $6::jsonb[], $7::int[], $8::int[], $9::bytea[])",
            &[
                &seqs,
                &ids,
                &types,
                &created,
                &keys,
                &deliveries,
                &starts,
                &ends,
                &envelopes,
            ],
        )
        .await?;
    Ok(())
}

/// Inserts delivery rows (seq, id, webhook, event, status, record).
pub(super) async fn write_deliveries(
    client: &impl GenericClient,
    rows: &[(i64, Uuid, Uuid, Uuid, String, serde_json::Value)],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.1).collect();
    let webhooks: Vec<Uuid> = rows.iter().map(|r| r.2).collect();
    let events: Vec<Uuid> = rows.iter().map(|r| r.3).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
    let records: Vec<&serde_json::Value> = rows.iter().map(|r| &r.5).collect();
    client
        .execute(
            "INSERT INTO hookd_deliveries (account_seq, id, webhook_id, event_id, status, record)
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                 $6::jsonb[])",
            &[&seqs, &ids, &webhooks, &events, &statuses, &records],
        )
        .await?;
    Ok(())
}

/// Inserts due-queue rows (seq, webhook, due key, delivery, due time).
pub(super) async fn write_due(
    client: &impl GenericClient,
    rows: &[(i64, Uuid, i64, Uuid, i64)],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let webhooks: Vec<Uuid> = rows.iter().map(|r| r.1).collect();
    let keys: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let deliveries: Vec<Uuid> = rows.iter().map(|r| r.3).collect();
    let due: Vec<i64> = rows.iter().map(|r| r.4).collect();
    client
        .execute(
            "INSERT INTO hookd_due (account_seq, webhook_id, due_key, delivery_id, due_ms)
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::uuid[], $5::bigint[])",
            &[&seqs, &webhooks, &keys, &deliveries, &due],
        )
        .await?;
    Ok(())
}

/// Inserts buffer rows (seq, webhook, delivery).
pub(super) async fn write_buffer(
    client: &impl GenericClient,
    rows: &[(i64, Uuid, Uuid)],
) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let webhooks: Vec<Uuid> = rows.iter().map(|r| r.1).collect();
    let deliveries: Vec<Uuid> = rows.iter().map(|r| r.2).collect();
    client
        .execute(
            "INSERT INTO hookd_buffer (account_seq, webhook_id, delivery_id)
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[])",
            &[&seqs, &webhooks, &deliveries],
        )
        .await?;
    Ok(())
}

impl super::PgStore {
    /// Ingests events in one durable commit shared with other callers; each event gets its own
    /// result (an idempotency conflict fails that event only).
    pub async fn ingest(
        &self,
        account_id: AccountId,
        events: Vec<NewEvent>,
        fan_out: FanOut,
        now: Millis,
    ) -> IngestResult {
        let (reply, answer) = oneshot::channel();
        let job = IngestJob {
            request: IngestRequest {
                account_id,
                events,
                fan_out,
                now,
            },
            reply,
        };
        self.inner
            .ingest
            .send(job)
            .await
            .map_err(|_| Error::Internal("the ingest workers have stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("an ingest worker dropped a job".into()))?
    }
}
