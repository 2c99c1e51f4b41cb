//! `hookd::config::Config::from_toml_str` on arbitrary UTF-8.
//!
//! Invariants: never panics; an accepted configuration has an absolute http(s) `public_url`
//! without a trailing slash and `max_event_bytes <= max_body_bytes`.
#![no_main]

use hookd::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(config) = Config::from_toml_str(text) else {
        return;
    };
    let url = &config.public_url;
    assert!(url.starts_with("http://") || url.starts_with("https://"));
    assert!(!url.ends_with('/'));
    assert!(config.limits.max_event_bytes <= config.limits.max_body_bytes);
});
