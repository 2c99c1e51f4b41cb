//! Whole-store copies between backends: `hookd store copy FROM TO` (offline, either
//! direction) and the postgres backend's backup (which writes an embedded store file).
//!
//! A source reads every record kind in pages and sends them down a channel; a sink writes
//! them. The records are the typed values both backends already store (accounts, tokens,
//! webhooks with their secrets, events with their envelopes, deliveries with their attempts,
//! the due-queue, the buffer, idempotency keys, notifications) plus the store's secrets (the
//! signing key and the admin token hash), so ids, cursors, activation links and signatures keep
//! working after a copy.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::crypto::TokenHash;
use crate::error::Error;
use crate::ids::{DeliveryId, EventId, NotificationId, WebhookId};
use crate::model::{Account, TokenRecord, Webhook};
use crate::records::{DeliveryRecord, NotificationRecord, StoredEvent};

/// Records per page.
pub const PAGE: usize = 1000;

/// The store-wide values a copy carries.
#[derive(Debug, Clone)]
pub struct StoreMeta {
    pub signing_key: [u8; 32],
    pub admin_token_hash: Option<TokenHash>,
    /// The `seq` the next account gets: never reused, even across a copy.
    pub next_account_seq: u64,
}

/// A due-queue entry.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub account_seq: u64,
    pub webhook_id: WebhookId,
    pub due_key: u64,
    pub delivery_id: DeliveryId,
    pub due: i64,
}

/// A buffered delivery.
#[derive(Debug, Clone)]
pub struct BufferRow {
    pub account_seq: u64,
    pub webhook_id: WebhookId,
    pub delivery_id: DeliveryId,
}

/// An idempotency key.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub account_seq: u64,
    pub key: String,
    pub event_id: EventId,
    pub body_hash: [u8; 32],
}

/// One page of records of one kind.
#[derive(Debug)]
pub enum Page {
    Accounts(Vec<Account>),
    Tokens(Vec<TokenRecord>),
    Webhooks(Vec<Webhook>),
    Events(Vec<(u64, StoredEvent)>),
    Deliveries(Vec<(u64, DeliveryId, DeliveryRecord)>),
    Due(Vec<DueRow>),
    Buffer(Vec<BufferRow>),
    Idempotency(Vec<KeyRow>),
    Notifications(Vec<(NotificationId, NotificationRecord)>),
}

/// The record kinds, in the order a copy writes them (and prints their counts).
pub const KINDS: [&str; 9] = [
    "accounts",
    "tokens",
    "webhooks",
    "events",
    "deliveries",
    "due",
    "buffer",
    "idempotency",
    "notifications",
];

impl Page {
    /// The kind's name (as printed) and the number of records in the page.
    pub fn kind_and_len(&self) -> (&'static str, usize) {
        match self {
            Page::Accounts(v) => (KINDS[0], v.len()),
            Page::Tokens(v) => (KINDS[1], v.len()),
            Page::Webhooks(v) => (KINDS[2], v.len()),
            Page::Events(v) => (KINDS[3], v.len()),
            Page::Deliveries(v) => (KINDS[4], v.len()),
            Page::Due(v) => (KINDS[5], v.len()),
            Page::Buffer(v) => (KINDS[6], v.len()),
            Page::Idempotency(v) => (KINDS[7], v.len()),
            Page::Notifications(v) => (KINDS[8], v.len()),
        }
    }
}

/// What a source sends: the store's secrets first, then pages in [`KINDS`] order.
#[derive(Debug)]
pub enum Item {
    Meta(StoreMeta),
    Page(Page),
}

/// The sending end a source writes to; a closed channel (the sink failed) ends the source.
pub type Sender = mpsc::Sender<Item>;
/// The receiving end a sink reads from.
pub type Receiver = mpsc::Receiver<Item>;

/// How many records of each kind a copy wrote, in [`KINDS`] order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts(pub [u64; 9]);

impl Counts {
    /// Counts a page.
    pub fn add(&mut self, page: &Page) {
        let (kind, len) = page.kind_and_len();
        if let Some(i) = KINDS.iter().position(|k| *k == kind) {
            self.0[i] += len as u64;
        }
    }

    /// `<kind> <count>`, one line per kind.
    pub fn lines(&self) -> String {
        KINDS
            .iter()
            .zip(self.0)
            .map(|(kind, n)| format!("{kind} {n}\n"))
            .collect()
    }
}

/// A place a whole store lives: an embedded store's data directory or a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Redb(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads `redb:/path/to/data_dir` or `postgres://…` (`postgresql://…`).
    pub fn parse(text: &str) -> Result<Location, String> {
        if let Some(path) = text.strip_prefix("redb:") {
            if path.is_empty() {
                return Err("redb: needs a data directory, e.g. redb:/var/lib/hookd".into());
            }
            return Ok(Location::Redb(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_string()));
        }
        Err(format!(
            "{:?} is neither redb:/path/to/data_dir nor a postgres:// URL",
            if text.contains('@') { "<url>" } else { text }
        ))
    }

    /// How the location is named in messages (a URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Location::Redb(path) => format!("redb:{}", path.display()),
            Location::Postgres(url) => crate::config::redact_url_password(url),
        }
    }
}

/// Copies the whole store at `from` into the empty store at `to`; both must be stopped.
/// Refuses, changing nothing, when `to` holds any record. Returns the counts per kind.
pub async fn copy(from: &Location, to: &Location) -> Result<Counts, String> {
    if from == to {
        return Err("FROM and TO are the same store".into());
    }
    // Checked first, so a refused copy changes nothing anywhere.
    let empty = match to {
        Location::Redb(dir) => super::redb::image::is_empty(dir),
        Location::Postgres(url) => super::pg::copy::is_empty(url).await,
    }
    .map_err(|e| format!("cannot read {}: {e}", to.describe()))?;
    if !empty {
        return Err(format!(
            "{} already holds records: a copy needs an empty store (nothing was changed)",
            to.describe()
        ));
    }
    match from {
        Location::Redb(dir) => {
            if !dir.join(super::redb::STORE_FILE).exists() {
                return Err(format!(
                    "{}: no store file {} there",
                    from.describe(),
                    super::redb::STORE_FILE
                ));
            }
        }
        Location::Postgres(_) => {}
    }
    let (sender, receiver) = mpsc::channel(4);
    let source = {
        let from = from.clone();
        async move {
            match from {
                Location::Redb(dir) => {
                    tokio::task::spawn_blocking(move || super::redb::image::read(&dir, &sender))
                        .await
                        .map_err(|e| Error::Internal(format!("the reader failed: {e}")))?
                }
                Location::Postgres(url) => super::pg::copy::read_url(&url, &sender).await,
            }
        }
    };
    let sink = {
        let to = to.clone();
        async move {
            match to {
                Location::Redb(dir) => {
                    let file = dir.join(super::redb::STORE_FILE);
                    tokio::task::spawn_blocking(move || {
                        std::fs::create_dir_all(&dir).map_err(|e| {
                            Error::Storage(format!("cannot create {}: {e}", dir.display()))
                        })?;
                        super::redb::image::write(&file, receiver)
                    })
                    .await
                    .map_err(|e| Error::Internal(format!("the writer failed: {e}")))?
                }
                Location::Postgres(url) => super::pg::copy::write_url(&url, receiver).await,
            }
        }
    };
    let (read, written) = tokio::join!(source, sink);
    // The sink's error explains a source stopped by a closed channel.
    let counts = written.map_err(|e| format!("cannot write {}: {e}", to.describe()))?;
    read.map_err(|e| format!("cannot read {}: {e}", from.describe()))?;
    Ok(counts)
}

/// Sends an item, failing when the sink has given up.
pub fn send_blocking(sender: &Sender, item: Item) -> Result<(), Error> {
    sender
        .blocking_send(item)
        .map_err(|_| Error::Internal("the copy's writer stopped".into()))
}

/// Sends an item from async code, failing when the sink has given up.
pub async fn send(sender: &Sender, item: Item) -> Result<(), Error> {
    sender
        .send(item)
        .await
        .map_err(|_| Error::Internal("the copy's writer stopped".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("redb:/var/lib/hookd"),
            Ok(Location::Redb(PathBuf::from("/var/lib/hookd")))
        );
        assert_eq!(
            Location::parse("postgres://u:p@h/d"),
            Ok(Location::Postgres("postgres://u:p@h/d".into()))
        );
        assert!(Location::parse("postgresql://h/d").is_ok());
        assert!(Location::parse("redb:").is_err());
        let e = Location::parse("mysql://u:secret@h/d").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert_eq!(
            Location::Postgres("postgres://u:pw@h/d".into()).describe(),
            "postgres://u:***@h/d"
        );
    }

    #[test]
    fn counts_print_one_line_per_kind() {
        let mut counts = Counts::default();
        counts.add(&Page::Due(vec![]));
        counts.add(&Page::Accounts(vec![]));
        let text = counts.lines();
        assert_eq!(text.lines().count(), 9);
        assert!(text.starts_with("accounts 0\ntokens 0\nwebhooks 0\nevents 0\n"));
    }
}
