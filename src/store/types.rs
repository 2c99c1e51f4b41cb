//! The values that cross the store's edge, whichever backend keeps the data: what ingest
//! takes and answers, what an attempt reports, what the scheduler reads, what a deactivation or
//! an activation yields.

use std::sync::Arc;
use std::time::Duration;

use crate::ids::{AccountId, DeliveryId, EventId, NotificationId, TokenId, WebhookId};
use crate::model::Webhook;
use crate::records::{DeliveryStatus, NotificationRecord, Outcome};
use crate::retry::RetryPolicy;
use crate::time::Millis;

/// Who an account token belongs to, as authentication finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub account_id: AccountId,
    pub token_id: TokenId,
    /// Last recorded use, in whole minutes since the epoch.
    pub last_used_minute: Option<i64>,
}

/// Which webhooks an event fans out to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// Every enabled webhook whose patterns match (ingest).
    Subscribers,
    /// Like `Subscribers`, but never this webhook (its own deactivation notice).
    SubscribersExcept(WebhookId),
    /// This webhook alone, whatever its patterns (test events); buffered if it is deactivated.
    Only(WebhookId),
}

/// An event as validated by the API, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: String,
    /// The `data` JSON exactly as the client sent it.
    pub data: Vec<u8>,
    pub idempotency_key: Option<String>,
}

impl NewEvent {
    /// What "the same body" means for idempotency: the type and the data bytes.
    pub(crate) fn body_hash(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.event_type.as_bytes());
        h.update([0u8]);
        h.update(&self.data);
        h.finalize().into()
    }
}

/// The outcome of ingesting one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub id: EventId,
    pub event_type: String,
    pub created: Millis,
    /// Webhooks the event was fanned out to (buffered ones included).
    pub deliveries: u32,
    /// True when an earlier event with the same idempotency key was returned instead.
    pub replayed: bool,
    /// The deliveries made (empty on a replay).
    pub delivery_ids: Vec<DeliveryId>,
    /// Webhooks whose filter failed to evaluate for this event (not delivered to).
    pub filter_errors: u32,
}

/// The result of one delivery attempt, to be recorded.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    pub account_seq: u64,
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub date: Millis,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
    /// The receiver answered 410 Gone: deactivate at once.
    pub gone: bool,
}

/// A delivery the scheduler may start now, with everything the attempt needs.
#[derive(Debug, Clone)]
pub struct DueItem {
    pub account_seq: u64,
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub event_type: String,
    /// The number this attempt will have.
    pub attempt_number: u32,
    pub envelope: bytes::Bytes,
}

/// What the scheduler learns from one look at a webhook's queue.
#[derive(Debug, Default)]
pub struct DueBatch {
    pub items: Vec<DueItem>,
    /// When the next entry not taken is due (now or earlier when capacity ran out).
    pub next_due: Option<Millis>,
}

/// Filters of a delivery listing.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    pub webhook_id: Option<WebhookId>,
    pub event_id: Option<EventId>,
    pub status: Option<DeliveryStatus>,
}

/// Which deliveries of a webhook a replay sends again: those created in `[since, until)` whose
/// status is among `statuses`, each due `now`.
#[derive(Debug, Clone)]
pub struct ReplayRange {
    pub since: Millis,
    pub until: Millis,
    pub statuses: Vec<DeliveryStatus>,
    pub now: Millis,
}

/// Everything that decides what happens after an attempt.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    pub retry: RetryPolicy,
    /// `deactivation.after_failures`.
    pub after_failures: u32,
    /// `deactivation.after`, in milliseconds.
    pub deactivate_after: Millis,
    /// `retention.buffer`, in milliseconds.
    pub buffer: Millis,
    /// `deactivation.warn_after_failures` (0: no early warning).
    pub warn_after_failures: u32,
    /// `deactivation.warn_after`, in milliseconds.
    pub warn_after: Millis,
    /// Base of activation links.
    pub public_url: String,
}

/// What the engine must do after a deactivation was committed.
#[derive(Debug, Clone)]
pub struct Deactivated {
    pub webhook_id: WebhookId,
    /// Why, in words (no URL, no payload: safe to log).
    pub reason: String,
    pub account_id: AccountId,
    /// The system event: its id and the envelope POSTed to `notifications.url`.
    pub event_id: EventId,
    pub envelope: Vec<u8>,
    /// Filters that failed to evaluate for the system event.
    pub filter_errors: u32,
}

/// The result of recording an attempt.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub still_pending: bool,
    /// The early warning this attempt gave, if it gave one.
    pub warned: Option<Warned>,
    pub deactivated: Option<Deactivated>,
}

/// What the engine must do after an early warning was committed: tell the operator's
/// channel (`notifications.url`) and the log.
#[derive(Debug, Clone)]
pub struct Warned {
    pub notification_id: NotificationId,
    pub notification: NotificationRecord,
}

/// The result of an activation.
#[derive(Debug, Clone)]
pub struct Activation {
    pub webhook: Webhook,
    pub replayed: u32,
    pub dropped: u32,
}

/// What an activation link leads to, for its page.
#[derive(Debug, Clone)]
pub enum LinkTarget {
    /// Valid: the webhook, how many buffered deliveries wait, and the link's deactivation.
    Valid {
        webhook: Arc<Webhook>,
        buffered: u64,
        deactivated: Millis,
    },
    /// Not a link hookd issued, or its webhook is gone.
    Unknown,
    /// Used, superseded, or past its buffer window.
    Gone,
}
