//! The scheduler thread: one timer per webhook, one look at a webhook's queue when its timer
//! fires, and the in-flight caps and pacing that keep one endpoint from delaying another.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Signal;
use super::attempt::{AttemptContext, spawn_attempt};
use super::mailbox::Inbox;
use super::pace::Pace;
use crate::model::WebhookStatus;
use crate::store::{DueBatch, DueItem, Store};
use crate::time::{Millis, now_millis};

/// The longest the scheduler sleeps without looking at the clock.
const MAX_SLEEP_MS: Millis = 1000;
/// How long to wait before looking again at a webhook whose queue could not be read.
const READ_ERROR_BACKOFF_MS: Millis = 1000;

/// Due deliveries read ahead for one webhook. An attempt that ends takes the next one from here
/// and starts it in the slot it frees, so a busy webhook's slots go from one delivery to the
/// next without a round trip through the scheduler thread (which refills the queue meanwhile).
/// Only for webhooks whose pace nothing else decides: not `ordered`, no `rateLimit`.
pub(super) type ReadAhead = Mutex<VecDeque<DueItem>>;

/// What the scheduler knows of one webhook.
#[derive(Default)]
struct WebhookState {
    /// Attempts whose HTTP exchange is running: they count against the caps.
    in_flight: HashSet<u128>,
    /// Attempts whose result is being committed: no longer counted, but not to be started again.
    recording: HashSet<u128>,
    /// Deliveries in `read_ahead` or just taken from it (until the `Finished` that says so):
    /// not to be read again.
    claimed: HashSet<u128>,
    read_ahead: Arc<ReadAhead>,
    pace: Pace,
}

impl WebhookState {
    fn is_busy(&self, delivery: u128) -> bool {
        self.in_flight.contains(&delivery)
            || self.recording.contains(&delivery)
            || self.claimed.contains(&delivery)
    }

    /// Forgets what was read ahead (the webhook paused or changed its pacing): those
    /// deliveries are read from the queue again when their turn comes. Returns how many.
    fn drop_read_ahead(&mut self) -> usize {
        let mut queue = self.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
        let dropped = queue.len();
        for item in queue.drain(..) {
            self.claimed.remove(&item.delivery_id);
        }
        dropped
    }
}

pub(super) struct Scheduler {
    store: Store,
    inbox: Inbox,
    runtime: tokio::runtime::Handle,
    attempts: Arc<AttemptContext>,
    max_in_flight: usize,
    max_per_webhook: usize,
    /// (when, webhook): the next time each webhook's queue must be looked at.
    timers: BTreeSet<(Millis, u128)>,
    timer_of: HashMap<u128, Millis>,
    webhooks: HashMap<u128, WebhookState>,
    in_flight: usize,
    /// Deliveries held in all read-ahead queues; at most `max_in_flight`, which bounds the
    /// memory their envelopes take like the cap bounds that of attempts in flight.
    read_ahead: usize,
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
            max_in_flight,
            max_per_webhook,
            timers: BTreeSet::new(),
            timer_of: HashMap::new(),
            webhooks: HashMap::new(),
            in_flight: 0,
            read_ahead: 0,
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
            let sleep = if self.in_flight >= self.max_in_flight {
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
                if let Some(state) = self.webhooks.get_mut(&webhook) {
                    let was_in_flight = state.in_flight.remove(&delivery);
                    if was_in_flight {
                        state.recording.insert(delivery);
                    }
                    match next {
                        // The slot went on to a delivery read ahead: still one in flight.
                        Some(next) => {
                            state.claimed.remove(&next);
                            self.read_ahead = self.read_ahead.saturating_sub(1);
                            state.in_flight.insert(next);
                            if !was_in_flight {
                                self.in_flight += 1;
                            }
                        }
                        None if was_in_flight => self.in_flight -= 1,
                        None => {}
                    }
                }
                // Free slots or room to read ahead.
                self.set_timer(webhook, now);
            }
            Signal::Done { webhook, delivery } => {
                if let Some(state) = self.webhooks.get_mut(&webhook) {
                    if state.in_flight.remove(&delivery) {
                        self.in_flight -= 1;
                    }
                    state.recording.remove(&delivery);
                }
                // Its queue may hold more work (or this delivery, rescheduled).
                self.set_timer(webhook, now);
            }
            Signal::Stop => self.stopping = true,
        }
    }

    /// Keeps the earlier of the existing timer and `at`.
    fn set_timer(&mut self, webhook: u128, at: Millis) {
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
        while self.in_flight < self.max_in_flight {
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

    fn look_at(&mut self, webhook_id: u128, now: Millis) {
        let Some(webhook) = self.store.webhook_by_id(webhook_id) else {
            // Deleted: forget it once nothing of it is in flight.
            if let Some(state) = self.webhooks.get_mut(&webhook_id) {
                self.read_ahead = self.read_ahead.saturating_sub(state.drop_read_ahead());
            }
            if self
                .webhooks
                .get(&webhook_id)
                .is_none_or(|s| s.in_flight.is_empty() && s.recording.is_empty())
            {
                self.webhooks.remove(&webhook_id);
            }
            return;
        };
        if !webhook.settings.enabled || webhook.status == WebhookStatus::Deactivated {
            // Paused: woken again when enabled or activated.
            if let Some(state) = self.webhooks.get_mut(&webhook_id) {
                self.read_ahead = self.read_ahead.saturating_sub(state.drop_read_ahead());
            }
            return;
        }
        let ordered = webhook.settings.ordered;
        let rate = webhook.settings.rate_limit;
        let reads_ahead = !ordered && rate.is_none();
        let cap = if ordered { 1 } else { self.max_per_webhook };
        let global_free = self.max_in_flight - self.in_flight;
        let state = self.webhooks.entry(webhook_id).or_default();
        if !reads_ahead {
            self.read_ahead = self.read_ahead.saturating_sub(state.drop_read_ahead());
        }
        let free = cap.saturating_sub(state.in_flight.len());
        let (allowed, paced_until) = state.pace.allowance(now, rate);
        if free > 0 && allowed == 0 {
            if let Some(at) = paced_until {
                self.set_timer(webhook_id, at);
            }
            return;
        }
        let start = free.min(allowed).min(global_free);
        // Free slots take what was read ahead first: it was due first.
        let mut starting: Vec<DueItem> = Vec::new();
        let room = {
            let mut queue = state.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
            // They stay claimed (never read again) until they are in flight, below.
            while starting.len() < start {
                let Some(item) = queue.pop_front() else { break };
                starting.push(item);
            }
            self.read_ahead = self.read_ahead.saturating_sub(starting.len());
            if reads_ahead {
                let budget = self.max_in_flight.saturating_sub(self.read_ahead);
                cap.saturating_sub(queue.len()).min(budget)
            } else {
                0
            }
        };
        if free == 0 && room == 0 {
            return; // a Finished or Done signal looks again
        }
        let take = start - starting.len() + room;
        let mut retry_at = None;
        let batch =
            match self
                .store
                .due_batch(webhook_id, now, take, &|d| state.is_busy(d), ordered)
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the due-queue");
                    retry_at = Some(now + READ_ERROR_BACKOFF_MS);
                    // What was taken from the read-ahead still starts.
                    DueBatch::default()
                }
            };
        let mut items = batch.items.into_iter();
        let read_now = items.len().min(start - starting.len());
        starting.extend(items.by_ref().take(read_now));
        state.pace.consume(now, rate, starting.len());
        for item in starting {
            state.claimed.remove(&item.delivery_id);
            state.in_flight.insert(item.delivery_id);
            self.in_flight += 1;
            spawn_attempt(
                &self.runtime,
                self.attempts.clone(),
                webhook.clone(),
                webhook_id,
                item,
                state.read_ahead.clone(),
            );
        }
        let mut queue = state.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
        for item in items {
            state.claimed.insert(item.delivery_id);
            queue.push_back(item);
            self.read_ahead += 1;
        }
        drop(queue);
        if let Some(at) = retry_at {
            self.set_timer(webhook_id, at);
        }
        match batch.next_due {
            Some(at) if at > now => self.set_timer(webhook_id, at),
            Some(_) => {
                // More is due now. Limited by this webhook's own cap: its Done signals look
                // again. Limited by pacing or the global cap: look again when allowed.
                let state = &self.webhooks[&webhook_id];
                if state.in_flight.len() < cap {
                    let (allowed, paced_until) = state.pace.allowance(now, rate);
                    let at = if allowed == 0 {
                        paced_until.unwrap_or(now)
                    } else {
                        now
                    };
                    self.set_timer(webhook_id, at);
                }
            }
            None => {}
        }
    }
}
