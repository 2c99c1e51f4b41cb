//! The postgres backend: everything hookd keeps, in a PostgreSQL database that one or more
//! hookd nodes share.
//!
//! Only this module talks to PostgreSQL. Configuration reads are served from the in-memory
//! catalog like on the embedded backend; every node keeps its own copy in step with the database
//! ([`sync`]: its own changes at once, other nodes' within a second). Ingests and attempt
//! results are group-committed by tasks draining a channel ([`ingest`], [`record`]), each caller
//! answered only after the COMMIT. The due-queue is shared: a node claims due deliveries with
//! a lease under the webhook's row lock ([`queue`]), renews its leases while attempts run and
//! releases them when it stops; caps and `rateLimit` hold for the cluster. The decisions
//! themselves (fan-out, attempt results, deactivation, activation) are `store::rules`', as on
//! every backend.
//!
//! The database being unreachable is not a fault that stops hookd: requests get 503
//! (`store-unavailable`) after waiting at most [`connect::CONNECT_WAIT`] for a connection,
//! `/readyz` turns 503, attempt results wait and are recorded once the database is back, and
//! everything resumes without a restart.

mod account_holders;
mod config_ops;
pub(crate) mod connect;
pub(crate) mod copy;
mod ingest;
mod lifecycle;
mod queue;
mod reads;
mod record;
pub(crate) mod schema;
mod sync;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::config::PostgresConfig;
use crate::crypto::TokenHash;
use crate::error::{Error, Unstored};
use crate::ids::{IdGen, WebhookId};
use crate::store::DueWorkListener;
use crate::store::catalog::{Catalog, SharedCatalog};

/// A handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

/// What the handles share; background tasks hold [`Shared`] only, so the last handle dropped
/// stops them.
struct Inner {
    shared: Arc<Shared>,
    ingest: mpsc::Sender<ingest::IngestJob>,
    record: mpsc::Sender<record::RecordJob>,
    stop: watch::Sender<bool>,
    /// The runtime the scheduler's blocking claims run on.
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// What the store and its background tasks share.
pub(crate) struct Shared {
    pool: Pool,
    target: connect::Target,
    catalog: SharedCatalog,
    /// The catalog versions (`hookd_meta.catalog_version`) the published catalog holds.
    catalog_version: Mutex<sync::Versions>,
    /// Asks the catalog task to reload (another node changed the configuration).
    reload: tokio::sync::Notify,
    signing_key: [u8; 32],
    admin_token_hash: Option<TokenHash>,
    /// This node's id: the owner of its leases and its row in `hookd_nodes`.
    node_id: Uuid,
    lease: Duration,
    due_work: OnceLock<DueWorkListener>,
    availability: Availability,
    /// Event, delivery and notification ids (one generator per node).
    ids: Mutex<IdGen>,
    /// Set once the store is closing: results that cannot be recorded stop being retried.
    closing: watch::Receiver<bool>,
    /// The session whose advisory lock makes this node the one that runs housekeeping.
    housekeeper: queue::Housekeeper,
    /// The deliveries this node holds a lease on, by id: claimed, in flight or being recorded.
    /// Claims add to it before they commit and results leave it once recorded, under this
    /// lock; a lease of this node that is not here is an orphan, released by the poll.
    held: tokio::sync::Mutex<std::collections::HashMap<Uuid, queue::Held>>,
}

/// What opening the store yields besides the handle.
pub struct Opened {
    pub store: PgStore,
    /// Set when this node created the schema and the admin token: shown once, stored hashed.
    pub generated_admin_token: Option<String>,
    /// Completes once the background tasks have ended and this node's leases are released.
    pub closed: oneshot::Receiver<()>,
}

/// Ingest and record jobs that may wait for a batch before senders wait too.
const QUEUE_DEPTH: usize = 16 * 1024;
/// Tasks committing ingest batches side by side.
const INGEST_WORKERS: usize = 2;
/// Tasks committing attempt results side by side.
const RECORD_WORKERS: usize = 2;

impl PgStore {
    /// Connects, migrates the schema (refusing a newer one), loads the catalog and starts the
    /// background tasks. `admin_token_configured` says whether the operator set an admin token;
    /// if not and the database has none, one is generated.
    pub async fn open(
        config: &PostgresConfig,
        admin_token_configured: bool,
    ) -> Result<Opened, String> {
        let url = config.url.as_deref().ok_or("postgres.url is not set")?;
        let target = connect::parse_url(url)?;
        let pool = connect::pool(&target, config.pool_size.max(2))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let secrets = schema::migrate(&mut client, admin_token_configured).await?;
        let (version, catalog) = sync::load(&client)
            .await
            .map_err(|e| format!("cannot read the configuration from the database: {e}"))?;
        drop(client);
        let (stop, closing) = watch::channel(false);
        let shared = Arc::new(Shared {
            pool,
            target,
            catalog: SharedCatalog::new(catalog),
            catalog_version: Mutex::new(sync::Versions::loaded(version)),
            reload: tokio::sync::Notify::new(),
            signing_key: secrets.signing_key,
            admin_token_hash: secrets.admin_token_hash,
            node_id: Uuid::now_v7(),
            lease: config.lease,
            due_work: OnceLock::new(),
            availability: Availability::default(),
            ids: Mutex::new(IdGen::default()),
            closing: closing.clone(),
            housekeeper: queue::Housekeeper::default(),
            held: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        });
        queue::heartbeat(&shared)
            .await
            .map_err(|e| format!("cannot register this node in the database: {e}"))?;
        let (ingest_tx, ingest_rx) = mpsc::channel(QUEUE_DEPTH);
        let (record_tx, record_rx) = mpsc::channel(QUEUE_DEPTH);
        let mut workers = Vec::new();
        let ingest_rx = Arc::new(tokio::sync::Mutex::new(ingest_rx));
        for _ in 0..INGEST_WORKERS {
            workers.push(tokio::spawn(ingest::worker(
                shared.clone(),
                ingest_rx.clone(),
            )));
        }
        let record_rx = Arc::new(tokio::sync::Mutex::new(record_rx));
        for _ in 0..RECORD_WORKERS {
            workers.push(tokio::spawn(record::worker(
                shared.clone(),
                record_rx.clone(),
            )));
        }
        let background = vec![
            tokio::spawn(sync::run(shared.clone(), closing.clone())),
            tokio::spawn(sync::listen(shared.clone(), closing.clone())),
            tokio::spawn(queue::maintain(shared.clone(), closing.clone())),
        ];
        let (closed_tx, closed) = oneshot::channel();
        let closer_shared = shared.clone();
        tokio::spawn(async move {
            for worker in workers {
                let _ = worker.await;
            }
            for task in background {
                let _ = task.await;
            }
            queue::release(&closer_shared).await;
            let _ = closed_tx.send(());
        });
        Ok(Opened {
            store: PgStore {
                inner: Arc::new(Inner {
                    shared,
                    ingest: ingest_tx,
                    record: record_tx,
                    stop,
                    runtime: tokio::runtime::Handle::current(),
                }),
            },
            generated_admin_token: secrets.generated_admin_token,
            closed,
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The in-memory catalog, for lookups.
    pub(crate) fn catalog(&self) -> &SharedCatalog {
        &self.shared().catalog
    }

    /// The key this store signs cursors and links with; created with the schema, never shown.
    pub fn signing_key(&self) -> &[u8; 32] {
        &self.shared().signing_key
    }

    /// The stored hash of a generated admin token, if one was generated.
    pub fn admin_token_hash(&self) -> Option<TokenHash> {
        self.shared().admin_token_hash
    }

    /// Installs the one listener told which webhooks have new due work (this node's commits,
    /// other nodes' notices, and the fallback poll); a second call is ignored.
    pub fn on_due_work(&self, listener: DueWorkListener) {
        let _ = self.shared().due_work.set(listener);
    }

    /// Why the database cannot be used now, if it cannot (for `/readyz`); clears itself when
    /// the database answers again.
    pub fn unavailable(&self) -> Option<Arc<str>> {
        self.shared().availability.reason()
    }

    /// Whether the database answers a query within a short time.
    pub async fn is_healthy(&self) -> bool {
        queue::probe(self.shared()).await
    }
}

impl Shared {
    /// A pooled connection; waits at most [`connect::CONNECT_WAIT`], then `store-unavailable`.
    async fn client(&self) -> Result<Object, Error> {
        match self.pool.get().await {
            Ok(client) => Ok(client),
            Err(e) => {
                self.availability
                    .fail(&format!("cannot connect to the database: {e}"));
                Err(Error::StoreUnavailable(Unstored::NothingStored))
            }
        }
    }

    /// The API's error for a failed statement; a lost or refused connection marks the
    /// database unavailable.
    fn db_error(&self, e: tokio_postgres::Error) -> Error {
        if is_unreachable(&e) {
            self.availability
                .fail(&format!("the database connection failed: {e}"));
            Error::StoreUnavailable(Unstored::NothingStored)
        } else {
            Error::Storage(format!("database: {e}"))
        }
    }

    /// Commits `tx`. A COMMIT whose answer is lost may or may not have happened: the caller
    /// is told the outcome is unknown.
    async fn commit(&self, tx: deadpool_postgres::Transaction<'_>) -> Result<(), Error> {
        match tx.commit().await {
            Ok(()) => {
                self.availability.ok();
                Ok(())
            }
            Err(e) if is_unreachable(&e) => {
                self.availability
                    .fail(&format!("the database connection failed: {e}"));
                Err(Error::StoreUnavailable(Unstored::OutcomeUnknown))
            }
            Err(e) => Err(Error::Storage(format!("database: {e}"))),
        }
    }

    /// Tells this node's scheduler that these webhooks have new due work.
    fn wake(&self, webhooks: &[WebhookId]) {
        if webhooks.is_empty() {
            return;
        }
        if let Some(listener) = self.due_work.get() {
            listener(webhooks);
        }
    }

    /// Whether the store is closing.
    fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }
}

/// Maps a statement's error to the API's, marking the database unavailable when it is.
trait Db<T> {
    fn db(self, shared: &Shared) -> Result<T, Error>;
}

impl<T> Db<T> for Result<T, tokio_postgres::Error> {
    fn db(self, shared: &Shared) -> Result<T, Error> {
        self.map_err(|e| shared.db_error(e))
    }
}

/// Why a batch's transaction did not commit.
enum Fail {
    /// A deadlock or serialisation failure between nodes: the batch is run again.
    Retry,
    /// Anything else, as the callers are told.
    Error(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Error(e)
    }
}

/// Like [`Db`], telling apart the failures a batch runs again for.
trait Batch<T> {
    fn batch(self, shared: &Shared) -> Result<T, Fail>;
}

impl<T> Batch<T> for Result<T, tokio_postgres::Error> {
    fn batch(self, shared: &Shared) -> Result<T, Fail> {
        self.map_err(|e| match e.code() {
            Some(code)
                if *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                Fail::Retry
            }
            _ => Fail::Error(shared.db_error(e)),
        })
    }
}

/// How often a batch is run again after a deadlock before its callers get the error.
const BATCH_TRIES: usize = 5;

/// Whether `e` means the database cannot be reached (or refuses work for now), rather than a
/// statement that failed on its own.
fn is_unreachable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let code = code.code();
            // connection exceptions, operator intervention (shutdown), insufficient resources
            code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
        }
        None => {
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                if cause.is::<std::io::Error>() {
                    return true;
                }
                source = cause.source();
            }
            false
        }
    }
}

/// A copy of an error that a whole batch's callers are told.
fn error_copy(e: &Error) -> Error {
    match e {
        Error::StoreUnavailable(u) => Error::StoreUnavailable(*u),
        Error::Storage(s) => Error::Storage(s.clone()),
        Error::Corrupt(s) => Error::Corrupt(s.clone()),
        Error::NotFound(s) => Error::NotFound(s.clone()),
        Error::Conflict(s) => Error::Conflict(s.clone()),
        other => Error::Internal(other.to_string()),
    }
}

/// Whether the database can be used now, as the last connection attempts found it.
#[derive(Default)]
struct Availability {
    /// Since when, and why, the database has been unreachable.
    down: Mutex<Option<(Instant, Arc<str>)>>,
}

impl Availability {
    fn fail(&self, reason: &str) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.is_none() {
            tracing::error!(reason, "the database is unreachable");
            *down = Some((Instant::now(), reason.into()));
        }
    }

    fn ok(&self) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((since, _)) = down.take() {
            tracing::info!(
                after_ms = since.elapsed().as_millis() as u64,
                "the database is reachable again"
            );
        }
    }

    fn reason(&self) -> Option<Arc<str>> {
        self.down
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, reason)| reason.clone())
    }
}

/// Runs futures side by side. Statements on one connection are then pipelined — sent
/// together and answered in order — so a batch of single-row statements, each served by its
/// primary key whatever the planner thinks of the table, costs one round trip.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Completes once the store is closing.
async fn closed(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}

/// The UUID of a generated id, as the database stores it.
fn uid(id: impl Into<u128>) -> Uuid {
    Uuid::from_u128(id.into())
}

/// Reads a stored JSON record; one that does not decode is corruption.
fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::Corrupt(format!("corrupt record: {e}")))
}

/// A record as stored JSON.
fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("cannot encode record: {e}")))
}

/// A delivery record as the database keeps it: the embedded store's fields, with its ids as
/// UUID text (the embedded store keeps them as numbers, which `jsonb` would hold but no JSON
/// reader of the database expects).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredDelivery {
    event_id: crate::ids::EventId,
    webhook_id: WebhookId,
    event_type: String,
    created: crate::time::Millis,
    status: crate::records::DeliveryStatus,
    next_attempt: Option<crate::time::Millis>,
    due_key: u64,
    attempt_count: u32,
    series_start: u32,
    attempts: Vec<crate::records::AttemptRecord>,
}

/// A delivery record as stored JSON.
fn delivery_json(record: &crate::records::DeliveryRecord) -> Result<serde_json::Value, Error> {
    to_json(&StoredDelivery {
        event_id: record.event_id,
        webhook_id: record.webhook_id,
        event_type: record.event_type.clone(),
        created: record.created,
        status: record.status,
        next_attempt: record.next_attempt,
        due_key: record.due_key,
        attempt_count: record.attempt_count,
        series_start: record.series_start,
        attempts: record.attempts.clone(),
    })
}

/// A delivery record from its stored JSON.
fn delivery_from(value: serde_json::Value) -> Result<crate::records::DeliveryRecord, Error> {
    let stored: StoredDelivery = from_json(value)?;
    Ok(crate::records::DeliveryRecord {
        event_id: stored.event_id,
        webhook_id: stored.webhook_id,
        event_type: stored.event_type,
        created: stored.created,
        status: stored.status,
        next_attempt: stored.next_attempt,
        due_key: stored.due_key,
        attempt_count: stored.attempt_count,
        series_start: stored.series_start,
        attempts: stored.attempts,
    })
}

/// Publishes a catalog change this node committed at catalog version `version`.
fn apply_catalog(shared: &Shared, version: i64, change: impl FnOnce(&mut Catalog)) {
    sync::apply_local(shared, version, change);
}
