//! Why a webhook was deactivated, in the reader's language.
//!
//! The store keeps the reason as one English sentence (the webhook's `deactivationReason` in
//! the API, which stays English). Its two shapes are read back here into the catalog's
//! `reason-gone` and `reason-failures`, so notifications and the activation page say it in
//! the account's language; the technical part (the last error, e.g. `HTTP 500 Internal Server
//! Error` or a network error) stays as it is. Any other text is quoted unchanged.

use super::{Lang, long_date_of, text};

/// The reason written when a receiver answers 410.
const GONE: &str = "the endpoint answered 410 Gone";
/// `{count} failed attempts in a row since {RFC 3339}; the last: {error}`.
const FAILURES: &str = " failed attempts in a row since ";
const LAST: &str = "; the last: ";

/// The stored reason `reason` in `lang`.
pub fn deactivation_reason(lang: Lang, reason: &str) -> String {
    if reason == GONE {
        return text(lang, "reason-gone", &[]);
    }
    let parsed = reason.split_once(FAILURES).and_then(|(count, rest)| {
        let count: i64 = count.parse().ok()?;
        let (since, error) = rest.split_once(LAST)?;
        Some((count, since, error))
    });
    match parsed {
        Some((count, since, error)) => {
            let since = long_date_of(lang, since).unwrap_or_else(|| since.to_string());
            text(
                lang,
                "reason-failures",
                &[
                    ("count", count.into()),
                    ("since", since.into()),
                    ("error", error.into()),
                ],
            )
        }
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_shapes_are_translated_and_the_error_is_kept() {
        assert_eq!(
            deactivation_reason(Lang::De, GONE),
            "der Endpunkt hat mit 410 Gone geantwortet"
        );
        assert_eq!(deactivation_reason(Lang::En, GONE), GONE);
        let stored = "3 failed attempts in a row since 2026-12-04T16:40:59.999Z; the last: HTTP 500 Internal Server Error";
        assert_eq!(
            deactivation_reason(Lang::De, stored),
            "3 fehlgeschlagene Zustellversuche in Folge seit dem 4. Dezember 2026, 16:40 UTC; \
             letzter Fehler: HTTP 500 Internal Server Error"
        );
        assert_eq!(
            deactivation_reason(Lang::Pt, stored),
            "3 tentativas de entrega falhadas seguidas desde 4 de dezembro de 2026, 16:40 UTC; \
             último erro: HTTP 500 Internal Server Error"
        );
        let one = "1 failed attempts in a row since 2026-12-04T16:40:59.999Z; the last: connecting to 127.0.0.1:9 failed: refused; again";
        assert_eq!(
            deactivation_reason(Lang::En, one),
            "1 failed attempt since 4 December 2026, 16:40 UTC; last error: connecting to \
             127.0.0.1:9 failed: refused; again"
        );
    }

    #[test]
    fn other_text_is_quoted_unchanged() {
        for other in [
            "",
            "switched off by hand",
            "x failed attempts in a row since 2026-12-04T16:40:59.999Z; the last: e",
            "3 failed attempts in a row since then",
        ] {
            assert_eq!(deactivation_reason(Lang::Da, other), other);
        }
        // A date hookd did not write stays as it was.
        assert_eq!(
            deactivation_reason(
                Lang::Nb,
                "2 failed attempts in a row since ; the last: timeout"
            ),
            "2 mislykkede leveringsforsøk på rad siden ; siste feil: timeout"
        );
    }
}
