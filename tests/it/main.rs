//! The integration tests: one crate (one binary to link), one module per area. Each test
//! starts the real `hookd` binary (or the library's `run`) against a temporary data directory,
//! with real HTTP receivers on 127.0.0.1 (`common`).

mod common;

mod account_holders;
mod api_accounts;
mod api_auth;
mod api_webhooks;
mod browser;
mod cli;
mod cluster;
mod compatibility;
mod crash;
mod crash_loop;
mod delivery;
mod deploy;
mod dev_mode;
mod first_steps;
mod hostile_input;
mod languages;
mod lifecycle;
mod observability;
mod openapi;
mod properties;
mod receive;
mod receiver_faults;
mod receivers;
mod soak;
mod startup;
mod storage_faults;
mod tls;
