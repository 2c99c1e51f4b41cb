//! A whole embedded store as a copy's source or sink (`hookd store copy`, and the postgres
//! backend's backup, which writes a redb store file).
//!
//! Reading opens the store file as it is: run it on a stopped hookd, whose last checkpoint
//! made `hookd.redb` alone the whole store. Writing creates a new store file that hookd opens
//! like any other.

use std::collections::HashSet;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::tables::*;
use super::{SCHEMA_VERSION, STORE_FILE};
use crate::error::Error;
use crate::ids::{DeliveryId, EventId, NotificationId, WebhookId};
use crate::records::{DeliveryRecord, StoredEvent};
use crate::store::copy::{
    self, BufferRow, Counts, DueRow, Item, KeyRow, PAGE, Page, Receiver, Sender, StoreMeta,
};

/// Whether the store in `data_dir` holds no record (a missing store file counts as empty).
pub fn is_empty(data_dir: &Path) -> Result<bool, Error> {
    let path = data_dir.join(STORE_FILE);
    if !path.exists() {
        return Ok(true);
    }
    let db = Database::open(&path)?;
    let tx = db.begin_read()?;
    macro_rules! empty {
        ($table:expr) => {
            match tx.open_table($table) {
                Ok(t) => t.len()? == 0,
                Err(redb::TableError::TableDoesNotExist(_)) => true,
                Err(e) => return Err(e.into()),
            }
        };
    }
    Ok(empty!(ACCOUNTS)
        && empty!(TOKENS)
        && empty!(WEBHOOKS)
        && empty!(EVENTS)
        && empty!(DELIVERIES)
        && empty!(DUE)
        && empty!(BUFFER)
        && empty!(IDEMPOTENCY)
        && empty!(NOTIFICATIONS))
}

/// Sends every record of the store in `data_dir`, in [`copy::KINDS`] order. Blocking.
pub fn read(data_dir: &Path, sender: &Sender) -> Result<(), Error> {
    let db = Database::open(data_dir.join(STORE_FILE))?;
    let tx = db.begin_read()?;
    let meta = tx.open_table(META)?;
    let signing_key = meta
        .get(META_SIGNING_KEY)?
        .and_then(|v| <[u8; 32]>::try_from(v.value()).ok())
        .ok_or_else(|| Error::Corrupt("the store has no signing key".into()))?;
    let admin_token_hash = meta
        .get(META_ADMIN_TOKEN_HASH)?
        .and_then(|v| <[u8; 32]>::try_from(v.value()).ok());
    let next_account_seq = meta
        .get(META_NEXT_ACCOUNT_SEQ)?
        .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
        .map_or(1, u64::from_be_bytes);
    copy::send_blocking(
        sender,
        Item::Meta(StoreMeta {
            signing_key,
            admin_token_hash,
            next_account_seq,
        }),
    )?;
    let send = |page: Page| copy::send_blocking(sender, Item::Page(page));
    macro_rules! pages {
        ($table:expr, $variant:ident, |$k:ident, $v:ident| $make:expr) => {{
            let table = tx.open_table($table)?;
            let mut page = Vec::with_capacity(PAGE);
            for row in table.iter()? {
                let (key, value) = row?;
                let ($k, $v) = (key.value(), value.value());
                page.push($make);
                if page.len() == PAGE {
                    send(Page::$variant(std::mem::take(&mut page)))?;
                }
            }
            if !page.is_empty() {
                send(Page::$variant(page))?;
            }
        }};
    }
    pages!(ACCOUNTS, Accounts, |_k, v| decode(v)?);
    pages!(TOKENS, Tokens, |_k, v| decode(v)?);
    pages!(WEBHOOKS, Webhooks, |_k, v| decode(v)?);
    pages!(EVENTS, Events, |k, v| (
        k.0,
        StoredEvent::decode(EventId::from_u128(k.1), v)?
    ));
    pages!(DELIVERIES, Deliveries, |k, v| (
        k.0,
        DeliveryId::from_u128(k.1),
        DeliveryRecord::decode(v)?
    ));
    pages!(DUE, Due, |k, v| DueRow {
        account_seq: v.0,
        webhook_id: WebhookId::from_u128(k.0),
        due_key: k.1,
        delivery_id: DeliveryId::from_u128(k.2),
        due: v.1,
    });
    pages!(BUFFER, Buffer, |k, v| BufferRow {
        account_seq: v,
        webhook_id: WebhookId::from_u128(k.0),
        delivery_id: DeliveryId::from_u128(k.1),
    });
    pages!(IDEMPOTENCY, Idempotency, |k, v| {
        let corrupt = || Error::Corrupt("corrupt idempotency record".into());
        KeyRow {
            account_seq: k.0,
            key: k.1.to_string(),
            event_id: EventId::from_u128(u128::from_be_bytes(
                v.get(..16)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(corrupt)?,
            )),
            body_hash: v
                .get(16..48)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(corrupt)?,
        }
    });
    pages!(NOTIFICATIONS, Notifications, |k, v| (
        NotificationId::from_u128(k),
        decode(v)?
    ));
    Ok(())
}

/// Writes everything `receiver` yields into a new store file at `path` (which must not hold
/// records); returns the counts. Blocking.
///
/// The due key of an `ordered` webhook's entries becomes 0, as this backend orders such a
/// queue (by delivery id); a database keeps a counter there instead.
pub fn write(path: &Path, mut receiver: Receiver) -> Result<Counts, Error> {
    let db = Database::create(path)?;
    let mut counts = Counts::default();
    let mut ordered: HashSet<u128> = HashSet::new();
    {
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes().as_slice())?;
        }
        for table in [ACCOUNTS, TOKENS, WEBHOOKS] {
            tx.open_table(table)?;
        }
        tx.open_table(EVENTS)?;
        tx.open_table(DELIVERIES)?;
        tx.open_table(DUE)?;
        tx.open_table(BUFFER)?;
        tx.open_table(IDEMPOTENCY)?;
        tx.open_table(NOTIFICATIONS)?;
        tx.commit()?;
    }
    let mut got_meta = false;
    while let Some(item) = receiver.blocking_recv() {
        let tx = db.begin_write()?;
        match item {
            Item::Meta(m) => {
                let mut meta = tx.open_table(META)?;
                meta.insert(META_SIGNING_KEY, m.signing_key.as_slice())?;
                match m.admin_token_hash {
                    Some(hash) => {
                        meta.insert(META_ADMIN_TOKEN_HASH, hash.as_slice())?;
                    }
                    None => {
                        meta.remove(META_ADMIN_TOKEN_HASH)?;
                    }
                }
                meta.insert(
                    META_NEXT_ACCOUNT_SEQ,
                    m.next_account_seq.to_be_bytes().as_slice(),
                )?;
                got_meta = true;
            }
            Item::Page(page) => {
                counts.add(&page);
                write_page(&tx, page, &mut ordered)?;
            }
        }
        tx.commit()?;
    }
    if !got_meta {
        return Err(Error::Internal("the copy's reader sent nothing".into()));
    }
    Ok(counts)
}

fn write_page(
    tx: &redb::WriteTransaction,
    page: Page,
    ordered: &mut HashSet<u128>,
) -> Result<(), Error> {
    match page {
        Page::Accounts(rows) => {
            let mut table = tx.open_table(ACCOUNTS)?;
            for account in rows {
                table.insert(account.id.as_str(), encode(&account)?.as_slice())?;
            }
        }
        Page::Tokens(rows) => {
            let mut table = tx.open_table(TOKENS)?;
            for token in rows {
                table.insert(token.id.to_string().as_str(), encode(&token)?.as_slice())?;
            }
        }
        Page::Webhooks(rows) => {
            let mut table = tx.open_table(WEBHOOKS)?;
            for webhook in rows {
                if webhook.settings.ordered {
                    ordered.insert(webhook.id.as_u128());
                }
                table.insert(
                    webhook.id.to_string().as_str(),
                    encode(&webhook)?.as_slice(),
                )?;
            }
        }
        Page::Events(rows) => {
            let mut table = tx.open_table(EVENTS)?;
            for (seq, event) in rows {
                table.insert(
                    (seq, event.id.as_u128()),
                    StoredEvent::encode(&event.meta, &event.envelope)?.as_slice(),
                )?;
            }
        }
        Page::Deliveries(rows) => {
            let mut table = tx.open_table(DELIVERIES)?;
            for (seq, id, mut record) in rows {
                if ordered.contains(&record.webhook_id.as_u128()) {
                    record.due_key = 0;
                }
                table.insert((seq, id.as_u128()), record.encode()?.as_slice())?;
            }
        }
        Page::Due(rows) => {
            let mut table = tx.open_table(DUE)?;
            for row in rows {
                let webhook = row.webhook_id.as_u128();
                let key = if ordered.contains(&webhook) {
                    0
                } else {
                    row.due_key
                };
                table.insert(
                    (webhook, key, row.delivery_id.as_u128()),
                    (row.account_seq, row.due),
                )?;
            }
        }
        Page::Buffer(rows) => {
            let mut table = tx.open_table(BUFFER)?;
            for row in rows {
                table.insert(
                    (row.webhook_id.as_u128(), row.delivery_id.as_u128()),
                    row.account_seq,
                )?;
            }
        }
        Page::Idempotency(rows) => {
            let mut table = tx.open_table(IDEMPOTENCY)?;
            for row in rows {
                let mut value = Vec::with_capacity(48);
                value.extend_from_slice(&row.event_id.as_u128().to_be_bytes());
                value.extend_from_slice(&row.body_hash);
                table.insert((row.account_seq, row.key.as_str()), value.as_slice())?;
            }
        }
        Page::Notifications(rows) => {
            let mut table = tx.open_table(NOTIFICATIONS)?;
            for (id, record) in rows {
                table.insert(id.as_u128(), encode(&record)?.as_slice())?;
            }
        }
    }
    Ok(())
}
