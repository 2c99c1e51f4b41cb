//! Identifiers: the typed ids of accounts, tokens, webhooks, events and deliveries, how they
//! are generated (UUID v7: time-ordered, so keys sort by creation) and the rules for ids a
//! client may choose.
//!
//! Generated ids are numbers inside hookd (`u128`: cheap to compare, fixed-width keys in the
//! store) and lowercase hyphenated UUID text outside (the API, stored JSON). Each kind is its
//! own type, so a webhook id can never be passed where a delivery id is meant.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A new lowercase hyphenated UUID v7.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Whether `id` is acceptable as a client-chosen account id: 1–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_account_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An account's id: chosen by the client (1–64 of `[A-Za-z0-9_-]`) or a generated UUID v7.
/// It borrows as `str`, so maps keyed by it are looked up with a path segment as it is.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// A client's id, if it follows the rules.
    pub fn parse(text: &str) -> Option<AccountId> {
        is_valid_account_id(text).then(|| AccountId(text.to_string()))
    }

    /// A new generated id.
    pub fn generate() -> AccountId {
        AccountId(new_id())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AccountId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Declares a generated (UUID v7) id type: a number inside, UUID text outside.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(u128);

        impl $name {
            /// The id of this number (a key read from the store).
            pub const fn from_u128(value: u128) -> Self {
                $name(value)
            }

            /// The number, for the store's fixed-width keys.
            pub const fn as_u128(self) -> u128 {
                self.0
            }

            /// A new id (UUID v7: sorts by creation).
            pub fn generate() -> Self {
                $name(uuid::Uuid::now_v7().as_u128())
            }

            /// The id in its text form; `None` for anything that is not a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                parse_id(text).map($name)
            }

            /// When the id was made (its v7 time prefix).
            pub fn millis(self) -> i64 {
                v7_millis(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&uuid::Uuid::from_u128(self.0).hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor).map($name)
            }
        }

        impl From<$name> for u128 {
            fn from(id: $name) -> u128 {
                id.0
            }
        }

        impl From<u128> for $name {
            fn from(value: u128) -> $name {
                $name(value)
            }
        }
    };
}

uuid_id!(
    /// A webhook's id.
    WebhookId
);
uuid_id!(
    /// An account token's id.
    TokenId
);
uuid_id!(
    /// An event's id: also the `webhook-id` receivers de-duplicate on.
    EventId
);
uuid_id!(
    /// A delivery's id: one event on its way to one webhook.
    DeliveryId
);
uuid_id!(
    /// A notification's id.
    NotificationId
);
uuid_id!(
    /// A portal link's id.
    PortalLinkId
);

/// Reads a generated id from its UUID text.
struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = u128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UUID")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
        parse_id(v).ok_or_else(|| E::custom(format!("{v:?} is not a UUID")))
    }
}

/// Serde for ids that stored records hold as bare numbers (as earlier builds wrote them, so
/// the stored form never changes): `#[serde(with = "crate::ids::as_number")]`.
pub mod as_number {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: Copy + Into<u128>>(
        id: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u128((*id).into())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: From<u128>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        u128::deserialize(deserializer).map(T::from)
    }
}

/// Like [`as_number`], for a list of (delivery, webhook) pairs.
pub mod pairs_as_numbers {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{DeliveryId, WebhookId};

    pub fn serialize<S: Serializer>(
        pairs: &[(DeliveryId, WebhookId)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let numbers: Vec<(u128, u128)> = pairs.iter().map(|(d, w)| (d.0, w.0)).collect();
        numbers.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(DeliveryId, WebhookId)>, D::Error> {
        let numbers = Vec::<(u128, u128)>::deserialize(deserializer)?;
        Ok(numbers
            .into_iter()
            .map(|(d, w)| (DeliveryId(d), WebhookId(w)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuid_v7_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7");
        assert!(a < b, "v7 ids sort by creation");
        assert_eq!(a, a.to_lowercase());
    }

    #[test]
    fn account_id_rules() {
        assert!(is_valid_account_id("clinic-42_A"));
        assert!(!is_valid_account_id(""));
        assert!(!is_valid_account_id(&"a".repeat(65)));
        assert!(!is_valid_account_id("a b"));
        assert!(!is_valid_account_id("a/b"));
    }
}

/// Generates strictly increasing UUID v7 values (as `u128`) within one process.
///
/// The writer thread owns one: ids of events and deliveries then increase in commit order,
/// which is the order `ordered` webhooks deliver in, and their time prefix lets retention find
/// old records by key range alone.
#[derive(Debug, Default)]
pub struct IdGen {
    last_ms: u64,
    counter: u128,
}

/// Bits of a v7 UUID below the 48-bit timestamp that are ours (rand_a + rand_b).
const COUNTER_BITS: u32 = 74;

impl IdGen {
    /// The next id (as a number) for a time in milliseconds since the epoch.
    pub fn next(&mut self, now_ms: i64) -> u128 {
        let now_ms = now_ms.max(0) as u64;
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            // Start each millisecond at a random point in the lower half, leaving room to count.
            let random = u128::from_be_bytes(crate::crypto::random_bytes::<16>());
            self.counter = random & ((1u128 << (COUNTER_BITS - 1)) - 1);
        } else {
            self.counter += 1;
            if self.counter >> COUNTER_BITS != 0 {
                // Exhausted within one millisecond: borrow the next one.
                self.last_ms += 1;
                self.counter = 0;
            }
        }
        compose_v7(self.last_ms, self.counter)
    }
}

/// Lays out a v7 UUID: 48-bit ms timestamp, version 7, 12 bits, variant `10`, 62 bits.
fn compose_v7(ms: u64, counter: u128) -> u128 {
    let rand_a = (counter >> 62) & 0xfff;
    let rand_b = counter & ((1u128 << 62) - 1);
    ((ms as u128 & 0xffff_ffff_ffff) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
}

/// The smallest v7 id of the given millisecond: ids below it are older.
pub fn v7_floor(ms: i64) -> u128 {
    (ms.max(0) as u128 & 0xffff_ffff_ffff) << 80
}

/// The creation time encoded in a v7 id.
pub fn v7_millis(id: u128) -> i64 {
    (id >> 80) as i64
}

/// Parses an id from its text; `None` for anything that is not a UUID.
pub fn parse_id(text: &str) -> Option<u128> {
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(text).ok().map(|u| u.as_u128())
}

impl IdGen {
    /// The next event id.
    pub fn event(&mut self, now_ms: i64) -> EventId {
        EventId(self.next(now_ms))
    }

    /// The next delivery id.
    pub fn delivery(&mut self, now_ms: i64) -> DeliveryId {
        DeliveryId(self.next(now_ms))
    }

    /// The next notification id.
    pub fn notification(&mut self, now_ms: i64) -> NotificationId {
        NotificationId(self.next(now_ms))
    }
}

#[cfg(test)]
mod idgen_tests {
    use super::*;

    #[test]
    fn ids_increase_strictly_and_carry_their_time() {
        let mut ids = IdGen::default();
        let mut last = 0u128;
        for i in 0..10_000 {
            let id = ids.next(1_795_342_502_123 + i / 1000);
            assert!(id > last);
            last = id;
        }
        let id = ids.next(1_800_000_000_000);
        assert_eq!(v7_millis(id), 1_800_000_000_000);
        let text = EventId::from_u128(id).to_string();
        assert_eq!(&text[14..15], "7");
        assert_eq!(parse_id(&text), Some(id));
        assert!(v7_floor(1_800_000_000_000) <= id);
        assert!(v7_floor(1_800_000_000_001) > id);
        assert_eq!(parse_id("not-a-uuid"), None);
    }

    #[test]
    fn typed_ids_read_text_and_the_numbers_older_records_hold() {
        let id = WebhookId::from_u128(0x01a2_423d_b252_7407_a1e8_657f_2e5d_a630);
        let text = serde_json::to_string(&id).unwrap();
        assert_eq!(text, "\"01a2423d-b252-7407-a1e8-657f2e5da630\"");
        assert_eq!(serde_json::from_str::<WebhookId>(&text).unwrap(), id);
        #[derive(Serialize, Deserialize)]
        struct Stored {
            #[serde(with = "as_number")]
            id: WebhookId,
        }
        let number = format!("{{\"id\":{}}}", id.as_u128());
        let stored: Stored = serde_json::from_str(&number).unwrap();
        assert_eq!(stored.id, id);
        assert_eq!(serde_json::to_string(&stored).unwrap(), number);
        assert!(serde_json::from_str::<WebhookId>("\"nope\"").is_err());
        assert_eq!(WebhookId::parse(&id.to_string()), Some(id));
        assert_eq!(AccountId::parse("clinic-42").unwrap().as_str(), "clinic-42");
        assert!(AccountId::parse("a b").is_none());
    }

    #[test]
    fn clock_going_back_keeps_order() {
        let mut ids = IdGen::default();
        let a = ids.next(2_000);
        let b = ids.next(1_000);
        assert!(b > a);
    }
}
