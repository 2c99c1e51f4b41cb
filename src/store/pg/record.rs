//! Attempt results, group-committed like ingest, and the deactivation they may cause.
//!
//! A batch locks the webhooks of its results (in id order) and their deliveries, applies each
//! result as `store::rules` decides — the delivery's next state, its queue entry (removed, or
//! moved to its next due time with the lease cleared), the webhook's failure count and, when
//! the thresholds are met, its deactivation — and writes the records back. Because the
//! webhook's row lock is held from reading its failure count to the commit, a webhook is
//! deactivated exactly once however many nodes record its failures.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::account_holders;
use super::ingest::{IngestRequest, ingest_in};
use super::{
    BATCH_TRIES, Batch, Db, Fail, PgStore, Shared, apply_catalog, error_copy, join_all, sync, uid,
};
use crate::error::Error;
use crate::i18n::Lang;
use crate::ids::WebhookId;
use crate::model::Webhook;
use crate::records::{DeliveryRecord, DeliveryStatus, NotificationRecord};
use crate::store::rules::{self, DEACTIVATED_EVENT};
use crate::store::types::{
    AttemptReport, Deactivated, DeliveryPolicy, FanOut, NewEvent, Recorded, Warned,
};

/// The most results in one transaction.
const MAX_BATCH: usize = 512;
/// The first and the longest wait before a result that could not be recorded is tried again.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// An attempt result waiting for its batch.
pub(super) struct RecordJob {
    report: AttemptReport,
    policy: Arc<DeliveryPolicy>,
    reply: oneshot::Sender<Result<Recorded, Error>>,
}

/// What a committed batch leaves for after the commit.
struct Outcome {
    results: Vec<Result<Recorded, Error>>,
    /// Webhooks changed (failure counts, deactivations), for the catalog.
    changed: Vec<Webhook>,
    catalog_version: Option<i64>,
    /// Webhooks given due work by system events.
    woken: Vec<WebhookId>,
}

/// Takes attempt results off the channel and commits them in batches until it closes.
pub(super) async fn worker(shared: Arc<Shared>, jobs: Arc<Mutex<mpsc::Receiver<RecordJob>>>) {
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
        match run_batch(&shared, &batch).await {
            Ok(outcome) => {
                if let Some(version) = outcome.catalog_version {
                    let changed = outcome.changed;
                    apply_catalog(&shared, version, |c| {
                        for webhook in changed {
                            c.put_webhook(Arc::new(webhook));
                        }
                    });
                }
                shared.wake(&outcome.woken);
                for (job, result) in batch.into_iter().zip(outcome.results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(error_copy(&e)));
                }
            }
        }
    }
}

async fn run_batch(shared: &Shared, jobs: &[RecordJob]) -> Result<Outcome, Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut client = shared.client().await?;
        let tx = client.transaction().await.db(shared)?;
        match record_in(&tx, shared, jobs).await {
            Ok(mut outcome) => {
                if !outcome.changed.is_empty() {
                    outcome.catalog_version = Some(sync::bump(&*tx, shared).await?);
                }
                shared.commit(tx).await?;
                return Ok(outcome);
            }
            Err(Fail::Retry) if tries < BATCH_TRIES => continue,
            Err(Fail::Retry) => {
                return Err(Error::Storage(
                    "a batch of attempt results kept meeting deadlocks".into(),
                ));
            }
            Err(Fail::Error(e)) => return Err(e),
        }
    }
}

/// Queue changes waiting to be written, applied before anything else reads the queue.
#[derive(Default)]
struct QueueOps {
    /// (seq, webhook, due key, delivery)
    remove: Vec<(i64, Uuid, i64, Uuid)>,
    /// (seq, webhook, old key, delivery, new key, due time)
    reschedule: Vec<(i64, Uuid, i64, Uuid, i64, i64)>,
    /// (seq, webhook, delivery)
    unbuffer: Vec<(i64, Uuid, Uuid)>,
}

impl QueueOps {
    /// Writes the waiting changes: one pipelined single-row statement each, by primary key.
    async fn flush(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        shared: &Shared,
    ) -> Result<(), Fail> {
        if !self.remove.is_empty() {
            let statement = tx
                .prepare_cached(
                    "DELETE FROM hookd_due WHERE account_seq = $1 AND webhook_id = $2
                     AND due_key = $3 AND delivery_id = $4",
                )
                .await
                .batch(shared)?;
            let rows = std::mem::take(&mut self.remove);
            let params: Vec<[&(dyn ToSql + Sync); 4]> = rows
                .iter()
                .map(|(seq, webhook, key, id)| [seq as _, webhook as _, key as _, id as _])
                .collect();
            let done = join_all(params.iter().map(|p| tx.execute(&statement, p)).collect()).await;
            for result in done {
                result.batch(shared)?;
            }
        }
        if !self.reschedule.is_empty() {
            let statement = tx
                .prepare_cached(
                    "UPDATE hookd_due
                     SET due_key = $5, due_ms = $6, lease_owner = NULL, lease_until = NULL
                     WHERE account_seq = $1 AND webhook_id = $2 AND due_key = $3
                       AND delivery_id = $4",
                )
                .await
                .batch(shared)?;
            let rows = std::mem::take(&mut self.reschedule);
            let params: Vec<[&(dyn ToSql + Sync); 6]> = rows
                .iter()
                .map(|(seq, webhook, old, id, new, at)| {
                    [seq as _, webhook as _, old as _, id as _, new as _, at as _]
                })
                .collect();
            let done = join_all(params.iter().map(|p| tx.execute(&statement, p)).collect()).await;
            for result in done {
                result.batch(shared)?;
            }
        }
        if !self.unbuffer.is_empty() {
            let statement = tx
                .prepare_cached(
                    "DELETE FROM hookd_buffer
                     WHERE account_seq = $1 AND webhook_id = $2 AND delivery_id = $3",
                )
                .await
                .batch(shared)?;
            let rows = std::mem::take(&mut self.unbuffer);
            let params: Vec<[&(dyn ToSql + Sync); 3]> = rows
                .iter()
                .map(|(seq, webhook, id)| [seq as _, webhook as _, id as _])
                .collect();
            let done = join_all(params.iter().map(|p| tx.execute(&statement, p)).collect()).await;
            for result in done {
                result.batch(shared)?;
            }
        }
        Ok(())
    }
}

/// Whether `record`'s last attempt is this report's: a result told "outcome unknown" and
/// sent again must not count twice.
fn already_recorded(record: &DeliveryRecord, report: &AttemptReport) -> bool {
    record.attempts.last().is_some_and(|a| {
        a.date == report.date && a.duration_ms == report.duration_ms && a.outcome == report.outcome
    })
}

async fn record_in(
    tx: &deadpool_postgres::Transaction<'_>,
    shared: &Shared,
    jobs: &[RecordJob],
) -> Result<Outcome, Fail> {
    let mut webhook_ids: Vec<Uuid> = jobs.iter().map(|j| uid(j.report.webhook_id)).collect();
    webhook_ids.sort_unstable();
    webhook_ids.dedup();
    // The webhooks as they are; those whose failure count this batch may change are read again
    // under their row lock (a healthy webhook's successes change nothing and take no lock).
    let mut webhooks: HashMap<Uuid, Webhook> = HashMap::new();
    for row in tx
        .query(
            "SELECT id, record FROM hookd_webhooks WHERE id = ANY($1)",
            &[&webhook_ids],
        )
        .await
        .batch(shared)?
    {
        webhooks.insert(row.get(0), super::from_json(row.get(1))?);
    }
    let mut counted: Vec<Uuid> = webhooks
        .iter()
        .filter(|(id, webhook)| {
            !webhook.is_deactivated()
                && (webhook.failure_count > 0
                    || webhook.failing_since.is_some()
                    || webhook.failing_warned
                    || jobs.iter().any(|j| {
                        uid(j.report.webhook_id) == **id
                            && (!j.report.outcome.is_success() || j.report.gone)
                    }))
        })
        .map(|(id, _)| *id)
        .collect();
    counted.sort_unstable();
    if !counted.is_empty() {
        for row in tx
            .query(
                "SELECT id, record FROM hookd_webhooks WHERE id = ANY($1) ORDER BY id
                 FOR NO KEY UPDATE",
                &[&counted],
            )
            .await
            .batch(shared)?
        {
            webhooks.insert(row.get(0), super::from_json(row.get(1))?);
        }
    }
    // The deliveries, locked: by account, each an index lookup by primary key.
    let mut by_account: std::collections::BTreeMap<i64, Vec<Uuid>> = Default::default();
    for job in jobs {
        by_account
            .entry(job.report.account_seq as i64)
            .or_default()
            .push(uid(job.report.delivery_id));
    }
    let mut deliveries: HashMap<(i64, Uuid), DeliveryRecord> = HashMap::new();
    for (seq, mut ids) in by_account {
        ids.sort_unstable();
        ids.dedup();
        for row in tx
            .query(
                "SELECT id, record FROM hookd_deliveries WHERE account_seq = $1 AND id = ANY($2)
                 ORDER BY id FOR UPDATE",
                &[&seq, &ids],
            )
            .await
            .batch(shared)?
        {
            deliveries.insert((seq, row.get(0)), super::delivery_from(row.get(1))?);
        }
    }
    let mut dirty: HashSet<(i64, Uuid)> = HashSet::new();
    let mut changed: HashSet<Uuid> = HashSet::new();
    let mut queue = QueueOps::default();
    let mut results = Vec::with_capacity(jobs.len());
    let mut woken = Vec::new();
    let mut stats = account_holders::BatchStats::new();
    for job in jobs {
        let report = &job.report;
        let key = (report.account_seq as i64, uid(report.delivery_id));
        let webhook_key = uid(report.webhook_id);
        let Some(record) = deliveries.get_mut(&key) else {
            // Purged or its account deleted meanwhile: nothing to record.
            results.push(Ok(Recorded::default()));
            continue;
        };
        if already_recorded(record, report) {
            results.push(Ok(Recorded {
                still_pending: record.status == DeliveryStatus::Pending,
                warned: None,
                deactivated: None,
            }));
            continue;
        }
        let webhook = webhooks.get(&webhook_key).cloned();
        if webhook.is_some() {
            // Counted only while the webhook exists: a deleted one's counts are gone with it.
            account_holders::count_attempt(&mut stats, report);
        }
        let old_key = record.due_key;
        let change = rules::apply_attempt(record, report, webhook.as_ref(), &job.policy);
        match change {
            rules::QueueChange::None => {}
            rules::QueueChange::Remove => {
                queue
                    .remove
                    .push((key.0, webhook_key, old_key as i64, key.1));
            }
            rules::QueueChange::Reschedule { at, due_key } => {
                // An ordered webhook's queue is in commit order: a delivery keeps its place.
                let new_key = if webhook.as_ref().is_some_and(|w| w.settings.ordered) {
                    old_key
                } else {
                    due_key
                };
                record.due_key = new_key;
                queue.reschedule.push((
                    key.0,
                    webhook_key,
                    old_key as i64,
                    key.1,
                    new_key as i64,
                    at,
                ));
            }
            rules::QueueChange::Unbuffer => {
                queue.unbuffer.push((key.0, webhook_key, key.1));
            }
        }
        dirty.insert(key);
        let mut recorded = Recorded {
            still_pending: record.status == DeliveryStatus::Pending,
            warned: None,
            deactivated: None,
        };
        if let Some(webhook) =
            webhook.filter(|w| !w.is_deactivated() && counted.binary_search(&webhook_key).is_ok())
        {
            let webhook =
                match rules::count_failure(&webhook, report.outcome.is_success(), report.date) {
                    Some(updated) => {
                        webhooks.insert(webhook_key, updated.clone());
                        changed.insert(webhook_key);
                        updated
                    }
                    None => webhook,
                };
            let webhook = if rules::warning_due(&webhook, report, &job.policy) {
                let (warned_webhook, warned, system_woken) =
                    warn(&**tx, shared, key.0, &webhook, report).await?;
                webhooks.insert(webhook_key, warned_webhook.clone());
                changed.insert(webhook_key);
                woken.extend(system_woken);
                recorded.warned = Some(warned);
                warned_webhook
            } else {
                webhook
            };
            if let Some(reason) = rules::deactivation_reason(&webhook, report, &job.policy) {
                queue.flush(tx, shared).await?;
                let (deactivated_webhook, deactivated, system_woken) = deactivate(
                    &**tx,
                    shared,
                    key.0,
                    &webhook,
                    reason,
                    report.date,
                    &job.policy,
                )
                .await?;
                // This batch's own copies of the webhook's deliveries follow the buffering.
                for (k, other) in deliveries.iter_mut() {
                    if other.webhook_id == webhook.id && other.status == DeliveryStatus::Pending {
                        other.status = DeliveryStatus::Buffered;
                        other.next_attempt = None;
                        dirty.insert(*k);
                    }
                }
                webhooks.insert(webhook_key, deactivated_webhook);
                changed.insert(webhook_key);
                woken.extend(system_woken);
                recorded.deactivated = Some(deactivated);
                recorded.still_pending = false;
            }
        }
        results.push(Ok(recorded));
    }
    queue.flush(tx, shared).await?;
    account_holders::add_stats(&**tx, shared, stats).await?;
    if !dirty.is_empty() {
        let statement = tx
            .prepare_cached(
                "UPDATE hookd_deliveries SET status = $3, record = $4
                 WHERE account_seq = $1 AND id = $2",
            )
            .await
            .batch(shared)?;
        let mut rows = Vec::with_capacity(dirty.len());
        for key in &dirty {
            if let Some(record) = deliveries.get(key) {
                rows.push((
                    key.0,
                    key.1,
                    record.status.as_str(),
                    super::delivery_json(record)?,
                ));
            }
        }
        let params: Vec<[&(dyn ToSql + Sync); 4]> = rows
            .iter()
            .map(|(seq, id, status, record)| [seq as _, id as _, status as _, record as _])
            .collect();
        let done = join_all(params.iter().map(|p| tx.execute(&statement, p)).collect()).await;
        for result in done {
            result.batch(shared)?;
        }
    }
    let mut changed_webhooks = Vec::new();
    for id in changed {
        if let Some(webhook) = webhooks.remove(&id) {
            super::config_ops::put_webhook(&**tx, shared, &webhook).await?;
            changed_webhooks.push(webhook);
        }
    }
    Ok(Outcome {
        results,
        changed: changed_webhooks,
        catalog_version: None,
        woken,
    })
}

/// Switches a webhook off inside `tx`: its pending deliveries move to the buffer, a
/// notification is stored, and the system event goes to the account's other webhooks that
/// listen for it. Returns the webhook as deactivated, what the engine announces, and the
/// webhooks the system event gave due work.
async fn deactivate(
    tx: &impl GenericClient,
    shared: &Shared,
    seq: i64,
    webhook: &Webhook,
    reason: String,
    now: crate::time::Millis,
    policy: &DeliveryPolicy,
) -> Result<(Webhook, Deactivated, Vec<WebhookId>), Fail> {
    let language = shared
        .catalog
        .read()
        .accounts
        .get(&webhook.account_id)
        .map_or(Lang::default(), |e| e.account.language);
    let deactivation =
        rules::deactivation(webhook, &reason, now, policy, language, &shared.signing_key);
    super::config_ops::put_webhook(tx, shared, &deactivation.webhook).await?;
    tx.execute(
        "WITH moved AS (
             DELETE FROM hookd_due WHERE account_seq = $1 AND webhook_id = $2
             RETURNING account_seq, webhook_id, delivery_id
         ), buffered AS (
             INSERT INTO hookd_buffer (account_seq, webhook_id, delivery_id)
             SELECT account_seq, webhook_id, delivery_id FROM moved
             ON CONFLICT DO NOTHING
         )
         UPDATE hookd_deliveries
         SET status = 'buffered',
             record = record || '{\"status\": \"buffered\", \"next_attempt\": null}'::jsonb
         WHERE account_seq = $1 AND id IN (SELECT delivery_id FROM moved)",
        &[&seq, &uid(webhook.id)],
    )
    .await
    .batch(shared)?;
    let (_, _, stored, woken) = tell(
        tx,
        shared,
        seq,
        webhook,
        now,
        (
            "webhook.deactivated",
            deactivation.message,
            Some(deactivation.activation_url),
        ),
        (DEACTIVATED_EVENT, deactivation.event_data),
    )
    .await?;
    Ok((
        deactivation.webhook,
        Deactivated {
            webhook_id: webhook.id,
            reason,
            account_id: webhook.account_id.clone(),
            event_id: stored.ingested.id,
            filter_errors: stored.ingested.filter_errors,
            envelope: stored.envelope,
        },
        woken,
    ))
}

/// Gives a webhook's early warning inside `tx`: the webhook is marked as warned for this
/// failing streak, a `webhook.failing` notification is stored, and the system event goes to
/// the account's other webhooks that listen for it. Returns the webhook as warned, what the
/// engine announces, and the webhooks the system event gave due work.
async fn warn(
    tx: &impl GenericClient,
    shared: &Shared,
    seq: i64,
    webhook: &Webhook,
    report: &AttemptReport,
) -> Result<(Webhook, Warned, Vec<WebhookId>), Fail> {
    let language = shared
        .catalog
        .read()
        .accounts
        .get(&webhook.account_id)
        .map_or(Lang::default(), |e| e.account.language);
    let warning = rules::warning(webhook, report, language);
    super::config_ops::put_webhook(tx, shared, &warning.webhook).await?;
    let (notification_id, notification, _, woken) = tell(
        tx,
        shared,
        seq,
        webhook,
        report.date,
        ("webhook.failing", warning.message, None),
        (rules::FAILING_EVENT, warning.event_data),
    )
    .await?;
    Ok((
        warning.webhook,
        Warned {
            notification_id,
            notification,
        },
        woken,
    ))
}

/// What a webhook's deactivation and its early warning both write inside `tx`: a
/// notification (`kind`, `message`, activation URL) and a system event (`event_type`, `data`)
/// to the account's other webhooks that listen for it. Returns the notification, the stored
/// event and the webhooks the event gave due work.
async fn tell(
    tx: &impl GenericClient,
    shared: &Shared,
    seq: i64,
    webhook: &Webhook,
    now: crate::time::Millis,
    (kind, message, activation_url): (&str, String, Option<String>),
    (event_type, data): (&str, Vec<u8>),
) -> Result<
    (
        crate::ids::NotificationId,
        NotificationRecord,
        super::ingest::StoredEvent,
        Vec<WebhookId>,
    ),
    Fail,
> {
    let notification_id = shared
        .ids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .notification(now);
    let notification = NotificationRecord {
        kind: kind.into(),
        account_id: webhook.account_id.clone(),
        account_seq: seq as u64,
        webhook_id: webhook.id,
        created: now,
        message,
        activation_url,
    };
    tx.execute(
        "INSERT INTO hookd_notifications (account_seq, id, record) VALUES ($1, $2, $3)",
        &[&seq, &uid(notification_id), &super::to_json(&notification)?],
    )
    .await
    .batch(shared)?;
    let outcome = ingest_in(
        tx,
        shared,
        &[IngestRequest {
            account_id: webhook.account_id.clone(),
            events: vec![NewEvent {
                event_type: event_type.to_string(),
                data,
                idempotency_key: None,
            }],
            fan_out: FanOut::SubscribersExcept(webhook.id),
            now,
        }],
    )
    .await?;
    let stored = outcome
        .results
        .into_iter()
        .next()
        .and_then(|r| r.ok())
        .and_then(|events| events.into_iter().next())
        .and_then(|e| e.ok())
        .ok_or_else(|| {
            Fail::Error(Error::Internal(format!(
                "the {event_type} event was not stored"
            )))
        })?;
    Ok((notification_id, notification, stored, outcome.woken))
}

impl PgStore {
    /// See [`crate::store::Store::attempt_over`].
    pub async fn attempt_over(&self, delivery_id: crate::ids::DeliveryId) {
        super::queue::recording(self.shared(), delivery_id).await;
    }

    /// Records an attempt's result in the next batch. While the database is unreachable the
    /// result waits and is tried again until it is recorded (or the store closes): nothing an
    /// attempt learnt is lost to an outage.
    pub async fn record_attempt(
        &self,
        report: AttemptReport,
        policy: Arc<DeliveryPolicy>,
    ) -> Result<Recorded, Error> {
        let shared = self.shared();
        super::queue::recording(shared, report.delivery_id).await;
        let result = self.record_until_stored(report.clone(), policy).await;
        super::queue::recorded(shared, report.delivery_id).await;
        result
    }

    /// Sends the result to the record workers until it is stored, while the store is open.
    async fn record_until_stored(
        &self,
        report: AttemptReport,
        policy: Arc<DeliveryPolicy>,
    ) -> Result<Recorded, Error> {
        let mut wait = RETRY_FIRST;
        loop {
            let (reply, answer) = oneshot::channel();
            let job = RecordJob {
                report: report.clone(),
                policy: policy.clone(),
                reply,
            };
            self.inner
                .record
                .send(job)
                .await
                .map_err(|_| Error::Internal("the record workers have stopped".into()))?;
            let result = answer
                .await
                .map_err(|_| Error::Internal("a record worker dropped a job".into()))?;
            match result {
                Err(Error::StoreUnavailable(_)) if !self.shared().is_closing() => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX);
                }
                other => return other,
            }
        }
    }
}
