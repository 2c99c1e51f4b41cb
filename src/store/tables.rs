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
