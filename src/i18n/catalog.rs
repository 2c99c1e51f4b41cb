//! The embedded Fluent catalogs and the one function that formats a message.
//!
//! Bundles are built once, on first use, and shared by every thread: the concurrent flavour of
//! `FluentBundle` keeps its plural-rule cache behind a mutex, so it is `Send + Sync` and can be
//! used from async handlers and from the store's writer thread alike.

use std::borrow::Cow;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use intl_memoizer::concurrent::IntlLangMemoizer;

use super::Lang;

type Bundle = FluentBundle<FluentResource>;

/// The catalog files, in the order of [`Lang::ALL`].
const SOURCES: [&str; 5] = [
    include_str!("en.ftl"),
    include_str!("de.ftl"),
    include_str!("da.ftl"),
    include_str!("nb.ftl"),
    include_str!("pt.ftl"),
];

fn index(lang: Lang) -> usize {
    match lang {
        Lang::En => 0,
        Lang::De => 1,
        Lang::Da => 2,
        Lang::Nb => 3,
        Lang::Pt => 4,
    }
}

/// The catalog file of a language, as served to the admin page.
pub fn source(lang: Lang) -> &'static str {
    SOURCES[index(lang)]
}

fn build(lang: Lang) -> Bundle {
    let locale = lang.plural_locale().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![locale]);
    // Plain text and HTML output: no invisible bidi isolation marks around placeables (they
    // would end up inside URLs and ids).
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(match lang {
        Lang::En => number_formatter::<0>,
        Lang::De => number_formatter::<1>,
        Lang::Da => number_formatter::<2>,
        Lang::Nb => number_formatter::<3>,
        Lang::Pt => number_formatter::<4>,
    }));
    // A catalog that does not parse keeps what did; the unit tests guarantee there is no such
    // error in the embedded files.
    let resource = FluentResource::try_new(source(lang).to_string())
        .unwrap_or_else(|(partial, _errors)| partial);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::warn!(language = lang.code(), ?errors, "catalog entries refused");
    }
    bundle
}

/// Whole numbers as each language writes them, the way the browser's `Intl.NumberFormat`
/// does for the admin page (CLDR): `1,234` · `1.234` · `1 234`; European Portuguese groups
/// only from five digits on. Other values keep Fluent's own formatting.
fn number_formatter<const LANG: usize>(
    value: &FluentValue,
    _: &IntlLangMemoizer,
) -> Option<String> {
    let FluentValue::Number(number) = value else {
        return None;
    };
    if number.value.fract() != 0.0 || number.value.abs() >= 1e15 {
        return None;
    }
    Some(group_digits(Lang::ALL[LANG], number.value as i64))
}

/// `n` with the language's thousands separator.
pub(super) fn group_digits(lang: Lang, n: i64) -> String {
    let (separator, min_digits) = match lang {
        Lang::En => (",", 4),
        Lang::De | Lang::Da => (".", 4),
        Lang::Nb => ("\u{a0}", 4),
        Lang::Pt => ("\u{a0}", 5),
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if n < 0 {
        out.push('-');
    }
    if digits.len() < min_digits {
        out.push_str(&digits);
        return out;
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(digit);
    }
    out
}

fn bundles() -> &'static [Bundle; 5] {
    static BUNDLES: OnceLock<[Bundle; 5]> = OnceLock::new();
    BUNDLES.get_or_init(|| Lang::ALL.map(build))
}

/// A value for a message's `{ $variable }`: text is inserted as it is, numbers also choose
/// plural variants.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(Cow::Owned(text))
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl From<i32> for Arg<'_> {
    fn from(n: i32) -> Self {
        Arg::Number(i64::from(n))
    }
}

impl From<u32> for Arg<'_> {
    fn from(n: u32) -> Self {
        Arg::Number(i64::from(n))
    }
}

impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

fn format_in(lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> Option<String> {
    let bundle = &bundles()[index(lang)];
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        let value = match value {
            Arg::Text(text) => FluentValue::from(text.as_ref()),
            Arg::Number(n) => FluentValue::from(*n),
        };
        fluent_args.set(*name, value);
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            language = lang.code(),
            id,
            ?errors,
            "message formatted with errors"
        );
    }
    Some(text.into_owned())
}

/// The message `id` in `lang` with `args`. Never fails: a message missing in `lang` comes in
/// English, one missing in English too is its id (the unit tests guarantee neither happens).
pub fn text(lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
    format_in(lang, id, args)
        .or_else(|| format_in(Lang::En, id, args))
        .unwrap_or_else(|| {
            tracing::warn!(language = lang.code(), id, "no such message");
            id.to_string()
        })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;
    use fluent_syntax::parser;

    use super::*;

    /// Message id (or `id.attribute`) → the variables its pattern uses.
    type Shape = BTreeMap<String, BTreeSet<String>>;

    fn variables_of(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                variables_of_expression(expression, out);
            }
        }
    }

    fn variables_of_expression(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                variables_of_inline(selector, out);
                for variant in variants {
                    variables_of(&variant.value, out);
                }
            }
            ast::Expression::Inline(inline) => variables_of_inline(inline, out),
        }
    }

    fn variables_of_inline(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => {
                variables_of_expression(expression, out)
            }
            _ => {}
        }
    }

    fn parsed(lang: Lang) -> ast::Resource<&'static str> {
        parser::parse(source(lang))
            .unwrap_or_else(|(_, errors)| panic!("{}.ftl does not parse: {errors:?}", lang.code()))
    }

    fn shape(lang: Lang) -> Shape {
        let mut shape = Shape::new();
        for entry in parsed(lang).body {
            if let ast::Entry::Message(message) = entry {
                let mut vars = BTreeSet::new();
                if let Some(value) = &message.value {
                    variables_of(value, &mut vars);
                }
                let id = message.id.name.to_string();
                assert!(
                    shape.insert(id.clone(), vars).is_none(),
                    "{id} twice in {}.ftl",
                    lang.code()
                );
                for attribute in &message.attributes {
                    let mut vars = BTreeSet::new();
                    variables_of(&attribute.value, &mut vars);
                    shape.insert(format!("{id}.{}", attribute.id.name), vars);
                }
            }
        }
        shape
    }

    #[test]
    fn every_catalog_parses_and_loads_without_errors() {
        for lang in Lang::ALL {
            if let Err((_, errors)) = FluentResource::try_new(source(lang).to_string()) {
                panic!("{}.ftl: {errors:?}", lang.code());
            }
            let mut bundle: Bundle = FluentBundle::new_concurrent(vec![]);
            let resource = FluentResource::try_new(source(lang).to_string()).unwrap();
            bundle
                .add_resource(resource)
                .unwrap_or_else(|e| panic!("{}.ftl: {e:?}", lang.code()));
        }
    }

    #[test]
    fn every_catalog_has_the_same_messages_with_the_same_variables() {
        let english = shape(Lang::En);
        assert!(english.len() > 50, "{} messages", english.len());
        for lang in &Lang::ALL[1..] {
            let other = shape(*lang);
            let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
            let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}.ftl lacks {missing:?} and has extra {extra:?}",
                lang.code()
            );
            for (id, vars) in &english {
                assert_eq!(
                    &other[id],
                    vars,
                    "variables of {id} in {}.ftl differ from en.ftl",
                    lang.code()
                );
            }
        }
    }

    /// The subset en.ftl's header documents, which the admin page's formatter understands.
    fn check_subset(lang: Lang) {
        let code = lang.code();
        let plain = |pattern: &ast::Pattern<&str>, id: &str| {
            for element in &pattern.elements {
                match element {
                    ast::PatternElement::TextElement { value } => {
                        assert!(!value.contains('\n'), "{code}: {id}: multiline text");
                    }
                    ast::PatternElement::Placeable {
                        expression:
                            ast::Expression::Inline(ast::InlineExpression::VariableReference { .. }),
                    } => {}
                    other => panic!("{code}: {id}: only {{ $variable }} placeables: {other:?}"),
                }
            }
        };
        for entry in parsed(lang).body {
            match entry {
                ast::Entry::Message(message) => {
                    let id = message.id.name;
                    assert!(message.attributes.is_empty(), "{code}: {id}: attributes");
                    let value = message
                        .value
                        .unwrap_or_else(|| panic!("{code}: {id} has no value"));
                    match value.elements.as_slice() {
                        [
                            ast::PatternElement::Placeable {
                                expression: ast::Expression::Select { selector, variants },
                            },
                        ] => {
                            assert!(
                                matches!(selector, ast::InlineExpression::VariableReference { .. }),
                                "{code}: {id}: select on a variable"
                            );
                            for variant in variants {
                                plain(&variant.value, id);
                            }
                        }
                        _ => plain(&value, id),
                    }
                }
                ast::Entry::Comment(_)
                | ast::Entry::GroupComment(_)
                | ast::Entry::ResourceComment(_) => {}
                other => panic!("{code}: not in the subset: {other:?}"),
            }
        }
    }

    #[test]
    fn every_catalog_keeps_to_the_subset_the_admin_page_understands() {
        for lang in Lang::ALL {
            check_subset(lang);
        }
    }

    #[test]
    fn plurals_follow_each_language() {
        let replay = |lang, n: i64| text(lang, "activation-replay", &[("count", n.into())]);
        assert_eq!(
            replay(Lang::En, 1),
            "Reactivate and deliver the buffered event"
        );
        assert_eq!(
            replay(Lang::En, 3),
            "Reactivate and deliver the 3 buffered events"
        );
        assert_eq!(
            replay(Lang::De, 1),
            "Reaktivieren und das zwischengespeicherte Ereignis zustellen"
        );
        assert_eq!(
            replay(Lang::De, 21),
            "Reaktivieren und die 21 zwischengespeicherten Ereignisse zustellen"
        );
        // European Portuguese: 0 is plural (Brazilian rules would make it "one").
        let done = |n: i64| {
            text(
                Lang::Pt,
                "admin-activated-dropped",
                &[("count", n.into()), ("name", "X".into())],
            )
        };
        assert_eq!(done(0), "«X» reativado; não havia eventos retidos.");
        assert_eq!(done(1), "«X» reativado: 1 evento retido foi descartado.");
        assert_eq!(
            done(2),
            "«X» reativado: 2 eventos retidos foram descartados."
        );
        assert_eq!(
            text(
                Lang::Pt,
                "reason-failures",
                &[
                    ("count", 0.into()),
                    ("since", "s".into()),
                    ("error", "e".into())
                ]
            ),
            "0 tentativas de entrega falhadas seguidas desde s; último erro: e"
        );
        // Exact numbers come before categories.
        assert_eq!(
            text(
                Lang::Da,
                "activation-done-replayed",
                &[("count", 0.into()), ("name", "n".into())]
            ),
            "Webhooken »n« er aktiv igen. Der var ingen tilbageholdte hændelser."
        );
    }

    #[test]
    fn values_are_inserted_without_isolation_marks() {
        let message = text(
            Lang::En,
            "notification-deactivated",
            &[
                ("name", "Bookings".into()),
                ("url", "https://example.com/hook".into()),
                ("reason", "why".into()),
                ("until", "then".into()),
            ],
        );
        assert_eq!(
            message,
            "The webhook “Bookings” (https://example.com/hook) was deactivated: why. Its events are buffered until then."
        );
        assert!(!message.contains(['\u{2068}', '\u{2069}']));
    }

    #[test]
    fn numbers_are_grouped_for_each_language() {
        let cases = [
            (Lang::En, 1234, "1,234"),
            (Lang::De, 1234567, "1.234.567"),
            (Lang::Da, 999, "999"),
            (Lang::Nb, 12345, "12\u{a0}345"),
            (Lang::Pt, 1234, "1234"),
            (Lang::Pt, 12345, "12\u{a0}345"),
            (Lang::En, -1234, "-1,234"),
            (Lang::De, 0, "0"),
        ];
        for (lang, n, expected) in cases {
            assert_eq!(group_digits(lang, n), expected, "{lang:?} {n}");
        }
        assert_eq!(
            text(Lang::De, "activation-replay", &[("count", 1500.into())]),
            "Reaktivieren und die 1.500 zwischengespeicherten Ereignisse zustellen"
        );
    }

    #[test]
    fn a_missing_message_never_panics() {
        assert_eq!(text(Lang::De, "no-such-message", &[]), "no-such-message");
        // A missing variable leaves a visible marker instead of failing.
        assert!(text(Lang::En, "admin-version", &[]).starts_with("Version"));
    }

    #[test]
    fn bundles_are_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Bundle>();
        let handles: Vec<_> = Lang::ALL
            .into_iter()
            .map(|lang| {
                std::thread::spawn(move || text(lang, "activation-replay", &[("count", 2.into())]))
            })
            .collect();
        for handle in handles {
            assert!(handle.join().unwrap().contains('2'));
        }
    }
}
