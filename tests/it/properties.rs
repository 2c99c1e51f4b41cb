//! Property tests of the pure building blocks: event-type patterns, keyset pagination, list
//! cursors and id generation (and the tests' own reading of API times). Case counts are kept modest so the file runs in seconds in debug.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use hookd::inputs::page;
use hookd::inputs::{CursorKind, decode_cursor, encode_cursor};
use hookd::inputs::{IdGen, v7_millis};
use hookd::inputs::{SYSTEM_PREFIX, check_event_type, check_pattern, matches};
use hookd::inputs::{base64url, base64url_decode};
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------------------------
// (a) Pattern matching

/// One dot-free segment of an event type.
fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_:-]{1,8}"
}

/// A valid event type: 1–4 segments joined by dots, sometimes in the system namespace.
fn event_type() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.15),
        prop::collection::vec(segment(), 1..=4),
    )
        .prop_map(|(system, segments)| {
            let t = segments.join(".");
            if system { format!("hookd.{t}") } else { t }
        })
}

/// Types related to `prefix`: children, the prefix itself, longer first segments, unrelated.
fn candidates(prefix: String) -> impl Strategy<Value = (String, Vec<String>)> {
    let related = (event_type(), segment(), 0..4u8).prop_map({
        let prefix = prefix.clone();
        move |(t, seg, how)| match how {
            0 => format!("{prefix}.{t}"),
            1 => format!("{prefix}{seg}"),
            2 => format!("{prefix}{seg}.{t}"),
            _ => t,
        }
    });
    (
        Just(prefix.clone()),
        prop::collection::vec(related, 1..12).prop_map(move |mut v| {
            v.push(prefix.clone());
            v
        }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_types_are_valid(t in event_type()) {
        prop_assert_eq!(check_event_type(&t), Ok(()));
        prop_assert_eq!(check_pattern(&t), Ok(()));
    }

    #[test]
    fn every_valid_type_matches_itself(t in event_type()) {
        prop_assert!(matches(&t, &t));
    }

    #[test]
    fn star_matches_every_non_system_type(t in event_type()) {
        prop_assert_eq!(matches("*", &t), !t.starts_with(SYSTEM_PREFIX));
    }

    #[test]
    fn prefix_wildcard_matches_exactly_the_longer_children(
        (prefix, types) in event_type().prop_flat_map(candidates)
    ) {
        let wildcard = format!("{prefix}.*");
        prop_assert_eq!(check_pattern(&wildcard), Ok(()));
        let child_prefix = format!("{prefix}.");
        for t in &types {
            prop_assert_eq!(check_event_type(t), Ok(()), "generated {:?}", t);
            let expected = t.starts_with(&child_prefix) && t.len() > child_prefix.len();
            prop_assert_eq!(matches(&wildcard, t), expected, "{} vs {}", wildcard, t);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Keyset pagination under concurrent change

/// A change made between two pages.
#[derive(Debug, Clone)]
enum Change {
    Insert(String),
    Remove(String),
}

fn key() -> impl Strategy<Value = String> {
    "[a-f]{1,3}"
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        key().prop_map(Change::Insert),
        key().prop_map(Change::Remove)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every value is a unique item id (a re-inserted key is a new item); the filter keeps
    /// ids with `id % modulus == residue`. Paging from the start to the end, with random
    /// inserts and removals between pages, returns each item at most once, in key order, and
    /// every kept item that was in the map from start to end.
    #[test]
    fn paging_never_repeats_nor_skips(
        initial in prop::collection::btree_map(key(), any::<u32>(), 0..40),
        (modulus, residue) in (1u32..4).prop_flat_map(|m| (Just(m), 0..m)),
        limit in 1usize..6,
        changes in prop::collection::vec(prop::collection::vec(change(), 0..4), 0..30),
    ) {
        // Renumber the generated values into unique ids, keeping the generated key order.
        let mut next_id = 0u32;
        let mut fresh = || { next_id += 1; next_id };
        let mut map: BTreeMap<String, u32> = initial.keys().map(|k| (k.clone(), fresh())).collect();
        let key_of: BTreeMap<u32, String> = map.iter().map(|(k, v)| (*v, k.clone())).collect();
        let mut key_of = key_of;
        let mut throughout: BTreeSet<u32> = map.values().copied().collect();
        let keep = |v: &u32| v % modulus == residue;

        let mut seen: HashSet<u32> = HashSet::new();
        let mut last_key: Option<String> = None;
        let mut after: Option<String> = None;
        let mut changes = changes.into_iter();
        for round in 0.. {
            prop_assert!(round <= 200, "paging did not end");
            let p = page(&map, after.as_ref(), limit, keep, |v| *v);
            prop_assert!(p.items.len() <= limit);
            for id in &p.items {
                prop_assert!(keep(id), "item {} does not pass the filter", id);
                prop_assert!(seen.insert(*id), "item {} repeated", id);
                let k = &key_of[id];
                if let Some(last) = &last_key {
                    prop_assert!(k > last, "key {:?} after {:?}", k, last);
                }
                last_key = Some(k.clone());
            }
            match p.next_after {
                None => break,
                Some(next) => {
                    prop_assert!(!p.items.is_empty());
                    prop_assert_eq!(Some(&next), last_key.as_ref());
                    after = Some(next);
                }
            }
            for c in changes.next().unwrap_or_default() {
                match c {
                    Change::Insert(k) => {
                        let id = fresh();
                        key_of.insert(id, k.clone());
                        if let Some(old) = map.insert(k, id) {
                            throughout.remove(&old);
                        }
                    }
                    Change::Remove(k) => {
                        if let Some(old) = map.remove(&k) {
                            throughout.remove(&old);
                        }
                    }
                }
            }
        }
        for id in throughout.iter().filter(|id| keep(id)) {
            prop_assert!(seen.contains(id), "item {} ({:?}) skipped", id, key_of[id]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Cursors

const KINDS: [CursorKind; 6] = [
    CursorKind::Accounts,
    CursorKind::Tokens,
    CursorKind::Webhooks,
    CursorKind::Events,
    CursorKind::Deliveries,
    CursorKind::Notifications,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cursors_round_trip(
        signing_key in prop::collection::vec(any::<u8>(), 0..64),
        kind in select(&KINDS[..]),
        text in any::<String>(),
    ) {
        let cursor = encode_cursor(&signing_key, kind, &text);
        prop_assert_eq!(decode_cursor(&signing_key, kind, &cursor), Some(text));
        for other in KINDS.into_iter().filter(|k| *k != kind) {
            prop_assert_eq!(decode_cursor(&signing_key, other, &cursor), None);
        }
    }

    #[test]
    fn a_flipped_byte_is_refused(
        signing_key in prop::collection::vec(any::<u8>(), 32),
        kind in select(&KINDS[..]),
        text in any::<String>(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let cursor = encode_cursor(&signing_key, kind, &text);
        let mut bytes = base64url_decode(&cursor).expect("a cursor is base64url");
        let i = position.index(bytes.len());
        bytes[i] ^= flip;
        prop_assert_eq!(decode_cursor(&signing_key, kind, &base64url(&bytes)), None);
    }
}

// ---------------------------------------------------------------------------------------------
// (d) Ids

/// Milliseconds well inside the 48-bit timestamp of a v7 id (up to the year ~6400).
const MAX_MS: i64 = 1 << 47;

/// A sequence of clock readings: a random walk (repeats, small steps forward and back, and
/// occasional jumps), so that several ids fall in one millisecond and the clock goes back.
fn clock() -> impl Strategy<Value = Vec<i64>> {
    let step = prop_oneof![
        4 => Just(0i64),
        3 => 1i64..3,
        2 => -3i64..0,
        1 => -100_000_000i64..100_000_000,
    ];
    (-1_000i64..MAX_MS / 2, prop::collection::vec(step, 1..300)).prop_map(|(start, steps)| {
        steps
            .into_iter()
            .scan(start, |now, step| {
                *now = (*now + step).clamp(i64::MIN / 2, MAX_MS);
                Some(*now)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ids_strictly_increase(times in clock()) {
        let mut ids = IdGen::default();
        let mut last: Option<u128> = None;
        for now in times {
            let id = ids.next(now);
            if let Some(last) = last {
                prop_assert!(id > last, "{:032x} after {:032x} at {}", id, last, now);
            }
            prop_assert_eq!((id >> 76) & 0xf, 7, "version nibble");
            prop_assert_eq!((id >> 62) & 0b11, 0b10, "variant bits");
            prop_assert!(v7_millis(id) >= now.max(0), "id time before the clock");
            last = Some(id);
        }
    }

    #[test]
    fn ids_strictly_increase_for_any_monotone_or_decreasing_times(
        mut times in prop::collection::vec(-1_000i64..MAX_MS, 1..100),
        decreasing in any::<bool>(),
    ) {
        times.sort_unstable();
        if decreasing {
            times.reverse();
        }
        let mut ids = IdGen::default();
        let mut last = 0u128;
        for now in times {
            let id = ids.next(now);
            prop_assert!(id > last, "{:032x} after {:032x} at {}", id, last, now);
            last = id;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (e) The tests' reading of API times

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Tests compare times hookd took (attempt dates) through `time_millis`: it must read back
    /// exactly what hookd writes.
    #[test]
    fn api_times_read_back_to_the_millisecond(ms in 0i64..4_102_444_800_000) {
        let text = hookd::inputs::format_rfc3339(ms);
        prop_assert_eq!(crate::common::time_millis(&serde_json::json!(text)), ms);
    }
}
