//! hookd: a self-hosted webhook delivery appliance in one binary, with one embedded store.
//!
//! See ARCHITECTURE.md for the bird's-eye view. The binary (`main.rs`) parses the command
//! line and calls [`run`]; everything else lives here so tests and tools can reach it.

pub mod api;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod links;
pub mod metrics;
pub mod model;
pub mod patterns;
pub mod receivers;
pub mod records;
pub mod retry;
pub mod server;
pub mod store;
pub mod target;
pub mod time;
pub mod tls;

pub use server::run;

/// The version reported in `user-agent` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
