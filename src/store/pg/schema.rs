//! The database schema: embedded, versioned migrations, applied at open by one node at a time
//! (under an advisory lock), and the store-wide secrets they leave in `hookd_meta`.
//!
//! Every table that grows with traffic is keyed by the account's `seq` first, so that it can
//! be distributed by account (Citus) without a change of keys. Configuration records are stored
//! as their serde JSON (`jsonb`) beside the few columns queries need, so a field added to
//! `Webhook` or `Account` needs no migration.

use tokio_postgres::Client;

use crate::crypto::{self, TokenHash};
use crate::error::Error;

/// The migrations, in order: migration `i` (from 0) brings the schema to version `i + 1`.
/// Never edit one that was released; add a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE hookd_accounts (
    id text PRIMARY KEY,
    seq bigint NOT NULL UNIQUE,
    record jsonb NOT NULL
);
CREATE TABLE hookd_tokens (
    id uuid PRIMARY KEY,
    account_id text NOT NULL,
    record jsonb NOT NULL
);
CREATE INDEX hookd_tokens_account ON hookd_tokens (account_id);
CREATE TABLE hookd_webhooks (
    id uuid PRIMARY KEY,
    account_id text NOT NULL,
    account_seq bigint NOT NULL,
    record jsonb NOT NULL,
    ordered_seq bigint NOT NULL DEFAULT 0,
    pace_tat double precision NOT NULL DEFAULT 0
);
CREATE INDEX hookd_webhooks_account ON hookd_webhooks (account_id);
CREATE TABLE hookd_events (
    account_seq bigint NOT NULL,
    id uuid NOT NULL,
    event_type text NOT NULL,
    created_ms bigint NOT NULL,
    idempotency_key text,
    deliveries jsonb NOT NULL,
    data_start integer NOT NULL,
    data_end integer NOT NULL,
    envelope bytea NOT NULL,
    PRIMARY KEY (account_seq, id)
);
CREATE TABLE hookd_deliveries (
    account_seq bigint NOT NULL,
    id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event_id uuid NOT NULL,
    status text NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (account_seq, id)
);
CREATE TABLE hookd_due (
    account_seq bigint NOT NULL,
    webhook_id uuid NOT NULL,
    due_key bigint NOT NULL,
    delivery_id uuid NOT NULL,
    due_ms bigint NOT NULL,
    lease_owner uuid,
    lease_until timestamptz,
    PRIMARY KEY (account_seq, webhook_id, due_key, delivery_id)
);
CREATE INDEX hookd_due_leased ON hookd_due (account_seq, webhook_id, lease_until)
    WHERE lease_owner IS NOT NULL;
CREATE INDEX hookd_due_owners ON hookd_due (lease_owner) WHERE lease_owner IS NOT NULL;
ALTER TABLE hookd_due SET (autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0);
CREATE TABLE hookd_buffer (
    account_seq bigint NOT NULL,
    webhook_id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    PRIMARY KEY (account_seq, webhook_id, delivery_id)
);
CREATE TABLE hookd_idempotency (
    account_seq bigint NOT NULL,
    key text NOT NULL,
    event_id uuid NOT NULL,
    body_hash bytea NOT NULL,
    PRIMARY KEY (account_seq, key)
);
CREATE TABLE hookd_notifications (
    account_seq bigint NOT NULL,
    id uuid NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (account_seq, id)
);
CREATE INDEX hookd_notifications_by_id ON hookd_notifications (id);
CREATE TABLE hookd_nodes (
    node_id uuid PRIMARY KEY,
    last_seen timestamptz NOT NULL
);
INSERT INTO hookd_meta (key, value) VALUES ('next_account_seq', '1'), ('catalog_version', '0');
"#,
    r#"
CREATE TABLE hookd_stats (
    webhook_id uuid NOT NULL,
    slot bigint NOT NULL,
    counts bytea NOT NULL,
    PRIMARY KEY (webhook_id, slot)
);
CREATE TABLE hookd_portal_links (
    id uuid PRIMARY KEY,
    account_id text NOT NULL,
    expires_ms bigint NOT NULL,
    record jsonb NOT NULL
);
"#,
];

/// The schema version this build writes: a database with a larger one was set up by a newer
/// hookd and is refused.
pub const SCHEMA_VERSION: u64 = MIGRATIONS.len() as u64;

/// The advisory lock migrations run under, so that nodes starting together migrate one at a
/// time ("hookd" in ASCII).
const MIGRATION_LOCK: i64 = 0x0068_6f6f_6b64;

/// Every table hookd keeps its records in (`hookd_meta` and `hookd_nodes` aside).
pub const RECORD_TABLES: &[&str] = &[
    "hookd_accounts",
    "hookd_tokens",
    "hookd_webhooks",
    "hookd_events",
    "hookd_deliveries",
    "hookd_due",
    "hookd_buffer",
    "hookd_idempotency",
    "hookd_notifications",
    "hookd_stats",
    "hookd_portal_links",
];

/// Meta keys.
pub const META_SCHEMA_VERSION: &str = "schema_version";
pub const META_SIGNING_KEY: &str = "signing_key";
pub const META_ADMIN_TOKEN_HASH: &str = "admin_token_sha256";
pub const META_NEXT_ACCOUNT_SEQ: &str = "next_account_seq";
pub const META_CATALOG_VERSION: &str = "catalog_version";

/// What the schema holds that the store needs at once.
pub struct Secrets {
    pub signing_key: [u8; 32],
    pub admin_token_hash: Option<TokenHash>,
    /// Set when this node created the admin token just now: shown once, stored hashed.
    pub generated_admin_token: Option<String>,
}

/// Brings the schema up to [`SCHEMA_VERSION`] (refusing a newer one) and creates the
/// store-wide secrets on first use, all under the migration lock.
pub async fn migrate(client: &mut Client, admin_token_configured: bool) -> Result<Secrets, String> {
    let fail = |e: tokio_postgres::Error| format!("cannot set up the database schema: {e}");
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(fail)?;
    let result = migrate_locked(client, admin_token_configured).await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn migrate_locked(
    client: &mut Client,
    admin_token_configured: bool,
) -> Result<Secrets, String> {
    let fail = |e: tokio_postgres::Error| format!("cannot set up the database schema: {e}");
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hookd_meta (key text PRIMARY KEY, value text NOT NULL)",
        )
        .await
        .map_err(fail)?;
    let stored = stored_version(client).await?;
    if stored > SCHEMA_VERSION {
        return Err(format!(
            "the database has schema version {stored}, newer than this hookd understands ({SCHEMA_VERSION}); run a newer hookd"
        ));
    }
    for version in stored + 1..=SCHEMA_VERSION {
        let tx = client.transaction().await.map_err(fail)?;
        let sql = MIGRATIONS[(version - 1) as usize];
        tx.batch_execute(sql)
            .await
            .map_err(|e| format!("cannot migrate the database schema to version {version}: {e}"))?;
        tx.execute(
            "INSERT INTO hookd_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&META_SCHEMA_VERSION, &version.to_string()],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if stored > 0 || version > 1 {
            tracing::info!(version, "migrated the database schema");
        }
    }
    secrets(client, admin_token_configured).await
}

/// The schema version recorded in `hookd_meta`, 0 for a database without one.
pub async fn stored_version(client: &Client) -> Result<u64, String> {
    let row = client
        .query_opt(
            "SELECT value FROM hookd_meta WHERE key = $1",
            &[&META_SCHEMA_VERSION],
        )
        .await
        .map_err(|e| format!("cannot read the database schema version: {e}"))?;
    match row {
        None => Ok(0),
        Some(row) => {
            let text: String = row.get(0);
            text.parse()
                .map_err(|_| format!("the database's schema version {text:?} is not a number"))
        }
    }
}

/// Reads the signing key and the admin token hash, creating what is missing.
async fn secrets(client: &mut Client, admin_token_configured: bool) -> Result<Secrets, String> {
    let fail = |e: tokio_postgres::Error| format!("cannot read the store's secrets: {e}");
    let tx = client.transaction().await.map_err(fail)?;
    let key_hex = meta_get(&tx, META_SIGNING_KEY).await.map_err(fail)?;
    let signing_key = match key_hex {
        Some(hex) => from_hex::<32>(&hex).ok_or("the stored signing key is damaged")?,
        None => {
            let key = crypto::random_bytes::<32>();
            meta_put(&tx, META_SIGNING_KEY, &to_hex(&key))
                .await
                .map_err(fail)?;
            key
        }
    };
    let hash_hex = meta_get(&tx, META_ADMIN_TOKEN_HASH).await.map_err(fail)?;
    let mut generated_admin_token = None;
    let admin_token_hash = match hash_hex {
        Some(hex) => Some(from_hex::<32>(&hex).ok_or("the stored admin token hash is damaged")?),
        None if !admin_token_configured => {
            let (token, hash) = crypto::new_token();
            meta_put(&tx, META_ADMIN_TOKEN_HASH, &to_hex(&hash))
                .await
                .map_err(fail)?;
            generated_admin_token = Some(token);
            Some(hash)
        }
        None => None,
    };
    tx.commit().await.map_err(fail)?;
    Ok(Secrets {
        signing_key,
        admin_token_hash,
        generated_admin_token,
    })
}

/// One value of `hookd_meta`.
pub async fn meta_get(
    client: &impl tokio_postgres::GenericClient,
    key: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(client
        .query_opt("SELECT value FROM hookd_meta WHERE key = $1", &[&key])
        .await?
        .map(|row| row.get(0)))
}

/// Sets one value of `hookd_meta`.
pub async fn meta_put(
    client: &impl tokio_postgres::GenericClient,
    key: &str,
    value: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO hookd_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )
        .await?;
    Ok(())
}

/// Removes one value of `hookd_meta`.
pub async fn meta_delete(
    client: &impl tokio_postgres::GenericClient,
    key: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute("DELETE FROM hookd_meta WHERE key = $1", &[&key])
        .await?;
    Ok(())
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` bytes from their hex text.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Whether every record table is empty (a database without hookd's schema counts as empty).
pub async fn is_empty(client: &Client) -> Result<bool, Error> {
    let has_schema = client
        .query_opt("SELECT to_regclass('hookd_accounts')::text", &[])
        .await
        .map_err(|e| Error::Storage(format!("cannot read the database: {e}")))?
        .and_then(|row| row.get::<_, Option<String>>(0))
        .is_some();
    if !has_schema {
        return Ok(true);
    }
    for table in RECORD_TABLES {
        let row = client
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
            .await
            .map_err(|e| Error::Storage(format!("cannot read {table}: {e}")))?;
        if row.get::<_, bool>(0) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let key = crypto::random_bytes::<32>();
        assert_eq!(from_hex::<32>(&to_hex(&key)), Some(key));
        assert_eq!(from_hex::<2>("zz00"), None);
        assert_eq!(from_hex::<2>("00"), None);
    }
}
