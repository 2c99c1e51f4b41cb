//! The failure lifecycle: deactivation (with its notification, system event and link),
//! the buffer, activation with or without replay, expiry of old buffered deliveries, and the
//! retention purge.

use redb::ReadableTable;

use super::tables::*;
use super::{RedbStore, WriteCtx};
use crate::error::Error;
use crate::ids::{AccountId, EventId, NotificationId, WebhookId, v7_floor};
use crate::model::Webhook;
use crate::records::{DeliveryRecord, DeliveryStatus, NotificationRecord, StoredEvent};
use crate::store::rules::{self, DEACTIVATED_EVENT};
use crate::store::types::{
    Activation, AttemptReport, Deactivated, DeliveryPolicy, FanOut, NewEvent, Warned,
};
use crate::time::Millis;

impl WriteCtx<'_> {
    /// Switches a webhook off: its pending deliveries are buffered, a notification is stored,
    /// and the system event goes to the account's other webhooks that listen for it.
    pub fn deactivate(
        &mut self,
        webhook: &Webhook,
        reason: String,
        now: Millis,
        policy: &DeliveryPolicy,
    ) -> Result<Deactivated, Error> {
        let webhook_id = webhook.id;
        let (seq, language) = self
            .catalog()
            .accounts
            .get(&webhook.account_id)
            .map(|e| (e.account.seq, e.account.language))
            .ok_or_else(|| Error::NotFound(format!("account {}", webhook.account_id)))?;
        let deactivation =
            rules::deactivation(webhook, &reason, now, policy, language, self.signing_key);
        self.replace_webhook(deactivation.webhook)?;
        self.buffer_pending(webhook_id)?;
        let notification = NotificationRecord {
            kind: "webhook.deactivated".into(),
            account_id: webhook.account_id.clone(),
            account_seq: seq,
            webhook_id: webhook.id,
            created: now,
            message: deactivation.message,
            activation_url: Some(deactivation.activation_url),
        };
        let notification_id = self.ids.notification(now);
        self.notifications()?.insert(
            notification_id.as_u128(),
            super::tables::encode(&notification)?.as_slice(),
        )?;
        let event = self.ingest(
            &webhook.account_id,
            NewEvent {
                event_type: DEACTIVATED_EVENT.to_string(),
                data: deactivation.event_data,
                idempotency_key: None,
            },
            FanOut::SubscribersExcept(webhook_id),
            now,
        )?;
        let envelope = self
            .events()?
            .get((seq, event.id.as_u128()))?
            .map(|v| StoredEvent::envelope_of(v.value()).map(<[u8]>::to_vec))
            .transpose()?
            .unwrap_or_default();
        Ok(Deactivated {
            webhook_id: webhook.id,
            reason,
            account_id: webhook.account_id.clone(),
            event_id: event.id,
            envelope,
            filter_errors: event.filter_errors,
        })
    }

    /// Gives the early warning that a webhook is failing: the webhook is marked as warned for
    /// this streak, a `webhook.failing` notification is stored, and the system event goes to
    /// the account's other webhooks that listen for it. Returns the warning and the webhook as
    /// it now stands.
    pub fn warn(
        &mut self,
        webhook: &Webhook,
        report: &AttemptReport,
    ) -> Result<(Warned, Webhook), Error> {
        let (seq, language) = self
            .catalog()
            .accounts
            .get(&webhook.account_id)
            .map(|e| (e.account.seq, e.account.language))
            .ok_or_else(|| Error::NotFound(format!("account {}", webhook.account_id)))?;
        let warning = rules::warning(webhook, report, language);
        self.replace_webhook(warning.webhook.clone())?;
        let notification = NotificationRecord {
            kind: "webhook.failing".into(),
            account_id: webhook.account_id.clone(),
            account_seq: seq,
            webhook_id: webhook.id,
            created: report.date,
            message: warning.message,
            activation_url: None,
        };
        let notification_id = self.ids.notification(report.date);
        self.notifications()?.insert(
            notification_id.as_u128(),
            super::tables::encode(&notification)?.as_slice(),
        )?;
        self.ingest(
            &webhook.account_id,
            NewEvent {
                event_type: rules::FAILING_EVENT.to_string(),
                data: warning.event_data,
                idempotency_key: None,
            },
            FanOut::SubscribersExcept(webhook.id),
            report.date,
        )?;
        Ok((
            Warned {
                notification_id,
                notification,
            },
            warning.webhook,
        ))
    }

    /// Moves every pending delivery of a webhook from the due-queue to the buffer.
    fn buffer_pending(&mut self, webhook_id: WebhookId) -> Result<(), Error> {
        let webhook_id = webhook_id.as_u128();
        let mut moved: Vec<(u64, u128)> = Vec::new();
        {
            let mut due = self.due()?;
            let range = (webhook_id, 0u64, 0u128)..=(webhook_id, u64::MAX, u128::MAX);
            for entry in due.take_range(range)? {
                let (key, value) = entry?;
                moved.push((value.value().0, key.value().2));
            }
        }
        for (seq, delivery_id) in moved {
            self.buffer()?.insert((webhook_id, delivery_id), seq)?;
            let record = self
                .deliveries()?
                .get((seq, delivery_id))?
                .map(|v| DeliveryRecord::decode(v.value()))
                .transpose()?;
            if let Some(mut record) = record {
                record.status = DeliveryStatus::Buffered;
                record.next_attempt = None;
                self.deliveries()?
                    .insert((seq, delivery_id), record.encode()?.as_slice())?;
            }
        }
        Ok(())
    }

    /// Reactivates a webhook. With `replay`, its buffered deliveries still inside the buffer
    /// window are scheduled now (oldest event first) as fresh series; without, they are
    /// cancelled. Activating an active webhook changes nothing. `link` (the deactivation time
    /// an activation link was issued for) refuses with `Conflict` unless the webhook is still
    /// in that very deactivation, so a link works once.
    pub fn activate(
        &mut self,
        account_id: &AccountId,
        webhook_id: WebhookId,
        replay: bool,
        now: Millis,
        buffer_window: Millis,
        link: Option<Millis>,
    ) -> Result<Activation, Error> {
        let current = {
            let catalog = self.catalog();
            let entry = catalog
                .accounts
                .get(account_id)
                .ok_or_else(|| Error::NotFound(format!("account {account_id}")))?;
            entry
                .webhooks
                .get(&webhook_id)
                .cloned()
                .ok_or_else(|| Error::NotFound(format!("webhook {webhook_id}")))?
        };
        if let Some(deactivated) = link
            && !rules::link_still_applies(&current, deactivated)
        {
            return Err(Error::Conflict(
                "this activation link was already used".into(),
            ));
        }
        if !current.is_deactivated() {
            return Ok(Activation {
                webhook: (*current).clone(),
                replayed: 0,
                dropped: 0,
            });
        }
        let id = current.id.as_u128();
        let webhook = rules::activated(&current);
        self.replace_webhook(webhook.clone())?;
        let mut buffered: Vec<(u64, u128)> = Vec::new();
        {
            let mut buffer = self.buffer()?;
            for entry in buffer.take_range((id, 0u128)..=(id, u128::MAX))? {
                let (key, value) = entry?;
                buffered.push((value.value(), key.value().1));
            }
        }
        let (mut replayed, mut dropped) = (0, 0);
        // Delivery ids increase with their events, so this is oldest event first.
        for (seq, delivery_id) in buffered {
            let Some(mut record) = self
                .deliveries()?
                .get((seq, delivery_id))?
                .map(|v| DeliveryRecord::decode(v.value()))
                .transpose()?
            else {
                continue;
            };
            match rules::unbuffer(&mut record, &webhook, replay, now, buffer_window) {
                rules::Unbuffered::Expired => {}
                rules::Unbuffered::Replayed { due_key } => {
                    self.due()?.insert((id, due_key, delivery_id), (seq, now))?;
                    replayed += 1;
                }
                rules::Unbuffered::Dropped => dropped += 1,
            }
            self.deliveries()?
                .insert((seq, delivery_id), record.encode()?.as_slice())?;
        }
        Ok(Activation {
            webhook,
            replayed,
            dropped,
        })
    }

    /// Marks buffered deliveries whose event is older than the buffer window `expired`, at
    /// most `limit` of them; returns how many.
    pub fn expire_buffered(
        &mut self,
        now: Millis,
        buffer_window: Millis,
        limit: usize,
    ) -> Result<usize, Error> {
        let deactivated: Vec<u128> = self
            .catalog()
            .webhooks_by_id
            .iter()
            .filter(|(_, w)| w.is_deactivated())
            .map(|(id, _)| id.as_u128())
            .collect();
        let floor = v7_floor(now - buffer_window);
        let mut expired: Vec<(u64, u128)> = Vec::new();
        {
            let mut buffer = self.buffer()?;
            for id in deactivated {
                let room = limit - expired.len();
                if room == 0 {
                    break;
                }
                let taken = buffer.take_range((id, 0u128)..(id, floor))?.take(room);
                for entry in taken {
                    let (key, value) = entry?;
                    expired.push((value.value(), key.value().1));
                }
            }
        }
        let mut deliveries = self.deliveries()?;
        for &(seq, delivery_id) in &expired {
            let record = deliveries
                .get((seq, delivery_id))?
                .map(|v| DeliveryRecord::decode(v.value()))
                .transpose()?;
            if let Some(mut record) = record {
                record.status = DeliveryStatus::Expired;
                deliveries.insert((seq, delivery_id), record.encode()?.as_slice())?;
            }
        }
        Ok(expired.len())
    }

    /// Removes events, deliveries (with their queue entries), idempotency keys and
    /// notifications created before `cutoff`, at most about `limit` records; returns how many.
    pub fn purge_before(&mut self, cutoff: Millis, limit: usize) -> Result<usize, Error> {
        let floor = v7_floor(cutoff);
        let seqs: Vec<u64> = self
            .catalog()
            .accounts
            .values()
            .map(|e| e.account.seq)
            .collect();
        let mut removed = 0;
        for seq in seqs {
            if removed >= limit {
                break;
            }
            let old_deliveries: Vec<(u128, DeliveryRecord)> = {
                let mut deliveries = self.deliveries()?;
                let taken = deliveries
                    .take_range((seq, 0u128)..(seq, floor))?
                    .take(limit - removed);
                let mut out = Vec::new();
                for entry in taken {
                    let (key, value) = entry?;
                    out.push((key.value().1, DeliveryRecord::decode(value.value())?));
                }
                out
            };
            removed += old_deliveries.len();
            for (id, record) in &old_deliveries {
                match record.status {
                    DeliveryStatus::Pending => {
                        self.due()?
                            .remove((record.webhook_id.as_u128(), record.due_key, *id))?;
                    }
                    DeliveryStatus::Buffered => {
                        self.buffer()?.remove((record.webhook_id.as_u128(), *id))?;
                    }
                    _ => {}
                }
            }
            let old_events: Vec<StoredEvent> = {
                let mut events = self.events()?;
                let taken = events
                    .take_range((seq, 0u128)..(seq, floor))?
                    .take(limit.saturating_sub(removed).max(1));
                let mut out = Vec::new();
                for entry in taken {
                    let (key, value) = entry?;
                    out.push(StoredEvent::decode(
                        EventId::from_u128(key.value().1),
                        value.value(),
                    )?);
                }
                out
            };
            removed += old_events.len();
            let mut idempotency = self.idempotency()?;
            for event in &old_events {
                if let Some(key) = &event.meta.idempotency_key {
                    idempotency.remove((seq, key.as_str()))?;
                }
            }
        }
        let mut notifications = self.notifications()?;
        let taken = notifications
            .take_range(..floor)?
            .take(limit.saturating_sub(removed).max(1));
        for entry in taken {
            entry?;
            removed += 1;
        }
        Ok(removed)
    }
}

impl RedbStore {
    /// See [`WriteCtx::activate`].
    pub async fn activate(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        replay: bool,
        now: Millis,
        buffer_window: Millis,
        link: Option<Millis>,
    ) -> Result<Activation, Error> {
        self.write(move |ctx| {
            ctx.activate(&account_id, webhook_id, replay, now, buffer_window, link)
        })
        .await
    }

    /// See [`WriteCtx::expire_buffered`].
    pub async fn expire_buffered(
        &self,
        now: Millis,
        buffer_window: Millis,
        limit: usize,
    ) -> Result<usize, Error> {
        self.write(move |ctx| ctx.expire_buffered(now, buffer_window, limit))
            .await
    }

    /// See [`WriteCtx::purge_before`].
    pub async fn purge_before(&self, cutoff: Millis, limit: usize) -> Result<usize, Error> {
        self.write(move |ctx| ctx.purge_before(cutoff, limit)).await
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
        self.read(move |tx| {
            let table = tx.open_table(NOTIFICATIONS)?;
            let range = match after {
                Some(id) => table.range((
                    std::ops::Bound::Excluded(id.as_u128()),
                    std::ops::Bound::Unbounded,
                ))?,
                None => table.range::<u128>(..)?,
            };
            let mut items = Vec::new();
            let mut more = false;
            for entry in range {
                let (key, value) = entry?;
                let record: NotificationRecord = decode(value.value())?;
                if account_id.as_ref().is_some_and(|a| *a != record.account_id) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push((NotificationId::from_u128(key.value()), record));
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

    /// How many deliveries of the webhook wait in the buffer (for its activation page).
    pub async fn buffered_count(&self, webhook: &Webhook) -> Result<u64, Error> {
        let id = webhook.id.as_u128();
        self.read(move |tx| {
            let buffer = tx.open_table(BUFFER)?;
            let mut n = 0u64;
            for entry in buffer.range((id, 0u128)..=(id, u128::MAX))? {
                entry?;
                n += 1;
            }
            Ok(n)
        })
        .await
    }
}
