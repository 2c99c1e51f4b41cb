//! One webhook's read-ahead queue: due deliveries read beyond its free slots. An attempt that
//! ends takes the next one from here and starts it in the slot it frees, so a busy webhook's
//! slots go from one delivery to the next without a round trip through the scheduler thread
//! (which refills the queue meanwhile). Only for webhooks whose pace nothing else decides: not
//! `ordered`, no `rateLimit`.
//!
//! The queue holds the deliveries (with their envelopes) and is shared, behind a lock, by the
//! scheduler thread and the attempt tasks; what is claimed is accounted in the scheduler's
//! [`Slots`]. The scheduler changes both only through the methods here, which keep them in
//! step:
//!
//! **Every delivery in the queue is `Claimed` in `Slots`, and every `Claimed` delivery is
//! either in the queue or taken by an attempt whose `Finished { next }` naming it the scheduler
//! has not handled yet.**
//!
//! That makes the race between an attempt taking from the queue and the scheduler refilling or
//! dropping it safe:
//! - the scheduler claims a delivery before it appends it, so nobody takes an unclaimed one;
//! - every removal happens under the lock, so each delivery leaves the queue exactly once:
//!   - the scheduler takes it into a free slot ([`ReadAhead::start_into`]): it goes in flight
//!     in `Slots` before the scheduler does anything else;
//!   - an attempt takes it ([`ReadAhead::take`]): `Slots` still hold it `Claimed`, so it is not
//!     read from the queue again and still counts against the read-ahead caps, and the slot it
//!     runs in still counts for the attempt that frees it, so the webhook's cap holds. The
//!     attempt sends `Finished { next }` *before* it starts the delivery, so the scheduler
//!     moves the claim in flight before it can hear of that delivery's own attempt;
//!   - the scheduler drops the queue ([`ReadAhead::drop_all`]): it ends the claims of exactly
//!     the deliveries it drained; one an attempt took a moment before is not among them and
//!     stays `Claimed` until that attempt's `Finished` arrives.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use super::slots::Slots;
use crate::ids::{DeliveryId, WebhookId};
use crate::store::DueItem;

/// One webhook's deliveries read ahead; see the module's documentation for the invariant that
/// keeps it in step with the scheduler's [`Slots`].
#[derive(Default)]
pub(super) struct ReadAhead {
    queue: Mutex<VecDeque<DueItem>>,
}

impl ReadAhead {
    fn queue(&self) -> MutexGuard<'_, VecDeque<DueItem>> {
        // A panic elsewhere while holding the lock leaves a queue of whole items.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// For an attempt that ends: the next delivery to start in the slot it frees. The attempt
    /// must name it in its `Finished` signal before it starts it.
    pub(super) fn take(&self) -> Option<DueItem> {
        self.queue().pop_front()
    }

    /// For the scheduler: takes up to `free` deliveries into free slots of `webhook` (whose cap
    /// is `cap`), in flight in `slots`.
    pub(super) fn start_into(
        &self,
        free: usize,
        slots: &mut Slots,
        webhook: WebhookId,
        cap: usize,
    ) -> Vec<DueItem> {
        let mut queue = self.queue();
        let take = free.min(queue.len());
        let starting: Vec<DueItem> = queue.drain(..take).collect();
        for item in &starting {
            slots.start_read_ahead(webhook, item.delivery_id, cap);
        }
        starting
    }

    /// For the scheduler: claims `items` in `slots` (`cap` being the webhook's read-ahead cap)
    /// and appends them.
    pub(super) fn refill(
        &self,
        items: impl IntoIterator<Item = DueItem>,
        slots: &mut Slots,
        webhook: WebhookId,
        cap: usize,
    ) {
        let mut queue = self.queue();
        for item in items {
            slots.claim_read_ahead(webhook, item.delivery_id, cap);
            queue.push_back(item);
        }
    }

    /// For the scheduler: forgets everything read ahead (the webhook paused, was deleted or
    /// changed its pacing); those deliveries are read from the queue again when their turn
    /// comes. Returns how many.
    pub(super) fn drop_all(&self, slots: &mut Slots, webhook: WebhookId) -> usize {
        let dropped: Vec<DeliveryId> = self.queue().drain(..).map(|i| i.delivery_id).collect();
        slots.drop_read_ahead(webhook, dropped)
    }
}

#[cfg(test)]
mod tests {
    //! The scheduler and its attempts, modelled step by step over the real `ReadAhead` and
    //! `Slots`: any interleaving of reads, refills, drops, handovers and signals keeps the
    //! invariant above, never runs a webhook past its cap and sends every delivery once.

    use std::collections::{BTreeSet, HashMap, VecDeque};

    use proptest::prelude::*;

    use super::*;
    use crate::engine::Signal;
    use crate::engine::slots::Phase;

    const WEBHOOKS: [WebhookId; 2] = [WebhookId::from_u128(0xa1), WebhookId::from_u128(0xb2)];
    const DELIVERIES_EACH: u128 = 12;
    const CAP: usize = 3;
    const MAX: usize = 4;

    /// One thing that happens, on the scheduler thread or in an attempt; each is atomic with
    /// respect to the queue's lock, as in the engine.
    #[derive(Debug, Clone)]
    enum Step {
        /// The scheduler looks at a webhook: free slots take read-ahead first, then the queue;
        /// then it reads ahead up to `read` more.
        Look { webhook: usize, read: usize },
        /// The scheduler finds the webhook paused (or paced) and drops its read-ahead.
        Drop { webhook: usize },
        /// A running attempt's exchange ends; it may hand its slot over. `reports` is false
        /// for an attempt that sends no `Finished` (ordered failure, cancelled).
        ExchangeEnds {
            which: usize,
            hand_over: bool,
            reports: bool,
        },
        /// An attempt's result is durable: its delivery leaves the due-queue, `Done` is sent.
        Recorded { which: usize },
        /// The scheduler handles every signal posted so far, in order.
        Handle,
    }

    struct World {
        slots: Slots,
        queues: HashMap<WebhookId, ReadAhead>,
        /// Each webhook's due-queue: deliveries not recorded yet.
        due: HashMap<WebhookId, BTreeSet<DeliveryId>>,
        /// Attempts whose exchange runs: (webhook, delivery).
        running: Vec<(WebhookId, DeliveryId)>,
        /// Attempts whose result is being recorded.
        recording: Vec<(WebhookId, DeliveryId)>,
        mailbox: VecDeque<Signal>,
        sent: HashMap<DeliveryId, usize>,
    }

    fn item(delivery: DeliveryId) -> DueItem {
        DueItem {
            account_seq: 1,
            delivery_id: delivery,
            event_id: crate::ids::EventId::from_u128(delivery.as_u128()),
            event_type: "t.x".into(),
            attempt_number: 1,
            envelope: bytes::Bytes::new(),
        }
    }

    impl World {
        fn new() -> World {
            let mut world = World {
                slots: Slots::new(MAX),
                queues: HashMap::new(),
                due: HashMap::new(),
                running: Vec::new(),
                recording: Vec::new(),
                mailbox: VecDeque::new(),
                sent: HashMap::new(),
            };
            for (n, &webhook) in WEBHOOKS.iter().enumerate() {
                let first = n as u128 * 100;
                world.queues.insert(webhook, ReadAhead::default());
                world.due.insert(
                    webhook,
                    (first..first + DELIVERIES_EACH)
                        .map(DeliveryId::from_u128)
                        .collect(),
                );
            }
            world
        }

        fn start(&mut self, webhook: WebhookId, delivery: DeliveryId) {
            self.running.push((webhook, delivery));
            *self.sent.entry(delivery).or_default() += 1;
        }

        fn step(&mut self, step: &Step) {
            match *step {
                Step::Look { webhook, read } => {
                    let webhook = WEBHOOKS[webhook % WEBHOOKS.len()];
                    let free = self
                        .slots
                        .free_of(webhook, CAP)
                        .min(self.slots.global_free());
                    let queue = &self.queues[&webhook];
                    let mut starting = queue.start_into(free, &mut self.slots, webhook, CAP);
                    let room = self.slots.read_ahead_room(webhook, CAP).min(read);
                    // The due-queue read: what is not busy, in order.
                    let slots = &self.slots;
                    let mut batch: VecDeque<DeliveryId> = self.due[&webhook]
                        .iter()
                        .copied()
                        .filter(|&d| !slots.is_busy(webhook, d))
                        .take(free - starting.len() + room)
                        .collect();
                    while starting.len() < free {
                        let Some(delivery) = batch.pop_front() else {
                            break;
                        };
                        self.slots.start_from_queue(webhook, delivery, CAP);
                        starting.push(item(delivery));
                    }
                    queue.refill(batch.into_iter().map(item), &mut self.slots, webhook, CAP);
                    for started in starting {
                        self.start(webhook, started.delivery_id);
                    }
                }
                Step::Drop { webhook } => {
                    let webhook = WEBHOOKS[webhook % WEBHOOKS.len()];
                    self.queues[&webhook].drop_all(&mut self.slots, webhook);
                }
                Step::ExchangeEnds {
                    which,
                    hand_over,
                    reports,
                } => {
                    if self.running.is_empty() {
                        return;
                    }
                    let (webhook, delivery) = self.running.remove(which % self.running.len());
                    if reports {
                        let next = if hand_over {
                            self.queues[&webhook].take()
                        } else {
                            None
                        };
                        let next = next.map(|next| next.delivery_id);
                        // Posted before the next attempt starts.
                        self.mailbox.push_back(Signal::Finished {
                            webhook,
                            delivery,
                            next,
                        });
                        if let Some(next) = next {
                            self.start(webhook, next);
                        }
                    }
                    self.recording.push((webhook, delivery));
                }
                Step::Recorded { which } => {
                    if self.recording.is_empty() {
                        return;
                    }
                    let (webhook, delivery) = self.recording.remove(which % self.recording.len());
                    self.due.get_mut(&webhook).unwrap().remove(&delivery);
                    self.mailbox.push_back(Signal::Done { webhook, delivery });
                }
                Step::Handle => {
                    while let Some(posted) = self.mailbox.pop_front() {
                        match posted {
                            Signal::Finished {
                                webhook,
                                delivery,
                                next,
                            } => self.slots.finished(webhook, delivery, next),
                            Signal::Done { webhook, delivery } => {
                                self.slots.done(webhook, delivery)
                            }
                            other => unreachable!("the model posts no {other:?}"),
                        }
                    }
                }
            }
        }

        /// The invariants that must hold between any two steps.
        fn check(&self, after: &Step) {
            for (&webhook, queue) in &self.queues {
                for queued in queue.queue().iter() {
                    assert_eq!(
                        self.slots.phase(webhook, queued.delivery_id),
                        Some(Phase::Claimed),
                        "after {after:?}: a queued delivery is not claimed"
                    );
                }
                let running = self.running.iter().filter(|(w, _)| *w == webhook).count();
                assert!(
                    running <= self.slots.in_flight_of(webhook),
                    "after {after:?}: {running} running, {} counted",
                    self.slots.in_flight_of(webhook)
                );
                assert!(self.slots.in_flight_of(webhook) <= CAP, "after {after:?}");
            }
            assert!(self.running.len() <= MAX, "after {after:?}");
            if let Some((delivery, times)) = self.sent.iter().find(|(_, n)| **n > 1) {
                panic!("after {after:?}: delivery {delivery} sent {times} times");
            }
        }
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = prop_oneof![
            (0..2usize, 0..4usize).prop_map(|(webhook, read)| Step::Look { webhook, read }),
            (0..2usize).prop_map(|webhook| Step::Drop { webhook }),
            (0..8usize, any::<bool>(), prop::bool::weighted(0.9)).prop_map(
                |(which, hand_over, reports)| Step::ExchangeEnds {
                    which,
                    hand_over,
                    reports
                }
            ),
            (0..8usize).prop_map(|which| Step::Recorded { which }),
            Just(Step::Handle),
        ];
        prop::collection::vec(step, 0..80)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_interleaving_keeps_the_read_ahead_claimed_and_sends_each_delivery_once(
            steps in steps()
        ) {
            let mut world = World::new();
            for step in &steps {
                world.step(step);
                world.check(step);
            }
            // Then everything runs to the end, every slot handing over what it can.
            let drain = [
                Step::Look { webhook: 0, read: CAP },
                Step::Look { webhook: 1, read: CAP },
                Step::ExchangeEnds { which: 0, hand_over: true, reports: true },
                Step::Recorded { which: 0 },
                Step::Handle,
            ];
            let mut rounds = 0;
            while world.due.values().any(|due| !due.is_empty()) || !world.recording.is_empty() {
                rounds += 1;
                assert!(rounds < 1000, "the model stalled");
                for step in &drain {
                    world.step(step);
                    world.check(step);
                }
            }
            world.step(&Step::Handle);
            let total = WEBHOOKS.len() * DELIVERIES_EACH as usize;
            prop_assert_eq!(world.sent.len(), total, "every delivery sent");
            prop_assert!(world.sent.values().all(|&n| n == 1));
            prop_assert!(world.running.is_empty());
            prop_assert_eq!(world.slots.in_flight(), 0);
            prop_assert_eq!(world.slots.read_ahead_total(), 0);
            for webhook in WEBHOOKS {
                prop_assert!(world.slots.forget(webhook));
            }
        }
    }
}
