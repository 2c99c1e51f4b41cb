//! The operator's channel: deactivation notices and early warnings POSTed to
//! `notifications.url`, signed with `notifications.secret` exactly like a delivery.

use std::time::Duration;

use crate::dispatch::client::{Attempt, DeliveryClient, Outcome};
use crate::dispatch::signature::signature_header;

use crate::api::views::NotificationView;
use crate::store::{Deactivated, FAILING_EVENT, Warned};
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
    /// POSTs a deactivation: the system event's envelope, as receivers get it.
    pub async fn send(&self, notice: &Deactivated) {
        self.post(
            &notice.event_id.to_string(),
            crate::store::DEACTIVATED_EVENT,
            bytes::Bytes::from(notice.envelope.clone()),
        )
        .await;
    }

    /// POSTs an early warning: the notification as the API shows it.
    pub async fn send_warning(&self, warned: &Warned) {
        let view = NotificationView::new(warned.notification_id, &warned.notification);
        match serde_json::to_vec(&view) {
            Ok(body) => {
                self.post(
                    &warned.notification_id.to_string(),
                    FAILING_EVENT,
                    bytes::Bytes::from(body),
                )
                .await;
            }
            Err(e) => tracing::error!(error = %e, "cannot encode a notification"),
        }
    }

    /// POSTs `body` signed like a delivery (with `notifications.secret`), retrying briefly.
    async fn post(&self, msg_id: &str, event_type: &str, body: bytes::Bytes) {
        for attempt in 1..=ATTEMPTS {
            let timestamp = now_millis().div_euclid(1000);
            let mut headers = vec![
                ("webhook-id".to_string(), msg_id.to_string()),
                ("webhook-timestamp".to_string(), timestamp.to_string()),
                ("hookd-event-type".to_string(), event_type.to_string()),
            ];
            if let Some(secret) = &self.secret
                && let Some(signature) = signature_header(secret, None, msg_id, timestamp, &body)
            {
                headers.push(("webhook-signature".to_string(), signature));
            }
            let result = self
                .client
                .send(Attempt {
                    url: &self.url,
                    headers: &headers,
                    body: body.clone(),
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
