//! What a webhook can ask of its receiver's side: filters that choose which events it gets,
//! body templates that shape what it receives, and the PEM handling of client certificates.
//!
//! These are self-contained building blocks: plain types and functions with no knowledge of
//! the store, the API or the engine, which call them.

pub mod filter;
pub mod json;
pub mod pem;
pub mod template;
