//! Webhook health counters in the `stats` table (see [`crate::store::stats`]).

use redb::ReadableTable;

use super::tables::STATS;
use super::{RedbStore, WriteCtx};
use crate::error::Error;
use crate::ids::WebhookId;
use crate::store::AttemptReport;
use crate::store::stats::{KEPT_MS, SlotCounts, slot_of};
use crate::time::Millis;

impl WriteCtx<'_> {
    /// Counts an attempt in its webhook's slot; written with the batch (see
    /// [`WriteCtx::flush_stats`]).
    pub fn count_attempt(&mut self, report: &AttemptReport) {
        self.stats
            .entry((report.webhook_id.as_u128(), slot_of(report.date)))
            .or_default()
            .add_attempt(report);
    }

    /// Adds the batch's counts to the stored slots: one write per webhook and slot.
    pub fn flush_stats(&mut self) -> Result<(), Error> {
        if self.stats.is_empty() {
            return Ok(());
        }
        let counted = std::mem::take(&mut self.stats);
        let mut table = self.stats_table()?;
        for (key, counts) in counted {
            let mut stored = match table.get(key)? {
                Some(value) => SlotCounts::decode(value.value())?,
                None => SlotCounts::default(),
            };
            stored.merge(&counts);
            table.insert(key, stored.encode().as_slice())?;
        }
        Ok(())
    }

    /// Forgets a webhook's slots before `before_slot` (all of them for `u64::MAX`).
    pub fn purge_stats(&mut self, webhook_id: WebhookId, before_slot: u64) -> Result<(), Error> {
        let webhook = webhook_id.as_u128();
        if before_slot == 0 {
            return Ok(());
        }
        self.stats_table()?
            .remove_range((webhook, 0u64)..=(webhook, before_slot - 1))
    }
}

impl RedbStore {
    /// Forgets health slots older than [`KEPT_MS`] and portal links past their expiry.
    pub async fn purge_expired(&self, now: Millis) -> Result<(), Error> {
        self.write(move |ctx| {
            let before = slot_of(now - KEPT_MS);
            let webhooks: Vec<WebhookId> = ctx.catalog().webhooks_by_id.keys().copied().collect();
            for webhook_id in webhooks {
                ctx.purge_stats(webhook_id, before)?;
            }
            ctx.purge_expired_portal_links(now)
        })
        .await
    }

    /// A webhook's slots in `[from, to)`.
    pub async fn webhook_stats(
        &self,
        webhook_id: WebhookId,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, SlotCounts)>, Error> {
        let webhook = webhook_id.as_u128();
        self.read(move |tx| {
            let table = tx.open_table(STATS)?;
            let mut slots = Vec::new();
            for entry in table.range((webhook, from)..(webhook, to))? {
                let (key, value) = entry?;
                slots.push((key.value().1, SlotCounts::decode(value.value())?));
            }
            Ok(slots)
        })
        .await
    }
}
