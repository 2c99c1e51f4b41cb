//! The operator's channel: the deactivation notice POSTed to `notifications.url`, signed with
//! `notifications.secret` exactly like a delivery.

use std::time::Duration;

use crate::dispatch::client::{Attempt, DeliveryClient, Outcome};
use crate::dispatch::signature::signature_header;

use crate::store::Deactivated;
use crate::time::now_millis;

/// Attempts per notice; the notice is also stored and listed, so this channel is best effort.
const ATTEMPTS: u32 = 3;

/// Where notices go.
#[derive(Clone)]
pub struct Notifier {
    pub client: DeliveryClient,
    pub url: String,
    pub secret: Option<String>,
}

impl Notifier {
    /// POSTs the system event's envelope, retrying briefly on failure.
    pub async fn send(&self, notice: &Deactivated) {
        let msg_id = notice.event_id.to_string();
        for attempt in 1..=ATTEMPTS {
            let timestamp = now_millis().div_euclid(1000);
            let mut headers = vec![
                ("webhook-id".to_string(), msg_id.clone()),
                ("webhook-timestamp".to_string(), timestamp.to_string()),
                (
                    "hookd-event-type".to_string(),
                    crate::store::DEACTIVATED_EVENT.to_string(),
                ),
            ];
            if let Some(secret) = &self.secret
                && let Some(signature) =
                    signature_header(secret, None, &msg_id, timestamp, &notice.envelope)
            {
                headers.push(("webhook-signature".to_string(), signature));
            }
            let result = self
                .client
                .send(Attempt {
                    url: &self.url,
                    headers: &headers,
                    body: bytes::Bytes::from(notice.envelope.clone()),
                })
                .await;
            if result.outcome == Outcome::Success {
                return;
            }
            tracing::warn!(
                attempt,
                outcome = result.outcome.as_str(),
                "cannot deliver a notification to notifications.url"
            );
            tokio::time::sleep(Duration::from_secs(u64::from(attempt) * 2)).await;
        }
    }
}
