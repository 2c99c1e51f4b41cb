//! The single writer: one OS thread that owns every write transaction and group-commits.
//!
//! Callers send a job (a closure over the open transaction) and await its result. The thread
//! takes the first waiting job, then every other job already queued (up to [`MAX_BATCH`];
//! under load it first waits `LINGER` for more), runs them one after another in one
//! transaction, appends the batch's changes to the write-ahead log (one write, one fsync for the
//! whole batch; see `store/wal.rs`), commits the transaction without a sync of its own, and only
//! then answers each caller. So a caller's `Ok` means "durable", and under concurrency the cost
//! of the fsync is shared by everybody who arrived while the previous one was running. About
//! once a second ([`CHECKPOINT_EVERY`]) the writer makes redb itself durable and starts the log
//! over.
//!
//! A job that fails with a domain error (validation, conflict) must not have written anything:
//! jobs check before they write. A job that fails with a storage error poisons the batch: the
//! transaction is aborted, every job in it fails, and the batch's staged catalog changes are
//! dropped.
//!
//! A storage fault — an I/O error inside a job, a failed log write or fsync, a failed commit or
//! checkpoint — is latched in the store's [`Health`]: from then on every job is refused
//! (`store-unavailable`) without running, until a restart recovers from the log. A caller whose
//! batch failed after its log record may have reached the disk is told that the outcome is
//! unknown, never that nothing was stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, Durability, WriteTransaction};
use tokio::sync::{mpsc, oneshot};

use super::tables::{META, META_LOG_ID, META_WAL_CHECKPOINT, OpenTables};
use super::wal::{CHECKPOINT_BYTES, DIRECT_BYTES, LogBuffer, Wal};
use crate::error::{Error, Unstored};
use crate::ids::{IdGen, WebhookId};
use crate::store::catalog::{Catalog, SharedCatalog};
use crate::store::health::Health;
use crate::store::stats::SlotCounts;

/// The most jobs committed in one transaction; bounds latency of the first job in a batch.
pub const MAX_BATCH: usize = 4096;
/// When both this batch and the last held at least this many jobs, the writer is under load.
const LINGER_FROM: usize = 8;
/// How long a writer under load waits for more jobs before it commits. Each batch costs its
/// log write and fsync and redb's commit bookkeeping whatever it carries, so under a steady
/// stream of ingests and attempt results fewer, larger batches leave more CPU to everything
/// else; a light load (a batch of a few jobs) never waits, so its latency is untouched.
const LINGER: Duration = Duration::from_micros(300);
/// A batch of patient jobs only is committed once it holds this many…
const PATIENT_BATCH: usize = 64;
/// …or once it has waited this long (or an impatient job joined it).
const PATIENT_WAIT: Duration = Duration::from_millis(1);
/// The step of that wait.
const PATIENT_NAP: Duration = Duration::from_micros(100);
/// How many jobs may wait for the writer before senders wait too (back-pressure).
const QUEUE_DEPTH: usize = 16 * 1024;
/// How often, when anything was written, redb is made durable and the log starts over. A
/// checkpoint writes every page changed since the last one (a page changed by many batches is
/// written once), so rarer checkpoints cost less in all but take longer each and leave a longer
/// log to replay after a crash.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

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
    pub(super) woken: Vec<WebhookId>,
    /// Every change the batch made, for the write-ahead log.
    pub(super) log: LogBuffer,
    /// Attempt counts of this batch per (webhook, slot), written once at its end.
    pub(super) stats: std::collections::HashMap<(u128, u64), SlotCounts>,
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

impl<'a> WriteCtx<'a> {
    /// A context with nothing staged, announced or logged yet and no signing key: as it
    /// stands, for work that only applies table changes (recovery from the log); the writer's
    /// loop fills in the rest.
    pub(super) fn bare(
        tx: &'a WriteTransaction,
        catalog: &'a SharedCatalog,
        ids: &'a mut IdGen,
    ) -> WriteCtx<'a> {
        WriteCtx {
            tx,
            tables: OpenTables::default(),
            shared: catalog,
            staged: None,
            ids,
            signing_key: &[0; 32],
            woken: Vec::new(),
            log: LogBuffer::default(),
            stats: std::collections::HashMap::new(),
        }
    }

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
pub type DueWorkListener = Box<dyn Fn(&[WebhookId]) + Send + Sync>;

/// Where the listener is installed once the engine exists.
pub type DueWorkSlot = Arc<std::sync::OnceLock<DueWorkListener>>;

/// What became of a batch, as its jobs are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Committed and durable.
    Committed,
    /// Rolled back because one of its jobs read a record that does not decode; the store
    /// keeps running.
    RolledBack,
    /// Not committed because of a storage fault; whether any of it reached the disk.
    Unavailable(Unstored),
}

impl Fate {
    fn result(self) -> Result<(), Error> {
        match self {
            Fate::Committed => Ok(()),
            Fate::RolledBack => Err(Error::Internal(
                "a write in this batch met a corrupt record; the batch was rolled back".into(),
            )),
            Fate::Unavailable(unstored) => Err(Error::StoreUnavailable(unstored)),
        }
    }
}

/// Called once the batch's fate is known.
type Completion = Box<dyn FnOnce(Fate) + Send>;
/// What a job's failure does to its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Poison {
    /// Nothing: the job succeeded, or failed without writing (validation, conflict).
    None,
    /// The job met a record that does not decode: the batch is rolled back.
    Corrupt,
    /// The job met an I/O error: the batch is rolled back and the store stops.
    Fault,
}

/// A job's work: runs in the batch, returns its completion and what its failure does.
type Work = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (Completion, Poison) + Send>;

struct Job {
    run: Work,
    /// Nobody is waiting on this job's answer to move on (see [`Writer::write_patient`]).
    patient: bool,
}

impl Job {
    /// A job that changes nothing: wakes an idle writer so it can checkpoint.
    fn tick() -> Job {
        Job {
            run: Box::new(|_| (Box::new(|_| {}), Poison::None)),
            patient: true,
        }
    }
}

/// What the writer knows of the write-ahead log.
struct Durable {
    wal: Wal,
    /// The sequence number the next log record gets.
    next_seq: u64,
    last_checkpoint: Instant,
    /// Where a storage fault is latched: once set, every later batch is refused until a
    /// restart recovers from the log.
    health: Arc<Health>,
}

impl Durable {
    fn failed(&self) -> bool {
        self.health.fault().is_some()
    }

    /// Latches a fault and says what the batch that met it can tell its callers.
    fn fault(&self, reason: &str, unstored: Unstored) -> Fate {
        self.health.fail(reason);
        Fate::Unavailable(unstored)
    }
}

/// The sending side of the writer: cheap to clone, shared by every task that writes.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    health: Arc<Health>,
}

impl Writer {
    /// Starts the writer thread over `db`, logging to `wal` (already recovered: redb holds
    /// every record in it durably) from sequence number `next_seq`. It stops when every
    /// [`Writer`] is dropped and the queue is drained, with a last checkpoint; join the returned
    /// handle to wait for that.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        db: Arc<Database>,
        catalog: SharedCatalog,
        signing_key: [u8; 32],
        listener: DueWorkSlot,
        wal: Wal,
        next_seq: u64,
        health: Arc<Health>,
    ) -> std::io::Result<(Writer, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let durable = Durable {
            wal,
            next_seq,
            last_checkpoint: Instant::now(),
            health: health.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("hookd-writer".into())
            .spawn(move || run(db, catalog, signing_key, listener, durable, rx))?;
        // Wakes an idle writer for its checkpoint; holds no sender, so it never keeps the writer
        // alive, and ends once the writer is gone.
        let ticks = tx.downgrade();
        std::thread::Builder::new()
            .name("hookd-checkpoint".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    let Some(jobs) = ticks.upgrade() else { return };
                    // A full queue means the writer is busy and will checkpoint anyway.
                    let _ = jobs.try_send(Job::tick());
                }
            })?;
        Ok((Writer { jobs: tx, health }, handle))
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
    /// `PATIENT_WAIT` for company, so a drain commits many results at once instead of a few.
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
            let poisoned = match &result {
                Err(e) if e.is_fault() => Poison::Fault,
                Err(e) if e.is_storage() => Poison::Corrupt,
                _ => Poison::None,
            };
            let completion: Completion = Box::new(move |fate: Fate| {
                let _ = reply.send(fate.result().and(result));
            });
            (completion, poisoned)
        });
        if self.health.fault().is_some() {
            return Err(Error::StoreUnavailable(Unstored::NothingStored));
        }
        self.jobs
            .send(Job { run, patient })
            .await
            .map_err(|_| self.gone("the store writer has stopped"))?;
        // The writer drops the jobs it refuses after a fault without running them.
        answer
            .await
            .map_err(|_| self.gone("the store writer dropped a job"))?
    }

    /// The error of a job the writer did not run: refused after a storage fault, or a bug.
    fn gone(&self, what: &str) -> Error {
        if self.health.fault().is_some() {
            Error::StoreUnavailable(Unstored::NothingStored)
        } else {
            Error::Internal(what.into())
        }
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
    let started = Instant::now();
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
    mut durable: Durable,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut woken: Vec<WebhookId> = Vec::new();
    let mut log = LogBuffer::default();
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
        if durable.failed() {
            // Dropping the jobs drops their reply senders: each caller is told the store is
            // unavailable and nothing was stored.
            batch.clear();
            continue;
        }
        let mut tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(e) => {
                durable.fault(
                    &format!("cannot begin a write transaction: {e}"),
                    Unstored::NothingStored,
                );
                batch.clear();
                continue;
            }
        };
        // The log makes the batch durable; redb is synced at checkpoints.
        if let Err(e) = tx.set_durability(Durability::None) {
            durable.fault(
                &format!("cannot set a transaction's durability: {e}"),
                Unstored::NothingStored,
            );
            batch.clear();
            continue;
        }
        let mut poisoned = Poison::None;
        let staged = {
            let mut ctx = WriteCtx {
                signing_key: &signing_key,
                woken: std::mem::take(&mut woken),
                log: std::mem::take(&mut log),
                ..WriteCtx::bare(&tx, &catalog, &mut ids)
            };
            for job in batch.drain(..) {
                let (completion, poison) = (job.run)(&mut ctx);
                poisoned = poisoned.max(poison);
                completions.push(completion);
            }
            if poisoned == Poison::None
                && let Err(e) = ctx.flush_stats()
            {
                poisoned = if e.is_fault() {
                    Poison::Fault
                } else {
                    Poison::Corrupt
                };
            }
            woken = ctx.woken;
            log = ctx.log;
            ctx.staged
        };
        let fate = match poisoned {
            // An I/O error inside a job: redb refuses further writes until it is reopened.
            Poison::Fault => {
                let _ = tx.abort();
                durable.fault(
                    "a write failed with an I/O error; its batch was rolled back",
                    Unstored::NothingStored,
                )
            }
            Poison::Corrupt => match tx.abort() {
                Ok(()) => Fate::RolledBack,
                Err(e) => durable.fault(
                    &format!("cannot roll back a write batch: {e}"),
                    Unstored::NothingStored,
                ),
            },
            Poison::None => commit_logged(tx, &mut log, &mut durable),
        };
        log.clear();
        match (fate, staged) {
            (Fate::Committed, Some(staged)) => catalog.publish(staged),
            (Fate::Committed, None) => {}
            // The staged changes die with the batch; the published catalog is still right.
            (fate, _) => {
                tracing::error!(?fate, jobs = completions.len(), "write batch failed");
            }
        }
        if fate == Fate::Committed && !woken.is_empty() {
            woken.sort_unstable();
            woken.dedup();
            if let Some(listener) = listener.get() {
                listener(&woken);
            }
        }
        woken.clear();
        for completion in completions.drain(..) {
            completion(fate);
        }
        // After a fault the log holds what redb may not: a checkpoint would skip it.
        if !durable.failed()
            && (durable.wal.len() >= CHECKPOINT_BYTES
                || (!durable.wal.is_empty()
                    && durable.last_checkpoint.elapsed() >= CHECKPOINT_EVERY))
        {
            checkpoint(&db, &mut durable);
        }
    }
    if !durable.wal.is_empty() && !durable.failed() {
        checkpoint(&db, &mut durable);
    }
}

/// Makes a batch durable: its changes go to the log (written and fsync'd) before redb commits
/// it, so no reader ever sees a change the log does not hold. A batch larger than
/// [`DIRECT_BYTES`] is committed durably by redb itself instead, as a checkpoint.
///
/// Every failure here is a fault, and leaves the batch's outcome unknown: a log record whose
/// write or fsync failed may still have reached the disk, and one that did is applied when the
/// store is opened again.
fn commit_logged(tx: WriteTransaction, log: &mut LogBuffer, durable: &mut Durable) -> Fate {
    if log.len() > DIRECT_BYTES {
        return match commit_checkpoint(tx, durable) {
            Ok(()) => Fate::Committed,
            Err(e) => durable.fault(
                &format!("cannot commit a large write batch durably: {e}"),
                Unstored::OutcomeUnknown,
            ),
        };
    }
    if !log.is_empty() {
        if let Err(e) = durable.wal.append(durable.next_seq, log) {
            let _ = tx.abort();
            let reason = format!("cannot write the log {}: {e}", durable.wal.path().display());
            return durable.fault(&reason, Unstored::OutcomeUnknown);
        }
        durable.next_seq += 1;
    }
    match tx.commit() {
        Ok(()) => Fate::Committed,
        // The log holds a batch redb did not take: the next open applies it from the log.
        Err(e) => durable.fault(
            &format!("cannot commit a logged write batch: {e}"),
            Unstored::OutcomeUnknown,
        ),
    }
}

/// Makes everything committed so far durable in redb itself (with an empty transaction),
/// recording the last log record it includes, and starts the log over. A failure is a fault:
/// redb refuses every later write after it, so the store stops and the next open recovers
/// from the log, which is kept.
fn checkpoint(db: &Database, durable: &mut Durable) {
    let result = db
        .begin_write()
        .map_err(Error::from)
        .and_then(|tx| commit_checkpoint(tx, durable));
    if let Err(e) = result {
        durable.fault(&format!("checkpoint failed: {e}"), Unstored::NothingStored);
    }
}

/// Commits `tx` with redb's own durability, which makes every earlier commit durable too: a
/// checkpoint. It records redb's allocator state (quick repair), so that opening the store
/// after a crash does not walk the whole file. The log starts over once it is done.
fn commit_checkpoint(mut tx: WriteTransaction, durable: &mut Durable) -> Result<(), Error> {
    durable.last_checkpoint = Instant::now();
    let last_logged = durable.next_seq - 1;
    tx.set_durability(Durability::Immediate)
        .map_err(|e| Error::Storage(format!("cannot make a checkpoint durable: {e}")))?;
    tx.set_quick_repair(true);
    tx.open_table(META)?
        .insert(META_WAL_CHECKPOINT, last_logged.to_be_bytes().as_slice())?;
    tx.commit()?;
    durable.wal.restart();
    Ok(())
}

/// Opens the store's write-ahead log and applies the records written after redb's last
/// checkpoint (the batches a crash took from redb) in one durable transaction, which also gives
/// the store a new log id; returns the log and the sequence number its next record gets. Runs
/// before anything reads the store.
pub(super) fn recover(db: &Database, data_dir: &std::path::Path) -> Result<(Wal, u64), Error> {
    let (log_id, checkpoint) = {
        use redb::ReadableDatabase;
        let tx = db.begin_read()?;
        let meta = tx.open_table(META)?;
        let number = |key: &str| -> Result<Option<u64>, Error> {
            match meta.get(key)? {
                Some(v) => <[u8; 8]>::try_from(v.value())
                    .map(|b| Some(u64::from_be_bytes(b)))
                    .map_err(|_| Error::Storage(format!("corrupt {key} in meta table"))),
                None => Ok(None),
            }
        };
        (
            number(META_LOG_ID)?,
            number(META_WAL_CHECKPOINT)?.unwrap_or(0),
        )
    };
    let path = data_dir.join(super::wal::WAL_FILE);
    let io_error = |e: std::io::Error| match e.kind() {
        // The damaged-log message names the file and what to do.
        std::io::ErrorKind::InvalidData => Error::Storage(e.to_string()),
        _ => Error::Storage(format!("the log {}: {e}", path.display())),
    };
    // A store without a log id (a new one, or one written before the log) has no log to read.
    let records = match log_id {
        Some(log_id) => Wal::open(data_dir, log_id)
            .and_then(|wal| wal.records_after(checkpoint))
            .map_err(io_error)?,
        None => Vec::new(),
    };
    let last = records.last().map_or(checkpoint, |(seq, _)| *seq);
    // Every open gives the store a new log id, so no log written before it — by this store, or
    // by the run a copy of this file was later restored from — matches what is written now.
    let new_log_id = u64::from_be_bytes(crate::crypto::random_bytes::<8>());
    let mut tx = db.begin_write()?;
    // Durable (redb's default) and with its allocator state, like every checkpoint.
    tx.set_quick_repair(true);
    {
        let catalog = SharedCatalog::new(Catalog::default());
        let mut ids = IdGen::default();
        let mut ctx = WriteCtx::bare(&tx, &catalog, &mut ids);
        for (seq, payload) in &records {
            let ops = super::wal::ops(payload)
                .ok_or_else(|| Error::Storage(format!("log record {seq} does not parse")))?;
            for op in &ops {
                ctx.apply_logged(op)?;
            }
        }
        let mut meta = ctx.meta()?;
        meta.insert(META_WAL_CHECKPOINT, last.to_be_bytes().as_slice())?;
        meta.insert(META_LOG_ID, new_log_id.to_be_bytes().as_slice())?;
    }
    tx.commit()?;
    if !records.is_empty() {
        tracing::info!(
            batches = records.len(),
            "applied the write batches a crash took from the store again from its log"
        );
    }
    let wal = Wal::open(data_dir, new_log_id).map_err(io_error)?;
    Ok((wal, last + 1))
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

    use super::*;
    use crate::store::redb::STORE_FILE;
    use crate::store::redb::tables::{DUE, EVENTS};

    /// Runs `op` in a write transaction as a batch does, logs the batch, and then throws the
    /// transaction away, as a crash throws away redb's commits since its last checkpoint.
    fn lost_batch(
        db: &Database,
        wal: &mut Wal,
        seq: u64,
        op: impl FnOnce(&mut WriteCtx<'_>) -> Result<(), Error>,
    ) {
        let tx = db.begin_write().unwrap();
        let catalog = SharedCatalog::new(Catalog::default());
        let mut ids = IdGen::default();
        let mut log = {
            let mut ctx = WriteCtx::bare(&tx, &catalog, &mut ids);
            op(&mut ctx).unwrap();
            ctx.log
        };
        tx.abort().unwrap();
        wal.append(seq, &mut log).unwrap();
    }

    #[test]
    fn recovery_applies_what_only_the_log_holds() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join(STORE_FILE)).unwrap();
        crate::store::redb::initialise(&db, true).unwrap();
        {
            let tx = db.begin_write().unwrap();
            let mut due = tx.open_table(DUE).unwrap();
            for id in 1..=3u128 {
                due.insert((1u128, 0u64, id), (1u64, 0i64)).unwrap();
            }
            drop(due);
            tx.commit().unwrap();
        }
        let (mut wal, next_seq) = recover(&db, dir.path()).unwrap();
        assert_eq!(next_seq, 1);
        lost_batch(&db, &mut wal, 1, |ctx| {
            ctx.events()?.insert((1u64, 7u128), b"first".as_slice())?;
            ctx.due()?.remove((1u128, 0u64, 1u128))?;
            Ok(())
        });
        lost_batch(&db, &mut wal, 2, |ctx| {
            for entry in ctx
                .due()?
                .take_range((1u128, 0u64, 2u128)..=(1u128, 0u64, 2u128))?
            {
                entry?;
            }
            ctx.events()?.insert((1u64, 8u128), b"second".as_slice())?;
            Ok(())
        });
        drop(wal);
        let events = |db: &Database| -> Vec<(u128, Vec<u8>)> {
            let tx = db.begin_read().unwrap();
            let table = tx.open_table(EVENTS).unwrap();
            table
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value().1, v.value().to_vec())
                })
                .collect()
        };
        assert!(events(&db).is_empty(), "the batches were thrown away");

        let (wal, next_seq) = recover(&db, dir.path()).unwrap();
        assert_eq!(next_seq, 3);
        assert_eq!(
            events(&db),
            vec![(7, b"first".to_vec()), (8, b"second".to_vec())]
        );
        let tx = db.begin_read().unwrap();
        let due = tx.open_table(DUE).unwrap();
        assert_eq!(due.len().unwrap(), 1);
        assert!(due.get((1u128, 0u64, 3u128)).unwrap().is_some());
        drop((due, tx, wal));

        // The checkpoint moved past both records: a second recovery applies nothing again.
        let (_, next_seq) = recover(&db, dir.path()).unwrap();
        assert_eq!(next_seq, 3);
    }
}

#[cfg(test)]
mod direct_tests {
    use redb::ReadableDatabase;

    use crate::store::redb::RedbStore;
    use crate::store::redb::tables::{META, META_WAL_CHECKPOINT};
    use crate::store::redb::wal::WAL_FILE;

    fn checkpoint_of(store: &RedbStore) -> Option<Vec<u8>> {
        let tx = store.db().begin_read().unwrap();
        let meta = tx.open_table(META).unwrap();
        meta.get(META_WAL_CHECKPOINT)
            .unwrap()
            .map(|v| v.value().to_vec())
    }

    #[tokio::test]
    async fn a_large_batch_is_committed_by_redb_itself_not_logged() {
        let dir = tempfile::tempdir().unwrap();
        let opened = RedbStore::open(dir.path(), true).unwrap();
        let store = opened.store.clone();
        store
            .write(|ctx| {
                ctx.events()?.insert((1u64, 1u128), b"small".as_slice())?;
                Ok(())
            })
            .await
            .unwrap();
        let wal = dir.path().join(WAL_FILE);
        let logged = std::fs::metadata(&wal).unwrap().len();
        assert!(logged > 0, "a small batch is logged");
        let big = vec![7u8; 300 * 1024];
        store
            .write(move |ctx| {
                ctx.events()?.insert((1u64, 2u128), big.as_slice())?;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            logged,
            "the large batch was not written to the log"
        );
        assert_eq!(
            checkpoint_of(&store),
            Some(1u64.to_be_bytes().to_vec()),
            "its commit was a checkpoint including the small batch's record"
        );
        drop(store);
        drop(opened.store);
        opened.writer_thread.join().unwrap();
    }
}
