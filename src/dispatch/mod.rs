//! Outbound delivery: the HTTP client that makes one attempt and classifies its outcome, and
//! the Standard Webhooks signature every attempt carries.
//!
//! Scheduling, retries and bookkeeping live elsewhere; this module only knows how to send one
//! signed POST safely (SSRF checks at connect time, bounded reads, bounded time) and say what
//! happened, so the scheduler can decide what to do next.

pub mod client;
pub mod oauth2;
pub mod signature;
