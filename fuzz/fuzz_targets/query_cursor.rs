//! Query strings, cursors and activation links: `hookd::inputs::{query_pairs,
//! percent_decode, encode_cursor, decode_cursor}` and `hookd::inputs::{issue, verify}`.
//!
//! Input layout: byte 0 picks the cursor kind; the rest, lossily UTF-8, is the text.
//!
//! Invariants: never panics; `decode_cursor(encode_cursor(k, kind, s)) == Some(s)` for any
//! UTF-8 `s`, and the cursor is refused for any other kind and under another key; text without
//! `%` or `+` percent-decodes to itself; `verify(issue(claims)) == Some(claims)`.
#![no_main]

use hookd::inputs::{CursorKind, decode_cursor, encode_cursor, percent_decode, query_pairs};
use hookd::inputs::{LinkClaims, issue, verify};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x5a; 32];
const OTHER_KEY: [u8; 32] = [0xa5; 32];
const KINDS: [CursorKind; 6] = [
    CursorKind::Accounts,
    CursorKind::Tokens,
    CursorKind::Webhooks,
    CursorKind::Events,
    CursorKind::Deliveries,
    CursorKind::Notifications,
];

fuzz_target!(|input: &[u8]| {
    let Some((&first, rest)) = input.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(first) % KINDS.len()];
    let text = String::from_utf8_lossy(rest);
    let text: &str = &text;

    let _ = query_pairs(Some(text));
    let decoded = percent_decode(text);
    if !text.contains(['%', '+']) {
        assert_eq!(decoded.as_deref(), Some(text));
    }
    let _ = decode_cursor(&KEY, kind, text);
    let _ = verify(&KEY, text);

    let cursor = encode_cursor(&KEY, kind, text);
    assert_eq!(decode_cursor(&KEY, kind, &cursor).as_deref(), Some(text));
    assert_eq!(decode_cursor(&OTHER_KEY, kind, &cursor), None);
    for other in KINDS {
        if other != kind {
            assert_eq!(decode_cursor(&KEY, other, &cursor), None);
        }
    }

    if rest.len() >= 32 {
        let claims = LinkClaims {
            webhook_id: u128::from_be_bytes(rest[..16].try_into().unwrap()).into(),
            deactivated: i64::from_be_bytes(rest[16..24].try_into().unwrap()),
            expires: i64::from_be_bytes(rest[24..32].try_into().unwrap()),
        };
        let token = issue(&KEY, claims);
        assert_eq!(verify(&KEY, &token), Some(claims));
        assert_eq!(verify(&OTHER_KEY, &token), None);
    }
});
