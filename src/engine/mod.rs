//! The delivery engine: the scheduler (which owns time and decides what starts when) and the
//! attempts it starts.
//!
//! The due-queue lives in the store; the scheduler keeps in memory only one timer per webhook,
//! the deliveries claimed, in flight or being recorded (`slots.rs`) and a bounded read-ahead,
//! so a million pending deliveries cost no memory. Results
//! are written back through the store's writer (group-committed with everything else) before
//! the scheduler hears that a slot is free, so it never reads a stale queue entry.

mod attempt;
mod housekeeping;
mod mailbox;
mod notify;
pub mod pace;
mod prepared;
mod read_ahead;
mod scheduler;
mod slots;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::dispatch::client::{ClientConfig, DeliveryClient, TlsOptions};
use crate::dispatch::oauth2::TokenCache;
use crate::ids::{DeliveryId, WebhookId};
use crate::metrics::Metrics;
use crate::retry::RetryPolicy;
use crate::store::{DeliveryPolicy, Store};

/// What the scheduler hears from the rest of hookd.
#[derive(Debug)]
enum Signal {
    /// A webhook may have new due work (ingest, retry, re-enable).
    Wake(WebhookId),
    /// An attempt's HTTP exchange is over: its slot is free, but its delivery stays out of
    /// reach until the result is durable (`Done`). With `next`, the attempt took that delivery
    /// from the webhook's read-ahead and started it in the slot it freed.
    Finished {
        webhook: WebhookId,
        delivery: DeliveryId,
        next: Option<DeliveryId>,
    },
    /// An attempt's result is durable (or abandoned); the delivery may be looked at again.
    Done {
        webhook: WebhookId,
        delivery: DeliveryId,
    },
    /// Start nothing more.
    Stop,
}

/// State shared by the scheduler and every attempt task.
struct Shared {
    in_flight: AtomicUsize,
    idle: Notify,
    running: AtomicBool,
    /// Set when the grace period is over: running attempts give up.
    cancel: watch::Sender<bool>,
    /// Set when shutdown starts: background upkeep stops.
    stop: watch::Sender<bool>,
    housekeeping: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A handle to the running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    signals: mailbox::Mailbox,
    shared: Arc<Shared>,
}

impl Engine {
    /// Starts the scheduler thread. Attempts run as tasks on `runtime`. Reads
    /// `delivery.ca_file`: a missing or unusable file is an error naming the key.
    pub fn start(
        store: Store,
        config: &Config,
        metrics: Arc<Metrics>,
        runtime: tokio::runtime::Handle,
    ) -> std::io::Result<Engine> {
        let (signals, inbox) = mailbox::mailbox();
        let (cancel, _) = watch::channel(false);
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            running: AtomicBool::new(true),
            cancel,
            stop,
            housekeeping: std::sync::Mutex::new(None),
        });
        // `delivery.ca_file`: roots trusted for receivers and token URLs besides the web's.
        let extra_roots = config
            .delivery
            .load_extra_roots()
            .map_err(|e| std::io::Error::other(e.0))?;
        let client = DeliveryClient::with_tls(
            ClientConfig {
                timeout: config.delivery.timeout,
                connect_timeout: config.delivery.connect_timeout,
                allow_private_targets: config.delivery.allow_private_targets,
                user_agent: format!("hookd/{}", crate::VERSION),
            },
            TlsOptions { extra_roots },
        )
        .map_err(|e| std::io::Error::other(format!("delivery.ca_file: {e}")))?;
        let tokens = TokenCache::new(client.clone(), config.delivery.allow_http);
        let waker = signals.clone();
        store.on_due_work(Box::new(move |webhooks| {
            waker.send_all(webhooks.iter().copied().map(Signal::Wake));
        }));
        let engine = Engine {
            signals: signals.clone(),
            shared: shared.clone(),
        };
        let notifier = config
            .notifications
            .url
            .clone()
            .map(|url| notify::Notifier {
                // The operator's own endpoint is trusted: it may live on a private address.
                client: DeliveryClient::new(ClientConfig {
                    timeout: config.delivery.timeout,
                    connect_timeout: config.delivery.connect_timeout,
                    allow_private_targets: true,
                    user_agent: format!("hookd/{}", crate::VERSION),
                }),
                url,
                secret: config.notifications.secret.clone(),
            });
        let policy = DeliveryPolicy {
            retry: RetryPolicy::new(config.delivery.retry_schedule.clone()),
            after_failures: config.deactivation.after_failures,
            deactivate_after: config.deactivation.after.as_millis() as i64,
            buffer: config.retention.buffer.as_millis() as i64,
            warn_after_failures: config.deactivation.warn_after_failures,
            warn_after: config.deactivation.warn_after.as_millis() as i64,
            public_url: config.public_url.clone(),
        };
        let attempts = Arc::new(attempt::AttemptContext {
            store: store.clone(),
            client,
            tokens,
            prepared: prepared::PreparedCache::default(),
            max_rendered_bytes: config.limits.max_event_bytes.saturating_mul(4),
            policy: Arc::new(policy),
            notifier,
            metrics,
            signals,
            shared: shared.clone(),
        });
        let upkeep = runtime.spawn(housekeeping::run(
            store.clone(),
            config.retention.events,
            config.retention.buffer,
            shared.stop.subscribe(),
        ));
        *shared
            .housekeeping
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(upkeep);
        let scheduler = scheduler::Scheduler::new(
            store,
            inbox,
            runtime,
            attempts,
            config.delivery.max_in_flight,
            config.delivery.max_in_flight_per_webhook,
        );
        std::thread::Builder::new()
            .name("hookd-scheduler".into())
            .spawn(move || {
                scheduler.run();
                shared.running.store(false, Ordering::Release);
            })?;
        Ok(engine)
    }

    /// Tells the scheduler these webhooks may have new due work.
    pub fn wake(&self, webhooks: impl IntoIterator<Item = WebhookId>) {
        self.signals
            .send_all(webhooks.into_iter().map(Signal::Wake));
    }

    /// Whether the scheduler is running (for `/readyz`).
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Attempts running now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Stops starting attempts, lets running ones finish and record their results for up to
    /// `grace`, then cancels the rest (they are attempted again after restart).
    pub async fn shutdown(&self, grace: Duration) {
        self.signals.send(Signal::Stop);
        self.shared.stop.send_replace(true);
        let upkeep = self
            .shared
            .housekeeping
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(upkeep) = upkeep {
            let _ = upkeep.await;
        }
        if tokio::time::timeout(grace, self.idle()).await.is_err() {
            tracing::warn!(
                in_flight = self.in_flight(),
                "attempts still running after the shutdown grace period; they will be retried after restart"
            );
            self.shared.cancel.send_replace(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), self.idle()).await;
        }
    }

    /// Completes when no attempt is running.
    async fn idle(&self) {
        loop {
            let idle = self.shared.idle.notified();
            if self.shared.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}
