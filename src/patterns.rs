//! Event types and the patterns webhooks subscribe with.
//!
//! A type is 1–200 characters of `[A-Za-z0-9_.:-]` with no empty dot-separated segment.
//! A pattern is an exact type, a prefix wildcard `prefix.*`, or `*`. hookd's own `hookd.*`
//! events are never matched by `*`: a webhook receives them only when it names them.

/// The namespace of hookd's own system events.
pub const SYSTEM_PREFIX: &str = "hookd.";

/// Why an event type or pattern is invalid, in words for a validation error.
pub fn check_event_type(t: &str) -> Result<(), &'static str> {
    if t.is_empty() || t.chars().count() > 200 {
        return Err("must be 1 to 200 characters");
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err("may contain only letters, digits and _ . : -");
    }
    if t.split('.').any(str::is_empty) {
        return Err("must not have an empty segment");
    }
    Ok(())
}

/// Checks a subscription pattern: `*`, `prefix.*` or an exact type.
pub fn check_pattern(p: &str) -> Result<(), &'static str> {
    if p == "*" {
        return Ok(());
    }
    match p.strip_suffix(".*") {
        Some(prefix) => check_event_type(prefix),
        None => check_event_type(p),
    }
}

/// Whether `pattern` (already checked) matches the event type `t`.
pub fn matches(pattern: &str, t: &str) -> bool {
    if pattern == "*" {
        return !t.starts_with(SYSTEM_PREFIX);
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => {
            t.len() > prefix.len() + 1
                && t.starts_with(prefix)
                && t.as_bytes()[prefix.len()] == b'.'
        }
        None => pattern == t,
    }
}

/// Whether any pattern of a subscription list matches `t`.
pub fn any_matches(patterns: &[String], t: &str) -> bool {
    patterns.iter().any(|p| matches(p, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked() {
        assert!(check_event_type("booking.created").is_ok());
        assert!(check_event_type("optin_finalized").is_ok());
        assert!(check_event_type("a:b-c_d.E9").is_ok());
        assert!(check_event_type("").is_err());
        assert!(check_event_type("a..b").is_err());
        assert!(check_event_type(".a").is_err());
        assert!(check_event_type("a.").is_err());
        assert!(check_event_type("a b").is_err());
        assert!(check_event_type("a*").is_err());
        assert!(check_event_type(&"a".repeat(201)).is_err());
        assert!(check_event_type(&"a".repeat(200)).is_ok());
    }

    #[test]
    fn patterns_are_checked() {
        assert!(check_pattern("*").is_ok());
        assert!(check_pattern("booking.*").is_ok());
        assert!(check_pattern("hookd.*").is_ok());
        assert!(check_pattern("booking.created").is_ok());
        assert!(check_pattern(".*").is_err());
        assert!(check_pattern("booking*").is_err());
        assert!(check_pattern("*.created").is_err());
        assert!(check_pattern("a.*.b").is_err());
    }

    #[test]
    fn exact_prefix_and_star_match() {
        assert!(matches("booking.created", "booking.created"));
        assert!(!matches("booking.created", "booking.created.x"));
        assert!(matches("booking.*", "booking.created"));
        assert!(matches("booking.*", "booking.payment.failed"));
        assert!(!matches("booking.*", "booking"));
        assert!(!matches("booking.*", "bookings.created"));
        assert!(matches("*", "anything.at.all"));
    }

    #[test]
    fn system_events_need_to_be_named() {
        assert!(!matches("*", "hookd.webhook.deactivated"));
        assert!(matches("hookd.*", "hookd.webhook.deactivated"));
        assert!(matches(
            "hookd.webhook.deactivated",
            "hookd.webhook.deactivated"
        ));
        assert!(matches("hookd.*", "hookd.ping"));
    }
}
