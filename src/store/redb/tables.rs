//! The redb tables and the encoding of their values. Only the store module knows these.

use redb::TableDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// RedbStore-wide settings: schema version, signing key, admin token hash, counters.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Account id → [`crate::model::Account`].
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// Token id → [`crate::model::TokenRecord`] (with the token's hash, never the token).
pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
/// Webhook id → [`crate::model::Webhook`].
pub const WEBHOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhooks");

/// Meta keys.
pub const META_SCHEMA_VERSION: &str = "schema_version";
pub const META_SIGNING_KEY: &str = "signing_key";
pub const META_ADMIN_TOKEN_HASH: &str = "admin_token_sha256";
pub const META_NEXT_ACCOUNT_SEQ: &str = "next_account_seq";
/// The sequence number of the last write-ahead log record redb holds durably (see
/// [`super::wal`]); written by each checkpoint.
pub const META_WAL_CHECKPOINT: &str = "wal_checkpoint";
/// A random number of this store's own, stamped on its write-ahead log records; a backup gets a
/// new one, so a restored backup never replays the log of the store it replaced.
pub const META_LOG_ID: &str = "log_id";

/// Serialises a record for storage.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("cannot encode record: {e}")))
}

/// Reads a stored record; a record that does not decode is corruption, a storage error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("corrupt record: {e}")))
}

/// (account seq, event id) → event metadata and envelope (see [`crate::records::StoredEvent`]).
pub const EVENTS: TableDefinition<(u64, u128), &[u8]> = TableDefinition::new("events");
/// (account seq, delivery id) → [`crate::records::DeliveryRecord`].
pub const DELIVERIES: TableDefinition<(u64, u128), &[u8]> = TableDefinition::new("deliveries");
/// The due-queue: (webhook id, due key, delivery id) → (account seq, due time).
///
/// The due key is the due time for ordinary webhooks, so a webhook's queue reads in due order;
/// it is 0 for `ordered` webhooks, so their queue reads in delivery (event) order.
pub const DUE: TableDefinition<(u128, u64, u128), (u64, i64)> = TableDefinition::new("due");
/// Buffered deliveries of deactivated webhooks: (webhook id, delivery id) → account seq.
pub const BUFFER: TableDefinition<(u128, u128), u64> = TableDefinition::new("buffer");
/// (account seq, idempotency key) → event id (16 bytes BE) and SHA-256 of type and data.
pub const IDEMPOTENCY: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("idempotency");
/// Notification id → notification record (JSON).
pub const NOTIFICATIONS: TableDefinition<u128, &[u8]> = TableDefinition::new("notifications");
/// (webhook id, five-minute slot) → attempt counts and latencies
/// ([`crate::store::stats::SlotCounts`]).
pub const STATS: TableDefinition<(u128, u64), &[u8]> = TableDefinition::new("stats");
/// Portal link id → [`crate::model::PortalLink`] (with the link token's hash, never the token).
pub const PORTAL_LINKS: TableDefinition<u128, &[u8]> = TableDefinition::new("portal_links");

/// Declares the write-side handles of every table: opened on first use in a write batch and
/// kept open until the batch ends. Opening a redb table in a write transaction costs a lookup
/// and, on close, a write-back of its root; doing it once per batch instead of once per
/// operation is a large share of the writer's work saved.
///
/// Each handle is a [`Logged`] table: every change made through it is also noted in the batch's
/// write-ahead log buffer under the table's number, and [`super::WriteCtx::apply_logged`]
/// replays such a note. The numbers are stored in the log: never reuse or renumber one.
macro_rules! open_tables {
    ($($field:ident = $number:literal: $def:ident => ($k:ty, $v:ty)),* $(,)?) => {
        /// The tables one write batch has opened.
        #[derive(Default)]
        pub struct OpenTables<'txn> {
            $($field: Option<redb::Table<'txn, $k, $v>>,)*
        }

        impl<'txn> super::WriteCtx<'txn> {
            $(
                #[doc = concat!("The `", stringify!($def), "` table, opened once per batch; its changes are logged.")]
                pub(super) fn $field(&mut self) -> Result<Logged<'_, 'txn, $k, $v>, Error> {
                    let tx = self.tx;
                    let slot = &mut self.tables.$field;
                    if slot.is_none() {
                        *slot = Some(tx.open_table($def)?);
                    }
                    let table = slot
                        .as_mut()
                        .ok_or_else(|| Error::Internal("a table failed to open".into()))?;
                    Ok(Logged { table, log: &mut self.log, number: $number })
                }
            )*

            /// Applies one logged change again (recovery after a crash).
            pub(super) fn apply_logged(&mut self, op: &super::wal::Op<'_>) -> Result<(), Error> {
                use redb::Value;
                match op.table {
                    $(
                        $number => {
                            let mut table = self.$field()?;
                            if op.kind == super::wal::OP_INSERT {
                                table.insert(<$k>::from_bytes(op.key), <$v>::from_bytes(op.value))?;
                            } else {
                                table.remove(<$k>::from_bytes(op.key))?;
                            }
                            Ok(())
                        }
                    )*
                    other => Err(Error::Storage(format!("the log names an unknown table {other}"))),
                }
            }
        }
    };
}

open_tables! {
    meta = 1: META => (&'static str, &'static [u8]),
    accounts = 2: ACCOUNTS => (&'static str, &'static [u8]),
    tokens = 3: TOKENS => (&'static str, &'static [u8]),
    webhooks = 4: WEBHOOKS => (&'static str, &'static [u8]),
    events = 5: EVENTS => ((u64, u128), &'static [u8]),
    deliveries = 6: DELIVERIES => ((u64, u128), &'static [u8]),
    due = 7: DUE => ((u128, u64, u128), (u64, i64)),
    buffer = 8: BUFFER => ((u128, u128), u64),
    idempotency = 9: IDEMPOTENCY => ((u64, &'static str), &'static [u8]),
    notifications = 10: NOTIFICATIONS => (u128, &'static [u8]),
    stats_table = 11: STATS => ((u128, u64), &'static [u8]),
    portal_links = 12: PORTAL_LINKS => (u128, &'static [u8]),
}

/// A table of the write batch whose every change is also noted in the batch's log buffer, so
/// the batch can be made durable by the write-ahead log (see [`super::wal`]). Reads go through
/// `Deref` to the redb table; the changes hookd makes are the methods here, and nothing else can
/// change the table.
pub struct Logged<'c, 'txn, K: redb::Key + 'static, V: redb::Value + 'static> {
    table: &'c mut redb::Table<'txn, K, V>,
    log: &'c mut super::wal::LogBuffer,
    number: u8,
}

impl<'txn, K: redb::Key + 'static, V: redb::Value + 'static> std::ops::Deref
    for Logged<'_, 'txn, K, V>
{
    type Target = redb::Table<'txn, K, V>;

    fn deref(&self) -> &Self::Target {
        self.table
    }
}

impl<K: redb::Key + 'static, V: redb::Value + 'static> Logged<'_, '_, K, V> {
    /// Inserts (or replaces) `value` under `key`.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
        value: impl std::borrow::Borrow<V::SelfType<'v>>,
    ) -> Result<(), Error> {
        self.log.insert(
            self.number,
            K::as_bytes(key.borrow()).as_ref(),
            V::as_bytes(value.borrow()).as_ref(),
        );
        self.table.insert(key, value)?;
        Ok(())
    }

    /// Removes `key`; true if it was there.
    pub fn remove<'k>(
        &mut self,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
    ) -> Result<bool, Error> {
        self.log
            .remove(self.number, K::as_bytes(key.borrow()).as_ref());
        Ok(self.table.remove(key)?.is_some())
    }

    /// Removes the entries of `range` as the returned iterator yields them (entries not read
    /// stay, as with redb's `extract_from_if`).
    pub fn take_range<'a, KR>(
        &mut self,
        range: impl std::ops::RangeBounds<KR> + 'a,
    ) -> Result<Taken<'_, K, V>, Error>
    where
        KR: std::borrow::Borrow<K::SelfType<'a>> + 'a,
    {
        let all: TakeAll<K, V> = take_all::<K, V>;
        let inner = self.table.extract_from_if(range, all)?;
        Ok(Taken {
            inner,
            log: self.log,
            number: self.number,
        })
    }

    /// Removes every entry of `range`.
    pub fn remove_range<'a, KR>(
        &mut self,
        range: impl std::ops::RangeBounds<KR> + 'a,
    ) -> Result<(), Error>
    where
        KR: std::borrow::Borrow<K::SelfType<'a>> + 'a,
    {
        for entry in self.take_range(range)? {
            entry?;
        }
        Ok(())
    }
}

/// The type of [`take_all`].
type TakeAll<K, V> =
    for<'f> fn(<K as redb::Value>::SelfType<'f>, <V as redb::Value>::SelfType<'f>) -> bool;

/// The predicate of [`Logged::take_range`]: every entry.
fn take_all<K: redb::Key + 'static, V: redb::Value + 'static>(
    _: K::SelfType<'_>,
    _: V::SelfType<'_>,
) -> bool {
    true
}

/// The entries [`Logged::take_range`] removes, each noted in the log as it is yielded.
pub struct Taken<'a, K: redb::Key + 'static, V: redb::Value + 'static> {
    inner: redb::ExtractIf<'a, K, V, TakeAll<K, V>>,
    log: &'a mut super::wal::LogBuffer,
    number: u8,
}

impl<'a, K: redb::Key + 'static, V: redb::Value + 'static> Iterator for Taken<'a, K, V> {
    type Item = Result<(redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.inner.next()?;
        Some(match entry {
            Ok((key, value)) => {
                self.log
                    .remove(self.number, K::as_bytes(&key.value()).as_ref());
                Ok((key, value))
            }
            Err(e) => Err(e.into()),
        })
    }
}
