//! `hookd::inputs::{check_event_type, check_pattern, matches}` on arbitrary strings.
//!
//! Input layout: lossy UTF-8, split at the first NUL into a pattern and a type (no NUL: the
//! whole input is both).
//!
//! Invariants: never panics; `*` never matches a type starting with `hookd.`; an accepted
//! exact type matches itself; for an accepted type used as a prefix, `prefix.*` matches
//! `prefix.x` and does not match `prefix` itself.
#![no_main]

use hookd::inputs::{SYSTEM_PREFIX, check_event_type, check_pattern, matches};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let (a, b) = text.split_once('\0').unwrap_or((&text, &text));
    for s in [a, b] {
        let _ = check_event_type(s);
        let _ = check_pattern(s);
        assert!(!(s.starts_with(SYSTEM_PREFIX) && matches("*", s)));
    }
    let _ = matches(a, b);
    let _ = matches(b, a);
    if check_pattern(a).is_ok() {
        // What the subscription path does: a checked pattern against any type.
        let _ = matches(a, b);
    }
    for t in [a, b] {
        if check_event_type(t).is_ok() {
            assert!(check_pattern(t).is_ok(), "type {t:?} is not a pattern");
            assert!(matches(t, t), "{t:?} does not match itself");
            let wildcard = format!("{t}.*");
            let child = format!("{t}.x");
            assert!(check_pattern(&wildcard).is_ok());
            assert!(matches(&wildcard, &child), "{wildcard:?} !~ {child:?}");
            assert!(!matches(&wildcard, t), "{wildcard:?} ~ {t:?}");
            assert_eq!(matches("*", t), !t.starts_with(SYSTEM_PREFIX));
        }
    }
});
