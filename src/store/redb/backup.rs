//! Backups: a consistent copy of the whole store, taken from one read transaction while hookd
//! keeps serving, written as a redb file that can be put in place of `hookd.redb`.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable};

use super::RedbStore;
use super::tables::*;
use crate::error::Error;

/// Copies every row of one table from a read transaction into a write transaction.
macro_rules! copy_table {
    ($from:expr, $to:expr, $table:expr) => {{
        let source = $from.open_table($table)?;
        let mut target = $to.open_table($table)?;
        for row in source.iter()? {
            let (key, value) = row?;
            target.insert(key.value(), value.value())?;
        }
    }};
}

impl RedbStore {
    /// Writes a snapshot of the store to a new file in the data directory and returns its
    /// path. Blocking: run it on the blocking pool. The caller removes the file when done.
    pub fn write_snapshot(&self) -> Result<PathBuf, Error> {
        let dir = self
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = format!(
            ".backup-{}.redb",
            crate::crypto::base64url(&crate::crypto::random_bytes::<9>())
        );
        let dest = dir.join(name);
        let result = (|| {
            let from = self.db().begin_read()?;
            let out = Database::create(&dest)?;
            let to = out.begin_write()?;
            copy_table!(from, to, META);
            {
                // A store of its own as far as the log goes (see `META_LOG_ID`).
                let mut meta = to.open_table(META)?;
                let log_id = crate::crypto::random_bytes::<8>();
                meta.insert(META_LOG_ID, log_id.as_slice())?;
                meta.remove(META_WAL_CHECKPOINT)?;
            }
            copy_table!(from, to, ACCOUNTS);
            copy_table!(from, to, TOKENS);
            copy_table!(from, to, WEBHOOKS);
            copy_table!(from, to, EVENTS);
            copy_table!(from, to, DELIVERIES);
            copy_table!(from, to, DUE);
            copy_table!(from, to, BUFFER);
            copy_table!(from, to, IDEMPOTENCY);
            copy_table!(from, to, NOTIFICATIONS);
            copy_table!(from, to, STATS);
            copy_table!(from, to, PORTAL_LINKS);
            to.commit()?;
            Ok::<(), Error>(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&dest);
            return Err(e);
        }
        Ok(dest)
    }
}
