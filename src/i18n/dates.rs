//! Dates as people read them in each language ("4. Dezember 2026, 16:40 UTC"), for the
//! activation pages and notification messages. The words and the order come from the catalogs
//! (`date-long`, `date-month`); hookd's times are UTC, and say so.

use super::{Lang, text};
use crate::time::{Millis, format_rfc3339};

/// A time in `lang`, to the minute, in UTC.
pub fn long_date(lang: Lang, millis: Millis) -> String {
    let rfc = format_rfc3339(millis);
    long_date_of(lang, &rfc).unwrap_or(rfc)
}

/// An RFC 3339 time as hookd writes it (`2026-12-04T16:40:59.999Z`, UTC) in `lang`; `None`
/// for any other text.
pub fn long_date_of(lang: Lang, rfc3339: &str) -> Option<String> {
    let bytes = rfc3339.as_bytes();
    let shape_ok = bytes.len() == 24
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            23 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let part = |range: std::ops::Range<usize>| rfc3339.get(range).unwrap_or_default();
    let number = |range| part(range).parse::<i64>().unwrap_or_default();
    let month = number(5..7);
    if !(1..=12).contains(&month) {
        return None;
    }
    let month = text(lang, "date-month", &[("month", month.into())]);
    Some(text(
        lang,
        "date-long",
        &[
            ("day", number(8..10).to_string().into()),
            ("month", month.into()),
            ("year", part(0..4).into()),
            ("time", part(11..16).into()),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04T16:40:59.999Z
    const DECEMBER_4: Millis = 1_796_402_459_999;

    #[test]
    fn each_language_writes_its_own_date() {
        assert_eq!(format_rfc3339(DECEMBER_4), "2026-12-04T16:40:59.999Z");
        let expected = [
            (Lang::En, "4 December 2026, 16:40 UTC"),
            (Lang::De, "4. Dezember 2026, 16:40 UTC"),
            (Lang::Da, "4. december 2026 kl. 16:40 UTC"),
            (Lang::Nb, "4. desember 2026 kl. 16:40 UTC"),
            (Lang::Pt, "4 de dezembro de 2026, 16:40 UTC"),
        ];
        for (lang, date) in expected {
            assert_eq!(long_date(lang, DECEMBER_4), date);
        }
    }

    #[test]
    fn every_month_has_its_name() {
        // The 15th of each month of 2027, noon.
        let mut seen = std::collections::BTreeSet::new();
        let mut day: Millis = 1_800_014_400_000; // 2027-01-15T12:00:00Z
        for month in 1..=12 {
            let date = long_date(Lang::Pt, day);
            assert!(date.starts_with("15 de "), "{date}");
            assert!(seen.insert(date.clone()), "month {month}: {date}");
            day += 31 * 86_400_000;
            let rfc = format_rfc3339(day);
            day -= (rfc[8..10].parse::<i64>().unwrap() - 15) * 86_400_000;
        }
        assert!(seen.iter().any(|d| d.contains("março")));
        assert_eq!(
            long_date(Lang::De, 1_803_038_400_000),
            "19. Februar 2027, 12:00 UTC"
        );
    }

    #[test]
    fn only_hookd_s_own_rfc_3339_shape_is_read() {
        assert_eq!(
            long_date_of(Lang::Nb, "2026-01-31T07:05:00.000Z").as_deref(),
            Some("31. januar 2026 kl. 07:05 UTC")
        );
        for other in [
            "",
            "2026-01-31",
            "2026-13-01T00:00:00.000Z",
            "2026-01-31T07:05:00Z",
            "x026-01-31T07:05:00.000Z",
        ] {
            assert_eq!(long_date_of(Lang::En, other), None, "{other}");
        }
    }
}
