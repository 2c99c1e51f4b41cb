//! The one way hookd's long-running commands (`serve`, `receive`) learn they should stop:
//! SIGTERM from a supervisor or Ctrl-C (SIGINT) from a terminal, both a clean stop.

use std::future::Future;

/// Completes on SIGTERM or SIGINT (elsewhere than Unix: on Ctrl-C).
///
/// On Unix the handlers are installed when this is called, not when the future is first
/// polled, so a signal sent right after a caller announced itself (say, printed its address)
/// is already a clean stop. Call it inside a Tokio runtime.
pub fn termination() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
