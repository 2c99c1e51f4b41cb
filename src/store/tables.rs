//! The redb tables and the encoding of their values. Only the store module knows these.

use redb::TableDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Store-wide settings: schema version, signing key, admin token hash, counters.
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

/// Serialises a record for storage.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(format!("cannot encode record: {e}")))
}

/// Reads a stored record; a record that does not decode is corruption, a storage error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Storage(format!("corrupt record: {e}")))
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

/// Declares the write-side handles of every table: opened on first use in a write batch and
/// kept open until the batch ends. Opening a redb table in a write transaction costs a lookup
/// and, on close, a write-back of its root; doing it once per batch instead of once per
/// operation is a large share of the writer's work saved.
macro_rules! open_tables {
    ($($field:ident: $def:ident => ($k:ty, $v:ty)),* $(,)?) => {
        /// The tables one write batch has opened.
        #[derive(Default)]
        pub struct OpenTables<'txn> {
            $($field: Option<redb::Table<'txn, $k, $v>>,)*
        }

        impl<'txn> super::WriteCtx<'txn> {
            $(
                #[doc = concat!("The `", stringify!($def), "` table, opened once per batch.")]
                pub(super) fn $field(&mut self) -> Result<&mut redb::Table<'txn, $k, $v>, Error> {
                    let tx = self.tx;
                    let slot = &mut self.tables.$field;
                    if slot.is_none() {
                        *slot = Some(tx.open_table($def)?);
                    }
                    slot.as_mut()
                        .ok_or_else(|| Error::Internal("a table failed to open".into()))
                }
            )*
        }
    };
}

open_tables! {
    meta: META => (&'static str, &'static [u8]),
    accounts: ACCOUNTS => (&'static str, &'static [u8]),
    tokens: TOKENS => (&'static str, &'static [u8]),
    webhooks: WEBHOOKS => (&'static str, &'static [u8]),
    events: EVENTS => ((u64, u128), &'static [u8]),
    deliveries: DELIVERIES => ((u64, u128), &'static [u8]),
    due: DUE => ((u128, u64, u128), (u64, i64)),
    buffer: BUFFER => ((u128, u128), u64),
    idempotency: IDEMPOTENCY => ((u64, &'static str), &'static [u8]),
    notifications: NOTIFICATIONS => (u128, &'static [u8]),
}
