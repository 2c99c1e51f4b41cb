//! One delivery attempt: authenticate, render, sign, send, record the result, free the slot.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use super::notify::Notifier;
use super::prepared::{AuthHeader, Prepared, PreparedCache};
use super::read_ahead::ReadAhead;
use super::{Shared, Signal};
use crate::dispatch::client::{Attempt, AttemptResult, DeliveryClient, Outcome, SendOptions};
use crate::dispatch::oauth2::TokenCache;
use crate::dispatch::signature::{SigningKeys, build_signature_header};
use crate::ids::WebhookId;
use crate::metrics::Metrics;
use crate::model::Webhook;
use crate::store::{AttemptReport, Deactivated, DeliveryPolicy, DueItem, Store, Warned};
use crate::time::now_millis;

/// What every attempt needs, shared.
pub(super) struct AttemptContext {
    pub store: Store,
    pub client: DeliveryClient,
    /// OAuth2 tokens of the webhooks that authenticate with them.
    pub tokens: TokenCache,
    /// Templates, certificates, credentials and key pairs, once per webhook version.
    pub prepared: PreparedCache,
    /// The largest rendered body (`limits.max_event_bytes` × 4).
    pub max_rendered_bytes: usize,
    pub policy: Arc<DeliveryPolicy>,
    pub notifier: Option<Notifier>,
    pub metrics: Arc<Metrics>,
    pub signals: super::mailbox::Mailbox,
    pub shared: Arc<Shared>,
}

/// The headers of one attempt: Standard Webhooks (signing `body`, the bytes sent, with the
/// webhook's schemes and, during a rotation, its previous keys too), hookd's own, the
/// webhook's custom ones, then `authorization` (which wins over a custom one of that name).
pub fn request_headers(
    webhook: &Webhook,
    prepared: &Prepared,
    item: &DueItem,
    body: &[u8],
    now_ms: i64,
    authorization: Option<String>,
) -> Vec<(String, String)> {
    let msg_id = item.event_id.to_string();
    let timestamp = now_ms.div_euclid(1000);
    let scheme = webhook.settings.signature;
    let previous_secret = webhook
        .previous_secret
        .as_ref()
        .filter(|p| p.until > now_ms)
        .map(|p| p.secret.as_str());
    let previous_key_pair = prepared
        .previous_key_pair
        .as_ref()
        .filter(|(_, until)| *until > now_ms)
        .map(|(pair, _)| pair);
    let keys = SigningKeys {
        secret: scheme.symmetric().then_some(webhook.secret.as_str()),
        previous_secret: previous_secret.filter(|_| scheme.symmetric()),
        key_pair: prepared.key_pair.as_ref().filter(|_| scheme.asymmetric()),
        previous_key_pair: previous_key_pair.filter(|_| scheme.asymmetric()),
    };
    let mut headers = Vec::with_capacity(7 + webhook.settings.headers.len());
    if let Some(signature) = build_signature_header(&keys, &msg_id, timestamp, body) {
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
        if authorization.is_some() && name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        headers.push((name.clone(), value.clone()));
    }
    if let Some(authorization) = authorization {
        headers.push(("authorization".to_string(), authorization));
    }
    headers
}

/// An attempt that ended before any request was sent: no status, the reason in `error`.
fn not_sent(outcome: Outcome, error: String, began: Instant) -> AttemptResult {
    AttemptResult {
        outcome,
        status_code: None,
        response_body: None,
        error: Some(error),
        duration_ms: began.elapsed().as_millis() as u64,
        retry_after: None,
        gone: false,
    }
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

    /// Tells the world a webhook is failing (the early warning): the log and the operator's
    /// channel (the system event's deliveries reach the scheduler from the writer).
    fn warn(&self, warned: Warned) {
        tracing::warn!(
            account = %warned.notification.account_id,
            webhook = %warned.notification.webhook_id,
            "webhook failing"
        );
        if let Some(notifier) = self.notifier.clone() {
            tokio::spawn(async move { notifier.send_warning(&warned).await });
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

    /// The webhook prepared as it is now (entries of deleted webhooks are dropped, with their
    /// tokens, as the cache grows).
    fn prepared(&self, webhook: &Webhook) -> Arc<Prepared> {
        self.prepared.get(
            webhook,
            |id| self.store.webhook_by_id(id).is_some(),
            |id| self.tokens.forget(id.as_u128()),
        )
    }

    /// Everything up to the response: the body (rendered when the webhook has a template),
    /// the credentials (an OAuth2 token, fetched or cached), the signed headers, the request
    /// with the webhook's client certificate.
    async fn exchange(&self, webhook: &Webhook, item: &DueItem, started: i64) -> AttemptResult {
        let began = Instant::now();
        let prepared = self.prepared(webhook);
        let (body, content_type): (Bytes, Option<String>) = match prepared.body(
            item.event_id,
            &item.event_type,
            &item.envelope,
            self.max_rendered_bytes,
        ) {
            Ok(body) => body,
            Err(why) => return not_sent(Outcome::TemplateError, why, began),
        };
        let authorization = match &prepared.auth {
            AuthHeader::None => None,
            AuthHeader::Fixed(value) => Some(value.clone()),
            AuthHeader::OAuth2(config) => {
                match self.tokens.get_token(webhook.id.as_u128(), config).await {
                    Ok(token) => Some(format!("Bearer {token}")),
                    Err(why) => return not_sent(Outcome::AuthError, why.0, began),
                }
            }
        };
        let identity = match &prepared.identity {
            None => None,
            Some(Ok(identity)) => Some(identity),
            Some(Err(why)) => return not_sent(Outcome::TlsError, why.clone(), began),
        };
        let headers = request_headers(webhook, &prepared, item, &body, started, authorization);
        let result = self
            .client
            .send_with(
                Attempt {
                    url: &webhook.settings.event_url,
                    headers: &headers,
                    body,
                },
                &SendOptions {
                    identity,
                    content_type: content_type.as_deref(),
                },
            )
            .await;
        if matches!(prepared.auth, AuthHeader::OAuth2(_)) && result.status_code == Some(401) {
            // The receiver refused the token: the next attempt fetches a new one.
            self.tokens.invalidate(webhook.id.as_u128());
        }
        result
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
        let exchange = self.exchange(&webhook, &item, started);
        let result: Option<AttemptResult> = tokio::select! {
            result = exchange => Some(result),
            _ = cancel.wait_for(|cancelled| *cancelled) => None,
        };
        if let Some(result) = result {
            self.metrics.attempt(result.outcome, result.duration_ms);
            self.store.attempt_over(item.delivery_id).await;
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
                    if let Some(warned) = recorded.warned {
                        self.warn(warned);
                    }
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
