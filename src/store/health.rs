//! Whether the store can still write. A storage fault (a failed log write or fsync, a failed
//! commit or checkpoint, a full disk) leaves the log and redb in states only a reopen sorts out
//! — redb itself refuses every later write transaction after an I/O error — so the first fault
//! is latched here for good: the writer refuses every later batch, `/readyz` reports the reason,
//! and the server stops so that its supervisor starts it again, which recovers from the log.

use std::sync::Arc;

use tokio::sync::watch;

/// The store's health, shared by the writer (which latches a fault) and the server (which
/// reports it and stops).
#[derive(Debug)]
pub struct Health {
    fault: watch::Sender<Option<Arc<str>>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            fault: watch::Sender::new(None),
        }
    }
}

impl Health {
    /// Latches a fault; only the first reason is kept (the later ones follow from it). Logs
    /// it at error level once.
    pub fn fail(&self, reason: &str) {
        let first = self.fault.send_if_modified(|fault| {
            if fault.is_some() {
                return false;
            }
            *fault = Some(Arc::from(reason));
            true
        });
        if first {
            tracing::error!(
                reason,
                "storage fault: every write is refused from now on and hookd stops so that it is started again"
            );
        }
    }

    /// The latched fault, if any.
    pub fn fault(&self) -> Option<Arc<str>> {
        self.fault.borrow().clone()
    }

    /// Completes with the reason once a fault is latched.
    pub async fn failed(&self) -> Arc<str> {
        let mut watcher = self.fault.subscribe();
        let fault = watcher
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|fault| fault.clone());
        match fault {
            Some(reason) => reason,
            // The sender lives in `self`, so it cannot be gone while we borrow it.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_fault_is_kept_and_wakes_the_waiter() {
        let health = Arc::new(Health::default());
        assert!(health.fault().is_none());
        let waiter = {
            let health = health.clone();
            tokio::spawn(async move { health.failed().await })
        };
        health.fail("cannot write the log: No space left on device");
        health.fail("a later consequence");
        assert_eq!(
            &*waiter.await.unwrap(),
            "cannot write the log: No space left on device"
        );
        assert_eq!(
            health.fault().as_deref(),
            Some("cannot write the log: No space left on device")
        );
    }
}
