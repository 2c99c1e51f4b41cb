//! The scheduler thread: one timer per webhook, one look at a webhook's queue when its timer
//! fires, and the in-flight caps and pacing that keep one endpoint from delaying another.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::Signal;
use super::attempt::{AttemptContext, spawn_attempt};
use super::mailbox::Inbox;
use super::pace::Pace;
use super::read_ahead::ReadAhead;
use super::slots::Slots;
use crate::ids::WebhookId;
use crate::store::{DueBatch, Store};
use crate::time::{Millis, now_millis};

/// The longest the scheduler sleeps without looking at the clock.
const MAX_SLEEP_MS: Millis = 1000;
/// How long to wait before looking again at a webhook whose queue could not be read.
const READ_ERROR_BACKOFF_MS: Millis = 1000;

/// What the scheduler keeps of one webhook besides its slots.
#[derive(Default)]
struct Lane {
    /// Shared with the webhook's attempts; what is claimed is accounted in `Slots`.
    read_ahead: Arc<ReadAhead>,
    pace: Pace,
}

pub(super) struct Scheduler {
    store: Store,
    inbox: Inbox,
    runtime: tokio::runtime::Handle,
    attempts: Arc<AttemptContext>,
    max_per_webhook: usize,
    /// (when, webhook): the next time each webhook's queue must be looked at.
    timers: BTreeSet<(Millis, WebhookId)>,
    timer_of: HashMap<WebhookId, Millis>,
    lanes: HashMap<WebhookId, Lane>,
    /// What is claimed, in flight and being recorded, per webhook and in all.
    slots: Slots,
    stopping: bool,
}

impl Scheduler {
    pub(super) fn new(
        store: Store,
        inbox: Inbox,
        runtime: tokio::runtime::Handle,
        attempts: Arc<AttemptContext>,
        max_in_flight: usize,
        max_per_webhook: usize,
    ) -> Self {
        Scheduler {
            store,
            inbox,
            runtime,
            attempts,
            max_per_webhook,
            timers: BTreeSet::new(),
            timer_of: HashMap::new(),
            lanes: HashMap::new(),
            slots: Slots::new(max_in_flight),
            stopping: false,
        }
    }

    /// Runs until told to stop or every sender is gone.
    pub(super) fn run(mut self) {
        // After a start (or a crash) every webhook's queue is looked at once: whatever was
        // pending or in flight is found there.
        for webhook in self.store.webhook_ids() {
            self.set_timer(webhook, 0);
        }
        let mut signals = Vec::new();
        while !self.stopping {
            let now = now_millis();
            self.start_due(now);
            let sleep = if self.slots.global_free() == 0 {
                MAX_SLEEP_MS
            } else {
                self.timers
                    .first()
                    .map_or(MAX_SLEEP_MS, |(at, _)| (at - now).clamp(0, MAX_SLEEP_MS))
            };
            if self
                .inbox
                .wait(Duration::from_millis(sleep as u64), &mut signals)
                .is_err()
            {
                break;
            }
            for signal in signals.drain(..) {
                self.handle(signal);
            }
        }
    }

    fn handle(&mut self, signal: Signal) {
        let now = now_millis();
        match signal {
            Signal::Wake(webhook) => self.set_timer(webhook, now),
            Signal::Finished {
                webhook,
                delivery,
                next,
            } => {
                self.slots.finished(webhook, delivery, next);
                // Free slots or room to read ahead.
                self.set_timer(webhook, now);
            }
            Signal::Done { webhook, delivery } => {
                self.slots.done(webhook, delivery);
                // Its queue may hold more work (or this delivery, rescheduled).
                self.set_timer(webhook, now);
            }
            Signal::Stop => self.stopping = true,
        }
    }

    /// Keeps the earlier of the existing timer and `at`.
    fn set_timer(&mut self, webhook: WebhookId, at: Millis) {
        if let Some(&existing) = self.timer_of.get(&webhook) {
            if existing <= at {
                return;
            }
            self.timers.remove(&(existing, webhook));
        }
        self.timers.insert((at, webhook));
        self.timer_of.insert(webhook, at);
    }

    /// Starts every attempt that is due and allowed.
    fn start_due(&mut self, now: Millis) {
        while self.slots.global_free() > 0 {
            let Some(&(at, webhook_id)) = self.timers.first() else {
                return;
            };
            if at > now {
                return;
            }
            self.timers.pop_first();
            self.timer_of.remove(&webhook_id);
            self.look_at(webhook_id, now);
        }
    }

    /// Forgets what was read ahead for a webhook (paused, deleted or paced now).
    fn drop_read_ahead(&mut self, webhook_id: WebhookId) {
        if let Some(lane) = self.lanes.get(&webhook_id) {
            lane.read_ahead.drop_all(&mut self.slots, webhook_id);
        }
    }

    fn look_at(&mut self, webhook_id: WebhookId, now: Millis) {
        let Some(webhook) = self.store.webhook_by_id(webhook_id) else {
            // Deleted: forget it once nothing of it is in flight.
            self.drop_read_ahead(webhook_id);
            if self.slots.forget(webhook_id) {
                self.lanes.remove(&webhook_id);
            }
            return;
        };
        if webhook.is_paused() {
            // Paused: woken again when enabled or activated.
            self.drop_read_ahead(webhook_id);
            return;
        }
        let ordered = webhook.settings.ordered;
        // A shared queue paces and caps for the cluster when it is read, and keeps nothing
        // claimed beyond what starts.
        let shared_queue = self.store.queue_is_shared();
        let rate = if shared_queue {
            None
        } else {
            webhook.settings.rate_limit
        };
        let reads_ahead = webhook.reads_ahead() && !shared_queue;
        let cap = webhook.slot_cap(self.max_per_webhook);
        if !reads_ahead {
            self.drop_read_ahead(webhook_id);
        }
        let slots = &mut self.slots;
        let lane = self.lanes.entry(webhook_id).or_default();
        let free = slots.free_of(webhook_id, cap);
        let (allowed, paced_until) = lane.pace.allowance(now, rate);
        if free > 0 && allowed == 0 {
            if let Some(at) = paced_until {
                self.set_timer(webhook_id, at);
            }
            return;
        }
        let start = free.min(allowed).min(slots.global_free());
        // Free slots take what was read ahead first: it was due first.
        let mut starting = lane.read_ahead.start_into(start, slots, webhook_id, cap);
        let room = if reads_ahead {
            slots.read_ahead_room(webhook_id, cap)
        } else {
            0
        };
        if free == 0 && room == 0 {
            return; // a Finished or Done signal looks again
        }
        let from_queue = start - starting.len();
        let mut retry_at = None;
        let batch = match self.store.due_batch(
            webhook_id,
            now,
            from_queue + room,
            cap,
            &|d| slots.is_busy(webhook_id, d),
            ordered,
        ) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the due-queue");
                retry_at = Some(now + READ_ERROR_BACKOFF_MS);
                // What was taken from the read-ahead still starts.
                DueBatch::default()
            }
        };
        let mut items = batch.items.into_iter();
        for item in items.by_ref().take(from_queue) {
            slots.start_from_queue(webhook_id, item.delivery_id, cap);
            starting.push(item);
        }
        lane.pace.consume(now, rate, starting.len());
        for item in starting {
            spawn_attempt(
                &self.runtime,
                self.attempts.clone(),
                webhook.clone(),
                webhook_id,
                item,
                lane.read_ahead.clone(),
            );
        }
        // The rest waits in the read-ahead (`room` at most).
        lane.read_ahead.refill(items, slots, webhook_id, cap);
        let look_again = match batch.next_due {
            Some(at) if at > now => Some(at),
            // More is due now. Limited by this webhook's own cap: its Finished and Done signals
            // look again. Limited by pacing or the global cap: look again when allowed.
            Some(_) if slots.free_of(webhook_id, cap) > 0 => {
                let (allowed, paced_until) = lane.pace.allowance(now, rate);
                Some(if allowed == 0 {
                    paced_until.unwrap_or(now)
                } else {
                    now
                })
            }
            _ => None,
        };
        for at in [retry_at, look_again].into_iter().flatten() {
            self.set_timer(webhook_id, at);
        }
    }
}
