//! Identifiers: generated ids are UUID v7 (time-ordered, so keys sort by creation), and the
//! rules for ids a client may choose.

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

/// Whether a path segment can name a stored resource at all (generated or chosen ids).
///
/// Anything else is answered 404 without touching the store.
pub fn is_plausible_id(id: &str) -> bool {
    is_valid_account_id(id)
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
    /// The next id for a time in milliseconds since the epoch.
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

/// The canonical text of an id: lowercase hyphenated.
pub fn id_to_string(id: u128) -> String {
    uuid::Uuid::from_u128(id).hyphenated().to_string()
}

/// Parses an id from its text; `None` for anything that is not a UUID.
pub fn parse_id(text: &str) -> Option<u128> {
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(text).ok().map(|u| u.as_u128())
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
        let text = id_to_string(id);
        assert_eq!(&text[14..15], "7");
        assert_eq!(parse_id(&text), Some(id));
        assert!(v7_floor(1_800_000_000_000) <= id);
        assert!(v7_floor(1_800_000_000_001) > id);
        assert_eq!(parse_id("not-a-uuid"), None);
    }

    #[test]
    fn clock_going_back_keeps_order() {
        let mut ids = IdGen::default();
        let a = ids.next(2_000);
        let b = ids.next(1_000);
        assert!(b > a);
    }
}
