//! `hookd::inputs::{check_url, literal_ip, is_forbidden}` on arbitrary strings.
//!
//! Invariants: never panics; a URL accepted under the strict policy (no http, no private
//! targets) starts with `https://`, has no `@` in its authority, and if its host is a literal
//! IP, that IP is not forbidden; anything accepted under the strict policy is also accepted
//! under the open one.
#![no_main]

use hookd::inputs::{MAX_URL_LEN, TargetPolicy, check_url, is_forbidden, literal_ip};
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
    let text = String::from_utf8_lossy(input);
    let url: &str = &text;
    if let Some(ip) = literal_ip(url) {
        let _ = is_forbidden(ip);
    }
    let open = check_url(url, OPEN);
    let strict = check_url(url, STRICT);
    if strict.is_err() {
        return;
    }
    assert!(
        open.is_ok(),
        "strict accepts {url:?} but open refuses: {open:?}"
    );
    assert!(url.len() <= MAX_URL_LEN);
    // Schemes are case-insensitive (RFC 3986); the dispatcher reads the parsed scheme.
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
        .unwrap_or_else(|| panic!("strict policy accepted {url:?}, not https://"));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    assert!(!authority.contains('@'), "credentials in {url:?}");
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    if let Some(ip) = literal_ip(host) {
        assert!(!is_forbidden(ip), "forbidden {ip} accepted in {url:?}");
    }
});
