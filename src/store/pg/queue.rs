//! The shared due-queue: claims with leases, their renewal and release, the fallback poll for
//! due work, this node's heartbeat, and the housekeeping lock.
//!
//! A claim runs in one transaction that first locks the webhook's row, so claims of one webhook
//! never interleave, whichever nodes make them. Under that lock it counts the webhook's
//! unexpired leases (the attempts running anywhere), takes at most `cap` minus that many due,
//! unleased (or expired) entries in queue order — for an `ordered` webhook its head alone, and
//! only while no lease of it runs — and paces `rateLimit` by a "next start not before" time
//! kept in the same row. So `max_in_flight_per_webhook`, `ordered` and `rateLimit` hold for the
//! cluster. A lease lasts `postgres.lease`; this node renews its leases every third of that
//! while their attempts run, releases them when it stops, and a node that dies loses them when
//! they expire — the poll then finds those deliveries due again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use super::{Db, PgStore, Shared, connect, uid};
use crate::engine::pace::Pace;
use crate::error::Error;
use crate::ids::{DeliveryId, EventId, WebhookId};
use crate::model::Webhook;
use crate::store::types::{DueBatch, DueItem};
use crate::time::{Millis, now_millis};

/// How often the queue is polled for due work no notice announced (other nodes' expired
/// leases, retries coming due while another node holds the webhook).
const POLL: Duration = Duration::from_secs(1);
/// The most a readiness probe waits for the database.
const PROBE_WAIT: Duration = Duration::from_secs(2);
/// The session lock whose holder runs buffer expiry and retention purge ("hookdhk").
const HOUSEKEEPING_LOCK: i64 = 0x0068_6f6f_6b64_686b;

impl PgStore {
    /// Claims up to `take` due deliveries of a webhook for this node (at most `cap` running
    /// in the cluster), leaving out those `busy` here; `next_due` says when to look again.
    /// Blocking: call it from the scheduler's own thread.
    pub fn due_batch(
        &self,
        webhook_id: WebhookId,
        now: Millis,
        take: usize,
        cap: usize,
        busy: &dyn Fn(DeliveryId) -> bool,
    ) -> Result<DueBatch, Error> {
        self.runtime()
            .block_on(claim(self.shared(), webhook_id, now, take, cap, busy))
    }

    fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }
}

/// A delivery this node holds a lease on.
pub(super) struct Held {
    webhook: Uuid,
    /// Its attempt is over and its result is being recorded: it holds the lease but no
    /// longer counts against the webhook's cap on this node.
    recording: bool,
}

/// Notes that a held delivery's attempt is over: its result is being recorded.
pub(super) async fn recording(shared: &Shared, delivery: DeliveryId) {
    if let Some(held) = shared.held.lock().await.get_mut(&uid(delivery)) {
        held.recording = true;
    }
}

/// Forgets a held delivery: its result is recorded (its lease cleared with it), or given up
/// (the poll releases the lease).
pub(super) async fn recorded(shared: &Shared, delivery: DeliveryId) {
    shared.held.lock().await.remove(&uid(delivery));
}

/// Claims due deliveries of one webhook (see [`PgStore::due_batch`]).
async fn claim(
    shared: &Shared,
    webhook_id: WebhookId,
    now: Millis,
    take: usize,
    cap: usize,
    busy: &dyn Fn(DeliveryId) -> bool,
) -> Result<DueBatch, Error> {
    let mut held = shared.held.lock().await;
    let mut client = shared.client().await?;
    let tx = client.transaction().await.db(shared)?;
    // A claim need not wait for its WAL flush: a lease lost with a database crash only makes
    // the entry claimable again (at least once, as ever), and every delivery claimed would
    // otherwise pay a disk flush of its own.
    tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
        .await
        .db(shared)?;
    let row = tx
        .query_opt(
            "SELECT account_seq, record, pace_tat,
                    (extract(epoch from clock_timestamp()) * 1000)::float8
             FROM hookd_webhooks WHERE id = $1 FOR NO KEY UPDATE",
            &[&uid(webhook_id)],
        )
        .await
        .db(shared)?;
    let Some(row) = row else {
        return Ok(DueBatch::default());
    };
    let seq: i64 = row.get(0);
    let webhook: Webhook = super::from_json(row.get(1))?;
    if webhook.is_paused() {
        return Ok(DueBatch::default());
    }
    let db_now: f64 = row.get(3);
    let mut pace = Pace::resume(row.get(2));
    let rate = webhook.settings.rate_limit;
    let ordered = webhook.settings.ordered;
    // This node's attempts that are over but not yet recorded hold leases without running
    // (an ordered webhook's next delivery waits for the result all the same). Left out by id,
    // not subtracted as a count: a result whose commit just removed its lease is still in
    // `held` until its recorder takes this lock, and must not be left out twice.
    let recording: Vec<Uuid> = if ordered {
        Vec::new()
    } else {
        held.iter()
            .filter(|(_, h)| h.webhook == uid(webhook_id) && h.recording)
            .map(|(id, _)| *id)
            .collect()
    };
    let running: i64 = tx
        .query_one(
            "SELECT count(*) FROM hookd_due
             WHERE account_seq = $1 AND webhook_id = $2 AND lease_owner IS NOT NULL
               AND lease_until > now() AND NOT (delivery_id = ANY($3))",
            &[&seq, &uid(webhook_id), &recording],
        )
        .await
        .db(shared)?
        .get(0);
    let cap = if ordered { 1 } else { cap };
    let room = cap.saturating_sub(running.max(0) as usize);
    let (allowed, _) = pace.allowance(db_now as Millis, rate);
    let mut want = take.min(room).min(allowed);
    let mut next_due = None;
    if ordered {
        let head = tx
            .query_opt(
                "SELECT due_ms FROM hookd_due WHERE account_seq = $1 AND webhook_id = $2
                 ORDER BY due_key, delivery_id LIMIT 1",
                &[&seq, &uid(webhook_id)],
            )
            .await
            .db(shared)?;
        match head {
            None => want = 0,
            Some(head) => {
                let due: i64 = head.get(0);
                if due > now {
                    next_due = Some(due);
                    want = 0;
                }
            }
        }
    }
    let mut items = Vec::new();
    if want > 0 {
        let lease = shared.lease.as_secs_f64();
        let rows = tx
            .query(
                "WITH picked AS (
                     SELECT ctid FROM hookd_due
                     WHERE account_seq = $1 AND webhook_id = $2 AND due_ms <= $3
                       AND (lease_until IS NULL OR lease_until <= now())
                     ORDER BY due_key, delivery_id LIMIT $4
                     FOR UPDATE SKIP LOCKED
                 ), claimed AS (
                     UPDATE hookd_due
                     SET lease_owner = $5, lease_until = now() + make_interval(secs => $6)
                     WHERE ctid = ANY(ARRAY(SELECT ctid FROM picked))
                     RETURNING due_key, delivery_id
                 )
                 SELECT c.delivery_id, dl.event_id, e.event_type,
                        COALESCE((dl.record->>'attempt_count')::bigint, 0), e.envelope
                 FROM claimed c
                 JOIN hookd_deliveries dl ON dl.account_seq = $1 AND dl.id = c.delivery_id
                 JOIN hookd_events e ON e.account_seq = $1 AND e.id = dl.event_id
                 ORDER BY c.due_key, c.delivery_id",
                &[
                    &seq,
                    &uid(webhook_id),
                    &now,
                    &(want as i64),
                    &shared.node_id,
                    &lease,
                ],
            )
            .await
            .db(shared)?;
        for row in rows {
            let delivery: Uuid = row.get(0);
            let event: Uuid = row.get(1);
            let attempts: i64 = row.get(3);
            let envelope: Vec<u8> = row.get(4);
            items.push(DueItem {
                account_seq: seq as u64,
                delivery_id: DeliveryId::from_u128(delivery.as_u128()),
                event_id: EventId::from_u128(event.as_u128()),
                event_type: row.get(2),
                attempt_number: attempts as u32 + 1,
                envelope: bytes::Bytes::from(envelope),
            });
        }
        if rate.is_some() && !items.is_empty() {
            pace.consume(db_now as Millis, rate, items.len());
            tx.execute(
                "UPDATE hookd_webhooks SET pace_tat = $2 WHERE id = $1",
                &[&uid(webhook_id), &pace.tat()],
            )
            .await
            .db(shared)?;
        }
    }
    if !ordered {
        // When to look again: the next entry nobody holds.
        let claimed: Vec<Uuid> = items.iter().map(|i| uid(i.delivery_id)).collect();
        let next: Option<i64> = tx
            .query_opt(
                // An unordered webhook's due key is its due time: key order is due order.
                "SELECT due_ms FROM hookd_due
                 WHERE account_seq = $1 AND webhook_id = $2
                   AND (lease_until IS NULL OR lease_until <= now())
                   AND NOT (delivery_id = ANY($3))
                 ORDER BY due_key, delivery_id LIMIT 1",
                &[&seq, &uid(webhook_id), &claimed],
            )
            .await
            .db(shared)?
            .map(|row| row.get(0));
        next_due = match next {
            None => None,
            Some(at) if at > now => Some(at),
            // More is due now. Held back by `take` (this node's own slots): look again now.
            Some(_) if items.len() >= take => Some(now),
            // By the pace: when it allows the next start, on this node's clock.
            Some(_) if rate.is_some() && items.len() >= allowed => {
                let (_, until) = pace.allowance(db_now as Millis, rate);
                until.map(|at| now + (at - db_now as Millis).max(0))
            }
            // By the cluster's cap: the poll looks again.
            Some(_) => None,
        };
    }
    // An entry this node is still busy with (its attempt's result committed, the scheduler not
    // told yet) is not this claim's: it is not held, so the orphan release gives its lease
    // back within a second and a later look claims it.
    items.retain(|item| !busy(item.delivery_id));
    for item in &items {
        held.insert(
            uid(item.delivery_id),
            Held {
                webhook: uid(webhook_id),
                recording: false,
            },
        );
    }
    if let Err(e) = shared.commit(tx).await {
        for item in &items {
            held.remove(&uid(item.delivery_id));
        }
        return Err(e);
    }
    Ok(DueBatch { items, next_due })
}

/// Gives back the leases of this node that no attempt holds (a claim whose result could not
/// be recorded), so another look can claim them again.
async fn release_orphans(shared: &Shared) -> Result<(), Error> {
    let held = shared.held.lock().await;
    let ids: Vec<Uuid> = held.keys().copied().collect();
    let client = shared.client().await?;
    client
        .execute(
            "UPDATE hookd_due SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1 AND NOT (delivery_id = ANY($2))",
            &[&shared.node_id, &ids],
        )
        .await
        .db(shared)?;
    drop(held);
    Ok(())
}

/// Registers this node (or says it is still alive) in `hookd_nodes`.
pub(super) async fn heartbeat(shared: &Shared) -> Result<(), Error> {
    let client = shared.client().await?;
    client
        .execute(
            "INSERT INTO hookd_nodes (node_id, last_seen) VALUES ($1, now())
             ON CONFLICT (node_id) DO UPDATE SET last_seen = now()",
            &[&shared.node_id],
        )
        .await
        .db(shared)?;
    Ok(())
}

/// Renews this node's leases, so an attempt running up to `delivery.timeout` is never taken
/// over; also this node's heartbeat.
async fn renew(shared: &Shared) -> Result<(), Error> {
    let client = shared.client().await?;
    client
        .execute(
            "UPDATE hookd_due SET lease_until = now() + make_interval(secs => $2)
             WHERE lease_owner = $1 AND lease_until IS NOT NULL",
            &[&shared.node_id, &shared.lease.as_secs_f64()],
        )
        .await
        .db(shared)?;
    drop(client);
    heartbeat(shared).await
}

/// Wakes this node's scheduler for every webhook with due entries nobody holds: what no notice
/// announced (a dead node's expired leases, retries coming due elsewhere).
async fn poll(shared: &Shared) -> Result<(), Error> {
    let client = shared.client().await?;
    let rows = client
        .query(
            "SELECT w.id FROM hookd_webhooks w
             CROSS JOIN LATERAL (
                 SELECT 1 FROM hookd_due d
                 WHERE d.account_seq = w.account_seq AND d.webhook_id = w.id AND d.due_ms <= $1
                   AND (d.lease_until IS NULL OR d.lease_until <= now())
                 LIMIT 1
             ) due",
            &[&now_millis()],
        )
        .await
        .db(shared)?;
    shared.availability.ok();
    let due: Vec<WebhookId> = rows
        .iter()
        .map(|row| WebhookId::from_u128(row.get::<_, Uuid>(0).as_u128()))
        .collect();
    shared.wake(&due);
    Ok(())
}

/// Renews leases, beats the heart and polls for due work until the store closes.
pub(super) async fn maintain(shared: Arc<Shared>, mut closing: watch::Receiver<bool>) {
    let mut renewal = tokio::time::interval(shared.lease / 3);
    let mut polling = tokio::time::interval(POLL);
    renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    polling.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = super::closed(&mut closing) => return,
            _ = renewal.tick() => {
                if let Err(e) = renew(&shared).await {
                    tracing::debug!(error = %e, "cannot renew this node's leases");
                }
            }
            _ = polling.tick() => {
                if let Err(e) = poll(&shared).await {
                    tracing::debug!(error = %e, "cannot poll the due-queue");
                }
                if let Err(e) = release_orphans(&shared).await {
                    tracing::debug!(error = %e, "cannot release orphaned leases");
                }
            }
        }
    }
}

/// Gives back this node's leases (another node may attempt those deliveries at once) and
/// leaves `hookd_nodes`: the end of a graceful stop.
pub(super) async fn release(shared: &Shared) {
    let work = async {
        let client = shared.client().await?;
        client
            .execute(
                "UPDATE hookd_due SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
                &[&shared.node_id],
            )
            .await
            .db(shared)?;
        client
            .execute(
                "DELETE FROM hookd_nodes WHERE node_id = $1",
                &[&shared.node_id],
            )
            .await
            .db(shared)?;
        Ok::<(), Error>(())
    };
    match tokio::time::timeout(connect::CONNECT_WAIT * 2, work).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot release this node's leases; they expire by themselves")
        }
        Err(_) => {
            tracing::warn!("releasing this node's leases timed out; they expire by themselves")
        }
    }
}

/// Whether the database answers within [`PROBE_WAIT`].
pub(super) async fn probe(shared: &Shared) -> bool {
    let check = async {
        let client = shared.client().await?;
        client.query_one("SELECT 1", &[]).await.db(shared)?;
        Ok::<(), Error>(())
    };
    match tokio::time::timeout(PROBE_WAIT, check).await {
        Ok(Ok(())) => {
            shared.availability.ok();
            true
        }
        Ok(Err(_)) => false,
        Err(_) => {
            shared
                .availability
                .fail("the database did not answer within 2 seconds");
            false
        }
    }
}

/// The housekeeping lock's session, held by one node of the cluster at a time.
#[derive(Default)]
pub(super) struct Housekeeper {
    session: tokio::sync::Mutex<Option<(tokio_postgres::Client, tokio::task::JoinHandle<()>)>>,
}

impl Housekeeper {
    /// Whether this node runs housekeeping: it holds the session-level advisory lock, taking it
    /// if no other node does.
    pub(super) async fn is_leader(&self, shared: &Shared) -> bool {
        let mut session = self.session.lock().await;
        if let Some((client, _)) = session.as_ref()
            && !client.is_closed()
        {
            return true;
        }
        if let Some((_, driver)) = session.take() {
            driver.abort();
        }
        let Ok((client, connection)) = connect::dedicated(&shared.target).await else {
            return false;
        };
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let locked = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&HOUSEKEEPING_LOCK])
            .await
            .map(|row| row.get::<_, bool>(0))
            .unwrap_or(false);
        if locked {
            *session = Some((client, driver));
            true
        } else {
            driver.abort();
            false
        }
    }
}
