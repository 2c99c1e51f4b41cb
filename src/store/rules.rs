//! What happens to deliveries and webhooks, decided once for every backend: which webhooks an
//! event fans out to, what an attempt's result does to its delivery and its webhook, when a
//! webhook is deactivated and what its deactivation says, what an activation does to each
//! buffered delivery. These are plain functions of records and policy, with no storage in
//! them: a backend reads the records, asks these functions, and writes what they say.

use std::sync::Arc;

use serde_json::json;

use super::catalog::CompiledFilters;
use super::types::{AttemptReport, DeliveryPolicy, FanOut, NewEvent};
use crate::dispatch::signature::SigningKeyPair;
use crate::error::Error;
use crate::i18n::{self, Lang};
use crate::ids::{AccountId, EventId, WebhookId};
use crate::links::{self, LinkClaims};
use crate::model::{
    KeyPairDocument, PreviousKeyPair, PreviousSecret, Webhook, WebhookSettings, WebhookStatus,
};
use crate::patterns;
use crate::receivers::filter::{FilterError, FilterInput};
use crate::records::{AttemptRecord, DeliveryRecord, DeliveryStatus, MAX_KEPT_ATTEMPTS, Outcome};
use crate::retry::random_unit;
use crate::time::{Millis, format_rfc3339};

/// The system event emitted on deactivation.
pub const DEACTIVATED_EVENT: &str = "hookd.webhook.deactivated";

/// The system event of the early warning.
pub const FAILING_EVENT: &str = "hookd.webhook.failing";

/// The webhooks an event goes to, and how many of their filters failed to evaluate for it.
#[derive(Debug, Default)]
pub struct FannedOut {
    pub webhooks: Vec<Arc<Webhook>>,
    /// Filters that gave no answer (an evaluation error, not a boolean, no compiled filter):
    /// their webhooks get nothing; `hookd_filter_errors_total` counts them.
    pub filter_errors: u32,
}

/// The webhooks of `account` an event goes to: every enabled webhook whose patterns match
/// and whose filter (if it has one) is true for the event (`Subscribers`), the same but one
/// (`SubscribersExcept`, a webhook's own deactivation notice), or one webhook whatever its
/// patterns and filter (`Only`, test events).
///
/// The event is converted for filters once, and only when a matching webhook has a filter:
/// an account without filters pays nothing for them.
pub fn fan_out<'a>(
    webhooks: impl IntoIterator<Item = &'a Arc<Webhook>>,
    filters: &CompiledFilters,
    account: &AccountId,
    event: &NewEvent,
    fan_out: FanOut,
) -> FannedOut {
    let mut out = FannedOut::default();
    let mut input: Option<Result<FilterInput, FilterError>> = None;
    for webhook in webhooks {
        let subscribed = webhook.settings.enabled
            && patterns::any_matches(&webhook.settings.event_list, &event.event_type);
        let chosen = match fan_out {
            FanOut::Only(only) => webhook.id == only,
            FanOut::SubscribersExcept(except) => subscribed && webhook.id != except,
            FanOut::Subscribers => subscribed,
        };
        if !chosen {
            continue;
        }
        if webhook.settings.filter.is_some() && !matches!(fan_out, FanOut::Only(_)) {
            let input = input.get_or_insert_with(|| filter_input(event, account));
            let matched = match (filters.get(&webhook.id), input) {
                (Some(filter), Ok(input)) => filter.matches_input(input),
                (Some(_), Err(e)) => Err(e.clone()),
                (None, _) => Err(FilterError::Evaluation(
                    "the filter does not compile".into(),
                )),
            };
            match matched {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => {
                    out.filter_errors += 1;
                    continue;
                }
            }
        }
        out.webhooks.push(webhook.clone());
    }
    out
}

/// The event as filters read it.
fn filter_input(event: &NewEvent, account: &AccountId) -> Result<FilterInput, FilterError> {
    let data = std::str::from_utf8(&event.data)
        .map_err(|_| FilterError::InvalidData("not UTF-8".into()))?;
    FilterInput::from_json_text(&event.event_type, data, account.as_str())
}

/// The due-queue key time of a delivery due at `due`: the due time, or 0 for `ordered`
/// webhooks, whose queue reads in event order.
pub fn due_key(ordered: bool, due: Millis) -> u64 {
    if ordered { 0 } else { due.max(0) as u64 }
}

/// How long a rotated-out secret and key pair keep signing beside the new ones.
pub const PREVIOUS_SECRET_GRACE_MS: Millis = 24 * 3600 * 1000;

/// A fresh Ed25519 key pair for `v1a` signatures, as stored.
fn new_key_pair() -> KeyPairDocument {
    KeyPairDocument(SigningKeyPair::generate().pkcs8().to_vec())
}

/// A new webhook: active, version 1, with its `v1a` key pair made now (so that switching to
/// `v1a` later needs no key of its own).
pub fn new_webhook(
    id: WebhookId,
    account_id: AccountId,
    settings: WebhookSettings,
    secret: String,
    user_identifier: String,
    now: Millis,
) -> Webhook {
    Webhook {
        id,
        account_id,
        created: now,
        updated: now,
        version: 1,
        user_identifier,
        settings,
        secret,
        previous_secret: None,
        key_pair: Some(new_key_pair()),
        previous_key_pair: None,
        status: WebhookStatus::Active,
        deactivated: None,
        deactivation_reason: None,
        failure_count: 0,
        failing_since: None,
        failing_warned: false,
    }
}

/// `current` with new settings (a PUT): the next version. A webhook stored by an earlier
/// build gets its key pair here.
pub fn updated_webhook(current: &Webhook, settings: WebhookSettings, now: Millis) -> Webhook {
    Webhook {
        settings,
        version: current.version + 1,
        updated: now,
        key_pair: current.key_pair.clone().or_else(|| Some(new_key_pair())),
        ..current.clone()
    }
}

/// `current` with a new signing secret and a new key pair; the old ones keep signing beside
/// them for [`PREVIOUS_SECRET_GRACE_MS`].
pub fn rotated_webhook(current: &Webhook, secret: String, now: Millis) -> Webhook {
    let until = now + PREVIOUS_SECRET_GRACE_MS;
    Webhook {
        previous_secret: Some(PreviousSecret {
            secret: current.secret.clone(),
            until,
        }),
        secret,
        previous_key_pair: current
            .key_pair
            .clone()
            .map(|key_pair| PreviousKeyPair { key_pair, until }),
        key_pair: Some(new_key_pair()),
        updated: now,
        ..current.clone()
    }
}

/// A new delivery of an event to `webhook`: pending and due now, or buffered if the webhook
/// is deactivated.
pub fn new_delivery(
    event_id: EventId,
    event: &NewEvent,
    webhook: &Webhook,
    now: Millis,
) -> DeliveryRecord {
    let buffered = webhook.is_deactivated();
    DeliveryRecord {
        event_id,
        webhook_id: webhook.id,
        event_type: event.event_type.clone(),
        created: now,
        status: if buffered {
            DeliveryStatus::Buffered
        } else {
            DeliveryStatus::Pending
        },
        next_attempt: (!buffered).then_some(now),
        due_key: due_key(webhook.settings.ordered, now),
        attempt_count: 0,
        series_start: 0,
        attempts: Vec::new(),
    }
}

/// What recording an attempt does to its delivery's place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueChange {
    /// The delivery was not pending: its queue entry (if any) is not touched.
    None,
    /// Its queue entry is removed (it succeeded or failed for good).
    Remove,
    /// Its queue entry moves to this due time (and key).
    Reschedule { at: Millis, due_key: u64 },
    /// It was buffered and got through meanwhile: its buffer entry is removed.
    Unbuffer,
}

/// Adds an attempt's result to its delivery (keeping at most [`MAX_KEPT_ATTEMPTS`]) and
/// decides its next state: succeeded, due again by the retry policy (and the receiver's
/// `Retry-After`), or failed for good. `webhook` is the delivery's webhook as it is now (`None`
/// once deleted: a failure is then final). A `template_error` is final at once: the same event
/// renders the same way on every attempt.
pub fn apply_attempt(
    record: &mut DeliveryRecord,
    report: &AttemptReport,
    webhook: Option<&Webhook>,
    policy: &DeliveryPolicy,
) -> QueueChange {
    record.attempt_count += 1;
    record.attempts.push(AttemptRecord {
        number: record.attempt_count,
        date: report.date,
        duration_ms: report.duration_ms,
        outcome: report.outcome,
        status_code: report.status_code,
        response_body: report.response_body.clone(),
        error: report.error.clone(),
    });
    if record.attempts.len() > MAX_KEPT_ATTEMPTS {
        let excess = record.attempts.len() - MAX_KEPT_ATTEMPTS;
        record.attempts.drain(..excess);
    }
    let success = report.outcome.is_success();
    match record.status {
        DeliveryStatus::Pending => {
            let next = if success || report.outcome == Outcome::TemplateError {
                None
            } else {
                policy.retry.next_due(
                    record.attempt_count - record.series_start,
                    report.date,
                    random_unit(),
                    report.retry_after,
                )
            };
            match (success, next, webhook) {
                (true, _, _) => {
                    record.status = DeliveryStatus::Succeeded;
                    record.next_attempt = None;
                    QueueChange::Remove
                }
                (false, Some(at), Some(webhook)) => {
                    record.next_attempt = Some(at);
                    record.due_key = due_key(webhook.settings.ordered, at);
                    QueueChange::Reschedule {
                        at,
                        due_key: record.due_key,
                    }
                }
                (false, _, _) => {
                    record.status = DeliveryStatus::Failed;
                    record.next_attempt = None;
                    QueueChange::Remove
                }
            }
        }
        // Buffered by a deactivation while its attempt was running, and it got through.
        DeliveryStatus::Buffered if success => {
            record.status = DeliveryStatus::Succeeded;
            QueueChange::Unbuffer
        }
        _ => QueueChange::None,
    }
}

/// The webhook with its `failureCount` and `failingSince` kept in step with an attempt's
/// outcome; `None` when nothing changes (a success of a webhook that was not failing).
pub fn count_failure(webhook: &Webhook, success: bool, now: Millis) -> Option<Webhook> {
    if success {
        if webhook.failure_count == 0 && webhook.failing_since.is_none() && !webhook.failing_warned
        {
            return None;
        }
        // A success ends the failing streak, and with it its warning.
        Some(Webhook {
            failure_count: 0,
            failing_since: None,
            failing_warned: false,
            ..webhook.clone()
        })
    } else {
        Some(Webhook {
            failure_count: webhook.failure_count.saturating_add(1),
            failing_since: webhook.failing_since.or(Some(now)),
            ..webhook.clone()
        })
    }
}

/// Why `webhook` (its failure count already updated by the attempt in `report`) must be
/// deactivated now, in words (no URL, no payload: safe to log); `None` if it stays active.
/// A `410 Gone` deactivates at once; otherwise both thresholds must be met.
pub fn deactivation_reason(
    webhook: &Webhook,
    report: &AttemptReport,
    policy: &DeliveryPolicy,
) -> Option<String> {
    if report.gone {
        return Some("the endpoint answered 410 Gone".to_string());
    }
    let failing_long_enough = webhook
        .failing_since
        .is_some_and(|since| report.date - since >= policy.deactivate_after);
    (!report.outcome.is_success()
        && webhook.failure_count >= policy.after_failures
        && failing_long_enough)
        .then(|| {
            format!(
                "{} failed attempts in a row since {}; the last: {}",
                webhook.failure_count,
                webhook
                    .failing_since
                    .map(format_rfc3339)
                    .unwrap_or_default(),
                report.error.as_deref().unwrap_or(report.outcome.as_str())
            )
        })
}

/// Whether the attempt in `report` (already counted into `webhook`) calls for the early
/// warning: failed, the webhook active and not yet warned in this streak, at least
/// `warn_after_failures` failures in a row (0 turns the warning off), failing for at least
/// `warn_after`.
pub fn warning_due(webhook: &Webhook, report: &AttemptReport, policy: &DeliveryPolicy) -> bool {
    !report.outcome.is_success()
        && policy.warn_after_failures > 0
        && !webhook.failing_warned
        && !webhook.is_deactivated()
        && webhook.failure_count >= policy.warn_after_failures
        && webhook
            .failing_since
            .is_some_and(|since| report.date - since >= policy.warn_after)
}

/// Everything an early warning writes.
pub struct Warning {
    /// The webhook, marked as warned for this streak.
    pub webhook: Webhook,
    /// The notification's `message`, in the account's language.
    pub message: String,
    /// The system event's `data`.
    pub event_data: Vec<u8>,
}

/// What warning that `webhook` is failing writes, for an account speaking `language`.
pub fn warning(webhook: &Webhook, report: &AttemptReport, language: Lang) -> Warning {
    let since = webhook.failing_since.unwrap_or(report.date);
    let last_error = report
        .error
        .clone()
        .unwrap_or_else(|| report.outcome.as_str().to_string());
    let message = i18n::text(
        language,
        "notification-failing",
        &[
            ("name", webhook.settings.name.as_str().into()),
            ("url", webhook.settings.event_url.as_str().into()),
            ("count", webhook.failure_count.into()),
            ("since", i18n::long_date(language, since).into()),
            ("error", last_error.as_str().into()),
        ],
    );
    let event_data = json!({
        "webhookId": webhook.id,
        "webhookName": webhook.settings.name,
        "failureCount": webhook.failure_count,
        "failingSince": format_rfc3339(since),
        "lastError": last_error,
    })
    .to_string()
    .into_bytes();
    Warning {
        webhook: Webhook {
            failing_warned: true,
            ..webhook.clone()
        },
        message,
        event_data,
    }
}

/// Everything a deactivation writes besides moving the webhook's queue to its buffer.
pub struct Deactivation {
    /// The webhook as deactivated.
    pub webhook: Webhook,
    /// The one-click reactivation link.
    pub activation_url: String,
    /// The notification's `message`, in the account's language.
    pub message: String,
    /// The system event's `data`.
    pub event_data: Vec<u8>,
}

/// What deactivating `webhook` at `now` for `reason` writes, for an account speaking
/// `language`. The link expires with the buffer window and is signed with `signing_key`.
pub fn deactivation(
    webhook: &Webhook,
    reason: &str,
    now: Millis,
    policy: &DeliveryPolicy,
    language: Lang,
    signing_key: &[u8; 32],
) -> Deactivation {
    let activation_url = links::url(
        &policy.public_url,
        signing_key,
        LinkClaims {
            webhook_id: webhook.id,
            deactivated: now,
            expires: now + policy.buffer,
        },
    );
    let message = i18n::text(
        language,
        "notification-deactivated",
        &[
            ("name", webhook.settings.name.as_str().into()),
            ("url", webhook.settings.event_url.as_str().into()),
            ("reason", i18n::deactivation_reason(language, reason).into()),
            (
                "until",
                i18n::long_date(language, now + policy.buffer).into(),
            ),
        ],
    );
    let event_data = json!({
        "webhookId": webhook.id,
        "name": webhook.settings.name,
        "eventUrl": webhook.settings.event_url,
        "reason": reason,
        "deactivatedDate": format_rfc3339(now),
        "activationUrl": activation_url,
    })
    .to_string()
    .into_bytes();
    Deactivation {
        webhook: Webhook {
            status: WebhookStatus::Deactivated,
            deactivated: Some(now),
            deactivation_reason: Some(reason.to_string()),
            ..webhook.clone()
        },
        activation_url,
        message,
        event_data,
    }
}

/// The webhook as an activation leaves it: active, its failures and deactivation forgotten.
pub fn activated(webhook: &Webhook) -> Webhook {
    Webhook {
        status: WebhookStatus::Active,
        failure_count: 0,
        failing_since: None,
        deactivated: None,
        deactivation_reason: None,
        failing_warned: false,
        ..webhook.clone()
    }
}

/// What an activation does to one buffered delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unbuffered {
    /// Older than the buffer window: `expired`.
    Expired,
    /// Scheduled now as a fresh series, under this due key.
    Replayed { due_key: u64 },
    /// Dropped: `cancelled`.
    Dropped,
}

/// Applies an activation (with or without `replay`) at `now` to a buffered delivery of
/// `webhook` (as activated).
pub fn unbuffer(
    record: &mut DeliveryRecord,
    webhook: &Webhook,
    replay: bool,
    now: Millis,
    buffer_window: Millis,
) -> Unbuffered {
    if record.created < now - buffer_window {
        record.status = DeliveryStatus::Expired;
        Unbuffered::Expired
    } else if replay {
        send_again(record, webhook, now);
        Unbuffered::Replayed {
            due_key: record.due_key,
        }
    } else {
        record.status = DeliveryStatus::Cancelled;
        Unbuffered::Dropped
    }
}

/// Schedules a delivery of `webhook` again, due `now`: a finished (or buffered) delivery
/// starts a fresh series of attempts — the retry schedule from the start, attempt numbers
/// continuing — and a pending one keeps its series and is moved to now. The caller moves its
/// due-queue entry to the record's new `due_key`.
pub fn send_again(record: &mut DeliveryRecord, webhook: &Webhook, now: Millis) {
    if record.status != DeliveryStatus::Pending {
        record.series_start = record.attempt_count;
    }
    record.status = DeliveryStatus::Pending;
    record.next_attempt = Some(now);
    record.due_key = due_key(webhook.settings.ordered, now);
}

/// The statuses a replay may send again: finished deliveries. (Pending ones are on their way;
/// buffered ones wait for an activation.)
pub const REPLAYABLE: [DeliveryStatus; 4] = [
    DeliveryStatus::Failed,
    DeliveryStatus::Expired,
    DeliveryStatus::Succeeded,
    DeliveryStatus::Cancelled,
];

/// The refusal of a replay of a deactivated webhook: its deliveries wait in the buffer, and an
/// activation (with `replayEvents`) is what sends them.
pub fn replay_refused_while_deactivated() -> Error {
    Error::Conflict(
        "the webhook is deactivated; activate it (with replayEvents) to deliver its buffered events"
            .into(),
    )
}

/// Whether an activation link issued for the deactivation at `deactivated` still applies to
/// `webhook`: it works once, and only while that very deactivation lasts.
pub fn link_still_applies(webhook: &Webhook, deactivated: Millis) -> bool {
    webhook.is_deactivated() && webhook.deactivated == Some(deactivated)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::ids::{AccountId, DeliveryId, WebhookId};
    use crate::model::WebhookSettings;
    use crate::retry::RetryPolicy;

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            retry: RetryPolicy::new(vec![Duration::from_secs(5)]),
            after_failures: 3,
            deactivate_after: 60_000,
            buffer: 3_600_000,
            warn_after_failures: 2,
            warn_after: 5_000,
            public_url: "https://hooks.example.com".into(),
        }
    }

    fn webhook(ordered: bool) -> Webhook {
        Webhook {
            id: WebhookId::from_u128(7),
            account_id: AccountId::parse("acc").unwrap(),
            created: 0,
            updated: 0,
            version: 1,
            user_identifier: "admin".into(),
            settings: WebhookSettings {
                name: "hook".into(),
                enabled: true,
                event_url: "https://receiver.example.com/".into(),
                event_list: vec!["*".into()],
                description: None,
                headers: BTreeMap::new(),
                rate_limit: None,
                ordered,
                auth: None,
                filter: None,
                template: None,
                signature: Default::default(),
            },
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            previous_secret: None,
            key_pair: None,
            previous_key_pair: None,
            status: WebhookStatus::Active,
            deactivated: None,
            deactivation_reason: None,
            failure_count: 0,
            failing_since: None,
            failing_warned: false,
        }
    }

    fn report(outcome: Outcome, date: Millis) -> AttemptReport {
        AttemptReport {
            account_seq: 1,
            delivery_id: DeliveryId::from_u128(9),
            webhook_id: WebhookId::from_u128(7),
            date,
            duration_ms: 1,
            outcome,
            status_code: None,
            response_body: None,
            error: Some("refused".into()),
            retry_after: None,
            gone: false,
        }
    }

    fn pending() -> DeliveryRecord {
        let event = NewEvent {
            event_type: "a.b".into(),
            data: b"{}".to_vec(),
            idempotency_key: None,
        };
        new_delivery(EventId::from_u128(1), &event, &webhook(false), 1_000)
    }

    #[test]
    fn an_attempt_moves_its_delivery_by_the_schedule() {
        let hook = webhook(false);
        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::Timeout, 2_000),
            Some(&hook),
            &policy(),
        );
        assert!(matches!(change, QueueChange::Reschedule { at, .. } if at > 2_000));
        assert_eq!(record.status, DeliveryStatus::Pending);
        // The schedule has two attempts: the second failure is final.
        let change = apply_attempt(
            &mut record,
            &report(Outcome::Timeout, 9_000),
            Some(&hook),
            &policy(),
        );
        assert_eq!(change, QueueChange::Remove);
        assert_eq!(record.status, DeliveryStatus::Failed);
        assert_eq!(record.attempts.len(), 2);
        assert_eq!(record.attempts[1].number, 2);

        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::Success, 2_000),
            Some(&hook),
            &policy(),
        );
        assert_eq!(change, QueueChange::Remove);
        assert_eq!(record.status, DeliveryStatus::Succeeded);
        // A deleted webhook's failure is final.
        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::HttpError, 2_000),
            None,
            &policy(),
        );
        assert_eq!(change, QueueChange::Remove);
        assert_eq!(record.status, DeliveryStatus::Failed);
        // A delivery buffered while its attempt ran and got through leaves the buffer.
        let mut record = pending();
        record.status = DeliveryStatus::Buffered;
        let change = apply_attempt(
            &mut record,
            &report(Outcome::Success, 2_000),
            Some(&hook),
            &policy(),
        );
        assert_eq!(change, QueueChange::Unbuffer);
        assert_eq!(record.status, DeliveryStatus::Succeeded);
        // An ordered webhook's rescheduled delivery keeps its place in event order.
        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::Timeout, 2_000),
            Some(&webhook(true)),
            &policy(),
        );
        assert!(matches!(change, QueueChange::Reschedule { due_key: 0, .. }));
        // A template error is not retried; an auth error is, like any failure.
        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::TemplateError, 2_000),
            Some(&hook),
            &policy(),
        );
        assert_eq!(change, QueueChange::Remove);
        assert_eq!(record.status, DeliveryStatus::Failed);
        let mut record = pending();
        let change = apply_attempt(
            &mut record,
            &report(Outcome::AuthError, 2_000),
            Some(&hook),
            &policy(),
        );
        assert!(matches!(change, QueueChange::Reschedule { .. }));
        // Both count as failed attempts.
        for outcome in [Outcome::TemplateError, Outcome::AuthError] {
            assert_eq!(
                count_failure(&hook, outcome.is_success(), 1)
                    .unwrap()
                    .failure_count,
                1
            );
        }
    }

    #[test]
    fn filters_choose_among_subscribers_and_errors_are_counted_not_matched() {
        let with_filter = |id: u128, filter: Option<&str>| {
            let mut hook = webhook(false);
            hook.id = WebhookId::from_u128(id);
            hook.settings.filter = filter.map(str::to_string);
            Arc::new(hook)
        };
        let hooks = [
            with_filter(1, None),
            with_filter(2, Some("data.total >= 100")),
            with_filter(3, Some("data.missing == 1")),
            with_filter(4, Some("type == 'a.b' && account == 'acc'")),
        ];
        let mut catalog = crate::store::catalog::Catalog::default();
        catalog.accounts.insert(
            AccountId::parse("acc").unwrap(),
            Arc::new(crate::store::catalog::AccountEntry {
                account: crate::model::Account {
                    id: AccountId::parse("acc").unwrap(),
                    name: "acc".into(),
                    created: 0,
                    updated: 0,
                    seq: 1,
                    language: Lang::En,
                },
                tokens: Default::default(),
                webhooks: Default::default(),
            }),
        );
        for hook in &hooks {
            catalog.put_webhook(hook.clone());
        }
        assert_eq!(catalog.filters.len(), 3);
        let account = AccountId::parse("acc").unwrap();
        let event = |data: &str| NewEvent {
            event_type: "a.b".into(),
            data: data.as_bytes().to_vec(),
            idempotency_key: None,
        };
        let ids = |out: &FannedOut| -> Vec<u128> {
            out.webhooks.iter().map(|w| w.id.as_u128()).collect()
        };
        let out = fan_out(
            &hooks,
            &catalog.filters,
            &account,
            &event(r#"{"total": 150}"#),
            FanOut::Subscribers,
        );
        assert_eq!((ids(&out), out.filter_errors), (vec![1, 2, 4], 1));
        let out = fan_out(
            &hooks,
            &catalog.filters,
            &account,
            &event(r#"{"total": 5}"#),
            FanOut::Subscribers,
        );
        assert_eq!((ids(&out), out.filter_errors), (vec![1, 4], 1));
        // Data a filter cannot read is an error for every filter, not a match.
        let out = fan_out(
            &hooks,
            &catalog.filters,
            &account,
            &event("[1,"),
            FanOut::Subscribers,
        );
        assert_eq!((ids(&out), out.filter_errors), (vec![1], 3));
        // Test events go to their webhook whatever its filter.
        let out = fan_out(
            &hooks,
            &catalog.filters,
            &account,
            &event("{}"),
            FanOut::Only(WebhookId::from_u128(3)),
        );
        assert_eq!((ids(&out), out.filter_errors), (vec![3], 0));
        // A filter that was not compiled (refused by this build) matches nothing.
        let out = fan_out(
            &hooks,
            &Default::default(),
            &account,
            &event(r#"{"total": 150}"#),
            FanOut::Subscribers,
        );
        assert_eq!((ids(&out), out.filter_errors), (vec![1], 3));
        // The compiled filter is kept while the text stays, replaced when it changes.
        let before = catalog.filters[&WebhookId::from_u128(2)].clone();
        let mut failing = (*hooks[1]).clone();
        failing.failure_count = 3;
        catalog.put_webhook(Arc::new(failing.clone()));
        assert!(Arc::ptr_eq(
            &before,
            &catalog.filters[&WebhookId::from_u128(2)]
        ));
        failing.settings.filter = Some("data.total < 100".into());
        catalog.put_webhook(Arc::new(failing.clone()));
        assert_eq!(
            catalog.filters[&WebhookId::from_u128(2)].source(),
            "data.total < 100"
        );
        failing.settings.filter = None;
        catalog.put_webhook(Arc::new(failing));
        assert!(!catalog.filters.contains_key(&WebhookId::from_u128(2)));
        catalog.remove_webhook(&account, WebhookId::from_u128(3));
        assert!(!catalog.filters.contains_key(&WebhookId::from_u128(3)));
    }

    #[test]
    fn webhooks_get_a_key_pair_and_rotation_keeps_the_old_keys_a_day() {
        let created = new_webhook(
            WebhookId::from_u128(3),
            AccountId::parse("acc").unwrap(),
            webhook(false).settings,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            "admin".into(),
            1_000,
        );
        assert_eq!(created.version, 1);
        let key_pair = created.key_pair.clone().expect("a key pair from the start");
        assert!(SigningKeyPair::from_pkcs8(&key_pair.0).is_ok());
        // A webhook stored by an earlier build gets one at its first update.
        let earlier = webhook(false);
        assert!(earlier.key_pair.is_none());
        let updated = updated_webhook(&earlier, earlier.settings.clone(), 2_000);
        assert_eq!((updated.version, updated.updated), (2, 2_000));
        assert!(updated.key_pair.is_some());
        assert_eq!(
            updated_webhook(&created, created.settings.clone(), 3_000).key_pair,
            created.key_pair
        );
        let rotated = rotated_webhook(&created, "whsec_new".into(), 5_000);
        assert_eq!(rotated.secret, "whsec_new");
        let previous = rotated.previous_secret.as_ref().unwrap();
        assert_eq!(previous.secret, created.secret);
        assert_eq!(previous.until, 5_000 + PREVIOUS_SECRET_GRACE_MS);
        let previous_pair = rotated.previous_key_pair.as_ref().unwrap();
        assert_eq!(previous_pair.key_pair, key_pair);
        assert_eq!(previous_pair.until, 5_000 + PREVIOUS_SECRET_GRACE_MS);
        assert_ne!(rotated.key_pair, Some(key_pair));
        assert_eq!(rotated.version, created.version);
    }

    #[test]
    fn deactivation_needs_both_thresholds_or_a_410() {
        let policy = policy();
        let mut hook = webhook(false);
        for (n, at) in [(1, 0), (2, 10_000), (3, 20_000)] {
            hook = count_failure(&hook, false, at).unwrap();
            assert_eq!(hook.failure_count, n);
            assert_eq!(hook.failing_since, Some(0));
        }
        // Three failures, but not yet failing for a minute.
        assert_eq!(
            deactivation_reason(&hook, &report(Outcome::Timeout, 20_000), &policy),
            None
        );
        let reason =
            deactivation_reason(&hook, &report(Outcome::Timeout, 60_000), &policy).unwrap();
        assert!(
            reason.starts_with("3 failed attempts in a row since"),
            "{reason}"
        );
        assert!(reason.ends_with("the last: refused"), "{reason}");
        let mut gone = report(Outcome::HttpError, 1);
        gone.gone = true;
        assert!(deactivation_reason(&webhook(false), &gone, &policy).is_some());
        // A success ends the streak; a success of a healthy webhook changes nothing.
        let healthy = count_failure(&hook, true, 70_000).unwrap();
        assert_eq!((healthy.failure_count, healthy.failing_since), (0, None));
        assert!(count_failure(&healthy, true, 80_000).is_none());
    }

    #[test]
    fn activation_replays_drops_or_expires_each_buffered_delivery() {
        let hook = webhook(true);
        let deactivation = deactivation(&hook, "gone", 5_000, &policy(), Lang::En, &[1; 32]);
        assert!(deactivation.webhook.is_deactivated());
        assert!(link_still_applies(&deactivation.webhook, 5_000));
        assert!(!link_still_applies(&deactivation.webhook, 5_001));
        let active = activated(&deactivation.webhook);
        assert!(!active.is_deactivated() && active.deactivated.is_none());
        let mut record = pending();
        record.status = DeliveryStatus::Buffered;
        record.attempt_count = 4;
        assert_eq!(
            unbuffer(&mut record.clone(), &active, true, 2_000, 60_000),
            Unbuffered::Replayed { due_key: 0 }
        );
        let mut replayed = record.clone();
        unbuffer(&mut replayed, &active, true, 2_000, 60_000);
        assert_eq!(
            (replayed.status, replayed.series_start),
            (DeliveryStatus::Pending, 4)
        );
        assert_eq!(
            unbuffer(&mut record.clone(), &active, false, 2_000, 60_000),
            Unbuffered::Dropped
        );
        assert_eq!(
            unbuffer(&mut record, &active, true, 100_000, 60_000),
            Unbuffered::Expired
        );
        assert_eq!(record.status, DeliveryStatus::Expired);
    }
}
