//! Strict JSON reading for request bodies: duplicate keys are refused (a body that says two
//! things at once is malformed), and an event's top level keeps each member's raw bytes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Parses `bytes` as JSON and refuses duplicate keys at any depth.
pub fn check_no_duplicate_keys(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|_| ())
}

/// A JSON value walked only to check it.
struct Strict;

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<Strict>()?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(Strict)
    }
}

/// The deepest nesting accepted in an event body: serde_json parses 127 levels, so an envelope
/// (one level more than the event's `data`) stays parsable by receivers that use it.
pub const MAX_DEPTH: usize = 127;

/// The top-level members of a JSON object with their raw values, refusing duplicate keys
/// (at the top level only: what is inside a value is kept as sent) and nesting deeper than
/// [`MAX_DEPTH`] (raw values are not parsed, so the depth is checked by a scan).
pub fn object_members(bytes: &[u8]) -> Result<Vec<Member<'_>>, serde_json::Error> {
    if nesting_depth(bytes) > MAX_DEPTH {
        return Err(de::Error::custom(format!(
            "nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    serde_json::from_slice::<Members>(bytes).map(|m| m.0)
}

/// One top-level member: its key (borrowed unless it had escapes) and its raw value, borrowed
/// from the body (an event is read on every ingest; copying each member showed in profiles).
pub type Member<'a> = (Cow<'a, str>, &'a RawValue);

/// The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored).
fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

struct Members<'a>(Vec<Member<'a>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members: Vec<Member<'de>> = Vec::with_capacity(4);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            members.push((key, value));
        }
        Ok(Members(members))
    }
}

/// A member's key, borrowed from the body when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_at_any_depth() {
        assert!(check_no_duplicate_keys(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert!(check_no_duplicate_keys(br#"{"a":1,"a":2}"#).is_err());
        assert!(check_no_duplicate_keys(br#"{"b":{"c":1,"c":1}}"#).is_err());
        assert!(check_no_duplicate_keys(br#"[{"x":1},{"x":2}]"#).is_ok());
        assert!(check_no_duplicate_keys(b"{").is_err());
    }

    #[test]
    fn members_keep_raw_values_and_refuse_top_level_duplicates() {
        let m = object_members(br#"{"type":"a.b","data":{"n":1.50,"n":2}}"#).unwrap();
        assert_eq!(m[1].1.get(), r#"{"n":1.50,"n":2}"#);
        assert!(object_members(br#"{"type":"a","type":"b"}"#).is_err());
        assert!(object_members(br#"{"type":"a","t\u0079pe":"b"}"#).is_err());
        let escaped = object_members(br#"{"\u0074ype":1}"#).unwrap();
        assert_eq!(escaped[0].0, "type");
        assert!(object_members(b"[1]").is_err());
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings() {
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[{{"}]}"#), 3);
        assert_eq!(nesting_depth(br#""\"[""#), 0);
        assert_eq!(nesting_depth(b"1"), 0);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(check_no_duplicate_keys(deep.as_bytes()).is_err());
        let deep_event = format!(
            r#"{{"type":"a","data":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(object_members(deep_event.as_bytes()).is_err());
    }
}
