//! `hookd::inputs::parse_event` on arbitrary bytes.
//!
//! Input layout: byte 0 decides the `Idempotency-Key` header. Bit 0 clear: no header, the rest
//! is the body. Bit 0 set: the next `byte0 >> 1` bytes (lossily UTF-8) are the header key and
//! the remainder is the body.
//!
//! Invariants: never panics; an accepted event has a valid, non-system type, `data` that is
//! JSON by the grammar (RFC 8259: numbers of any size and lone surrogate escapes are valid
//! text, and `data` reaches receivers as sent), and an idempotency key of 1–200 characters
//! that agrees with the header.
#![no_main]

use hookd::inputs::parse_event;
use hookd::inputs::{SYSTEM_PREFIX, check_event_type};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, rest)) = input.split_first() else {
        return;
    };
    let (header, body) = if first & 1 == 1 {
        let n = usize::from(first >> 1).min(rest.len());
        let (key, body) = rest.split_at(n);
        (Some(String::from_utf8_lossy(key).into_owned()), body)
    } else {
        (None, rest)
    };
    let Ok(event) = parse_event(body, header.as_deref()) else {
        return;
    };
    assert!(check_event_type(&event.event_type).is_ok());
    assert!(!event.event_type.starts_with(SYSTEM_PREFIX));
    assert!(
        serde_json::from_slice::<&serde_json::value::RawValue>(&event.data).is_ok(),
        "data is not JSON: {:?}",
        String::from_utf8_lossy(&event.data)
    );
    match (&event.idempotency_key, &header) {
        (Some(k), Some(h)) => assert_eq!(k, h, "key differs from the header"),
        (None, Some(_)) => panic!("the header key was dropped"),
        _ => {}
    }
});
