//! The single writer: one OS thread that owns every write transaction and group-commits.
//!
//! Callers send a job (a closure over the open transaction) and await its result. The thread
//! takes the first waiting job, then every other job already queued (up to [`MAX_BATCH`];
//! under load it first waits [`LINGER`] for more), runs them one after another in one transaction, commits once (one fsync for the whole
//! batch) and only then answers each caller. So a caller's `Ok` means "durable", and under
//! concurrency the cost of the fsync is shared by everybody who arrived while the previous one
//! was running.
//!
//! A job that fails with a domain error (validation, conflict) must not have written anything:
//! jobs check before they write. A job that fails with a storage error poisons the batch: the
//! transaction is aborted, every job in it fails, and the batch's staged catalog changes are
//! dropped.

use std::sync::Arc;

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::{mpsc, oneshot};

use super::catalog::{Catalog, SharedCatalog};
use super::tables::OpenTables;
use crate::error::Error;
use crate::ids::IdGen;

/// The most jobs committed in one transaction; bounds latency of the first job in a batch.
pub const MAX_BATCH: usize = 4096;
/// When both this batch and the last held at least this many jobs, the writer is under load.
const LINGER_FROM: usize = 8;
/// How long a writer under load waits for more jobs before it commits. Each commit costs about
/// 0.4 ms of CPU (page writes, fsync, redb's bookkeeping) whatever it carries, so under a steady
/// stream of ingests and attempt results fewer, larger commits leave more CPU to everything
/// else; a light load (a batch of a few jobs) never waits, so its latency is untouched.
const LINGER: std::time::Duration = std::time::Duration::from_micros(300);
/// A batch of patient jobs only is committed once it holds this many…
const PATIENT_BATCH: usize = 64;
/// …or once it has waited this long (or an impatient job joined it).
const PATIENT_WAIT: std::time::Duration = std::time::Duration::from_millis(1);
/// The step of that wait.
const PATIENT_NAP: std::time::Duration = std::time::Duration::from_micros(100);
/// How many jobs may wait for the writer before senders wait too (back-pressure).
const QUEUE_DEPTH: usize = 16 * 1024;

/// What a job sees: the open transaction and the catalog it keeps in step with it.
///
/// Jobs read configuration through [`WriteCtx::catalog`] and change it through
/// [`WriteCtx::catalog_mut`], which works on a staged copy: readers outside the writer see the
/// changes only once the batch is committed, so they never see anything that is not durable.
pub struct WriteCtx<'a> {
    /// The batch's transaction; tables are reached through the accessors of
    /// [`super::tables`], which keep them open for the whole batch.
    pub(super) tx: &'a WriteTransaction,
    /// The tables this batch has opened.
    pub(super) tables: OpenTables<'a>,
    /// The published catalog.
    shared: &'a SharedCatalog,
    /// This batch's changed copy of the catalog, made on the first change.
    staged: Option<Catalog>,
    /// Event and delivery ids, increasing in commit order.
    pub ids: &'a mut IdGen,
    /// The store's key for activation links.
    pub signing_key: &'a [u8; 32],
    /// Webhooks given new due work by this batch, announced to the [`DueWorkListener`] once
    /// the batch is durable.
    pub(super) woken: Vec<u128>,
}

/// The catalog as a job sees it: the batch's staged copy, or the published one.
pub enum CatalogRef<'a> {
    Staged(&'a Catalog),
    Published(std::sync::RwLockReadGuard<'a, Catalog>),
}

impl std::ops::Deref for CatalogRef<'_> {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        match self {
            CatalogRef::Staged(c) => c,
            CatalogRef::Published(c) => c,
        }
    }
}

impl WriteCtx<'_> {
    /// The catalog including this batch's changes so far.
    pub fn catalog(&self) -> CatalogRef<'_> {
        match &self.staged {
            Some(staged) => CatalogRef::Staged(staged),
            None => CatalogRef::Published(self.shared.read()),
        }
    }

    /// The batch's own copy of the catalog, to change; published after the commit.
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        let shared = self.shared;
        self.staged.get_or_insert_with(|| shared.read().clone())
    }
}

/// Told, once per committed batch, which webhooks have new due work (the delivery engine
/// listens): one call per commit instead of one wake-up per ingested event.
pub type DueWorkListener = Box<dyn Fn(&[u128]) + Send + Sync>;

/// Where the listener is installed once the engine exists.
pub type DueWorkSlot = Arc<std::sync::OnceLock<DueWorkListener>>;

/// Called once the batch's fate is known, with `Ok` only if the commit was durable.
type Completion = Box<dyn FnOnce(Result<(), Error>) + Send>;
/// A unit of work for the writer.
/// A job's work: runs in the batch, returns its completion and whether it failed the storage.
type Work = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (Completion, bool) + Send>;

struct Job {
    run: Work,
    /// Nobody is waiting on this job's answer to move on (see [`Writer::write_patient`]).
    patient: bool,
}

/// The sending side of the writer: cheap to clone, shared by every task that writes.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over `db`. It stops when every [`Writer`] is dropped and the
    /// queue is drained; join the returned handle to wait for that.
    pub fn start(
        db: Arc<Database>,
        catalog: SharedCatalog,
        signing_key: [u8; 32],
        listener: DueWorkSlot,
    ) -> std::io::Result<(Writer, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let handle = std::thread::Builder::new()
            .name("hookd-writer".into())
            .spawn(move || run(db, catalog, signing_key, listener, rx))?;
        Ok((Writer { jobs: tx }, handle))
    }

    /// Runs `op` in the next batch and returns its result once the batch is durable.
    pub async fn write<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.submit(op, false).await
    }

    /// Like [`Writer::write`], for work whose answer nobody waits on to move on (the result of
    /// an attempt whose slot is already free): a batch of only such jobs waits up to
    /// [`PATIENT_WAIT`] for company, so a drain commits many results at once instead of a few.
    pub async fn write_patient<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.submit(op, true).await
    }

    async fn submit<T, F>(&self, op: F, patient: bool) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, Error>>();
        let run = Box::new(move |ctx: &mut WriteCtx<'_>| {
            let result = op(ctx);
            let poisoned = matches!(&result, Err(e) if e.is_storage());
            let completion: Completion = Box::new(move |commit| {
                let _ = reply.send(commit.and(result));
            });
            (completion, poisoned)
        });
        self.jobs
            .send(Job { run, patient })
            .await
            .map_err(|_| Error::Internal("the store writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the store writer dropped a job".into()))?
    }
}

/// Takes every job already queued, up to [`MAX_BATCH`]; true when all of them are patient.
fn gather(rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) -> bool {
    let mut patient = true;
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => {
                patient &= job.patient;
                batch.push(job);
            }
            Err(_) => break,
        }
    }
    patient
}

/// Waits, in short naps, until the batch holds [`PATIENT_BATCH`] jobs, an impatient job
/// arrives, or [`PATIENT_WAIT`] has passed.
fn wait_for_company(rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    let started = std::time::Instant::now();
    while batch.len() < PATIENT_BATCH && started.elapsed() < PATIENT_WAIT {
        std::thread::sleep(PATIENT_NAP);
        if !gather(rx, batch) {
            return;
        }
    }
}

fn run(
    db: Arc<Database>,
    catalog: SharedCatalog,
    signing_key: [u8; 32],
    listener: DueWorkSlot,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut woken: Vec<u128> = Vec::new();
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut completions: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    let mut ids = IdGen::default();
    let mut last_len = 0usize;
    while let Some(first) = rx.blocking_recv() {
        let first_patient = first.patient;
        batch.push(first);
        let patient = gather(&mut rx, &mut batch) && first_patient;
        if patient {
            wait_for_company(&mut rx, &mut batch);
        } else if last_len >= LINGER_FROM && batch.len() >= LINGER_FROM {
            // Under load: wait a moment so the next commit (and its fsync) carries more jobs.
            std::thread::sleep(LINGER);
            gather(&mut rx, &mut batch);
        }
        last_len = batch.len();
        let mut tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a write transaction");
                // Dropping the jobs drops their reply senders: each caller gets an error.
                batch.clear();
                continue;
            }
        };
        if let Err(e) = tx.set_durability(Durability::Immediate) {
            tracing::error!(error = %e, "cannot set durability");
        }
        let mut poisoned = false;
        let staged = {
            let mut ctx = WriteCtx {
                tx: &tx,
                tables: OpenTables::default(),
                shared: &catalog,
                staged: None,
                ids: &mut ids,
                signing_key: &signing_key,
                woken: std::mem::take(&mut woken),
            };
            for job in batch.drain(..) {
                let (completion, failed_storage) = (job.run)(&mut ctx);
                poisoned |= failed_storage;
                completions.push(completion);
            }
            woken = ctx.woken;
            ctx.staged
        };
        let outcome = if poisoned {
            tx.abort().map_err(Error::from).and(Err(Error::Storage(
                "a write in this batch failed; the batch was rolled back".into(),
            )))
        } else {
            tx.commit().map_err(Error::from)
        };
        match (&outcome, staged) {
            (Ok(()), Some(staged)) => catalog.publish(staged),
            (Ok(()), None) => {}
            // The staged changes die with the batch; the published catalog is still right.
            (Err(e), _) => {
                tracing::error!(error = %e, jobs = completions.len(), "write batch failed");
            }
        }
        if outcome.is_ok() && !woken.is_empty() {
            woken.sort_unstable();
            woken.dedup();
            if let Some(listener) = listener.get() {
                listener(&woken);
            }
        }
        woken.clear();
        for completion in completions.drain(..) {
            completion(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Storage(e.to_string())),
            });
        }
    }
}
