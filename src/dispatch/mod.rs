//! Outbound delivery: the HTTP client that makes one attempt and classifies its outcome, and
//! the Standard Webhooks signature every attempt carries.
//!
//! Scheduling, retries and bookkeeping live elsewhere; this module only knows how to send one
//! signed POST safely (SSRF checks at connect time, bounded reads, bounded time) and say what
//! happened, so the scheduler can decide what to do next.

// Client certificates, extra roots and `post_and_read` are used once webhooks carry `auth`.
#[allow(dead_code)]
pub mod client;
// OAuth2 tokens for webhooks that authenticate with `auth.type = oauth2`.
#[allow(dead_code)]
pub mod oauth2;
// `v1a` (Ed25519) key pairs are used once webhooks carry `signature`.
#[allow(dead_code)]
pub mod signature;
