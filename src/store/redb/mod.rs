//! The embedded backend: everything hookd keeps in one redb file and its write-ahead log.
//!
//! Only this module touches redb. Writes go through the [`writer`] (one thread, group commit);
//! configuration reads are served from the in-memory catalog; bulk reads (events,
//! deliveries) run on the blocking pool so they never stall the async runtime.

mod backup;
pub(crate) mod codec;
mod config_ops;
mod disk;
pub(crate) mod image;
mod lifecycle;
mod stats;
mod tables;
mod traffic;
mod wal;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

use crate::store::catalog::{Catalog, SharedCatalog};
use crate::store::health::Health;
use tables::*;
pub use writer::WriteCtx;
use writer::Writer;

use crate::crypto::{self, TokenHash};
use crate::error::Error;

/// redb's own page cache. Its default (1 GiB) would make a busy hookd's memory grow to that;
/// the operating system's page cache keeps the file warm anyway.
const CACHE_BYTES: usize = 48 * 1024 * 1024;

/// The store file's name inside `data_dir`.
pub const STORE_FILE: &str = "hookd.redb";

/// The least free space hookd starts with beyond its log's reservation: room for the store
/// file to grow. Starting on a fuller disk would only run into a storage fault at once.
const MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// The schema this build writes. A store with a larger number was written by a newer hookd and
/// is refused; a smaller one is migrated on open.
pub const SCHEMA_VERSION: u64 = 2;

/// A handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    writer: Writer,
    catalog: SharedCatalog,
    signing_key: [u8; 32],
    admin_token_hash: Option<TokenHash>,
    due_work: writer::DueWorkSlot,
    health: Arc<Health>,
}

/// What opening the store yields besides the handle.
pub struct Opened {
    pub store: RedbStore,
    /// Join this after dropping every [`RedbStore`] to wait until all writes are committed.
    pub writer_thread: std::thread::JoinHandle<()>,
    /// Set on the first start without a configured admin token: shown once, stored hashed.
    pub generated_admin_token: Option<String>,
}

/// Why the store could not be opened.
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

impl RedbStore {
    /// Opens (or creates) `<data_dir>/hookd.redb`, checks its schema version, and starts the
    /// writer. `admin_token_configured` says whether the operator set an admin token; if not
    /// and the store has none, one is generated.
    pub fn open(data_dir: &Path, admin_token_configured: bool) -> Result<Opened, OpenError> {
        let failed = |what: String| OpenError(explain_disk_full(what, data_dir));
        std::fs::create_dir_all(data_dir).map_err(|e| {
            failed(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        check_free_space(data_dir)?;
        let path: PathBuf = data_dir.join(STORE_FILE);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| failed(format!("cannot open store {}: {e}", path.display())))?;
        let (signing_key, admin_token_hash, generated_admin_token) =
            initialise(&db, admin_token_configured)
                .map_err(|e| failed(format!("store {}: {e}", path.display())))?;
        let (wal, next_seq) = writer::recover(&db, data_dir)
            .map_err(|e| failed(format!("store {}: {e}", path.display())))?;
        let catalog = load_catalog(&db)
            .map_err(|e| failed(format!("cannot read store {}: {e}", path.display())))?;
        let catalog = SharedCatalog::new(catalog);
        let db = Arc::new(db);
        let due_work = writer::DueWorkSlot::default();
        let health = Arc::new(Health::default());
        let (writer, writer_thread) = Writer::start(
            db.clone(),
            catalog.clone(),
            signing_key,
            due_work.clone(),
            wal,
            next_seq,
            health.clone(),
        )
        .map_err(|e| OpenError(format!("cannot start the store writer: {e}")))?;
        Ok(Opened {
            store: RedbStore {
                inner: Arc::new(Inner {
                    db,
                    path: path.clone(),
                    writer,
                    catalog,
                    signing_key,
                    admin_token_hash,
                    due_work,
                    health,
                }),
            },
            writer_thread,
            generated_admin_token,
        })
    }

    /// Runs `op` in the writer's next batch; `Ok` means committed and fsync'd.
    pub async fn write<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.inner.writer.write(op).await
    }

    /// Runs `op` with the writer like [`RedbStore::write`], for work nobody waits on to move on
    /// (see [`writer::Writer::write_patient`]).
    pub(crate) async fn write_patient<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.inner.writer.write_patient(op).await
    }

    /// The storage fault that stopped the store's writes, if one happened (see [`health`]).
    pub fn fault(&self) -> Option<Arc<str>> {
        self.inner.health.fault()
    }

    /// Completes with the reason once a storage fault has stopped the store's writes.
    pub async fn failed(&self) -> Arc<str> {
        self.inner.health.failed().await
    }

    /// The key this store signs cursors and links with; created with the store, never shown.
    pub fn signing_key(&self) -> &[u8; 32] {
        &self.inner.signing_key
    }

    /// The stored hash of a generated admin token, if one was generated.
    pub fn admin_token_hash(&self) -> Option<TokenHash> {
        self.inner.admin_token_hash
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Installs the one listener told after each commit which webhooks have new due work
    /// (ingested events); a second call is ignored.
    pub fn on_due_work(&self, listener: writer::DueWorkListener) {
        let _ = self.inner.due_work.set(listener);
    }

    /// The database, for the store's own blocking reads.
    fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The in-memory catalog, for lookups.
    pub(crate) fn catalog(&self) -> &SharedCatalog {
        &self.inner.catalog
    }

    /// Runs a read-only closure over a consistent snapshot, on the blocking pool.
    pub async fn read<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&redb::ReadTransaction) -> Result<T, Error> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            use redb::ReadableDatabase;
            let tx = db.begin_read()?;
            op(&tx)
        })
        .await
        .map_err(|e| Error::Internal(format!("read task failed: {e}")))?
    }

    /// The gauges `/metrics` shows that the store knows: queue sizes, webhooks by status,
    /// file size. `in_flight` is left 0 for the engine to fill in.
    pub async fn gauges(&self) -> Result<crate::metrics::Gauges, Error> {
        let (active, deactivated) = {
            let catalog = self.catalog().read();
            let deactivated = catalog
                .webhooks_by_id
                .values()
                .filter(|w| w.is_deactivated())
                .count() as u64;
            (
                catalog.webhooks_by_id.len() as u64 - deactivated,
                deactivated,
            )
        };
        let path = self.inner.path.clone();
        self.read(move |tx| {
            use redb::ReadableTableMetadata;
            Ok(crate::metrics::Gauges {
                pending: tx.open_table(DUE)?.len()?,
                buffered: tx.open_table(BUFFER)?.len()?,
                in_flight: 0,
                webhooks_active: active,
                webhooks_deactivated: deactivated,
                store_bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                nodes: 1,
            })
        })
        .await
    }

    /// Whether the store answers a read: the readiness probe's view of the store.
    pub async fn is_healthy(&self) -> bool {
        self.read(|tx| {
            let meta = tx.open_table(META)?;
            Ok(meta.get(META_SCHEMA_VERSION)?.is_some())
        })
        .await
        .unwrap_or(false)
    }
}

/// The store-wide secrets: signing key, admin token hash, and a token generated just now.
type Initialised = ([u8; 32], Option<TokenHash>, Option<String>);

/// Refuses to open the store on a disk too full to write to it.
fn check_free_space(data_dir: &Path) -> Result<(), OpenError> {
    let free = disk::free_bytes(data_dir).map_err(|e| {
        OpenError(format!(
            "cannot read the free space of {}: {e}",
            data_dir.display()
        ))
    })?;
    let log = data_dir.join(wal::WAL_FILE);
    let log_size = std::fs::metadata(&log).map_or(0, |m| m.len());
    let needed = MIN_FREE_BYTES + wal::RESERVED_BYTES.saturating_sub(log_size);
    if free < needed {
        return Err(OpenError(format!(
            "the disk holding {} is full: {} KiB free, and hookd needs {} KiB to start; free some space and start hookd again",
            data_dir.display(),
            free / 1024,
            needed / 1024
        )));
    }
    Ok(())
}

/// Reads every configuration record into a catalog.
fn load_catalog(db: &Database) -> Result<Catalog, Error> {
    let tx = db.begin_read()?;
    let mut accounts = Vec::new();
    for row in tx.open_table(ACCOUNTS)?.iter()? {
        accounts.push(decode(row?.1.value())?);
    }
    let mut tokens = Vec::new();
    for row in tx.open_table(TOKENS)?.iter()? {
        tokens.push(decode(row?.1.value())?);
    }
    let mut webhooks = Vec::new();
    for row in tx.open_table(WEBHOOKS)?.iter()? {
        webhooks.push(decode(row?.1.value())?);
    }
    let mut catalog = Catalog::from_records(accounts, tokens, webhooks);
    for row in tx.open_table(PORTAL_LINKS)?.iter()? {
        catalog.insert_portal_link(decode(row?.1.value())?);
    }
    Ok(catalog)
}

/// `what` went wrong opening the store in `data_dir`; when the cause is a full disk, says so
/// first, since that is what the operator must act on.
fn explain_disk_full(what: String, data_dir: &Path) -> String {
    if what.contains("os error 28") || what.contains("No space left on device") {
        format!(
            "the disk holding {} is full: free some space and start hookd again ({what})",
            data_dir.display()
        )
    } else {
        what
    }
}

/// Checks the schema version and creates the store-wide secrets on first open.
fn initialise(db: &Database, admin_token_configured: bool) -> Result<Initialised, Error> {
    let mut tx = db.begin_write()?;
    // Durable, with redb's allocator state (quick repair), like every checkpoint.
    tx.set_quick_repair(true);
    let result = {
        let mut meta = tx.open_table(META)?;
        let stored_version = match meta.get(META_SCHEMA_VERSION)? {
            Some(v) => Some(u64_from(v.value())?),
            None => None,
        };
        match stored_version {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(Error::Storage(format!(
                    "the store has schema version {v}, newer than this hookd understands ({SCHEMA_VERSION}); run a newer hookd"
                )));
            }
            Some(v) if v < SCHEMA_VERSION => {
                // Future migrations run here, one version step at a time. A migration must see
                // the store with its write-ahead log applied: run `writer::recover` before
                // this once the first real migration is written (v1 stores never had a log).
                meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes().as_slice())?;
            }
            Some(_) => {}
            None => {
                meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes().as_slice())?;
            }
        }
        let stored_key = meta.get(META_SIGNING_KEY)?.map(|v| v.value().to_vec());
        let signing_key = match stored_key {
            Some(v) => <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| Error::Corrupt("corrupt signing key".into()))?,
            None => {
                let key = crypto::random_bytes::<32>();
                meta.insert(META_SIGNING_KEY, key.as_slice())?;
                key
            }
        };
        let mut generated = None;
        let stored_hash = meta.get(META_ADMIN_TOKEN_HASH)?.map(|v| v.value().to_vec());
        let admin_hash = match stored_hash {
            Some(v) => Some(
                <[u8; 32]>::try_from(v.as_slice())
                    .map_err(|_| Error::Corrupt("corrupt admin token hash".into()))?,
            ),
            None if !admin_token_configured => {
                let (token, hash) = crypto::new_token();
                meta.insert(META_ADMIN_TOKEN_HASH, hash.as_slice())?;
                generated = Some(token);
                Some(hash)
            }
            None => None,
        };
        for table in [ACCOUNTS, TOKENS, WEBHOOKS] {
            tx.open_table(table)?;
        }
        tx.open_table(EVENTS)?;
        tx.open_table(DELIVERIES)?;
        tx.open_table(DUE)?;
        tx.open_table(BUFFER)?;
        tx.open_table(IDEMPOTENCY)?;
        tx.open_table(NOTIFICATIONS)?;
        tx.open_table(STATS)?;
        tx.open_table(PORTAL_LINKS)?;
        (signing_key, admin_hash, generated)
    };
    tx.commit()?;
    Ok(result)
}

fn u64_from(bytes: &[u8]) -> Result<u64, Error> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("corrupt number in meta table".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Database::create(dir.path().join(STORE_FILE)).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert(
                    META_SCHEMA_VERSION,
                    (SCHEMA_VERSION + 1).to_be_bytes().as_slice(),
                )
                .unwrap();
            tx.commit().unwrap();
        }
        let err = RedbStore::open(dir.path(), true).err().unwrap();
        assert!(err.0.contains("newer"), "{err}");
    }

    #[test]
    fn admin_token_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = RedbStore::open(dir.path(), false).unwrap();
        let token = first.generated_admin_token.clone().unwrap();
        assert_eq!(
            first.store.admin_token_hash(),
            Some(crypto::hash_token(&token))
        );
        let key = *first.store.signing_key();
        drop(first.store);
        first.writer_thread.join().unwrap();
        let second = RedbStore::open(dir.path(), false).unwrap();
        assert!(second.generated_admin_token.is_none());
        assert_eq!(
            second.store.admin_token_hash(),
            Some(crypto::hash_token(&token))
        );
        assert_eq!(second.store.signing_key(), &key);
    }
}
