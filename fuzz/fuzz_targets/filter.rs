//! `hookd::inputs::filter`: compile arbitrary CEL expressions and evaluate those accepted
//! against a fixed event.
//!
//! Input layout: the bytes as UTF-8 (other inputs are skipped).
//!
//! Invariants: never panics, never overflows the stack; an accepted filter is at most 2000
//! characters and evaluates (to a boolean or an error) against the fixed event.
#![no_main]

use std::sync::LazyLock;

use hookd::inputs::filter::{Filter, FilterInput, MAX_FILTER_CHARS};
use libfuzzer_sys::fuzz_target;

static EVENT: LazyLock<FilterInput> = LazyLock::new(|| {
    FilterInput::from_json_text(
        "booking.created",
        r#"{"clinicId": 42, "total_cents": 12000, "price": 10.5, "name": "Ann Lee",
            "tags": ["vip", "new"], "big": 18446744073709551615, "huge": 1e400,
            "nested": {"list": [{"k": 1}, {"k": "two"}], "flag": true, "none": null}}"#,
        "acc_1",
    )
    .expect("the fixed event is JSON")
});

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(filter) = Filter::compile(text) {
        assert!(text.chars().count() <= MAX_FILTER_CHARS);
        assert_eq!(filter.source(), text);
        let _ = filter.matches_input(&EVENT);
    }
});
