//! What the attempts of one webhook need beyond its record, prepared once per webhook version
//! rather than per attempt: the parsed body template, the client certificate of an mtls
//! webhook, the fixed `Authorization` value or the OAuth2 configuration, and the loaded
//! Ed25519 key pairs.
//!
//! A webhook's settings change only with a new `version`, and its secret and key pairs only
//! with a rotation, which sets `updated`; a prepared entry is reused while both are what it
//! was made from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dispatch::client::ClientIdentity;
use crate::dispatch::oauth2::OAuth2Config;
use crate::dispatch::signature::SigningKeyPair;
use crate::ids::{EventId, WebhookId};
use crate::model::{Auth, Webhook};
use crate::receivers::pem;
use crate::receivers::template::{EventView, Template};
use crate::time::Millis;

/// How an attempt authenticates to the receiver.
pub enum AuthHeader {
    /// No `Authorization` header.
    None,
    /// A value fixed by the webhook (basic, bearer). A credential: never logged.
    Fixed(String),
    /// A bearer token from the token endpoint, through the token cache.
    OAuth2(OAuth2Config),
}

/// One webhook version, ready for its attempts. Deliberately not `Debug`: it holds
/// credentials.
pub struct Prepared {
    version: u64,
    updated: Millis,
    pub auth: AuthHeader,
    /// The client certificate of an mtls webhook; `Err` when the stored one cannot be loaded
    /// (the attempt is then a `tls_error`).
    pub identity: Option<Result<ClientIdentity, String>>,
    /// The body template; `Err` when the stored one no longer parses (`template_error`).
    pub template: Option<Result<Template, String>>,
    pub key_pair: Option<SigningKeyPair>,
    /// The key pair rotated out and until when it still signs.
    pub previous_key_pair: Option<(SigningKeyPair, Millis)>,
}

impl Prepared {
    /// Prepares `webhook` as it is now.
    pub fn new(webhook: &Webhook) -> Prepared {
        let settings = &webhook.settings;
        let auth = match &settings.auth {
            None | Some(Auth::Mtls(_)) => AuthHeader::None,
            Some(Auth::Basic { username, password }) => AuthHeader::Fixed(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{}", password.expose()))
            )),
            Some(Auth::Bearer { token }) => AuthHeader::Fixed(format!("Bearer {}", token.expose())),
            Some(Auth::OAuth2(o)) => AuthHeader::OAuth2(OAuth2Config {
                token_url: o.token_url.clone(),
                client_id: o.client_id.clone(),
                client_secret: o.client_secret.expose().to_string(),
                scope: o.scope.clone(),
                audience: o.audience.clone(),
            }),
        };
        let identity = match &settings.auth {
            // Expiry was checked when it was saved; a certificate that expired since is
            // presented anyway, and the receiver's refusal is the attempt's `tls_error`.
            Some(Auth::Mtls(m)) => Some(
                pem::parse_client_certificate(&m.certificate, m.private_key.expose(), i64::MIN)
                    .map(|certificate| ClientIdentity::new(&certificate))
                    .map_err(|e| format!("the stored client certificate is unusable: {e}")),
            ),
            _ => None,
        };
        let template = settings.template.as_ref().map(|spec| {
            spec.compile()
                .map_err(|e| format!("the stored template is unusable: {e}"))
        });
        let load = |document: &[u8]| SigningKeyPair::from_pkcs8(document).ok();
        Prepared {
            version: webhook.version,
            updated: webhook.updated,
            auth,
            identity,
            template,
            key_pair: webhook.key_pair.as_ref().and_then(|k| load(&k.0)),
            previous_key_pair: webhook
                .previous_key_pair
                .as_ref()
                .and_then(|p| Some((load(&p.key_pair.0)?, p.until))),
        }
    }

    /// Whether this was prepared from `webhook` as it is now.
    fn is_for(&self, webhook: &Webhook) -> bool {
        self.version == webhook.version && self.updated == webhook.updated
    }

    /// The body to send and its content type (`None`: the client's `application/json`): the
    /// envelope as stored, or the template rendered for the event, at most `max_bytes` long.
    /// An error is the attempt's `template_error`.
    pub fn body(
        &self,
        event_id: EventId,
        event_type: &str,
        envelope: &Bytes,
        max_bytes: usize,
    ) -> Result<(Bytes, Option<String>), String> {
        let template = match &self.template {
            None => return Ok((envelope.clone(), None)),
            Some(Ok(template)) => template,
            Some(Err(why)) => return Err(why.clone()),
        };
        let parts: EnvelopeParts<'_> = serde_json::from_slice(envelope)
            .map_err(|e| format!("the stored event does not read: {e}"))?;
        let id = event_id.to_string();
        let view = EventView {
            id: &id,
            event_type,
            timestamp: &parts.timestamp,
            account: &parts.account,
            data: parts.data.get().as_bytes(),
        };
        let rendered = template.render(&view, max_bytes)?;
        Ok((Bytes::from(rendered.bytes), Some(rendered.content_type)))
    }
}

/// The members of a stored envelope a template needs besides id and type.
#[derive(Deserialize)]
struct EnvelopeParts<'a> {
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    account: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Prepared webhooks by id, shared by every attempt.
#[derive(Default)]
pub struct PreparedCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<WebhookId, Arc<Prepared>>,
    /// When the map grows past this, entries of webhooks that are gone are dropped.
    prune_at: usize,
}

/// The fewest entries before the cache looks for webhooks that are gone.
const MIN_PRUNE_AT: usize = 64;

impl PreparedCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The map holds no invariant a panic elsewhere could break.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `webhook` prepared as it is now: the cached entry, or a new one. When the cache has
    /// grown, entries for which `exists` is false are dropped and reported to `dropped`.
    pub fn get(
        &self,
        webhook: &Webhook,
        exists: impl Fn(WebhookId) -> bool,
        mut dropped: impl FnMut(WebhookId),
    ) -> Arc<Prepared> {
        if let Some(prepared) = self
            .lock()
            .by_id
            .get(&webhook.id)
            .filter(|p| p.is_for(webhook))
        {
            return prepared.clone();
        }
        // Built outside the lock: parsing a template or a certificate takes a moment.
        let prepared = Arc::new(Prepared::new(webhook));
        let mut entries = self.lock();
        entries.by_id.insert(webhook.id, prepared.clone());
        if entries.by_id.len() > entries.prune_at.max(MIN_PRUNE_AT) {
            entries.by_id.retain(|id, _| {
                let keep = exists(*id);
                if !keep {
                    dropped(*id);
                }
                keep
            });
            entries.prune_at = entries.by_id.len() * 2;
        }
        prepared
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AccountId;
    use crate::model::{Secret, TemplateSpec, WebhookSettings};
    use crate::receivers::template::Preset;
    use crate::records::envelope;
    use crate::store::rules::new_webhook;

    fn webhook() -> Webhook {
        new_webhook(
            WebhookId::from_u128(5),
            AccountId::parse("acc-1").unwrap(),
            WebhookSettings {
                name: "hook".into(),
                enabled: true,
                event_url: "https://receiver.example.com/".into(),
                event_list: vec!["*".into()],
                description: None,
                headers: Default::default(),
                rate_limit: None,
                ordered: false,
                auth: Some(Auth::Basic {
                    username: "ann".into(),
                    password: Secret::new("pa:ss"),
                }),
                filter: None,
                template: Some(TemplateSpec::Body {
                    body: r#"{"at": "{{ event.timestamp }}", "acc": "{{ event.account }}", "id": "{{ event.id }}", "t": "{{ event.type }}", "n": {{ data.n }}}"#.into(),
                    content_type: "application/json".into(),
                }),
                signature: Default::default(),
            },
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            "admin".into(),
            1_000,
        )
    }

    #[test]
    fn the_template_renders_from_the_stored_envelope() {
        let hook = webhook();
        let prepared = Prepared::new(&hook);
        let id = EventId::from_u128(77);
        let (bytes, _, _) = envelope(
            id,
            "a.b",
            1_000,
            "acc-1",
            br#"{"n": 12345678901234567890123}"#,
        );
        let (body, content_type) = prepared.body(id, "a.b", &Bytes::from(bytes), 4096).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            format!(
                r#"{{"at": "1970-01-01T00:00:01.000Z", "acc": "acc-1", "id": "{id}", "t": "a.b", "n": 12345678901234567890123}}"#
            )
        );
        assert_eq!(content_type.as_deref(), Some("application/json"));
        // Too small a limit is the attempt's template error.
        let (bytes, _, _) = envelope(id, "a.b", 1_000, "acc-1", br#"{"n": 1}"#);
        assert!(prepared.body(id, "a.b", &Bytes::from(bytes), 10).is_err());
        // Without a template the envelope goes as it is.
        let mut plain = hook.clone();
        plain.settings.template = None;
        let envelope = Bytes::from_static(b"{\"x\":1}");
        let (body, content_type) = Prepared::new(&plain)
            .body(id, "a.b", &envelope, 4096)
            .unwrap();
        assert_eq!((body, content_type), (envelope, None));
        let mut slack = hook.clone();
        slack.settings.template = Some(TemplateSpec::Preset(Preset::Slack));
        assert!(Prepared::new(&slack).template.as_ref().unwrap().is_ok());
    }

    #[test]
    fn basic_auth_is_encoded_once_and_entries_follow_the_version() {
        let hook = webhook();
        let prepared = Prepared::new(&hook);
        match &prepared.auth {
            AuthHeader::Fixed(value) => {
                assert_eq!(value, &format!("Basic {}", STANDARD.encode("ann:pa:ss")));
            }
            _ => panic!("basic auth is a fixed header"),
        }
        assert!(prepared.key_pair.is_some());
        let cache = PreparedCache::default();
        let first = cache.get(&hook, |_| true, |_| {});
        assert!(Arc::ptr_eq(&first, &cache.get(&hook, |_| true, |_| {})));
        let mut rotated = hook.clone();
        rotated.updated += 1;
        assert!(!Arc::ptr_eq(&first, &cache.get(&rotated, |_| true, |_| {})));
        // Entries of webhooks that are gone are dropped once the cache has grown.
        let mut dropped = Vec::new();
        for n in 0..=MIN_PRUNE_AT as u128 {
            let mut other = hook.clone();
            other.id = WebhookId::from_u128(1000 + n);
            cache.get(&other, |id| id == hook.id, |id| dropped.push(id));
        }
        assert_eq!(dropped.len(), MIN_PRUNE_AT);
        assert_eq!(cache.lock().by_id.len(), 2);
    }
}
