//! Keeping this node's catalog and scheduler in step with the other nodes.
//!
//! Every committed configuration change raises `hookd_meta.catalog_version` and notifies the
//! channel `hookd_catalog`. The node that made the change publishes it in its own catalog at
//! once; the others reload the whole catalog (it is small: accounts, tokens, webhooks) when the
//! notice arrives, or — should a notice be lost with a connection — when their poll of the
//! version every [`POLL`] finds it moved. So a change reaches every node within a second.
//!
//! New due work travels the same way: an ingest's commit notifies `hookd_due` with the
//! webhooks it gave work, and every node's listener wakes its scheduler for them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::types::Json;
use tokio_postgres::{AsyncMessage, GenericClient};

use super::schema::META_CATALOG_VERSION;
use super::{Db, Shared, connect};
use crate::error::Error;
use crate::ids::WebhookId;
use crate::model::{Account, PortalLink, TokenRecord, Webhook};
use crate::store::catalog::Catalog;

/// How often the catalog version is polled, in case a notice was lost.
const POLL: Duration = Duration::from_millis(500);
/// The wait before the listener connects again after losing its connection.
const RECONNECT: Duration = Duration::from_millis(500);
/// The channel of configuration changes (payload: the node that made one).
pub const CATALOG_CHANNEL: &str = "hookd_catalog";
/// The channel of new due work (payload: webhook ids, comma-separated).
pub const DUE_CHANNEL: &str = "hookd_due";
/// The most a notice's payload holds (PostgreSQL allows a little under 8000 bytes).
const MAX_PAYLOAD: usize = 7000;

/// Reads the catalog and its version from one consistent snapshot.
pub async fn load(client: &deadpool_postgres::Object) -> Result<(i64, Catalog), String> {
    let fail = |e: tokio_postgres::Error| e.to_string();
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(fail)?;
    let result = load_in(client).await;
    let _ = client.batch_execute("COMMIT").await;
    result
}

async fn load_in(client: &tokio_postgres::Client) -> Result<(i64, Catalog), String> {
    let fail = |e: tokio_postgres::Error| e.to_string();
    let version: i64 = client
        .query_one(
            "SELECT value::bigint FROM hookd_meta WHERE key = $1",
            &[&META_CATALOG_VERSION],
        )
        .await
        .map_err(fail)?
        .get(0);
    let mut accounts = Vec::new();
    for row in client
        .query("SELECT record FROM hookd_accounts", &[])
        .await
        .map_err(fail)?
    {
        accounts.push(row.try_get::<_, Json<Account>>(0).map_err(fail)?.0);
    }
    let mut tokens = Vec::new();
    for row in client
        .query("SELECT record FROM hookd_tokens", &[])
        .await
        .map_err(fail)?
    {
        tokens.push(row.try_get::<_, Json<TokenRecord>>(0).map_err(fail)?.0);
    }
    let mut webhooks = Vec::new();
    for row in client
        .query("SELECT record FROM hookd_webhooks", &[])
        .await
        .map_err(fail)?
    {
        webhooks.push(row.try_get::<_, Json<Webhook>>(0).map_err(fail)?.0);
    }
    let mut catalog = Catalog::from_records(accounts, tokens, webhooks);
    for row in client
        .query("SELECT record FROM hookd_portal_links", &[])
        .await
        .map_err(fail)?
    {
        catalog.insert_portal_link(row.try_get::<_, Json<PortalLink>>(0).map_err(fail)?.0);
    }
    Ok((version, catalog))
}

/// Raises the catalog version inside a configuration change's transaction and notifies the
/// other nodes (the notice goes out with the commit); returns the new version. The version row
/// is locked from here to the commit, so run this last.
pub async fn bump(client: &impl GenericClient, shared: &Shared) -> Result<i64, Error> {
    let version: i64 = client
        .query_one(
            "UPDATE hookd_meta SET value = (value::bigint + 1)::text WHERE key = $1
             RETURNING value::bigint",
            &[&META_CATALOG_VERSION],
        )
        .await
        .db(shared)?
        .get(0);
    client
        .execute(
            "SELECT pg_notify($1, $2)",
            &[&CATALOG_CHANNEL, &shared.node_id.to_string()],
        )
        .await
        .db(shared)?;
    Ok(version)
}

/// Notifies every node that these webhooks have new due work (sent with the commit).
pub async fn notify_due(
    client: &impl GenericClient,
    webhooks: &[WebhookId],
) -> Result<(), tokio_postgres::Error> {
    let mut payload = String::new();
    for (i, webhook) in webhooks.iter().enumerate() {
        if !payload.is_empty() {
            payload.push(',');
        }
        payload.push_str(&webhook.to_string());
        if payload.len() > MAX_PAYLOAD || i + 1 == webhooks.len() {
            client
                .execute("SELECT pg_notify($1, $2)", &[&DUE_CHANNEL, &payload])
                .await?;
            payload.clear();
        }
    }
    Ok(())
}

/// Which catalog versions this node's published catalog holds.
#[derive(Debug, Clone, Copy)]
pub struct Versions {
    /// The version of the last whole catalog published, or of the last change of this node
    /// applied right after it: every change up to here is in the catalog.
    pub published: i64,
    /// The newest change of this node applied to the catalog; a snapshot read before it
    /// would undo it.
    pub applied: i64,
}

impl Versions {
    pub fn loaded(version: i64) -> Versions {
        Versions {
            published: version,
            applied: version,
        }
    }
}

/// Publishes a change this node committed at `version` in its own catalog at once.
pub fn apply_local(shared: &Shared, version: i64, change: impl FnOnce(&mut Catalog)) {
    let mut versions = shared
        .catalog_version
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if version <= versions.published {
        // A snapshot read after this commit is published already: it holds the change, and
        // perhaps later ones of the same records, which applying it now would undo.
        return;
    }
    versions.applied = versions.applied.max(version);
    let mut catalog = shared.catalog.read().clone();
    change(&mut catalog);
    shared.catalog.publish(catalog);
    if version == versions.published + 1 {
        versions.published = version;
    } else {
        // Other nodes' changes in between are not in this catalog yet: the poll reloads.
        shared.reload.notify_one();
    }
}

/// Reloads the catalog when asked or when the version moved; ends when the store closes.
pub async fn run(shared: Arc<Shared>, mut closing: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = super::closed(&mut closing) => return,
            () = shared.reload.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if let Err(e) = refresh(&shared).await {
            tracing::debug!(error = %e, "cannot refresh the catalog");
        }
    }
}

/// Reloads the catalog if the database holds a newer version than the published one.
async fn refresh(shared: &Shared) -> Result<(), Error> {
    let client = shared.client().await?;
    let version: i64 = client
        .query_one(
            "SELECT value::bigint FROM hookd_meta WHERE key = $1",
            &[&META_CATALOG_VERSION],
        )
        .await
        .db(shared)?
        .get(0);
    let published = shared
        .catalog_version
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .published;
    if version <= published {
        return Ok(());
    }
    let (version, catalog) = load(&client).await.map_err(Error::Storage)?;
    let mut versions = shared
        .catalog_version
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if version < versions.applied {
        // Read before a change this node made and published meanwhile: publishing it would
        // undo that change (a revoked token working again) until the next reload. That
        // change is committed, so reading again finds it.
        shared.reload.notify_one();
    } else if version >= versions.published {
        shared.catalog.publish(catalog);
        *versions = Versions::loaded(version);
    }
    Ok(())
}

/// Listens for other nodes' notices on a connection of its own, reconnecting after a loss;
/// ends when the store closes.
pub async fn listen(shared: Arc<Shared>, mut closing: watch::Receiver<bool>) {
    loop {
        let session = listen_once(&shared, &mut closing);
        match session.await {
            Ok(()) => return,
            Err(e) => tracing::debug!(error = %e, "the notice listener lost its connection"),
        }
        tokio::select! {
            () = super::closed(&mut closing) => return,
            () = tokio::time::sleep(RECONNECT) => {}
        }
    }
}

/// One listening session: `Ok` when the store closes, `Err` when the connection fails.
async fn listen_once(shared: &Shared, closing: &mut watch::Receiver<bool>) -> Result<(), String> {
    let (client, mut connection) = connect::dedicated(&shared.target).await?;
    let (notices, mut received) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if notices
                        .send((n.channel().to_string(), n.payload().to_string()))
                        .is_err()
                    {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "notice connection failed");
                    return;
                }
                None => return,
            }
        }
    });
    let setup = client
        .batch_execute(&format!("LISTEN {CATALOG_CHANNEL}; LISTEN {DUE_CHANNEL}"))
        .await;
    if let Err(e) = setup {
        driver.abort();
        return Err(e.to_string());
    }
    // Whatever happened while nobody listened: reload, and let the poll find due work.
    shared.reload.notify_one();
    let me = shared.node_id.to_string();
    let result = loop {
        tokio::select! {
            () = super::closed(closing) => break Ok(()),
            notice = received.recv() => match notice {
                None => break Err("the notice connection closed".to_string()),
                Some((channel, payload)) if channel == CATALOG_CHANNEL => {
                    if payload != me {
                        shared.reload.notify_one();
                    }
                }
                Some((_, payload)) => {
                    let webhooks: Vec<WebhookId> =
                        payload.split(',').filter_map(WebhookId::parse).collect();
                    shared.wake(&webhooks);
                }
            },
        }
    };
    drop(client);
    driver.abort();
    result
}
