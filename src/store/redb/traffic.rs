//! Events, deliveries and the due-queue: ingest with fan-out, attempt results, manual retries,
//! and the reads the API and the scheduler make.

use std::ops::Bound;
use std::sync::Arc;

use redb::{ReadTransaction, ReadableDatabase, ReadableTable};

use super::tables::*;
use super::{RedbStore, WriteCtx};
use crate::crypto;
use crate::error::Error;
use crate::ids::{AccountId, DeliveryId, EventId, WebhookId};
use crate::model::Webhook;
use crate::records::{DeliveryRecord, DeliveryStatus, EventMeta, StoredEvent, envelope};
use crate::store::rules;
use crate::store::types::{
    AttemptReport, DeliveryFilter, DeliveryPolicy, DueBatch, DueItem, FanOut, Ingested, NewEvent,
    Recorded, ReplayRange,
};
use crate::time::Millis;

impl WriteCtx<'_> {
    fn account_seq(&self, account_id: &AccountId) -> Result<u64, Error> {
        self.catalog()
            .accounts
            .get(account_id)
            .map(|e| e.account.seq)
            .ok_or_else(|| Error::NotFound(format!("account {account_id}")))
    }

    /// Stores an event and its deliveries: one per enabled webhook whose patterns match (or
    /// only `target`), pending for active webhooks and buffered for deactivated ones.
    pub fn ingest(
        &mut self,
        account_id: &AccountId,
        event: NewEvent,
        fan_out: FanOut,
        now: Millis,
    ) -> Result<Ingested, Error> {
        let seq = self.account_seq(account_id)?;
        // Only an idempotency key needs the body's hash (kept to tell a replay from a misuse).
        let hash = event.idempotency_key.as_ref().map(|_| event.body_hash());
        if let (Some(key), Some(hash)) = (&event.idempotency_key, &hash) {
            let known = self
                .idempotency()?
                .get((seq, key.as_str()))?
                .map(|v| v.value().to_vec());
            if let Some(value) = known {
                return self.replay(seq, key, &value, hash);
            }
        }
        let fanned_out = {
            let catalog = self.catalog();
            let entry = catalog
                .accounts
                .get(account_id)
                .ok_or_else(|| Error::NotFound(format!("account {account_id}")))?;
            rules::fan_out(
                entry.webhooks.values(),
                &catalog.filters,
                account_id,
                &event,
                fan_out,
            )
        };
        let webhooks = fanned_out.webhooks;
        let event_id = self.ids.event(now);
        let (envelope, data_start, data_end) = envelope(
            event_id,
            &event.event_type,
            now,
            account_id.as_str(),
            &event.data,
        );
        let mut deliveries = Vec::with_capacity(webhooks.len());
        {
            for webhook in &webhooks {
                let webhook_id = webhook.id;
                let delivery_id = self.ids.delivery(now);
                let buffered = webhook.is_deactivated();
                let record = rules::new_delivery(event_id, &event, webhook, now);
                self.deliveries()?
                    .insert((seq, delivery_id.as_u128()), record.encode()?.as_slice())?;
                if buffered {
                    self.buffer()?
                        .insert((webhook_id.as_u128(), delivery_id.as_u128()), seq)?;
                } else {
                    self.due()?.insert(
                        (webhook_id.as_u128(), record.due_key, delivery_id.as_u128()),
                        (seq, now),
                    )?;
                    // Announced to the engine once the batch is durable.
                    self.woken.push(webhook_id);
                }
                deliveries.push((delivery_id, webhook_id));
            }
        }
        let count = deliveries.len() as u32;
        let delivery_ids = deliveries.iter().map(|(d, _)| *d).collect();
        let meta = EventMeta {
            event_type: event.event_type.clone(),
            created: now,
            idempotency_key: event.idempotency_key.clone(),
            deliveries,
            data_start,
            data_end,
        };
        self.events()?.insert(
            (seq, event_id.as_u128()),
            StoredEvent::encode(&meta, &envelope)?.as_slice(),
        )?;
        if let (Some(key), Some(hash)) = (&event.idempotency_key, &hash) {
            let mut value = Vec::with_capacity(48);
            value.extend_from_slice(&event_id.as_u128().to_be_bytes());
            value.extend_from_slice(hash);
            self.idempotency()?
                .insert((seq, key.as_str()), value.as_slice())?;
        }
        Ok(Ingested {
            id: event_id,
            event_type: event.event_type,
            created: now,
            deliveries: count,
            replayed: false,
            delivery_ids,
            filter_errors: fanned_out.filter_errors,
        })
    }

    fn replay(
        &mut self,
        seq: u64,
        key: &str,
        value: &[u8],
        hash: &[u8; 32],
    ) -> Result<Ingested, Error> {
        let corrupt = || Error::Corrupt("corrupt idempotency record".into());
        let id_bytes: [u8; 16] = value
            .get(..16)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        let stored_hash = value.get(16..48).ok_or_else(corrupt)?;
        if !crypto::constant_time_eq(stored_hash, hash) {
            return Err(Error::Conflict(format!(
                "idempotency key {key:?} was used with a different body"
            )));
        }
        let event_id = EventId::from_u128(u128::from_be_bytes(id_bytes));
        let stored = self
            .events()?
            .get((seq, event_id.as_u128()))?
            .map(|v| StoredEvent::decode(event_id, v.value()))
            .transpose()?
            .ok_or_else(corrupt)?;
        Ok(Ingested {
            id: event_id,
            event_type: stored.meta.event_type,
            created: stored.meta.created,
            deliveries: stored.meta.deliveries.len() as u32,
            replayed: true,
            delivery_ids: Vec::new(),
            filter_errors: 0,
        })
    }

    fn load_delivery(
        &mut self,
        seq: u64,
        delivery_id: DeliveryId,
    ) -> Result<Option<DeliveryRecord>, Error> {
        self.deliveries()?
            .get((seq, delivery_id.as_u128()))?
            .map(|v| DeliveryRecord::decode(v.value()))
            .transpose()
    }

    fn save_delivery(
        &mut self,
        seq: u64,
        delivery_id: DeliveryId,
        record: &DeliveryRecord,
    ) -> Result<(), Error> {
        self.deliveries()?
            .insert((seq, delivery_id.as_u128()), record.encode()?.as_slice())?;
        Ok(())
    }

    /// Records an attempt's result: the delivery succeeds, is rescheduled by the retry
    /// policy, or fails for good; the webhook's failure count follows, and the webhook is
    /// deactivated when the thresholds are met (at once on `410 Gone`).
    pub fn record_attempt(
        &mut self,
        report: &AttemptReport,
        policy: &DeliveryPolicy,
    ) -> Result<Recorded, Error> {
        let Some(mut record) = self.load_delivery(report.account_seq, report.delivery_id)? else {
            // Purged or its account deleted meanwhile: nothing to record.
            return Ok(Recorded::default());
        };
        let webhook = self.catalog().webhook_by_id(report.webhook_id);
        let success = report.outcome.is_success();
        let (webhook_key, delivery_key) =
            (report.webhook_id.as_u128(), report.delivery_id.as_u128());
        let due_entry = (webhook_key, record.due_key, delivery_key);
        match rules::apply_attempt(&mut record, report, webhook.as_deref(), policy) {
            rules::QueueChange::None => {}
            rules::QueueChange::Remove => {
                self.due()?.remove(due_entry)?;
            }
            rules::QueueChange::Reschedule { at, due_key } => {
                let mut due = self.due()?;
                due.remove(due_entry)?;
                due.insert(
                    (webhook_key, due_key, delivery_key),
                    (report.account_seq, at),
                )?;
            }
            rules::QueueChange::Unbuffer => {
                self.buffer()?.remove((webhook_key, delivery_key))?;
            }
        }
        self.save_delivery(report.account_seq, report.delivery_id, &record)?;
        if webhook.is_some() {
            // Counted only while the webhook exists: a deleted one's counts are gone with it.
            self.count_attempt(report);
        }
        let mut recorded = Recorded {
            still_pending: record.status == DeliveryStatus::Pending,
            warned: None,
            deactivated: None,
        };
        let Some(webhook) = webhook.filter(|w| !w.is_deactivated()) else {
            return Ok(recorded);
        };
        let webhook = match rules::count_failure(&webhook, success, report.date) {
            Some(updated) => {
                self.replace_webhook(updated.clone())?;
                updated
            }
            None => (*webhook).clone(),
        };
        let webhook = if rules::warning_due(&webhook, report, policy) {
            let (warned, webhook) = self.warn(&webhook, report)?;
            recorded.warned = Some(warned);
            webhook
        } else {
            webhook
        };
        let reason = rules::deactivation_reason(&webhook, report, policy);
        if let Some(reason) = reason {
            recorded.deactivated = Some(self.deactivate(&webhook, reason, report.date, policy)?);
            recorded.still_pending = false;
        }
        Ok(recorded)
    }

    /// Schedules a delivery again now: a finished one starts a fresh series of attempts, a
    /// pending one is moved to now. Deliveries of deactivated or deleted webhooks are refused.
    pub fn retry_delivery(
        &mut self,
        account_id: &AccountId,
        delivery_id: DeliveryId,
        now: Millis,
    ) -> Result<(DeliveryRecord, WebhookId), Error> {
        let seq = self.account_seq(account_id)?;
        let mut record = self
            .load_delivery(seq, delivery_id)?
            .ok_or_else(|| Error::NotFound(format!("delivery {delivery_id}")))?;
        let webhook = self.catalog().webhook_by_id(record.webhook_id);
        let webhook = match webhook {
            Some(w) if w.is_deactivated() => {
                return Err(Error::Conflict(
                    "the delivery's webhook is deactivated; activate it first".into(),
                ));
            }
            Some(w) => w,
            None => {
                return Err(Error::Conflict("the delivery's webhook was deleted".into()));
            }
        };
        match record.status {
            DeliveryStatus::Pending => {
                self.due()?.remove((
                    record.webhook_id.as_u128(),
                    record.due_key,
                    delivery_id.as_u128(),
                ))?;
            }
            DeliveryStatus::Failed | DeliveryStatus::Succeeded | DeliveryStatus::Expired => {}
            DeliveryStatus::Buffered | DeliveryStatus::Cancelled => {
                return Err(Error::Conflict(format!(
                    "a {} delivery cannot be retried",
                    record.status.as_str()
                )));
            }
        }
        self.send_again(seq, delivery_id, &mut record, &webhook, now)?;
        let webhook_id = record.webhook_id;
        Ok((record, webhook_id))
    }

    /// Puts a delivery (not in the due-queue) back in it, due `now` (see [`rules::send_again`]).
    fn send_again(
        &mut self,
        seq: u64,
        delivery_id: DeliveryId,
        record: &mut DeliveryRecord,
        webhook: &Webhook,
        now: Millis,
    ) -> Result<(), Error> {
        rules::send_again(record, webhook, now);
        self.due()?.insert(
            (
                record.webhook_id.as_u128(),
                record.due_key,
                delivery_id.as_u128(),
            ),
            (seq, now),
        )?;
        self.save_delivery(seq, delivery_id, record)
    }

    /// Sends again, oldest first, up to `limit` deliveries of an active webhook created in
    /// `[since, until)` (and after `after`) whose status is among `statuses`. Returns how many
    /// it scheduled and, when the range may hold more, the delivery to continue after.
    pub fn replay_range(
        &mut self,
        account_id: &AccountId,
        webhook_id: WebhookId,
        replay: &ReplayRange,
        after: Option<DeliveryId>,
        limit: usize,
    ) -> Result<(usize, Option<DeliveryId>), Error> {
        let seq = self.account_seq(account_id)?;
        let webhook = self
            .catalog()
            .webhook_by_id(webhook_id)
            .filter(|w| &w.account_id == account_id)
            .ok_or_else(|| Error::NotFound(format!("webhook {webhook_id}")))?;
        if webhook.is_deactivated() {
            return Err(rules::replay_refused_while_deactivated());
        }
        let start = match after {
            Some(id) => Bound::Excluded((seq, id.as_u128())),
            None => Bound::Included((seq, crate::ids::v7_floor(replay.since))),
        };
        let end = Bound::Excluded((seq, crate::ids::v7_floor(replay.until)));
        let mut chosen = Vec::new();
        let mut last = None;
        {
            let deliveries = self.deliveries()?;
            for entry in deliveries.range((start, end))? {
                let (key, value) = entry?;
                let id = DeliveryId::from_u128(key.value().1);
                last = Some(id);
                let record = DeliveryRecord::decode(value.value())?;
                if record.webhook_id == webhook_id && replay.statuses.contains(&record.status) {
                    chosen.push((id, record));
                    if chosen.len() == limit {
                        break;
                    }
                }
            }
        }
        let more = chosen.len() == limit;
        let count = chosen.len();
        for (id, mut record) in chosen {
            self.send_again(seq, id, &mut record, &webhook, replay.now)?;
        }
        if count > 0 {
            self.woken.push(webhook_id);
        }
        Ok((count, if more { last } else { None }))
    }

    /// Cancels every pending and buffered delivery of a webhook (it is being deleted).
    pub fn cancel_webhook_deliveries(&mut self, webhook_id: WebhookId) -> Result<(), Error> {
        let webhook_id = webhook_id.as_u128();
        let mut cancelled: Vec<(u64, DeliveryId)> = Vec::new();
        {
            let mut due = self.due()?;
            let range = (webhook_id, 0u64, 0u128)..=(webhook_id, u64::MAX, u128::MAX);
            for entry in due.take_range(range)? {
                let (key, value) = entry?;
                cancelled.push((value.value().0, DeliveryId::from_u128(key.value().2)));
            }
            let mut buffer = self.buffer()?;
            let range = (webhook_id, 0u128)..=(webhook_id, u128::MAX);
            for entry in buffer.take_range(range)? {
                let (key, value) = entry?;
                cancelled.push((value.value(), DeliveryId::from_u128(key.value().1)));
            }
        }
        for (seq, delivery_id) in cancelled {
            if let Some(mut record) = self.load_delivery(seq, delivery_id)? {
                record.status = DeliveryStatus::Cancelled;
                record.next_attempt = None;
                self.save_delivery(seq, delivery_id, &record)?;
            }
        }
        Ok(())
    }

    /// Removes every event, delivery, idempotency key and notification of an account (it is
    /// being deleted).
    pub fn purge_account_traffic(
        &mut self,
        seq: u64,
        webhook_ids: &[WebhookId],
    ) -> Result<(), Error> {
        let mut notifications = self.notifications()?;
        let mut theirs = Vec::new();
        for entry in notifications.iter()? {
            let (id, value) = entry?;
            let record: crate::records::NotificationRecord = decode(value.value())?;
            if record.account_seq == seq {
                theirs.push(id.value());
            }
        }
        for id in theirs {
            notifications.remove(id)?;
        }
        for webhook_id in webhook_ids.iter().map(|w| w.as_u128()) {
            self.due()?
                .remove_range((webhook_id, 0u64, 0u128)..=(webhook_id, u64::MAX, u128::MAX))?;
            self.buffer()?
                .remove_range((webhook_id, 0u128)..=(webhook_id, u128::MAX))?;
        }
        self.events()?
            .remove_range((seq, 0u128)..=(seq, u128::MAX))?;
        self.deliveries()?
            .remove_range((seq, 0u128)..=(seq, u128::MAX))?;
        let mut idempotency = self.idempotency()?;
        let keys: Vec<String> = idempotency
            .range((seq, "")..)?
            .map_while(|entry| {
                let (key, _) = entry.ok()?;
                let (s, k) = key.value();
                (s == seq).then(|| k.to_string())
            })
            .collect();
        for key in keys {
            idempotency.remove((seq, key.as_str()))?;
        }
        Ok(())
    }
}

impl RedbStore {
    fn seq_of(&self, account_id: &AccountId) -> Result<u64, Error> {
        self.account(account_id)
            .map(|a| a.seq)
            .ok_or_else(|| Error::NotFound(format!("account {account_id}")))
    }

    /// Ingests events in one durable transaction; each event gets its own result (an
    /// idempotency conflict fails that event only).
    pub async fn ingest(
        &self,
        account_id: AccountId,
        events: Vec<NewEvent>,
        fan_out: FanOut,
        now: Millis,
    ) -> Result<Vec<Result<Ingested, Error>>, Error> {
        self.write(move |ctx| {
            let mut results = Vec::with_capacity(events.len());
            for event in events {
                match ctx.ingest(&account_id, event, fan_out, now) {
                    Err(e) if e.is_storage() => return Err(e),
                    other => results.push(other),
                }
            }
            Ok(results)
        })
        .await
    }

    /// Records an attempt (see [`WriteCtx::record_attempt`]). `patient` when nothing waits
    /// for the record to move on: the attempt's slot is already free and no delivery of its
    /// webhook waits behind it (unordered webhooks); the writer may then hold it back briefly
    /// to commit it with others.
    pub async fn record_attempt(
        &self,
        report: AttemptReport,
        policy: Arc<DeliveryPolicy>,
        patient: bool,
    ) -> Result<Recorded, Error> {
        let op = move |ctx: &mut WriteCtx<'_>| ctx.record_attempt(&report, &policy);
        if patient {
            self.write_patient(op).await
        } else {
            self.write(op).await
        }
    }

    /// Retries a delivery (see [`WriteCtx::retry_delivery`]); returns it and its webhook id.
    pub async fn retry_delivery(
        &self,
        account_id: AccountId,
        delivery_id: DeliveryId,
        now: Millis,
    ) -> Result<(DeliveryRecord, WebhookId), Error> {
        self.write(move |ctx| ctx.retry_delivery(&account_id, delivery_id, now))
            .await
    }

    /// One chunk of a replay (see [`WriteCtx::replay_range`]).
    pub async fn replay(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        range: Arc<ReplayRange>,
        after: Option<DeliveryId>,
        limit: usize,
    ) -> Result<(usize, Option<DeliveryId>), Error> {
        self.write(move |ctx| ctx.replay_range(&account_id, webhook_id, &range, after, limit))
            .await
    }

    /// One event of an account.
    pub async fn event(
        &self,
        account_id: &AccountId,
        event_id: EventId,
    ) -> Result<Option<StoredEvent>, Error> {
        let seq = self.seq_of(account_id)?;
        self.read(move |tx| {
            tx.open_table(EVENTS)?
                .get((seq, event_id.as_u128()))?
                .map(|v| StoredEvent::decode(event_id, v.value()))
                .transpose()
        })
        .await
    }

    /// A page of an account's events, newest first, optionally of one type. Returns the
    /// events and, when more follow, the id to continue before.
    pub async fn list_events(
        &self,
        account_id: &AccountId,
        before: Option<EventId>,
        limit: usize,
        event_type: Option<String>,
    ) -> Result<(Vec<StoredEvent>, Option<EventId>), Error> {
        let seq = self.seq_of(account_id)?;
        self.read(move |tx| {
            let table = tx.open_table(EVENTS)?;
            let upper = match before {
                Some(id) => Bound::Excluded((seq, id.as_u128())),
                None => Bound::Included((seq, u128::MAX)),
            };
            let mut items = Vec::new();
            let mut more = false;
            for entry in table.range((Bound::Included((seq, 0u128)), upper))?.rev() {
                let (key, value) = entry?;
                let event = StoredEvent::decode(EventId::from_u128(key.value().1), value.value())?;
                if event_type
                    .as_deref()
                    .is_some_and(|t| t != event.meta.event_type)
                {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(event);
            }
            let next = if more {
                items.last().map(|e| e.id)
            } else {
                None
            };
            Ok((items, next))
        })
        .await
    }

    /// Several deliveries of an account by id (missing ones are skipped).
    pub async fn deliveries_by_id(
        &self,
        account_id: &AccountId,
        ids: Vec<DeliveryId>,
    ) -> Result<Vec<(DeliveryId, DeliveryRecord)>, Error> {
        let seq = self.seq_of(account_id)?;
        self.read(move |tx| {
            let table = tx.open_table(DELIVERIES)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(v) = table.get((seq, id.as_u128()))? {
                    out.push((id, DeliveryRecord::decode(v.value())?));
                }
            }
            Ok(out)
        })
        .await
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
        self.read(move |tx| {
            let table = tx.open_table(DELIVERIES)?;
            let lower = match after {
                Some(id) => Bound::Excluded((seq, id.as_u128())),
                None => Bound::Included((seq, 0u128)),
            };
            let mut items = Vec::new();
            let mut more = false;
            for entry in table.range((lower, Bound::Included((seq, u128::MAX))))? {
                let (key, value) = entry?;
                let record = DeliveryRecord::decode(value.value())?;
                let keep = filter.webhook_id.is_none_or(|w| w == record.webhook_id)
                    && filter.event_id.is_none_or(|e| e == record.event_id)
                    && filter.status.is_none_or(|s| s == record.status);
                if !keep {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push((DeliveryId::from_u128(key.value().1), record));
            }
            let next = if more {
                items.last().map(|(id, _)| *id)
            } else {
                None
            };
            Ok((items, next))
        })
        .await
    }

    /// The scheduler's look at one webhook's queue: up to `take` deliveries due by `now`
    /// that are not `busy` (in flight or being recorded), and when the next one is due. Blocking: call it from the
    /// scheduler's own thread.
    pub fn due_batch(
        &self,
        webhook_id: WebhookId,
        now: Millis,
        take: usize,
        busy: &dyn Fn(DeliveryId) -> bool,
        ordered: bool,
    ) -> Result<DueBatch, Error> {
        let tx = self.db().begin_read()?;
        due_batch_in(&tx, webhook_id, now, take, busy, ordered)
    }
}

fn due_batch_in(
    tx: &ReadTransaction,
    webhook_id: WebhookId,
    now: Millis,
    take: usize,
    busy: &dyn Fn(DeliveryId) -> bool,
    ordered: bool,
) -> Result<DueBatch, Error> {
    let webhook_id = webhook_id.as_u128();
    let due = tx.open_table(DUE)?;
    let deliveries = tx.open_table(DELIVERIES)?;
    let events = tx.open_table(EVENTS)?;
    let mut batch = DueBatch::default();
    let range = (webhook_id, 0u64, 0u128)..=(webhook_id, u64::MAX, u128::MAX);
    for entry in due.range(range)? {
        let (key, value) = entry?;
        let (_, key_due, delivery_key) = key.value();
        let delivery_id = DeliveryId::from_u128(delivery_key);
        let (seq, at) = value.value();
        if busy(delivery_id) {
            if ordered {
                // The head is on its way: nothing behind it may start.
                return Ok(batch);
            }
            continue;
        }
        if at > now {
            batch.next_due = Some(batch.next_due.map_or(at, |n: Millis| n.min(at)));
            // Entries are sorted by due key: past a real due key, everything is later.
            if ordered || key_due > 0 {
                break;
            }
            continue;
        }
        if batch.items.len() == take {
            batch.next_due = Some(now);
            break;
        }
        let Some(record) = deliveries.get((seq, delivery_key))? else {
            continue;
        };
        let head = DeliveryRecord::decode_head(record.value())?;
        let Some(event) = events.get((seq, head.event_id.as_u128()))? else {
            continue;
        };
        let envelope = StoredEvent::envelope_of(event.value())?;
        batch.items.push(DueItem {
            account_seq: seq,
            delivery_id,
            event_id: head.event_id,
            event_type: head.event_type,
            attempt_number: head.attempt_count + 1,
            envelope: bytes::Bytes::copy_from_slice(envelope),
        });
        if ordered {
            break;
        }
    }
    Ok(batch)
}
