//! The store: everything hookd keeps, behind one type whatever keeps it.
//!
//! [`Store`] is the storage boundary. The API, the engine and the server call its methods and
//! never know which backend answers: the embedded one ([`redb`], the default: one file and its
//! write-ahead log, group-committed by one writer thread) or, in a cluster, PostgreSQL. Every
//! backend keeps the configuration records (accounts, tokens, webhooks) mirrored in memory in
//! the shared [`catalog`], so those reads never leave the process; everything else goes to the
//! backend. The values that cross the edge are in [`types`].

pub mod catalog;
pub mod copy;
pub mod health;
pub(crate) mod pg;
pub(crate) mod redb;
pub(crate) mod rules;
pub mod stats;
mod types;

use std::path::Path;
use std::sync::Arc;

use catalog::{Page, SharedCatalog, page};
pub use redb::OpenError;
pub use rules::{DEACTIVATED_EVENT, FAILING_EVENT};
pub(crate) use types::{Activation, Recorded};
pub use types::{
    AttemptReport, Deactivated, DeliveryFilter, DeliveryPolicy, DueBatch, DueItem, FanOut,
    Ingested, LinkTarget, NewEvent, ReplayRange, TokenOwner, Warned,
};

use crate::crypto::TokenHash;
use crate::error::Error;
use crate::i18n::Lang;
use crate::ids::{
    AccountId, DeliveryId, EventId, NotificationId, PortalLinkId, TokenId, WebhookId,
};
use crate::model::{Account, PortalLink, TokenRecord, Webhook, WebhookSettings};
use crate::records::{DeliveryRecord, NotificationRecord, StoredEvent};
use crate::time::Millis;

/// The most deliveries one transaction of a replay sends again.
pub const REPLAY_CHUNK: usize = 1000;

/// Told, once per commit, which webhooks have new due work (the engine listens): one call per
/// commit instead of one wake-up per ingested event.
pub type DueWorkListener = Box<dyn Fn(&[WebhookId]) + Send + Sync>;

/// A handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// The configuration records in memory, kept by the backend.
    catalog: SharedCatalog,
}

/// The backend that keeps the data.
enum Backend {
    Redb(redb::RedbStore),
    Postgres(pg::PgStore),
}

/// Runs `$call` on whichever backend the store has, bound as `$b`.
macro_rules! on_backend {
    ($store:expr, $b:ident => $call:expr) => {
        match &$store.inner.backend {
            Backend::Redb($b) => $call,
            Backend::Postgres($b) => $call,
        }
    };
}

/// What opening the store yields besides the handle.
pub struct Opened {
    pub store: Store,
    /// Set on the first start without a configured admin token: shown once, stored hashed.
    pub generated_admin_token: Option<String>,
    /// Waits, after every [`Store`] handle is dropped, until all writes are committed.
    pub closer: Closer,
}

/// Finishes what the backend has in hand once the server stops.
pub enum Closer {
    /// The redb writer thread: it drains its queue, checkpoints, and ends.
    Redb(std::thread::JoinHandle<()>),
    /// The postgres backend's tasks: they commit what is queued, then this node's leases are
    /// released (other nodes may attempt those deliveries at once) and it leaves the cluster.
    Postgres(tokio::sync::oneshot::Receiver<()>),
}

/// The most a stop waits for the postgres backend to finish: with the database unreachable,
/// what is left is given up (attempts whose results were not recorded are made again, and
/// leases expire by themselves).
const POSTGRES_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

impl Closer {
    /// Waits for the backend to finish (on a blocking thread); `Err` if it panicked.
    pub fn wait(self) -> Result<(), String> {
        match self {
            Closer::Redb(writer) => writer
                .join()
                .map_err(|_| "the store writer panicked".to_string()),
            Closer::Postgres(mut closed) => {
                let deadline = std::time::Instant::now() + POSTGRES_CLOSE_WAIT;
                loop {
                    match closed.try_recv() {
                        Ok(()) => return Ok(()),
                        Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                            return Err("the store's tasks ended abnormally".to_string());
                        }
                        Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
                    }
                    if std::time::Instant::now() > deadline {
                        tracing::warn!(
                            "the database did not take the last writes in time; stopping anyway"
                        );
                        return Ok(());
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
    }
}

impl Store {
    /// Opens (or creates) the embedded store in `data_dir`; see [`redb::RedbStore::open`].
    pub fn open_redb(data_dir: &Path, admin_token_configured: bool) -> Result<Opened, OpenError> {
        let opened = redb::RedbStore::open(data_dir, admin_token_configured)?;
        let catalog = opened.store.catalog().clone();
        Ok(Opened {
            store: Store {
                inner: Arc::new(Inner {
                    backend: Backend::Redb(opened.store),
                    catalog,
                }),
            },
            generated_admin_token: opened.generated_admin_token,
            closer: Closer::Redb(opened.writer_thread),
        })
    }

    /// Connects to the PostgreSQL database of `config`, migrating its schema; see
    /// [`pg::PgStore::open`].
    pub async fn open_postgres(
        config: &crate::config::PostgresConfig,
        admin_token_configured: bool,
    ) -> Result<Opened, OpenError> {
        let opened = pg::PgStore::open(config, admin_token_configured)
            .await
            .map_err(OpenError)?;
        let catalog = opened.store.catalog().clone();
        Ok(Opened {
            store: Store {
                inner: Arc::new(Inner {
                    backend: Backend::Postgres(opened.store),
                    catalog,
                }),
            },
            generated_admin_token: opened.generated_admin_token,
            closer: Closer::Postgres(opened.closed),
        })
    }

    /// The in-memory catalog, for lookups.
    fn catalog(&self) -> &SharedCatalog {
        &self.inner.catalog
    }

    /// Whether other nodes share the due-queue: the store then enforces
    /// `max_in_flight_per_webhook`, `ordered` and `rateLimit` for the cluster when the scheduler
    /// claims (so the scheduler neither paces on its own nor reads ahead of its free slots).
    pub fn queue_is_shared(&self) -> bool {
        matches!(self.inner.backend, Backend::Postgres(_))
    }

    /// Notes that a delivery's attempt is over and its result about to be recorded, before
    /// the scheduler hears of it: a shared queue's claims then stop counting it as running (its
    /// lease lasts until the result is recorded), so its slot is taken again at once. Nothing to
    /// do on the embedded store, whose slots are the scheduler's alone.
    pub async fn attempt_over(&self, delivery_id: DeliveryId) {
        if let Backend::Postgres(b) = &self.inner.backend {
            b.attempt_over(delivery_id).await;
        }
    }

    // Health and identity ----------------------------------------------------------------------

    /// The storage fault that stopped the store's writes for good (until a restart), if one
    /// happened (see [`health`]). The postgres backend has none: it outlives an unreachable
    /// database (see [`Store::unavailable`]).
    pub fn fault(&self) -> Option<Arc<str>> {
        match &self.inner.backend {
            Backend::Redb(b) => b.fault(),
            Backend::Postgres(_) => None,
        }
    }

    /// Completes with the reason once a storage fault has stopped the store's writes for good
    /// (then hookd stops, so that its supervisor starts it again); never on the postgres
    /// backend.
    pub async fn failed(&self) -> Arc<str> {
        match &self.inner.backend {
            Backend::Redb(b) => b.failed().await,
            Backend::Postgres(_) => std::future::pending().await,
        }
    }

    /// Why the store cannot be written now, if it cannot, while hookd keeps running and
    /// recovers by itself (the database unreachable); clears once it can again. Not a fault:
    /// see [`Store::fault`].
    pub fn unavailable(&self) -> Option<Arc<str>> {
        match &self.inner.backend {
            Backend::Redb(_) => None,
            Backend::Postgres(b) => b.unavailable(),
        }
    }

    /// Whether the store answers a read: the readiness probe's view of the store.
    pub async fn is_healthy(&self) -> bool {
        on_backend!(self, b => b.is_healthy().await)
    }

    /// The key this store signs cursors and links with; created with the store, never shown.
    pub fn signing_key(&self) -> &[u8; 32] {
        on_backend!(self, b => b.signing_key())
    }

    /// The stored hash of a generated admin token, if one was generated.
    pub fn admin_token_hash(&self) -> Option<TokenHash> {
        on_backend!(self, b => b.admin_token_hash())
    }

    /// Installs the one listener told after each commit which webhooks have new due work
    /// (ingested events); a second call is ignored.
    pub fn on_due_work(&self, listener: DueWorkListener) {
        on_backend!(self, b => b.on_due_work(listener))
    }

    /// The gauges `/metrics` shows that the store knows: queue sizes, webhooks by status,
    /// store size. `in_flight` is left 0 for the engine to fill in.
    pub async fn gauges(&self) -> Result<crate::metrics::Gauges, Error> {
        on_backend!(self, b => b.gauges().await)
    }

    /// Writes a consistent snapshot of the whole store to a new temporary file (a redb store
    /// file whatever the backend) and returns its path.
    pub async fn write_snapshot(&self) -> Result<std::path::PathBuf, Error> {
        match &self.inner.backend {
            Backend::Redb(b) => {
                let b = b.clone();
                tokio::task::spawn_blocking(move || b.write_snapshot())
                    .await
                    .map_err(|e| Error::Internal(format!("snapshot task failed: {e}")))?
            }
            Backend::Postgres(b) => b.write_snapshot().await,
        }
    }

    // Writes -----------------------------------------------------------------------------------

    /// Creates an account; `id` is generated when absent.
    pub async fn create_account(
        &self,
        id: Option<AccountId>,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        on_backend!(self, b => b.create_account(id, name, language, now).await)
    }

    /// Replaces an account's name and language.
    pub async fn update_account(
        &self,
        id: AccountId,
        name: String,
        language: Lang,
        now: Millis,
    ) -> Result<Account, Error> {
        on_backend!(self, b => b.update_account(id, name, language, now).await)
    }

    /// Deletes an account with everything it owns.
    pub async fn delete_account(&self, id: AccountId) -> Result<Account, Error> {
        on_backend!(self, b => b.delete_account(id).await)
    }

    /// Issues a token for an account; only its `hash` is stored.
    pub async fn create_token(
        &self,
        account_id: AccountId,
        name: String,
        hash: TokenHash,
        now: Millis,
    ) -> Result<TokenRecord, Error> {
        on_backend!(self, b => b.create_token(account_id, name, hash, now).await)
    }

    /// Revokes a token: it stops working as soon as this returns.
    pub async fn delete_token(
        &self,
        account_id: AccountId,
        token_id: TokenId,
    ) -> Result<(), Error> {
        on_backend!(self, b => b.delete_token(account_id, token_id).await)
    }

    /// Records a token's use at `minute_start` (a time truncated to the minute).
    pub async fn touch_token(&self, owner: TokenOwner, minute_start: Millis) -> Result<(), Error> {
        on_backend!(self, b => b.touch_token(owner, minute_start).await)
    }

    /// Creates a webhook for an account.
    pub async fn create_webhook(
        &self,
        account_id: AccountId,
        settings: WebhookSettings,
        secret: String,
        user_identifier: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        on_backend!(self, b => b.create_webhook(account_id, settings, secret, user_identifier, now).await)
    }

    /// Replaces a webhook's settings if `version` is the stored one.
    pub async fn update_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        settings: WebhookSettings,
        version: u64,
        now: Millis,
    ) -> Result<Webhook, Error> {
        on_backend!(self, b => b.update_webhook(account_id, webhook_id, settings, version, now).await)
    }

    /// Deletes a webhook; its pending and buffered deliveries become `cancelled`.
    pub async fn delete_webhook(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
    ) -> Result<(), Error> {
        on_backend!(self, b => b.delete_webhook(account_id, webhook_id).await)
    }

    /// Replaces a webhook's secret; the old one keeps signing for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        secret: String,
        now: Millis,
    ) -> Result<Webhook, Error> {
        on_backend!(self, b => b.rotate_webhook_secret(account_id, webhook_id, secret, now).await)
    }

    /// Ingests events in one durable commit; each event gets its own result (an idempotency
    /// conflict fails that event only).
    pub async fn ingest(
        &self,
        account_id: AccountId,
        events: Vec<NewEvent>,
        fan_out: FanOut,
        now: Millis,
    ) -> Result<Vec<Result<Ingested, Error>>, Error> {
        on_backend!(self, b => b.ingest(account_id, events, fan_out, now).await)
    }

    /// Records an attempt's result (and deactivates its webhook when the thresholds are met).
    /// `patient` when nothing waits for the record to move on.
    pub async fn record_attempt(
        &self,
        report: AttemptReport,
        policy: Arc<DeliveryPolicy>,
        patient: bool,
    ) -> Result<Recorded, Error> {
        match &self.inner.backend {
            Backend::Redb(b) => b.record_attempt(report, policy, patient).await,
            Backend::Postgres(b) => b.record_attempt(report, policy).await,
        }
    }

    /// Schedules a delivery again now; returns it and its webhook.
    pub async fn retry_delivery(
        &self,
        account_id: AccountId,
        delivery_id: DeliveryId,
        now: Millis,
    ) -> Result<(DeliveryRecord, WebhookId), Error> {
        on_backend!(self, b => b.retry_delivery(account_id, delivery_id, now).await)
    }

    /// Sends a webhook's finished deliveries of a time range again (see [`ReplayRange`]),
    /// oldest first, in transactions of at most [`REPLAY_CHUNK`] deliveries so a large replay
    /// never holds the writer long. Returns how many were scheduled.
    pub async fn replay(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        range: ReplayRange,
    ) -> Result<usize, Error> {
        let range = Arc::new(range);
        let mut scheduled = 0;
        let mut after = None;
        loop {
            let (count, next) = on_backend!(self, b => {
                b.replay(account_id.clone(), webhook_id, range.clone(), after, REPLAY_CHUNK)
                    .await
            })?;
            scheduled += count;
            match next {
                Some(next) => after = Some(next),
                None => return Ok(scheduled),
            }
        }
    }

    /// A webhook's health over a window ending in the bucket that holds `now`.
    pub async fn webhook_stats(
        &self,
        webhook_id: WebhookId,
        window: stats::Window,
        now: Millis,
    ) -> Result<stats::WindowStats, Error> {
        let (from, to) = window.slots(now);
        let slots = on_backend!(self, b => b.webhook_stats(webhook_id, from, to).await)?;
        Ok(stats::summarize(window, now, slots))
    }

    /// Forgets what has outlived its use: health slots older than the longest stats window,
    /// portal links past their expiry.
    pub async fn purge_expired(&self, now: Millis) -> Result<(), Error> {
        on_backend!(self, b => b.purge_expired(now).await)
    }

    /// Stores a new portal link.
    pub async fn create_portal_link(&self, link: PortalLink) -> Result<PortalLink, Error> {
        on_backend!(self, b => b.create_portal_link(link).await)
    }

    /// Revokes a live portal link; its sessions stop working at once.
    pub async fn revoke_portal_link(
        &self,
        account_id: AccountId,
        link_id: PortalLinkId,
        now: Millis,
    ) -> Result<(), Error> {
        on_backend!(self, b => b.revoke_portal_link(account_id, link_id, now).await)
    }

    /// Reactivates a webhook, replaying or dropping its buffer.
    pub async fn activate(
        &self,
        account_id: AccountId,
        webhook_id: WebhookId,
        replay: bool,
        now: Millis,
        buffer_window: Millis,
        link: Option<Millis>,
    ) -> Result<Activation, Error> {
        on_backend!(self, b => b.activate(account_id, webhook_id, replay, now, buffer_window, link).await)
    }

    /// Marks buffered deliveries past the buffer window `expired`, at most `limit`.
    pub async fn expire_buffered(
        &self,
        now: Millis,
        buffer_window: Millis,
        limit: usize,
    ) -> Result<usize, Error> {
        on_backend!(self, b => b.expire_buffered(now, buffer_window, limit).await)
    }

    /// Removes records created before `cutoff`, at most about `limit`.
    pub async fn purge_before(&self, cutoff: Millis, limit: usize) -> Result<usize, Error> {
        on_backend!(self, b => b.purge_before(cutoff, limit).await)
    }

    // Reads of traffic -------------------------------------------------------------------------

    /// One event of an account.
    pub async fn event(
        &self,
        account_id: &AccountId,
        event_id: EventId,
    ) -> Result<Option<StoredEvent>, Error> {
        on_backend!(self, b => b.event(account_id, event_id).await)
    }

    /// A page of an account's events, newest first, optionally of one type.
    pub async fn list_events(
        &self,
        account_id: &AccountId,
        before: Option<EventId>,
        limit: usize,
        event_type: Option<String>,
    ) -> Result<(Vec<StoredEvent>, Option<EventId>), Error> {
        on_backend!(self, b => b.list_events(account_id, before, limit, event_type).await)
    }

    /// Several deliveries of an account by id (missing ones are skipped).
    pub async fn deliveries_by_id(
        &self,
        account_id: &AccountId,
        ids: Vec<DeliveryId>,
    ) -> Result<Vec<(DeliveryId, DeliveryRecord)>, Error> {
        on_backend!(self, b => b.deliveries_by_id(account_id, ids).await)
    }

    /// A page of an account's deliveries in creation order, filtered.
    pub async fn list_deliveries(
        &self,
        account_id: &AccountId,
        after: Option<DeliveryId>,
        limit: usize,
        filter: DeliveryFilter,
    ) -> Result<(Vec<(DeliveryId, DeliveryRecord)>, Option<DeliveryId>), Error> {
        on_backend!(self, b => b.list_deliveries(account_id, after, limit, filter).await)
    }

    /// A page of notifications in creation order, of one account or of all.
    pub async fn list_notifications(
        &self,
        account_id: Option<AccountId>,
        after: Option<NotificationId>,
        limit: usize,
    ) -> Result<
        (
            Vec<(NotificationId, NotificationRecord)>,
            Option<NotificationId>,
        ),
        Error,
    > {
        on_backend!(self, b => b.list_notifications(account_id, after, limit).await)
    }

    /// What an activation link leads to at `now`.
    pub async fn link_target(&self, token: &str, now: Millis) -> Result<LinkTarget, Error> {
        let Some(claims) = crate::links::verify(self.signing_key(), token) else {
            return Ok(LinkTarget::Unknown);
        };
        let Some(webhook) = self.webhook_by_id(claims.webhook_id) else {
            return Ok(LinkTarget::Unknown);
        };
        if now >= claims.expires || !rules::link_still_applies(&webhook, claims.deactivated) {
            return Ok(LinkTarget::Gone);
        }
        let buffered = on_backend!(self, b => b.buffered_count(&webhook).await)?;
        Ok(LinkTarget::Valid {
            webhook,
            buffered,
            deactivated: claims.deactivated,
        })
    }

    /// The scheduler's look at one webhook's queue: up to `take` deliveries due by `now` that
    /// are not `busy`, and when the next one is due. On a shared queue the deliveries are
    /// claimed for this node, at most `cap` of the webhook's running in the cluster (see
    /// [`Store::queue_is_shared`]). Blocking: call it from the scheduler's own thread.
    pub fn due_batch(
        &self,
        webhook_id: WebhookId,
        now: Millis,
        take: usize,
        cap: usize,
        busy: &dyn Fn(DeliveryId) -> bool,
        ordered: bool,
    ) -> Result<DueBatch, Error> {
        match &self.inner.backend {
            Backend::Redb(b) => b.due_batch(webhook_id, now, take, busy, ordered),
            Backend::Postgres(b) => b.due_batch(webhook_id, now, take, cap, busy),
        }
    }
}

// Reads of the configuration: served from the catalog, whatever the backend -------------------

fn not_found_account(id: &AccountId) -> Error {
    Error::NotFound(format!("account {id}"))
}

fn not_found_webhook(id: WebhookId) -> Error {
    Error::NotFound(format!("webhook {id}"))
}

impl Store {
    /// A portal link by its id, whether or not it has expired.
    pub fn portal_link(&self, id: PortalLinkId) -> Option<PortalLink> {
        self.catalog().read().portal_links.get(&id).cloned()
    }

    /// An account's portal links that have not expired at `now`, oldest first.
    pub fn live_portal_links(&self, account_id: &AccountId, now: Millis) -> Vec<PortalLink> {
        let mut links: Vec<PortalLink> = self
            .catalog()
            .read()
            .portal_links
            .values()
            .filter(|l| &l.account_id == account_id && l.is_live(now))
            .cloned()
            .collect();
        links.sort_by_key(|l| l.id);
        links
    }

    /// The account with this id.
    pub fn account(&self, id: &AccountId) -> Option<Account> {
        self.catalog()
            .read()
            .accounts
            .get(id)
            .map(|e| e.account.clone())
    }

    /// A webhook by its id.
    pub fn webhook_by_id(&self, id: WebhookId) -> Option<Arc<Webhook>> {
        self.catalog().read().webhook_by_id(id)
    }

    /// The ids of every webhook.
    pub fn webhook_ids(&self) -> Vec<WebhookId> {
        self.catalog()
            .read()
            .webhooks_by_id
            .keys()
            .copied()
            .collect()
    }

    /// A page of accounts in id order.
    pub fn list_accounts(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Page<Account, AccountId> {
        let catalog = self.catalog().read();
        page(
            &catalog.accounts,
            after,
            limit,
            |_| true,
            |e| e.account.clone(),
        )
    }

    /// The owner of a token, by the token's hash.
    pub fn token_owner(&self, hash: &TokenHash) -> Option<TokenOwner> {
        let catalog = self.catalog().read();
        let (account_id, token_id) = catalog.token_hashes.get(hash)?;
        let token = catalog.accounts.get(account_id)?.tokens.get(token_id)?;
        Some(TokenOwner {
            account_id: account_id.clone(),
            token_id: *token_id,
            last_used_minute: token.last_used.map(|t| t.div_euclid(60_000)),
        })
    }

    /// A page of an account's tokens; `None` when the account does not exist.
    pub fn list_tokens(
        &self,
        account_id: &AccountId,
        after: Option<&TokenId>,
        limit: usize,
    ) -> Option<Page<TokenRecord, TokenId>> {
        let catalog = self.catalog().read();
        let entry = catalog.accounts.get(account_id)?;
        Some(page(&entry.tokens, after, limit, |_| true, Clone::clone))
    }

    /// One webhook of an account, with the account's current name.
    pub fn webhook(
        &self,
        account_id: &AccountId,
        webhook_id: WebhookId,
    ) -> Result<(Arc<Webhook>, String), Error> {
        let catalog = self.catalog().read();
        let entry = catalog
            .accounts
            .get(account_id)
            .ok_or_else(|| not_found_account(account_id))?;
        let webhook = entry
            .webhooks
            .get(&webhook_id)
            .cloned()
            .ok_or_else(|| not_found_webhook(webhook_id))?;
        Ok((webhook, entry.account.name.clone()))
    }

    /// A page of an account's webhooks passing `keep`, with the account's name.
    pub fn list_webhooks(
        &self,
        account_id: &AccountId,
        after: Option<&WebhookId>,
        limit: usize,
        keep: impl Fn(&Webhook) -> bool,
    ) -> Result<(Page<Arc<Webhook>, WebhookId>, String), Error> {
        let catalog = self.catalog().read();
        let entry = catalog
            .accounts
            .get(account_id)
            .ok_or_else(|| not_found_account(account_id))?;
        let page = page(&entry.webhooks, after, limit, |w| keep(w), Arc::clone);
        Ok((page, entry.account.name.clone()))
    }
}
