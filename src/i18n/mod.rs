//! The languages people read hookd in: English, German, Danish, Norwegian Bokmål and
//! Portuguese (account-holders.md, "Languages").
//!
//! Every sentence a person reads on the activation pages, in notification messages and on the
//! admin page comes from one Project Fluent catalog per language (`src/i18n/<code>.ftl`,
//! embedded). hookd formats them here; the admin page fetches the same files and formats them
//! in the browser, so both use the same message ids. API problem documents, logs, the CLI and
//! metrics stay English and never pass through here.

mod catalog;
mod dates;
mod reason;

use serde::{Deserialize, Serialize};

pub use catalog::{Arg, source, text};
pub use dates::{long_date, long_date_of};
pub use reason::deactivation_reason;

/// One of the five languages. Stored on an account as its lowercase code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    De,
    Da,
    Nb,
    Pt,
}

impl Lang {
    /// Every language, English (the reference and the fallback) first.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::De, Lang::Da, Lang::Nb, Lang::Pt];

    /// The exact lowercase code: `en`, `de`, `da`, `nb`, `pt`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Da => "da",
            Lang::Nb => "nb",
            Lang::Pt => "pt",
        }
    }

    /// The language's name in itself, as a language switcher lists it.
    pub fn endonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Da => "Dansk",
            Lang::Nb => "Norsk bokmål",
            Lang::Pt => "Português",
        }
    }

    /// Exactly one of the five lowercase codes (an account's `language`, `?lang=`); anything
    /// else, `EN` and `pt-PT` included, is `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.code() == code)
    }

    /// The locale whose plural rules apply: Portuguese is European Portuguese, whose rules
    /// differ from Brazilian ones for 0 (CLDR `pt-PT`).
    fn plural_locale(self) -> &'static str {
        match self {
            Lang::Pt => "pt-PT",
            other => other.code(),
        }
    }

    /// The language a BCP 47 tag (`de-AT`, `pt_BR`, `no`) asks for, if it is one of the five.
    /// Norwegian without a written standard (`no`) and Nynorsk (`nn`) readers get Bokmål.
    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            "da" => Some(Lang::Da),
            "nb" | "no" | "nn" => Some(Lang::Nb),
            "pt" => Some(Lang::Pt),
            _ => None,
        }
    }
}

/// The best of the five languages for a preference list: an `Accept-Language` header value or
/// comma-separated tags (`de-AT, en;q=0.5`). Higher `q` first, then the order given; `q=0`
/// and unknown tags are skipped; nothing usable means English.
pub fn negotiate(preferences: &str) -> Lang {
    let mut ranked: Vec<(f32, usize, &str)> = preferences
        .split(',')
        .enumerate()
        .filter_map(|(position, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let mut quality = 1.0f32;
            for param in parts {
                let param = param.trim();
                if let Some(value) = param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                {
                    quality = value.trim().parse().unwrap_or(0.0);
                }
            }
            (!tag.is_empty() && quality > 0.0).then_some((quality, position, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .find_map(|(_, _, tag)| Lang::from_tag(tag))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_exactly() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
        for other in [
            "", "EN", "De", "pt-PT", "pt_BR", "no", "nn", "fr", " en", "en ",
        ] {
            assert_eq!(Lang::parse(other), None, "{other:?}");
        }
        assert_eq!(Lang::default(), Lang::En);
        assert_eq!(Lang::Nb.endonym(), "Norsk bokmål");
        assert_eq!(Lang::Pt.endonym(), "Português");
    }

    #[test]
    fn serde_uses_the_codes() {
        for lang in Lang::ALL {
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.code()));
            assert_eq!(serde_json::from_str::<Lang>(&json).unwrap(), lang);
        }
        assert!(serde_json::from_str::<Lang>("\"fr\"").is_err());
    }

    #[test]
    fn negotiation_follows_the_rules_of_the_contract() {
        let cases = [
            ("nb", Lang::Nb),
            ("no", Lang::Nb),
            ("nn-NO", Lang::Nb),
            ("nb-NO,nb;q=0.9,en;q=0.8", Lang::Nb),
            ("pt-BR", Lang::Pt),
            ("pt-PT", Lang::Pt),
            ("pt_BR", Lang::Pt),
            ("de-AT", Lang::De),
            ("DE-ch", Lang::De),
            ("da", Lang::Da),
            ("en-US,en;q=0.9", Lang::En),
            ("fr-FR, it;q=0.8", Lang::En),
            ("fr-FR, da;q=0.8", Lang::Da),
            ("", Lang::En),
            ("*", Lang::En),
            ("  , ;q=1", Lang::En),
            // q-values win over order; equal q keeps the order given.
            ("en;q=0.5, de;q=0.9", Lang::De),
            ("da;q=0.7, pt;q=0.7", Lang::Da),
            ("de;q=0, pt", Lang::Pt),
            ("de;q=0.000, en;q=garbage, da;q=0.1", Lang::Da),
            ("fr, de ; q=0.4 , nb;q=0.6", Lang::Nb),
        ];
        for (header, expected) in cases {
            assert_eq!(negotiate(header), expected, "{header:?}");
        }
    }
}
