//! One delivery attempt: sign, send, record the result, free the slot.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::notify::Notifier;
use super::read_ahead::ReadAhead;
use super::{Shared, Signal};
use crate::dispatch::client::{Attempt, AttemptResult, DeliveryClient};
use crate::dispatch::signature::signature_header;
use crate::ids::WebhookId;
use crate::metrics::Metrics;
use crate::model::Webhook;
use crate::store::{AttemptReport, Deactivated, DeliveryPolicy, DueItem, Store};
use crate::time::now_millis;

/// What every attempt needs, shared.
pub(super) struct AttemptContext {
    pub store: Store,
    pub client: DeliveryClient,
    pub policy: Arc<DeliveryPolicy>,
    pub notifier: Option<Notifier>,
    pub metrics: Arc<Metrics>,
    pub signals: super::mailbox::Mailbox,
    pub shared: Arc<Shared>,
}

/// The headers of one attempt: Standard Webhooks, hookd's own, then the webhook's custom ones.
pub fn request_headers(webhook: &Webhook, item: &DueItem, now_ms: i64) -> Vec<(String, String)> {
    let msg_id = item.event_id.to_string();
    let timestamp = now_ms.div_euclid(1000);
    let previous = webhook
        .previous_secret
        .as_ref()
        .filter(|p| p.until > now_ms)
        .map(|p| p.secret.as_str());
    let mut headers = Vec::with_capacity(6 + webhook.settings.headers.len());
    if let Some(signature) = signature_header(
        &webhook.secret,
        previous,
        &msg_id,
        timestamp,
        &item.envelope,
    ) {
        headers.push(("webhook-signature".to_string(), signature));
    }
    headers.push(("webhook-id".to_string(), msg_id));
    headers.push(("webhook-timestamp".to_string(), timestamp.to_string()));
    headers.push(("hookd-event-type".to_string(), item.event_type.clone()));
    headers.push((
        "hookd-delivery-id".to_string(),
        item.delivery_id.to_string(),
    ));
    headers.push(("hookd-attempt".to_string(), item.attempt_number.to_string()));
    for (name, value) in &webhook.settings.headers {
        headers.push((name.clone(), value.clone()));
    }
    headers
}

/// Starts an attempt as its own task on `runtime`, counted in the attempts running (shutdown
/// waits for them). A plain function (not inside `run`) so that `run`'s future, which may
/// start the next attempt, does not have to name its own type to be `Send`.
pub(super) fn spawn_attempt(
    runtime: &tokio::runtime::Handle,
    attempts: Arc<AttemptContext>,
    webhook: Arc<Webhook>,
    webhook_id: WebhookId,
    item: DueItem,
    read_ahead: Arc<ReadAhead>,
) {
    attempts.shared.in_flight.fetch_add(1, Ordering::AcqRel);
    let attempt: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
        Box::pin(attempts.run(webhook, webhook_id, item, read_ahead));
    runtime.spawn(attempt);
}

impl AttemptContext {
    /// Tells the world a webhook was deactivated: the log and the operator's channel (the
    /// system event's deliveries reach the scheduler from the writer, like every ingest).
    fn announce(&self, deactivated: Deactivated) {
        self.metrics.deactivation();
        self.metrics.filter_errors(deactivated.filter_errors);
        tracing::warn!(
            account = %deactivated.account_id,
            webhook = %deactivated.webhook_id,
            reason = %deactivated.reason,
            "webhook deactivated"
        );
        if let Some(notifier) = self.notifier.clone() {
            tokio::spawn(async move { notifier.send(&deactivated).await });
        }
    }

    /// Takes the next delivery read ahead for this webhook, to start in the slot an attempt
    /// frees, if the webhook (as it is now) still reads ahead and hookd is not stopping.
    fn take_next(
        &self,
        webhook_id: WebhookId,
        read_ahead: &ReadAhead,
    ) -> Option<(Arc<Webhook>, DueItem)> {
        if *self.shared.stop.borrow() {
            return None;
        }
        let webhook = self.store.webhook_by_id(webhook_id)?;
        if webhook.is_paused() || !webhook.reads_ahead() {
            return None;
        }
        Some((webhook, read_ahead.take()?))
    }

    /// Runs one attempt to the end: the result is durable before the slot is given back.
    pub(super) async fn run(
        self: Arc<Self>,
        webhook: Arc<Webhook>,
        webhook_id: WebhookId,
        item: DueItem,
        read_ahead: Arc<ReadAhead>,
    ) {
        let mut cancel = self.shared.cancel.subscribe();
        let started = now_millis();
        let headers = request_headers(&webhook, &item, started);
        let send = self.client.send(Attempt {
            url: &webhook.settings.event_url,
            headers: &headers,
            body: item.envelope.clone(),
        });
        let result: Option<AttemptResult> = tokio::select! {
            result = send => Some(result),
            _ = cancel.wait_for(|cancelled| *cancelled) => None,
        };
        if let Some(result) = result {
            self.metrics.attempt(result.outcome, result.duration_ms);
            // An ordered webhook's next delivery waits until a failure is rescheduled; anything
            // else frees its slot now, while the result is being committed.
            if result.outcome.is_success() || !webhook.settings.ordered {
                let next = self.take_next(webhook_id, &read_ahead);
                // Sent before the next attempt starts, so the scheduler moves its claim in
                // flight before it can hear of that attempt's end (see `read_ahead.rs`).
                self.signals.send(Signal::Finished {
                    webhook: webhook_id,
                    delivery: item.delivery_id,
                    next: next.as_ref().map(|(_, next)| next.delivery_id),
                });
                if let Some((webhook, next)) = next {
                    spawn_attempt(
                        &tokio::runtime::Handle::current(),
                        self.clone(),
                        webhook,
                        webhook_id,
                        next,
                        read_ahead.clone(),
                    );
                }
            }
            if !result.outcome.is_success() {
                tracing::info!(
                    webhook = %webhook.id,
                    delivery = %item.delivery_id,
                    attempt = item.attempt_number,
                    outcome = result.outcome.as_str(),
                    status = result.status_code,
                    "delivery attempt failed"
                );
            }
            let report = AttemptReport {
                account_seq: item.account_seq,
                delivery_id: item.delivery_id,
                webhook_id,
                date: started,
                duration_ms: result.duration_ms,
                outcome: result.outcome,
                status_code: result.status_code,
                response_body: result.response_body,
                error: result.error,
                retry_after: result.retry_after,
                gone: result.gone,
            };
            // An ordered webhook's next delivery waits for this record; others do not.
            let patient = !webhook.settings.ordered;
            match self
                .store
                .record_attempt(report, self.policy.clone(), patient)
                .await
            {
                Ok(recorded) => {
                    if let Some(deactivated) = recorded.deactivated {
                        self.announce(deactivated);
                    }
                }
                // The due entry stays: the attempt is made again (at-least-once).
                Err(e) => tracing::error!(error = %e, "cannot record a delivery attempt"),
            }
        }
        self.signals.send(Signal::Done {
            webhook: webhook_id,
            delivery: item.delivery_id,
        });
        if self.shared.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.idle.notify_waiters();
        }
    }
}
