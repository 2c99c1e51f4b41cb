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
