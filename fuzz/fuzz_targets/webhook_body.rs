//! Webhook create/update body validation: `hookd::inputs::Fields`, `webhook_settings`,
//! `optional_secret` and `version` on arbitrary bytes, under the strict and the open policy.
//!
//! Invariants: never panics; when `Fields::finish` is Ok, every validator produced a value and
//! the settings keep the documented limits: name 1–200 characters, 1–100 event patterns each
//! accepted by `check_pattern` (no duplicates), at most 20 headers, an `eventUrl` accepted by
//! `check_url`, a version ≥ 1.
#![no_main]

use hookd::inputs::check_pattern;
use hookd::inputs::{
    Fields, MAX_CUSTOM_HEADERS, WebhookContext, optional_secret, version, webhook_settings,
};
use hookd::inputs::{TargetPolicy, check_url};
use libfuzzer_sys::fuzz_target;

const STRICT: TargetPolicy = TargetPolicy {
    allow_http: false,
    allow_private_targets: false,
};
const OPEN: TargetPolicy = TargetPolicy {
    allow_http: true,
    allow_private_targets: true,
};

fuzz_target!(|input: &[u8]| {
    for policy in [STRICT, OPEN] {
        check(input, policy);
    }
});

fn check(input: &[u8], policy: TargetPolicy) {
    let Ok(mut fields) = Fields::parse(input) else {
        return;
    };
    let context = WebhookContext {
        account_id: "acc",
        policy,
        current_auth: None,
        now: 1_800_000_000_000,
    };
    let settings = webhook_settings(&mut fields, &context);
    let secret = optional_secret(&mut fields);
    let version = version(&mut fields);
    if fields.finish().is_err() {
        return;
    }
    let s = settings.expect("finish() is Ok but webhook_settings returned None");
    let v = version.expect("finish() is Ok but version returned None");
    assert!(v >= 1);
    let name_len = s.name.chars().count();
    assert!((1..=200).contains(&name_len), "name of {name_len} chars");
    assert!(
        (1..=100).contains(&s.event_list.len()),
        "{} event patterns",
        s.event_list.len()
    );
    for (i, p) in s.event_list.iter().enumerate() {
        assert!(check_pattern(p).is_ok(), "invalid pattern {p:?} accepted");
        assert!(!s.event_list[..i].contains(p), "duplicate pattern {p:?}");
    }
    assert!(
        s.headers.len() <= MAX_CUSTOM_HEADERS,
        "{} headers",
        s.headers.len()
    );
    assert!(check_url(&s.event_url, policy).is_ok());
    if let Some(d) = &s.description {
        assert!(d.chars().count() <= 1000);
    }
    if let Some(r) = s.rate_limit {
        assert!((1..=100_000).contains(&r));
    }
    if let Some(secret) = secret {
        assert!(secret.starts_with("whsec_"));
    }
}
