//! `hookd::inputs::check_no_duplicate_keys` and `object_members` on arbitrary bytes.
//!
//! Invariants: never panics; when `object_members` succeeds, the input is a JSON object whose
//! top-level keys are unique and every raw member value re-parses as JSON text on its own
//! (by the grammar: raw values keep numbers of any size and lone surrogates as sent).
#![no_main]

use hookd::inputs::{check_no_duplicate_keys, object_members};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = check_no_duplicate_keys(input);
    let Ok(members) = object_members(input) else {
        return;
    };
    for (i, (key, raw)) in members.iter().enumerate() {
        assert!(
            members[..i].iter().all(|(k, _)| k != key),
            "duplicate top-level key {key:?} accepted"
        );
        if let Err(e) = serde_json::from_str::<&serde_json::value::RawValue>(raw.get()) {
            panic!(
                "raw value of {key:?} does not re-parse: {e}: {:?}",
                raw.get()
            );
        }
    }
});
