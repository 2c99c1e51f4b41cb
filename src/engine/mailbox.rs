//! The scheduler's inbox: signals gather in a shared list, and the scheduler thread is woken
//! once per burst rather than once per signal.
//!
//! Every ingested event and every attempt sends the scheduler a signal. Sent one by one over a
//! channel, each woke the sleeping scheduler thread (a futex call and a context switch) — a
//! visible share of ingest's CPU. Here a sender appends to the list and rings the doorbell only
//! if nobody has rung it since the scheduler last emptied the list.

use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Signal;

struct Shared {
    signals: Mutex<Vec<Signal>>,
    /// Set when the doorbell has been rung and the list not emptied since.
    rung: AtomicBool,
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub(super) struct Mailbox {
    shared: Arc<Shared>,
    doorbell: mpsc::Sender<()>,
}

/// The scheduler's side.
pub(super) struct Inbox {
    shared: Arc<Shared>,
    doorbell: mpsc::Receiver<()>,
}

/// Every [`Mailbox`] is gone: nobody can signal the scheduler any more.
#[derive(Debug)]
pub(super) struct Disconnected;

/// A connected mailbox and inbox.
pub(super) fn mailbox() -> (Mailbox, Inbox) {
    let shared = Arc::new(Shared {
        signals: Mutex::new(Vec::new()),
        rung: AtomicBool::new(false),
    });
    let (doorbell, bell) = mpsc::channel();
    (
        Mailbox {
            shared: shared.clone(),
            doorbell,
        },
        Inbox {
            shared,
            doorbell: bell,
        },
    )
}

impl Mailbox {
    /// Posts one signal.
    pub(super) fn send(&self, signal: Signal) {
        self.send_all(std::iter::once(signal));
    }

    /// Posts several signals with at most one wake-up.
    pub(super) fn send_all(&self, signals: impl IntoIterator<Item = Signal>) {
        {
            let mut list = self
                .shared
                .signals
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let before = list.len();
            list.extend(signals);
            if list.len() == before {
                return;
            }
        }
        if !self.shared.rung.swap(true, Ordering::AcqRel) {
            // The scheduler may be gone at shutdown; then nobody needs the signal.
            let _ = self.doorbell.send(());
        }
    }
}

impl Inbox {
    /// Waits up to `timeout` for the doorbell, then moves every posted signal into `into`
    /// (which may stay empty when the wait timed out).
    pub(super) fn wait(
        &self,
        timeout: Duration,
        into: &mut Vec<Signal>,
    ) -> Result<(), Disconnected> {
        match self.doorbell.recv_timeout(timeout) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(Disconnected),
        }
        // Cleared before the list is taken: a signal posted after the take rings again.
        self.shared.rung.store(false, Ordering::Release);
        let mut list = self
            .shared
            .signals
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *list, into);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::WebhookId;

    #[test]
    fn a_burst_rings_once_and_every_signal_arrives() {
        let (mailbox, inbox) = mailbox();
        mailbox.send_all((0..5).map(|n| Signal::Wake(WebhookId::from_u128(n))));
        mailbox.send(Signal::Wake(WebhookId::from_u128(5)));
        let mut got = Vec::new();
        inbox.wait(Duration::from_secs(5), &mut got).unwrap();
        let ids: Vec<u128> = got
            .iter()
            .map(|s| match s {
                Signal::Wake(w) => w.as_u128(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4, 5]);
        // One ring for the burst: no second token waits, and the next wait times out empty.
        assert!(
            inbox.doorbell.try_recv().is_err(),
            "the burst rang more than once"
        );
        let mut more = Vec::new();
        inbox.wait(Duration::from_millis(1), &mut more).unwrap();
        assert!(more.is_empty());
        // After the list was emptied, the next signal rings again.
        mailbox.send(Signal::Stop);
        inbox.wait(Duration::from_secs(5), &mut more).unwrap();
        assert!(matches!(more.as_slice(), [Signal::Stop]));
        drop(mailbox);
        assert!(inbox.wait(Duration::from_secs(5), &mut more).is_err());
    }
}
