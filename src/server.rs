//! The server's life: open the store, listen, serve connections, shut down gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, App, auth::Auth};
use crate::config::{Config, StorageBackend};
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::store::Store;

/// Why the server could not start or stopped abnormally.
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

/// How long hookd goes on answering after a storage fault before it stops: every write gets
/// 503 `store-unavailable` and `/readyz` 503 with the reason, so clients and load balancers see
/// why rather than a refused connection.
const FAULT_LINGER: Duration = Duration::from_secs(2);

/// How long open requests and attempts get to finish when a storage fault stops hookd: short,
/// since every write fails by then, and the process must be gone well within 5 seconds so that
/// its supervisor starts it again.
const FAULT_GRACE: Duration = Duration::from_secs(1);

/// The most a stop after a storage fault waits for connections and attempts (the grace and the
/// cancelling after it)…
const FAULT_DEADLINE: Duration = Duration::from_millis(1500);

/// …and then for the writer thread: with the linger, well within 5 seconds in all.
const FAULT_WRITER_WAIT: Duration = Duration::from_millis(500);

/// Why the server stops.
enum Stop {
    /// SIGTERM, SIGINT, or the caller's shutdown future.
    Requested,
    /// A storage fault: the store refuses every write until it is opened again.
    Fault(Arc<str>),
}

/// Runs hookd until `shutdown` completes, then stops accepting, lets open requests finish
/// within `shutdown_grace`, commits every pending write and returns.
///
/// A storage fault stops it too, at once and with an error, so that the process exits non-zero
/// and its supervisor (systemd, Docker) starts it again: opening the store recovers everything
/// acknowledged.
pub async fn run(mut config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let tls = match (&config.tls.cert_file, &config.tls.key_file) {
        (Some(cert), Some(key)) => Some(TlsAcceptor::from(
            crate::tls::server_config(cert, key).map_err(RunError)?,
        )),
        _ => None,
    };
    let admin_configured = config.auth.admin_token.is_some();
    let opened = match config.storage.backend {
        StorageBackend::Redb => {
            let data_dir = config.data_dir.clone();
            tokio::task::spawn_blocking(move || Store::open_redb(&data_dir, admin_configured))
                .await
                .map_err(|e| RunError(format!("store open task failed: {e}")))?
        }
        // `data_dir` is not used: everything lives in the database.
        StorageBackend::Postgres => Store::open_postgres(&config.postgres, admin_configured).await,
    }
    .map_err(|e| RunError(e.to_string()))?;
    if let Some(token) = &opened.generated_admin_token {
        // Printed once, outside the structured log (which never carries tokens).
        eprintln!("hookd: generated admin token (shown only this once, stored hashed): {token}");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| RunError(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| RunError(format!("cannot read the listening address: {e}")))?;
    config.bind_public_url(addr);
    let config = Arc::new(config);
    let store = opened.store;
    let metrics = Arc::new(Metrics::default());
    let engine = Engine::start(
        store.clone(),
        &config,
        metrics.clone(),
        tokio::runtime::Handle::current(),
    )
    .map_err(|e| RunError(format!("cannot start the scheduler: {e}")))?;
    let app = Arc::new(App {
        engine: engine.clone(),
        metrics,
        auth: Auth::new(
            config.auth.admin_token.as_deref(),
            &store,
            config.limits.auth_failures_per_minute,
        ),
        store,
        config: config.clone(),
        ready: Default::default(),
    });
    app.ready.store(true, Ordering::Release);
    tracing::info!("hookd listening on {addr}");
    let faults = app.store.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown => Stop::Requested,
            reason = faults.failed() => {
                tokio::time::sleep(FAULT_LINGER).await;
                Stop::Fault(reason)
            }
        }
    };
    let stopped = serve(listener, tls, app.clone(), stop, engine.clone()).await;
    app.ready.store(false, Ordering::Release);
    drop(app);
    drop(engine);
    if let Stop::Fault(reason) = stopped {
        // The writer ends once the last store handle is gone; do not wait long for it.
        let closer = opened.closer;
        let _ = tokio::time::timeout(
            FAULT_WRITER_WAIT,
            tokio::task::spawn_blocking(move || closer.wait()),
        )
        .await;
        return Err(RunError(format!(
            "stopped after a storage fault: {reason}; starting hookd again recovers every acknowledged write"
        )));
    }
    // Every store handle is gone once the connections are: the backend finishes its writes.
    let closer = opened.closer;
    tokio::task::spawn_blocking(move || closer.wait())
        .await
        .map_err(|e| RunError(format!("store close failed: {e}")))?
        .map_err(RunError)?;
    tracing::info!("hookd stopped");
    Ok(())
}

/// Accepts connections until `shutdown`, at most `limits.max_connections` at once: further
/// connections wait in the listen backlog until a slot frees up.
async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    shutdown: impl Future<Output = Stop>,
    engine: Engine,
) -> Stop {
    let limits = &app.config.limits;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    let stop = loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break Stop::Requested,
            },
            stop = &mut shutdown => break stop,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            stop = &mut shutdown => break stop,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(api::handle(app, peer.ip(), req).await) }
        });
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.clone();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(tls) => {
                    match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    };
    drop(listener);
    let grace = match stop {
        Stop::Requested => app.config.shutdown_grace,
        Stop::Fault(_) => FAULT_GRACE,
    };
    // Open requests and in-flight attempts finish side by side, each within the grace period.
    let connections = async {
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {
                tracing::warn!("connections still open after the shutdown grace period; closing them");
            }
        }
    };
    let both = async {
        tokio::join!(connections, engine.shutdown(grace));
    };
    match stop {
        Stop::Requested => both.await,
        Stop::Fault(_) => {
            let _ = tokio::time::timeout(FAULT_DEADLINE, both).await;
        }
    }
    stop
}
