//! A whole database as a copy's source or sink (`hookd store copy`), and the backup of this
//! backend (a redb store file written from one consistent snapshot of the database).

use std::collections::HashMap;
use std::path::PathBuf;

use tokio_postgres::types::Json;
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use super::ingest::{EventRow, write_buffer, write_deliveries, write_due, write_events};
use super::schema::{self, META_ADMIN_TOKEN_HASH, META_NEXT_ACCOUNT_SEQ, META_SIGNING_KEY};
use super::{PgStore, connect, uid};
use crate::error::Error;
use crate::ids::{DeliveryId, EventId, NotificationId, WebhookId};
use crate::model::{Account, TokenRecord, Webhook};
use crate::records::{DeliveryRecord, NotificationRecord};
use crate::store::copy::{
    self, BufferRow, Counts, DueRow, Item, KeyRow, PAGE, Page, Receiver, Sender, StoreMeta,
};

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

/// A connection of its own to `url`, driven by a task.
async fn connect_url(url: &str) -> Result<Client, Error> {
    let target = connect::parse_url(url).map_err(Error::Storage)?;
    let (client, connection) = connect::dedicated(&target).await.map_err(Error::Storage)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Whether the database at `url` holds no hookd record.
pub async fn is_empty(url: &str) -> Result<bool, Error> {
    let client = connect_url(url).await?;
    schema::is_empty(&client).await
}

/// Sends every record of the database at `url`, from one snapshot.
pub async fn read_url(url: &str, sender: &Sender) -> Result<(), Error> {
    let client = connect_url(url).await?;
    let version = schema::stored_version(&client).await.map_err(storage)?;
    if version == 0 {
        return Err(Error::Storage("the database holds no hookd store".into()));
    }
    if version > schema::SCHEMA_VERSION {
        return Err(Error::Storage(format!(
            "the database has schema version {version}, newer than this hookd understands ({})",
            schema::SCHEMA_VERSION
        )));
    }
    read(&client, sender).await
}

/// Sends every record, in [`copy::KINDS`] order, from one REPEATABLE READ snapshot.
async fn read(client: &Client, sender: &Sender) -> Result<(), Error> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(storage)?;
    let result = read_in(client, sender).await;
    let _ = client.batch_execute("COMMIT").await;
    result
}

async fn read_in(client: &Client, sender: &Sender) -> Result<(), Error> {
    let meta =
        |key: &'static str| async move { schema::meta_get(client, key).await.map_err(storage) };
    let signing_key = meta(META_SIGNING_KEY)
        .await?
        .and_then(|hex| schema::from_hex::<32>(&hex))
        .ok_or_else(|| Error::Corrupt("the database has no signing key".into()))?;
    let admin_token_hash = meta(META_ADMIN_TOKEN_HASH)
        .await?
        .and_then(|hex| schema::from_hex::<32>(&hex));
    let next_account_seq = meta(META_NEXT_ACCOUNT_SEQ)
        .await?
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    copy::send(
        sender,
        Item::Meta(StoreMeta {
            signing_key,
            admin_token_hash,
            next_account_seq,
        }),
    )
    .await?;
    let send = |page: Page| copy::send(sender, Item::Page(page));
    // Configuration: small, read whole.
    let all = |sql: &'static str| async move { client.query(sql, &[]).await.map_err(storage) };
    let accounts = all("SELECT record FROM hookd_accounts ORDER BY id").await?;
    let accounts: Vec<Account> = records(&accounts)?;
    send(Page::Accounts(accounts)).await?;
    let tokens = all("SELECT record FROM hookd_tokens ORDER BY id").await?;
    let tokens: Vec<TokenRecord> = records(&tokens)?;
    send(Page::Tokens(tokens)).await?;
    let webhooks = all("SELECT record FROM hookd_webhooks ORDER BY id").await?;
    let webhooks: Vec<Webhook> = records(&webhooks)?;
    send(Page::Webhooks(webhooks)).await?;
    // Traffic: in pages, by primary key.
    let mut after: (i64, Uuid) = (i64::MIN, Uuid::nil());
    loop {
        let rows = client
            .query(
                "SELECT account_seq, id, event_type, created_ms, idempotency_key, deliveries,
                        data_start, data_end, envelope
                 FROM hookd_events WHERE (account_seq, id) > ($1, $2)
                 ORDER BY account_seq, id LIMIT $3",
                &[&after.0, &after.1, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1));
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.get(0);
            page.push((seq as u64, event_from(row)?));
        }
        send(Page::Events(page)).await?;
    }
    let mut after: (i64, Uuid) = (i64::MIN, Uuid::nil());
    loop {
        let rows = client
            .query(
                "SELECT account_seq, id, record FROM hookd_deliveries
                 WHERE (account_seq, id) > ($1, $2) ORDER BY account_seq, id LIMIT $3",
                &[&after.0, &after.1, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1));
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.get(0);
            let id: Uuid = row.get(1);
            let record: DeliveryRecord = super::delivery_from(row.get(2))?;
            page.push((seq as u64, DeliveryId::from_u128(id.as_u128()), record));
        }
        send(Page::Deliveries(page)).await?;
    }
    let mut after: (i64, Uuid, i64, Uuid) = (i64::MIN, Uuid::nil(), i64::MIN, Uuid::nil());
    loop {
        let rows = client
            .query(
                "SELECT account_seq, webhook_id, due_key, delivery_id, due_ms FROM hookd_due
                 WHERE (account_seq, webhook_id, due_key, delivery_id) > ($1, $2, $3, $4)
                 ORDER BY account_seq, webhook_id, due_key, delivery_id LIMIT $5",
                &[&after.0, &after.1, &after.2, &after.3, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1), last.get(2), last.get(3));
        let page = rows
            .iter()
            .map(|row| DueRow {
                account_seq: row.get::<_, i64>(0) as u64,
                webhook_id: WebhookId::from_u128(row.get::<_, Uuid>(1).as_u128()),
                due_key: row.get::<_, i64>(2) as u64,
                delivery_id: DeliveryId::from_u128(row.get::<_, Uuid>(3).as_u128()),
                due: row.get(4),
            })
            .collect();
        send(Page::Due(page)).await?;
    }
    let mut after: (i64, Uuid, Uuid) = (i64::MIN, Uuid::nil(), Uuid::nil());
    loop {
        let rows = client
            .query(
                "SELECT account_seq, webhook_id, delivery_id FROM hookd_buffer
                 WHERE (account_seq, webhook_id, delivery_id) > ($1, $2, $3)
                 ORDER BY account_seq, webhook_id, delivery_id LIMIT $4",
                &[&after.0, &after.1, &after.2, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1), last.get(2));
        let page = rows
            .iter()
            .map(|row| BufferRow {
                account_seq: row.get::<_, i64>(0) as u64,
                webhook_id: WebhookId::from_u128(row.get::<_, Uuid>(1).as_u128()),
                delivery_id: DeliveryId::from_u128(row.get::<_, Uuid>(2).as_u128()),
            })
            .collect();
        send(Page::Buffer(page)).await?;
    }
    let mut after: (i64, String) = (i64::MIN, String::new());
    loop {
        let rows = client
            .query(
                "SELECT account_seq, key, event_id, body_hash FROM hookd_idempotency
                 WHERE (account_seq, key) > ($1, $2)
                 ORDER BY account_seq, key LIMIT $3",
                &[&after.0, &after.1, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = (last.get(0), last.get(1));
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let hash: Vec<u8> = row.get(3);
            page.push(KeyRow {
                account_seq: row.get::<_, i64>(0) as u64,
                key: row.get(1),
                event_id: EventId::from_u128(row.get::<_, Uuid>(2).as_u128()),
                body_hash: hash
                    .try_into()
                    .map_err(|_| Error::Corrupt("corrupt idempotency record".into()))?,
            });
        }
        send(Page::Idempotency(page)).await?;
    }
    let mut after = Uuid::nil();
    loop {
        let rows = client
            .query(
                "SELECT id, record FROM hookd_notifications WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &(PAGE as i64)],
            )
            .await
            .map_err(storage)?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.get(0);
            let record: NotificationRecord = super::from_json(row.get(1))?;
            page.push((NotificationId::from_u128(id.as_u128()), record));
        }
        send(Page::Notifications(page)).await?;
    }
    Ok(())
}

fn records<T: serde::de::DeserializeOwned>(rows: &[Row]) -> Result<Vec<T>, Error> {
    rows.iter()
        .map(|row| {
            row.try_get::<_, Json<T>>(0)
                .map(|j| j.0)
                .map_err(|e| Error::Corrupt(format!("corrupt record: {e}")))
        })
        .collect()
}

/// An event from a row of its account's seq and the event's columns.
fn event_from(row: &Row) -> Result<crate::records::StoredEvent, Error> {
    let corrupt = |e: tokio_postgres::Error| Error::Corrupt(format!("corrupt event row: {e}"));
    let id: Uuid = row.try_get(1).map_err(corrupt)?;
    let deliveries: Json<Vec<(DeliveryId, WebhookId)>> = row.try_get(5).map_err(corrupt)?;
    Ok(crate::records::StoredEvent {
        id: EventId::from_u128(id.as_u128()),
        meta: crate::records::EventMeta {
            event_type: row.try_get(2).map_err(corrupt)?,
            created: row.try_get(3).map_err(corrupt)?,
            idempotency_key: row.try_get(4).map_err(corrupt)?,
            deliveries: deliveries.0,
            data_start: row.try_get::<_, i32>(6).map_err(corrupt)? as u32,
            data_end: row.try_get::<_, i32>(7).map_err(corrupt)? as u32,
        },
        envelope: row.try_get(8).map_err(corrupt)?,
    })
}

/// Writes everything `receiver` yields into the (empty) database at `url`, creating hookd's
/// schema there if needed; returns the counts.
pub async fn write_url(url: &str, mut receiver: Receiver) -> Result<Counts, Error> {
    let target = connect::parse_url(url).map_err(Error::Storage)?;
    let (mut client, connection) = connect::dedicated(&target).await.map_err(Error::Storage)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    // Created without an admin token of its own: the copy brings the source's.
    schema::migrate(&mut client, true)
        .await
        .map_err(Error::Storage)?;
    if !schema::is_empty(&client).await? {
        return Err(Error::Conflict("the database already holds records".into()));
    }
    let tx = client.transaction().await.map_err(storage)?;
    let mut counts = Counts::default();
    let mut seqs: HashMap<String, i64> = HashMap::new();
    let mut got_meta = false;
    while let Some(item) = receiver.recv().await {
        match item {
            Item::Meta(meta) => {
                schema::meta_put(&tx, META_SIGNING_KEY, &schema::to_hex(&meta.signing_key))
                    .await
                    .map_err(storage)?;
                match meta.admin_token_hash {
                    Some(hash) => {
                        schema::meta_put(&tx, META_ADMIN_TOKEN_HASH, &schema::to_hex(&hash))
                            .await
                            .map_err(storage)?
                    }
                    None => schema::meta_delete(&tx, META_ADMIN_TOKEN_HASH)
                        .await
                        .map_err(storage)?,
                }
                schema::meta_put(
                    &tx,
                    META_NEXT_ACCOUNT_SEQ,
                    &meta.next_account_seq.to_string(),
                )
                .await
                .map_err(storage)?;
                got_meta = true;
            }
            Item::Page(page) => {
                counts.add(&page);
                write_page(&tx, page, &mut seqs).await?;
            }
        }
    }
    if !got_meta {
        return Err(Error::Internal("the copy's reader sent nothing".into()));
    }
    // An ordered webhook's counter starts past every key its deliveries hold.
    tx.execute(
        "UPDATE hookd_webhooks w SET ordered_seq = GREATEST(w.ordered_seq, COALESCE((
             SELECT max((d.record->>'due_key')::bigint) FROM hookd_deliveries d
             WHERE d.account_seq = w.account_seq AND d.webhook_id = w.id
               AND (d.record->>'due_key')::bigint < 1000000000000), 0))",
        &[],
    )
    .await
    .map_err(storage)?;
    tx.execute(
        "UPDATE hookd_meta SET value = (value::bigint + 1)::text WHERE key = 'catalog_version'",
        &[],
    )
    .await
    .map_err(storage)?;
    tx.commit().await.map_err(storage)?;
    Ok(counts)
}

async fn write_page(
    tx: &tokio_postgres::Transaction<'_>,
    page: Page,
    seqs: &mut HashMap<String, i64>,
) -> Result<(), Error> {
    match page {
        Page::Accounts(rows) => {
            for account in rows {
                seqs.insert(account.id.as_str().to_string(), account.seq as i64);
                tx.execute(
                    "INSERT INTO hookd_accounts (id, seq, record) VALUES ($1, $2, $3)",
                    &[
                        &account.id.as_str(),
                        &(account.seq as i64),
                        &super::to_json(&account)?,
                    ],
                )
                .await
                .map_err(storage)?;
            }
        }
        Page::Tokens(rows) => {
            for token in rows {
                tx.execute(
                    "INSERT INTO hookd_tokens (id, account_id, record) VALUES ($1, $2, $3)",
                    &[
                        &uid(token.id),
                        &token.account_id.as_str(),
                        &super::to_json(&token)?,
                    ],
                )
                .await
                .map_err(storage)?;
            }
        }
        Page::Webhooks(rows) => {
            for webhook in rows {
                let seq = seqs.get(webhook.account_id.as_str()).copied().unwrap_or(-1);
                tx.execute(
                    "INSERT INTO hookd_webhooks (id, account_id, account_seq, record)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &uid(webhook.id),
                        &webhook.account_id.as_str(),
                        &seq,
                        &super::to_json(&webhook)?,
                    ],
                )
                .await
                .map_err(storage)?;
            }
        }
        Page::Events(rows) => {
            let rows: Vec<EventRow> = rows
                .into_iter()
                .map(|(seq, event)| EventRow {
                    seq: seq as i64,
                    id: uid(event.id),
                    event_type: event.meta.event_type,
                    created: event.meta.created,
                    key: event.meta.idempotency_key,
                    deliveries: event.meta.deliveries,
                    data_start: event.meta.data_start as i32,
                    data_end: event.meta.data_end as i32,
                    envelope: event.envelope,
                })
                .collect();
            write_events(tx, &rows).await.map_err(storage)?;
        }
        Page::Deliveries(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for (seq, id, record) in rows {
                out.push((
                    seq as i64,
                    uid(id),
                    uid(record.webhook_id),
                    uid(record.event_id),
                    record.status.as_str().to_string(),
                    super::delivery_json(&record)?,
                ));
            }
            write_deliveries(tx, &out).await.map_err(storage)?;
        }
        Page::Due(rows) => {
            let rows: Vec<(i64, Uuid, i64, Uuid, i64)> = rows
                .iter()
                .map(|r| {
                    (
                        r.account_seq as i64,
                        uid(r.webhook_id),
                        r.due_key as i64,
                        uid(r.delivery_id),
                        r.due,
                    )
                })
                .collect();
            write_due(tx, &rows).await.map_err(storage)?;
        }
        Page::Buffer(rows) => {
            let rows: Vec<(i64, Uuid, Uuid)> = rows
                .iter()
                .map(|r| (r.account_seq as i64, uid(r.webhook_id), uid(r.delivery_id)))
                .collect();
            write_buffer(tx, &rows).await.map_err(storage)?;
        }
        Page::Idempotency(rows) => {
            let seq: Vec<i64> = rows.iter().map(|r| r.account_seq as i64).collect();
            let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
            let events: Vec<Uuid> = rows.iter().map(|r| uid(r.event_id)).collect();
            let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.body_hash[..]).collect();
            tx.execute(
                "INSERT INTO hookd_idempotency (account_seq, key, event_id, body_hash)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::bytea[])",
                &[&seq, &keys, &events, &hashes],
            )
            .await
            .map_err(storage)?;
        }
        Page::Notifications(rows) => {
            for (id, record) in rows {
                tx.execute(
                    "INSERT INTO hookd_notifications (account_seq, id, record) VALUES ($1, $2, $3)",
                    &[
                        &(record.account_seq as i64),
                        &uid(id),
                        &super::to_json(&record)?,
                    ],
                )
                .await
                .map_err(storage)?;
            }
        }
    }
    Ok(())
}

impl PgStore {
    /// Writes a snapshot of the database (one REPEATABLE READ transaction) to a new redb store
    /// file in the system's temporary directory and returns its path; the caller removes it.
    pub async fn write_snapshot(&self) -> Result<PathBuf, Error> {
        let shared = self.shared();
        let name = format!(
            "hookd-backup-{}.redb",
            crate::crypto::base64url(&crate::crypto::random_bytes::<9>())
        );
        let path = std::env::temp_dir().join(name);
        let (client, connection) = connect::dedicated(&shared.target).await.map_err(|e| {
            shared.availability.fail(&e);
            Error::StoreUnavailable(crate::error::Unstored::NothingStored)
        })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let file = path.clone();
        let writer =
            tokio::task::spawn_blocking(move || crate::store::redb::image::write(&file, receiver));
        let read = read(&client, &sender).await;
        drop(sender);
        let written = writer
            .await
            .map_err(|e| Error::Internal(format!("the backup writer failed: {e}")))?;
        if let Err(e) = read.and(written.map(|_| ())) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(path)
    }
}
