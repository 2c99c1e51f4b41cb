//! The receiver-side members of a webhook body: `auth`, `filter`, `template` and `signature`
//! (docs/api.md, "Webhooks"). Read by [`super::input::webhook_settings`]; each bad member is
//! named as the client nests it (`auth.password`, `template.body`), and no message ever quotes
//! a secret.
//!
//! Each reader returns `None` when it recorded an error, else `Some` of the member's value
//! (itself `None` when the member is absent or `null`: the field's default).

use serde_json::{Map, Value};

use super::input::Fields;
use crate::model::{Auth, MtlsAuth, OAuth2Auth, Secret, SignatureScheme, TemplateSpec};
use crate::receivers::filter::Filter;
use crate::receivers::pem;
use crate::receivers::template::Template;
use crate::target::{self, TargetPolicy};
use crate::time::Millis;

/// The longest secret accepted (password, token, client secret), in characters.
pub const MAX_SECRET_CHARS: usize = 4096;
/// The longest plain member of `auth` (username, clientId, scope, audience), in characters.
pub const MAX_AUTH_MEMBER_CHARS: usize = 1000;

/// The types `auth` may have, as the error message lists them.
const AUTH_TYPES: &str = "must be basic, bearer, oauth2 or mtls";

/// Reads `auth`. `current` is the stored `auth` when a PUT replaces the webhook: an `auth` of
/// the same type that omits its secret member keeps that one's secret, so a client can PUT
/// back what it read. `policy` judges `tokenUrl` as `eventUrl` is judged; `now` refuses an
/// expired client certificate.
pub fn auth(
    fields: &mut Fields<'_>,
    current: Option<&Auth>,
    policy: TargetPolicy,
    now: Millis,
) -> Option<Option<Auth>> {
    let Some(value) = fields.take("auth") else {
        return Some(None);
    };
    let Value::Object(mut map) = value else {
        fields.error(
            "auth",
            "must be an object with a type (basic, bearer, oauth2 or mtls)",
        );
        return None;
    };
    let kind = match map.remove("type") {
        None | Some(Value::Null) => {
            fields.error("auth.type", "is required");
            return None;
        }
        Some(Value::String(kind)) => kind,
        Some(_) => {
            fields.error("auth.type", AUTH_TYPES);
            return None;
        }
    };
    // The stored auth of the same type: an omitted secret keeps its secret.
    let kept = current.filter(|c| c.kind() == kind);
    let mut nested = Nested {
        fields,
        map: &mut map,
    };
    let auth = match kind.as_str() {
        "basic" => nested.basic(kept),
        "bearer" => nested.bearer(kept),
        "oauth2" => nested.oauth2(kept, policy),
        "mtls" => nested.mtls(kept, now),
        _ => {
            nested.fields.error("auth.type", AUTH_TYPES);
            None
        }
    };
    auth.map(Some)
}

/// The members of the `auth` object being read, with the body's error list.
struct Nested<'f, 'a, 'm> {
    fields: &'f mut Fields<'a>,
    map: &'m mut Map<String, Value>,
}

impl Nested<'_, '_, '_> {
    /// An optional string member of at most `max` characters: `Ok(None)` when absent or null,
    /// `Err(())` when an error was recorded.
    fn optional(&mut self, name: &str, max: usize) -> Result<Option<String>, ()> {
        let field = format!("auth.{name}");
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
            Some(Value::String(_)) => {
                self.fields
                    .error(field, format!("must be at most {max} characters"));
                Err(())
            }
            Some(_) => {
                self.fields.error(field, "must be a string");
                Err(())
            }
        }
    }

    /// A required, non-empty string member of at most `max` characters.
    fn required(&mut self, name: &str, max: usize) -> Result<String, ()> {
        match self.optional(name, max)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => {
                self.fields
                    .error(format!("auth.{name}"), "must not be empty");
                Err(())
            }
            None => {
                self.fields.error(format!("auth.{name}"), "is required");
                Err(())
            }
        }
    }

    /// A secret member: given, or kept from the stored auth of the same type when omitted.
    fn secret(&mut self, name: &str, kept: Option<&Secret>) -> Result<Secret, ()> {
        match self.optional(name, MAX_SECRET_CHARS)? {
            Some(s) if s.is_empty() => {
                self.fields
                    .error(format!("auth.{name}"), "must not be empty");
                Err(())
            }
            Some(s) => Ok(Secret::new(s)),
            None => kept.cloned().ok_or_else(|| {
                self.fields.error(format!("auth.{name}"), "is required");
            }),
        }
    }

    fn basic(&mut self, kept: Option<&Auth>) -> Option<Auth> {
        let kept = match kept {
            Some(Auth::Basic { password, .. }) => Some(password),
            _ => None,
        };
        let username = self.required("username", MAX_AUTH_MEMBER_CHARS);
        if let Ok(name) = &username
            && name.contains(':')
        {
            // RFC 7617: the first colon separates the user from the password.
            self.fields
                .error("auth.username", "must not contain a colon");
            return None;
        }
        let password = self.secret("password", kept);
        Some(Auth::Basic {
            username: username.ok()?,
            password: password.ok()?,
        })
    }

    fn bearer(&mut self, kept: Option<&Auth>) -> Option<Auth> {
        let kept = match kept {
            Some(Auth::Bearer { token }) => Some(token),
            _ => None,
        };
        let token = self.secret("token", kept).ok()?;
        if !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
            self.fields.error(
                "auth.token",
                "must be visible ASCII characters without spaces",
            );
            return None;
        }
        Some(Auth::Bearer { token })
    }

    fn oauth2(&mut self, kept: Option<&Auth>, policy: TargetPolicy) -> Option<Auth> {
        let kept = match kept {
            Some(Auth::OAuth2(stored)) => Some(&stored.client_secret),
            _ => None,
        };
        let token_url = self
            .required("tokenUrl", target::MAX_URL_LEN)
            .and_then(|url| {
                target::check_url(&url, policy)
                    .map(|()| url)
                    .map_err(|message| self.fields.error("auth.tokenUrl", message))
            });
        let client_id = self.required("clientId", MAX_AUTH_MEMBER_CHARS);
        let client_secret = self.secret("clientSecret", kept);
        let scope = self.optional("scope", MAX_AUTH_MEMBER_CHARS);
        let audience = self.optional("audience", MAX_AUTH_MEMBER_CHARS);
        Some(Auth::OAuth2(OAuth2Auth {
            token_url: token_url.ok()?,
            client_id: client_id.ok()?,
            client_secret: client_secret.ok()?,
            scope: scope.ok()?.filter(|s| !s.is_empty()),
            audience: audience.ok()?.filter(|s| !s.is_empty()),
        }))
    }

    fn mtls(&mut self, kept: Option<&Auth>, now: Millis) -> Option<Auth> {
        let kept = match kept {
            Some(Auth::Mtls(stored)) => Some(&stored.private_key),
            _ => None,
        };
        let certificate = self.required("certificate", pem::MAX_PEM_BYTES);
        let private_key = self.secret("privateKey", kept);
        let (certificate, private_key) = (certificate.ok()?, private_key.ok()?);
        match pem::parse_client_certificate(&certificate, private_key.expose(), now / 1000) {
            Ok(parsed) => Some(Auth::Mtls(MtlsAuth {
                certificate,
                private_key,
                subject: parsed.subject,
                not_after: parsed.not_after_secs.saturating_mul(1000),
                sha256: parsed.sha256,
            })),
            Err(e) => {
                self.fields.error(e.field, e.message);
                None
            }
        }
    }
}

/// Whether `auth` sets the `Authorization` header (every type but mtls).
pub fn sets_authorization(auth: &Auth) -> bool {
    !matches!(auth, Auth::Mtls(_))
}

/// Reads `filter`: a CEL expression that must compile (the parser's message otherwise).
pub fn filter(fields: &mut Fields<'_>) -> Option<Option<String>> {
    let Some(value) = fields.take("filter") else {
        return Some(None);
    };
    let Value::String(source) = value else {
        fields.error("filter", "must be a string (a CEL expression)");
        return None;
    };
    match Filter::compile(&source) {
        Ok(_) => Some(Some(source)),
        Err(message) => {
            fields.error("filter", message);
            None
        }
    }
}

/// Reads `template`: `{"preset": "slack" | "discord"}` or `{"body": "…", "contentType": "…"}`
/// (the content type defaults to `application/json`). A body that does not parse is an error
/// naming `template.body`.
pub fn template(fields: &mut Fields<'_>) -> Option<Option<TemplateSpec>> {
    let Some(value) = fields.take("template") else {
        return Some(None);
    };
    let Value::Object(mut map) = value else {
        fields.error(
            "template",
            "must be an object with a preset or a body and contentType",
        );
        return None;
    };
    let absent = |v: &Option<Value>| matches!(v, None | Some(Value::Null));
    let preset = map.remove("preset");
    let body = map.remove("body");
    let content_type = map.remove("contentType");
    match (absent(&preset), absent(&body)) {
        (false, false) => {
            fields.error("template", "must have either a preset or a body, not both");
            None
        }
        (true, true) => {
            fields.error("template", "must have a preset or a body");
            None
        }
        (false, true) => {
            if !absent(&content_type) {
                fields.error(
                    "template.contentType",
                    "is only for a body template (presets send application/json)",
                );
                return None;
            }
            let parsed = match preset {
                Some(Value::String(name)) => Template::preset(&name),
                _ => {
                    fields.error("template.preset", "must be \"slack\" or \"discord\"");
                    return None;
                }
            };
            match parsed.map(|t| t.as_preset()) {
                Ok(Some(preset)) => Some(Some(TemplateSpec::Preset(preset))),
                Ok(None) => None,
                Err(e) => {
                    fields.error(e.field, e.message);
                    None
                }
            }
        }
        (true, false) => {
            let Some(Value::String(body)) = body else {
                fields.error("template.body", "must be a string (a Jinja template)");
                return None;
            };
            let content_type = match content_type {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t),
                Some(_) => {
                    fields.error("template.contentType", "must be a string");
                    return None;
                }
            };
            match Template::parse(&body, content_type.as_deref()) {
                Ok(parsed) => Some(Some(TemplateSpec::Body {
                    content_type: parsed.content_type().to_string(),
                    body,
                })),
                Err(e) => {
                    fields.error(e.field, e.message);
                    None
                }
            }
        }
    }
}

/// Reads `signature`: `"v1"` (the default), `"v1a"` or `"v1 v1a"`.
pub fn signature(fields: &mut Fields<'_>) -> Option<SignatureScheme> {
    match fields.take("signature") {
        None => Some(SignatureScheme::V1),
        Some(Value::String(text)) => SignatureScheme::parse(&text).or_else(|| {
            fields.error("signature", "must be \"v1\", \"v1a\" or \"v1 v1a\"");
            None
        }),
        Some(_) => {
            fields.error("signature", "must be \"v1\", \"v1a\" or \"v1 v1a\"");
            None
        }
    }
}
