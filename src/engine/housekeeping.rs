//! Background upkeep: buffered deliveries past the buffer window become `expired`, records
//! past `retention.events` are purged, and so are health counts past the longest stats window
//! and expired portal links, each in small transactions so ingestion and delivery
//! never wait long behind them.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;
use crate::time::{Millis, now_millis};

/// Records touched per transaction.
const BATCH: usize = 500;

/// How often upkeep runs for a window: a twentieth of it, between 1 s and 30 s, so that
/// expiry happens well "within a minute" and short test windows are honoured.
fn period(window: Duration) -> Duration {
    (window / 20).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Runs upkeep until `stop` turns true.
pub async fn run(
    store: Store,
    retention: Duration,
    buffer: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let every = period(retention).min(period(buffer));
    let retention_ms = retention.as_millis() as Millis;
    let buffer_ms = buffer.as_millis() as Millis;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        loop {
            match store.expire_buffered(now_millis(), buffer_ms, BATCH).await {
                Ok(n) if n == BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot expire buffered deliveries");
                    break;
                }
            }
        }
        loop {
            if *stop.borrow() {
                return;
            }
            match store.purge_before(now_millis() - retention_ms, BATCH).await {
                Ok(n) if n >= BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot purge old records");
                    break;
                }
            }
        }
        if let Err(e) = store.purge_expired(now_millis()).await {
            tracing::error!(error = %e, "cannot purge old health counts and portal links");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_follows_the_window_within_bounds() {
        assert_eq!(
            period(Duration::from_secs(5 * 86_400)),
            Duration::from_secs(30)
        );
        assert_eq!(period(Duration::from_secs(60)), Duration::from_secs(3));
        assert_eq!(period(Duration::from_secs(2)), Duration::from_secs(1));
    }
}
