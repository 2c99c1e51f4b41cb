//! The scheduler's slot accounting: which deliveries of each webhook are claimed (read ahead),
//! in flight or being recorded, how many of them count against the caps, and the transitions
//! between those phases that the scheduler and the attempts' `Finished` and `Done` signals make.
//!
//! A plain value owned by the scheduler thread: no threads, no locks, no clock. Every
//! transition checks its precondition and, in debug builds, every invariant below, so a double
//! claim, a double start or a lost slot stops a debug build (and so every test) at the
//! transition that caused it, rather than showing up later as a delivery sent twice or a
//! webhook that stalls. A release build logs a broken precondition and does only what keeps
//! the counts equal to the phases it knows: nothing is hidden by a saturating subtraction.
//!
//! A delivery's phases (absent = free: the scheduler may read it from the queue):
//!
//! ```text
//!          claim_read_ahead          start_read_ahead, or finished(…, next)
//!   free ───────────────────▶ Claimed ──────────────────────────────────────▶ InFlight
//!    ▲ ◀───────────────────────┘ drop_read_ahead                              ▲   │
//!    │                                                                        │   │ finished
//!    │ start_from_queue ──────────────────────────────────────────────────────┘   ▼
//!    └──────────────────────────────────── done (from InFlight or Recording) ◀─ Recording
//! ```
//!
//! Invariants:
//! - a delivery is in at most one phase (by construction: one map from delivery to phase);
//! - each webhook's in-flight and claimed counts equal the number of its deliveries in those
//!   phases, and the global counts equal the sums of the webhooks';
//! - at most `max_in_flight` deliveries are in flight, and at most `max_in_flight` are claimed
//!   (their envelopes are in memory);
//! - a start never takes a webhook past the cap it is given, nor a claim its read-ahead past
//!   that cap. (A webhook's cap can shrink while its attempts run — made `ordered` — so the
//!   cap is checked where a slot is taken, not at all times.)

use crate::ids::{DeliveryId, WebhookId};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

/// Where one delivery is, as far as the slots go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// In its webhook's read-ahead queue, or just taken from it by an attempt whose `Finished`
    /// has not been handled yet: not to be read from the queue again.
    Claimed,
    /// Its HTTP exchange is running: it holds one of the webhook's slots.
    InFlight,
    /// Its exchange ended and its result is being committed: no slot, but not to be read
    /// from the queue until the result is durable.
    Recording,
}

/// A delivery's phase for a message: `free` when it has none.
struct Shown(Option<Phase>);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("free"),
            Some(Phase::Claimed) => f.write_str("claimed"),
            Some(Phase::InFlight) => f.write_str("in flight"),
            Some(Phase::Recording) => f.write_str("being recorded"),
        }
    }
}

/// One webhook's deliveries in a phase, with the counts the caps are checked against.
#[derive(Debug, Default)]
struct WebhookSlots {
    phases: HashMap<DeliveryId, Phase>,
    in_flight: usize,
    claimed: usize,
}

/// The slot accounting of every webhook the scheduler knows of.
#[derive(Debug)]
pub(super) struct Slots {
    /// The global cap on attempts in flight, and on deliveries held read ahead.
    max_in_flight: usize,
    webhooks: HashMap<WebhookId, WebhookSlots>,
    /// Deliveries in flight, all webhooks together.
    in_flight: usize,
    /// Deliveries claimed, all webhooks together.
    read_ahead: usize,
}

/// Checks a transition's precondition. A broken one is a bug in the scheduler: debug builds
/// panic at the transition, release builds log it (and the caller then does only what keeps
/// the counts true). Returns whether it holds.
#[track_caller]
fn require(holds: bool, what: fmt::Arguments<'_>) -> bool {
    debug_assert!(holds, "slot accounting: {what}");
    if !holds {
        tracing::error!("slot accounting: {what}");
    }
    holds
}

impl Slots {
    /// No webhook, nothing in flight; `max_in_flight` bounds both the attempts in flight and
    /// the deliveries read ahead.
    pub(super) fn new(max_in_flight: usize) -> Self {
        Slots {
            max_in_flight,
            webhooks: HashMap::new(),
            in_flight: 0,
            read_ahead: 0,
        }
    }

    /// A delivery read from the queue into the webhook's read-ahead: claimed, so that it is
    /// never read again while it waits there. `cap` is the webhook's read-ahead cap.
    #[track_caller]
    pub(super) fn claim_read_ahead(
        &mut self,
        webhook: WebhookId,
        delivery: DeliveryId,
        cap: usize,
    ) {
        require(
            self.read_ahead < self.max_in_flight,
            format_args!(
                "claim past the global read-ahead cap {}",
                self.max_in_flight
            ),
        );
        let slots = self.webhooks.entry(webhook).or_default();
        require(
            slots.claimed < cap,
            format_args!("claim past webhook {webhook}'s read-ahead cap {cap}"),
        );
        match slots.phases.entry(delivery) {
            Entry::Vacant(free) => {
                free.insert(Phase::Claimed);
                slots.claimed += 1;
                self.read_ahead += 1;
            }
            Entry::Occupied(taken) => {
                require(
                    false,
                    format_args!(
                        "claim of delivery {delivery}, already {}",
                        Shown(Some(*taken.get()))
                    ),
                );
            }
        }
        self.check();
    }

    /// A delivery read from the queue goes in flight, in one of the webhook's `cap` slots.
    #[track_caller]
    pub(super) fn start_from_queue(
        &mut self,
        webhook: WebhookId,
        delivery: DeliveryId,
        cap: usize,
    ) {
        self.require_room(webhook, cap);
        let slots = self.webhooks.entry(webhook).or_default();
        match slots.phases.entry(delivery) {
            Entry::Vacant(free) => {
                free.insert(Phase::InFlight);
                slots.in_flight += 1;
                self.in_flight += 1;
            }
            Entry::Occupied(taken) => {
                require(
                    false,
                    format_args!(
                        "start of delivery {delivery}, already {}",
                        Shown(Some(*taken.get()))
                    ),
                );
            }
        }
        self.check();
    }

    /// A delivery taken from the webhook's read-ahead by the scheduler goes in flight in one
    /// of the webhook's `cap` slots; its claim ends.
    #[track_caller]
    pub(super) fn start_read_ahead(
        &mut self,
        webhook: WebhookId,
        delivery: DeliveryId,
        cap: usize,
    ) {
        self.require_room(webhook, cap);
        let slots = self.webhooks.entry(webhook).or_default();
        let phase = slots.phases.get(&delivery).copied();
        if require(
            phase == Some(Phase::Claimed),
            format_args!(
                "read-ahead start of delivery {delivery}, which is {}",
                Shown(phase)
            ),
        ) {
            slots.phases.insert(delivery, Phase::InFlight);
            slots.claimed -= 1;
            self.read_ahead -= 1;
            slots.in_flight += 1;
            self.in_flight += 1;
        }
        self.check();
    }

    /// An attempt's HTTP exchange ended: its slot is free and its delivery is being recorded.
    /// With `next`, the attempt took that delivery from the webhook's read-ahead and started it
    /// in the slot it freed: the claim goes in flight and the slot count stays as it was.
    #[track_caller]
    pub(super) fn finished(
        &mut self,
        webhook: WebhookId,
        delivery: DeliveryId,
        next: Option<DeliveryId>,
    ) {
        let Some(slots) = self.webhooks.get_mut(&webhook) else {
            require(
                false,
                format_args!("finished for webhook {webhook}, which has nothing in flight"),
            );
            return;
        };
        let phase = slots.phases.get(&delivery).copied();
        if require(
            phase == Some(Phase::InFlight),
            format_args!(
                "finished for delivery {delivery}, which is {}",
                Shown(phase)
            ),
        ) {
            slots.phases.insert(delivery, Phase::Recording);
            slots.in_flight -= 1;
            self.in_flight -= 1;
        }
        if let Some(next) = next {
            let phase = slots.phases.get(&next).copied();
            require(
                phase == Some(Phase::Claimed),
                format_args!("handover to delivery {next}, which is {}", Shown(phase)),
            );
            // It runs, claimed or not: counted in flight unless it already is.
            if phase == Some(Phase::Claimed) {
                slots.claimed -= 1;
                self.read_ahead -= 1;
            }
            if phase != Some(Phase::InFlight) {
                slots.phases.insert(next, Phase::InFlight);
                slots.in_flight += 1;
                self.in_flight += 1;
            }
        }
        self.check();
    }

    /// An attempt's result is durable, or abandoned: its delivery may be read again. It was
    /// being recorded, or still in flight when no `Finished` came first (an `ordered` webhook's
    /// failure keeps its slot until then; a cancelled attempt has no result): then its slot
    /// is freed too.
    #[track_caller]
    pub(super) fn done(&mut self, webhook: WebhookId, delivery: DeliveryId) {
        let Some(slots) = self.webhooks.get_mut(&webhook) else {
            require(
                false,
                format_args!("done for webhook {webhook}, which has nothing in flight"),
            );
            return;
        };
        match slots.phases.get(&delivery) {
            Some(Phase::Recording) => {
                slots.phases.remove(&delivery);
            }
            Some(Phase::InFlight) => {
                slots.phases.remove(&delivery);
                slots.in_flight -= 1;
                self.in_flight -= 1;
            }
            phase => {
                require(
                    false,
                    format_args!(
                        "done for delivery {delivery}, which is {}",
                        Shown(phase.copied())
                    ),
                );
            }
        }
        self.check();
    }

    /// The webhook's read-ahead queue was emptied of `deliveries` without starting them: their
    /// claims end, and they are read from the queue again when their turn comes. Returns how
    /// many claims ended.
    #[track_caller]
    pub(super) fn drop_read_ahead(
        &mut self,
        webhook: WebhookId,
        deliveries: impl IntoIterator<Item = DeliveryId>,
    ) -> usize {
        let mut released = 0;
        for delivery in deliveries {
            let phase = self.phase(webhook, delivery);
            if require(
                phase == Some(Phase::Claimed),
                format_args!(
                    "drop of delivery {delivery} from the read-ahead, which is {}",
                    Shown(phase)
                ),
            ) && let Some(slots) = self.webhooks.get_mut(&webhook)
            {
                slots.phases.remove(&delivery);
                slots.claimed -= 1;
                self.read_ahead -= 1;
                released += 1;
            }
        }
        self.check();
        released
    }

    /// Forgets a webhook (deleted) if nothing of it is claimed, in flight or being recorded.
    /// Returns whether it is forgotten (also when it was not known).
    pub(super) fn forget(&mut self, webhook: WebhookId) -> bool {
        let idle = self
            .webhooks
            .get(&webhook)
            .is_none_or(|slots| slots.phases.is_empty());
        if idle {
            self.webhooks.remove(&webhook);
        }
        idle
    }

    /// Whether the delivery must not be read from the queue: claimed, in flight or being
    /// recorded.
    pub(super) fn is_busy(&self, webhook: WebhookId, delivery: DeliveryId) -> bool {
        self.phase(webhook, delivery).is_some()
    }

    /// The delivery's phase; `None` when it is free.
    pub(super) fn phase(&self, webhook: WebhookId, delivery: DeliveryId) -> Option<Phase> {
        self.webhooks
            .get(&webhook)
            .and_then(|slots| slots.phases.get(&delivery).copied())
    }

    /// Attempts in flight, all webhooks together.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The webhook's attempts in flight.
    pub(super) fn in_flight_of(&self, webhook: WebhookId) -> usize {
        self.webhooks
            .get(&webhook)
            .map_or(0, |slots| slots.in_flight)
    }

    /// The webhook's deliveries claimed (read ahead, or taken from there by an attempt whose
    /// `Finished` has not been handled yet).
    pub(super) fn claimed_of(&self, webhook: WebhookId) -> usize {
        self.webhooks.get(&webhook).map_or(0, |slots| slots.claimed)
    }

    /// Deliveries claimed, all webhooks together.
    #[cfg(test)]
    pub(super) fn read_ahead_total(&self) -> usize {
        self.read_ahead
    }

    /// How many more attempts the webhook may start under `cap`. Zero, not an underflow, when
    /// it holds more than `cap`: its cap shrank (it was made `ordered`) while they ran.
    pub(super) fn free_of(&self, webhook: WebhookId, cap: usize) -> usize {
        cap.saturating_sub(self.in_flight_of(webhook))
    }

    /// How many more attempts may start under the global cap.
    pub(super) fn global_free(&self) -> usize {
        // More than the cap only after a start that broke its precondition, which `require`
        // reported then (the count follows the attempts really running).
        self.max_in_flight.saturating_sub(self.in_flight)
    }

    /// How many more deliveries the webhook may claim: up to `cap` of its own, and up to the
    /// global cap on deliveries read ahead.
    pub(super) fn read_ahead_room(&self, webhook: WebhookId, cap: usize) -> usize {
        let own = cap.saturating_sub(self.claimed_of(webhook));
        // More than the cap only after a claim that broke its precondition (reported then).
        own.min(self.max_in_flight.saturating_sub(self.read_ahead))
    }

    /// A start needs a free slot under the global cap and under the webhook's `cap`.
    #[track_caller]
    fn require_room(&self, webhook: WebhookId, cap: usize) {
        require(
            self.in_flight < self.max_in_flight,
            format_args!("start past the global cap {}", self.max_in_flight),
        );
        require(
            self.in_flight_of(webhook) < cap,
            format_args!("start past webhook {webhook}'s cap {cap}"),
        );
    }

    /// Checks every invariant (debug builds only: it walks every live delivery).
    #[track_caller]
    fn check(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        let (mut in_flight, mut claimed) = (0, 0);
        for (webhook, slots) in &self.webhooks {
            let count = |wanted| slots.phases.values().filter(|&&p| p == wanted).count();
            debug_assert_eq!(
                slots.in_flight,
                count(Phase::InFlight),
                "slot accounting: webhook {webhook}'s in-flight count drifted"
            );
            debug_assert_eq!(
                slots.claimed,
                count(Phase::Claimed),
                "slot accounting: webhook {webhook}'s claimed count drifted"
            );
            in_flight += slots.in_flight;
            claimed += slots.claimed;
        }
        debug_assert_eq!(
            self.in_flight, in_flight,
            "slot accounting: the global in-flight count drifted from the webhooks'"
        );
        debug_assert_eq!(
            self.read_ahead, claimed,
            "slot accounting: the global read-ahead count drifted from the webhooks'"
        );
        debug_assert!(
            self.in_flight <= self.max_in_flight,
            "slot accounting: {} in flight, past the global cap {}",
            self.in_flight,
            self.max_in_flight
        );
        debug_assert!(
            self.read_ahead <= self.max_in_flight,
            "slot accounting: {} read ahead, past the global cap {}",
            self.read_ahead,
            self.max_in_flight
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Op::*;
    use Phase::{Claimed, InFlight, Recording};

    const W: u128 = 0xa1;
    const V: u128 = 0xb2;
    /// Each webhook's cap in these tests (for slots and for read-ahead alike).
    const CAP: usize = 2;
    /// The global cap in these tests.
    const MAX: usize = 3;

    /// One step of a sequence: a transition, or (`Skew…`) a count broken behind the
    /// transitions' back, which the next transition must notice.
    #[derive(Debug, Clone, Copy)]
    enum Op {
        Claim(u128, u128),
        StartQueue(u128, u128),
        StartReadAhead(u128, u128),
        Finished(u128, u128, Option<u128>),
        Done(u128, u128),
        Drop(u128, &'static [u128]),
        /// Forget, expecting this answer.
        Forget(u128, bool),
        SkewGlobalInFlight,
        SkewGlobalReadAhead,
        /// A webhook's in-flight count loses one: a lost slot.
        LoseSlot(u128),
    }

    /// The tables name webhooks and deliveries by small numbers.
    fn w(n: u128) -> WebhookId {
        WebhookId::from_u128(n)
    }

    fn d(n: u128) -> DeliveryId {
        DeliveryId::from_u128(n)
    }

    fn apply(slots: &mut Slots, op: Op) {
        match op {
            Claim(wb, dl) => slots.claim_read_ahead(w(wb), d(dl), CAP),
            StartQueue(wb, dl) => slots.start_from_queue(w(wb), d(dl), CAP),
            StartReadAhead(wb, dl) => slots.start_read_ahead(w(wb), d(dl), CAP),
            Finished(wb, dl, next) => slots.finished(w(wb), d(dl), next.map(d)),
            Done(wb, dl) => slots.done(w(wb), d(dl)),
            Drop(wb, ds) => {
                let released = slots.drop_read_ahead(w(wb), ds.iter().copied().map(d));
                assert_eq!(released, ds.len(), "claims released by {op:?}");
            }
            Forget(wb, expected) => assert_eq!(slots.forget(w(wb)), expected, "{op:?}"),
            SkewGlobalInFlight => slots.in_flight += 1,
            SkewGlobalReadAhead => slots.read_ahead += 1,
            LoseSlot(wb) => slots.webhooks.get_mut(&w(wb)).unwrap().in_flight -= 1,
        }
    }

    /// What the slots must say after a sequence.
    struct Expect {
        in_flight: usize,
        read_ahead: usize,
        /// (webhook, in flight, claimed); webhooks not listed hold nothing.
        webhooks: &'static [(u128, usize, usize)],
        /// (webhook, delivery, phase); `None` = free, may be read from the queue.
        phases: &'static [(u128, u128, Option<Phase>)],
    }

    const IDLE: Expect = Expect {
        in_flight: 0,
        read_ahead: 0,
        webhooks: &[],
        phases: &[],
    };

    fn check_expected(name: &str, slots: &Slots, expect: &Expect) {
        assert_eq!(slots.in_flight(), expect.in_flight, "{name}: in flight");
        assert_eq!(slots.global_free(), MAX - expect.in_flight, "{name}");
        assert_eq!(
            slots.read_ahead_total(),
            expect.read_ahead,
            "{name}: read ahead"
        );
        for number in [W, V] {
            let webhook = w(number);
            let (in_flight, claimed) = expect
                .webhooks
                .iter()
                .find(|(wb, _, _)| *wb == number)
                .map_or((0, 0), |&(_, f, c)| (f, c));
            assert_eq!(slots.in_flight_of(webhook), in_flight, "{name}: {webhook}");
            assert_eq!(slots.claimed_of(webhook), claimed, "{name}: {webhook}");
            assert_eq!(slots.free_of(webhook, CAP), CAP - in_flight, "{name}");
            assert_eq!(
                slots.read_ahead_room(webhook, CAP),
                (CAP - claimed).min(MAX - expect.read_ahead),
                "{name}: read-ahead room of {webhook}"
            );
        }
        for &(webhook, delivery, phase) in expect.phases {
            let (webhook, delivery) = (w(webhook), d(delivery));
            assert_eq!(slots.phase(webhook, delivery), phase, "{name}: {delivery}");
            assert_eq!(
                slots.is_busy(webhook, delivery),
                phase.is_some(),
                "{name}: {delivery}"
            );
        }
    }

    #[test]
    fn every_sequence_of_transitions_leaves_the_expected_counts() {
        let rows: &[(&str, &[Op], Expect)] = &[
            ("nothing known", &[], IDLE),
            (
                "a start from the queue takes a slot",
                &[StartQueue(W, 1)],
                Expect {
                    in_flight: 1,
                    read_ahead: 0,
                    webhooks: &[(W, 1, 0)],
                    phases: &[(W, 1, Some(InFlight)), (V, 1, None)],
                },
            ),
            (
                "finished frees the slot; the delivery is being recorded",
                &[StartQueue(W, 1), Finished(W, 1, None)],
                Expect {
                    in_flight: 0,
                    read_ahead: 0,
                    webhooks: &[],
                    phases: &[(W, 1, Some(Recording))],
                },
            ),
            (
                "done after finished: the delivery may be read again",
                &[StartQueue(W, 1), Finished(W, 1, None), Done(W, 1)],
                Expect {
                    phases: &[(W, 1, None)],
                    ..IDLE
                },
            ),
            (
                "done without finished (ordered failure, cancelled) frees the slot",
                &[StartQueue(W, 1), Done(W, 1)],
                Expect {
                    phases: &[(W, 1, None)],
                    ..IDLE
                },
            ),
            (
                "a delivery done may be started again (a retry)",
                &[
                    StartQueue(W, 1),
                    Finished(W, 1, None),
                    Done(W, 1),
                    StartQueue(W, 1),
                ],
                Expect {
                    in_flight: 1,
                    read_ahead: 0,
                    webhooks: &[(W, 1, 0)],
                    phases: &[(W, 1, Some(InFlight))],
                },
            ),
            (
                "a claim is counted as read ahead, not in flight",
                &[Claim(W, 1)],
                Expect {
                    in_flight: 0,
                    read_ahead: 1,
                    webhooks: &[(W, 0, 1)],
                    phases: &[(W, 1, Some(Claimed))],
                },
            ),
            (
                "a read-ahead start ends the claim and takes a slot",
                &[Claim(W, 1), Claim(W, 2), StartReadAhead(W, 1)],
                Expect {
                    in_flight: 1,
                    read_ahead: 1,
                    webhooks: &[(W, 1, 1)],
                    phases: &[(W, 1, Some(InFlight)), (W, 2, Some(Claimed))],
                },
            ),
            (
                "a handover keeps the slot count and ends the claim",
                &[StartQueue(W, 1), Claim(W, 2), Finished(W, 1, Some(2))],
                Expect {
                    in_flight: 1,
                    read_ahead: 0,
                    webhooks: &[(W, 1, 0)],
                    phases: &[(W, 1, Some(Recording)), (W, 2, Some(InFlight))],
                },
            ),
            (
                "a handover whose delivery was taken just before the read-ahead was dropped",
                &[
                    StartQueue(W, 1),
                    Claim(W, 2),
                    Claim(W, 3),
                    // An attempt took 2; the scheduler drained only 3.
                    Drop(W, &[3]),
                    Finished(W, 1, Some(2)),
                ],
                Expect {
                    in_flight: 1,
                    read_ahead: 0,
                    webhooks: &[(W, 1, 0)],
                    phases: &[
                        (W, 1, Some(Recording)),
                        (W, 2, Some(InFlight)),
                        (W, 3, None),
                    ],
                },
            ),
            (
                "a dropped read-ahead may be read again",
                &[Claim(W, 1), Claim(W, 2), Drop(W, &[1, 2]), StartQueue(W, 2)],
                Expect {
                    in_flight: 1,
                    read_ahead: 0,
                    webhooks: &[(W, 1, 0)],
                    phases: &[(W, 1, None), (W, 2, Some(InFlight))],
                },
            ),
            (
                "a full webhook leaves the global slot to another",
                &[StartQueue(W, 1), StartQueue(W, 2), StartQueue(V, 3)],
                Expect {
                    in_flight: 3,
                    read_ahead: 0,
                    webhooks: &[(W, 2, 0), (V, 1, 0)],
                    phases: &[(V, 3, Some(InFlight)), (W, 3, None)],
                },
            ),
            (
                "claims of all webhooks fill the global read-ahead cap",
                &[Claim(W, 1), Claim(W, 2), Claim(V, 3)],
                Expect {
                    in_flight: 0,
                    read_ahead: 3,
                    webhooks: &[(W, 0, 2), (V, 0, 1)],
                    phases: &[(W, 2, Some(Claimed)), (V, 3, Some(Claimed))],
                },
            ),
            (
                "slots, claims and recordings together",
                &[
                    StartQueue(W, 1),
                    Claim(W, 2),
                    Claim(W, 3),
                    StartQueue(V, 4),
                    Finished(V, 4, None),
                    StartQueue(V, 5),
                    Finished(W, 1, Some(2)),
                    StartReadAhead(W, 3),
                ],
                Expect {
                    in_flight: 3,
                    read_ahead: 0,
                    webhooks: &[(W, 2, 0), (V, 1, 0)],
                    phases: &[
                        (W, 1, Some(Recording)),
                        (W, 2, Some(InFlight)),
                        (W, 3, Some(InFlight)),
                        (V, 4, Some(Recording)),
                        (V, 5, Some(InFlight)),
                    ],
                },
            ),
            (
                "a chain of handovers drains to nothing",
                &[
                    StartQueue(W, 1),
                    StartQueue(W, 2),
                    Claim(W, 3),
                    Claim(W, 4),
                    Finished(W, 1, Some(3)),
                    Finished(W, 2, Some(4)),
                    Done(W, 2),
                    Done(W, 1),
                    Finished(W, 3, None),
                    Finished(W, 4, None),
                    Done(W, 3),
                    Done(W, 4),
                    Forget(W, true),
                ],
                Expect {
                    phases: &[(W, 1, None), (W, 2, None), (W, 3, None), (W, 4, None)],
                    ..IDLE
                },
            ),
            (
                "a webhook is forgotten only once nothing of it is live",
                &[
                    StartQueue(W, 1),
                    Forget(W, false),
                    Finished(W, 1, None),
                    Forget(W, false),
                    Done(W, 1),
                    Forget(W, true),
                    Forget(W, true),
                ],
                IDLE,
            ),
            (
                "a claim an attempt took keeps its webhook from being forgotten",
                &[
                    StartQueue(W, 1),
                    Claim(W, 2),
                    // Deleted: the scheduler drains an empty queue (the attempt took 2).
                    Drop(W, &[]),
                    Finished(W, 1, Some(2)),
                    Done(W, 1),
                    Forget(W, false),
                    Finished(W, 2, None),
                    Done(W, 2),
                    Forget(W, true),
                ],
                IDLE,
            ),
        ];
        for (name, ops, expect) in rows {
            let mut slots = Slots::new(MAX);
            for &op in *ops {
                apply(&mut slots, op);
            }
            check_expected(name, &slots, expect);
        }
    }

    /// Each row's steps but the last are valid; the last must stop a debug build.
    #[cfg(debug_assertions)]
    #[test]
    fn a_broken_transition_panics_in_debug_builds() {
        let rows: &[(&str, &[Op])] = &[
            ("double claim", &[Claim(W, 1), Claim(W, 1)]),
            (
                "claim of a delivery in flight",
                &[StartQueue(W, 1), Claim(W, 1)],
            ),
            (
                "claim of a delivery being recorded",
                &[StartQueue(W, 1), Finished(W, 1, None), Claim(W, 1)],
            ),
            (
                "claim past the webhook's read-ahead cap",
                &[Claim(W, 1), Claim(W, 2), Claim(W, 3)],
            ),
            (
                "claim past the global read-ahead cap",
                &[Claim(W, 1), Claim(W, 2), Claim(V, 3), Claim(V, 4)],
            ),
            ("double start", &[StartQueue(W, 1), StartQueue(W, 1)]),
            (
                "a read-ahead delivery read from the queue again",
                &[Claim(W, 1), StartQueue(W, 1)],
            ),
            (
                "a delivery being recorded read from the queue again",
                &[StartQueue(W, 1), Finished(W, 1, None), StartQueue(W, 1)],
            ),
            (
                "start past the webhook's cap",
                &[StartQueue(W, 1), StartQueue(W, 2), StartQueue(W, 3)],
            ),
            (
                "start past the global cap",
                &[
                    StartQueue(W, 1),
                    StartQueue(W, 2),
                    StartQueue(V, 3),
                    StartQueue(V, 4),
                ],
            ),
            (
                "read-ahead start of an unclaimed delivery",
                &[StartReadAhead(W, 1)],
            ),
            (
                "double read-ahead start",
                &[Claim(W, 1), StartReadAhead(W, 1), StartReadAhead(W, 1)],
            ),
            (
                "read-ahead start past the webhook's cap",
                &[
                    StartQueue(W, 1),
                    StartQueue(W, 2),
                    Claim(W, 3),
                    StartReadAhead(W, 3),
                ],
            ),
            ("finished for an unknown webhook", &[Finished(W, 1, None)]),
            (
                "finished for a delivery not in flight",
                &[StartQueue(W, 1), Finished(W, 2, None)],
            ),
            (
                "finished twice",
                &[StartQueue(W, 1), Finished(W, 1, None), Finished(W, 1, None)],
            ),
            (
                "finished for a claimed delivery",
                &[Claim(W, 1), Finished(W, 1, None)],
            ),
            (
                "handover to an unclaimed delivery",
                &[StartQueue(W, 1), Finished(W, 1, Some(2))],
            ),
            (
                "handover to a delivery whose claim was dropped",
                &[
                    StartQueue(W, 1),
                    Claim(W, 2),
                    Drop(W, &[2]),
                    Finished(W, 1, Some(2)),
                ],
            ),
            ("done for an unknown webhook", &[Done(W, 1)]),
            (
                "done for a delivery neither in flight nor recorded",
                &[StartQueue(W, 1), Done(W, 2)],
            ),
            ("done for a claimed delivery", &[Claim(W, 1), Done(W, 1)]),
            (
                "done twice",
                &[
                    StartQueue(W, 1),
                    Finished(W, 1, None),
                    Done(W, 1),
                    Done(W, 1),
                ],
            ),
            ("drop of an unclaimed delivery", &[Drop(W, &[1])]),
            (
                "drop of a delivery in flight",
                &[Claim(W, 1), StartReadAhead(W, 1), Drop(W, &[1])],
            ),
            (
                "global in-flight count drift",
                &[StartQueue(W, 1), SkewGlobalInFlight, StartQueue(V, 2)],
            ),
            (
                "global read-ahead count drift",
                &[Claim(W, 1), SkewGlobalReadAhead, Claim(V, 2)],
            ),
            ("a lost slot", &[StartQueue(W, 1), LoseSlot(W), Claim(V, 2)]),
        ];
        for (name, ops) in rows {
            let (last, valid) = ops.split_last().expect("a row has steps");
            let mut slots = Slots::new(MAX);
            for &op in valid {
                apply(&mut slots, op);
            }
            let broke =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply(&mut slots, *last)));
            let Err(panic) = broke else {
                panic!("{name}: {last:?} did not panic");
            };
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                message.contains("slot accounting"),
                "{name}: {last:?} panicked, but not in a check: {message}"
            );
        }
    }

    #[test]
    fn a_webhook_past_a_cap_that_shrank_has_no_free_slot() {
        let mut slots = Slots::new(MAX);
        slots.start_from_queue(w(W), d(1), CAP);
        slots.start_from_queue(w(W), d(2), CAP);
        // Made `ordered` while both run: its cap is 1 now.
        assert_eq!(slots.free_of(w(W), 1), 0);
        slots.done(w(W), d(1));
        assert_eq!(slots.free_of(w(W), 1), 0);
        slots.done(w(W), d(2));
        assert_eq!(slots.free_of(w(W), 1), 1);
    }
}
