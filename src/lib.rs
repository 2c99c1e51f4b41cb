//! hookd: a self-hosted webhook delivery appliance in one binary, with one embedded store.
//!
//! See ARCHITECTURE.md for the bird's-eye view. The binary (`main.rs`) parses the command
//! line and calls [`run`] or a [`cli`] command. The library exposes only what the binary, the
//! tests, the benchmark and the fuzz targets need: [`run`], the configuration, the CLI, the
//! languages, the parsers that face untrusted input ([`inputs`]) and the API's own description
//! ([`reference`]). Everything else is the crate's own.

mod api;
pub mod cli;
pub mod config;
mod crypto;
mod dispatch;
mod engine;
mod error;
pub mod i18n;
mod ids;
mod links;
mod metrics;
mod model;
mod patterns;
mod portal;
mod receivers;
mod records;
mod retry;
mod server;
mod store;
mod target;
mod time;
mod tls;

pub use server::{RunError, run};

/// The version reported in `user-agent` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The parsers and checks that face untrusted input — request bodies, query strings, cursors,
/// links, event types and patterns, target URLs, filters and templates — for the fuzz targets
/// and property tests, which drive them directly.
pub mod inputs {
    pub use crate::api::events::parse_event;
    pub use crate::api::input::{
        Fields, MAX_CUSTOM_HEADERS, WebhookContext, optional_secret, version, webhook_settings,
    };
    pub use crate::api::json::{check_no_duplicate_keys, object_members};
    pub use crate::api::request::{
        CursorKind, decode_cursor, encode_cursor, percent_decode, query_pairs,
    };
    pub use crate::crypto::{base64url, base64url_decode};
    pub use crate::ids::{IdGen, v7_millis};
    pub use crate::links::{LinkClaims, issue, verify};
    pub use crate::patterns::{SYSTEM_PREFIX, check_event_type, check_pattern, matches};
    pub use crate::receivers::{filter, json, template};
    pub use crate::store::catalog::page;
    pub use crate::target::{MAX_URL_LEN, TargetPolicy, check_url, is_forbidden, literal_ip};
    pub use crate::time::format_rfc3339;
}

/// Standard Webhooks signatures as hookd makes them (`v1` HMAC, `v1a` Ed25519), for tests and
/// tools that play the receiver's part.
pub mod signing {
    pub use crate::dispatch::signature::{SigningKeyPair, SigningKeys, build_signature_header};
}

/// The API's description of itself, for the tests that keep it true.
pub mod reference {
    pub use crate::api::openapi::DOCUMENT;
    pub use crate::api::routes::ROUTES;
}
