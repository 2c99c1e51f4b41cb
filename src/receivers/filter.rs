//! Webhook filters: a [CEL](https://cel.dev) expression over the event decides whether a
//! webhook gets it.
//!
//! The expression sees three variables: `type` (the event type, a string), `data` (the event's
//! data as CEL values: objects are maps, arrays lists, integers `int` — or `uint` above
//! `i64::MAX`, or `double` beyond 64 bits — other numbers `double`) and `account` (the account
//! id). `has(data.x)` tests presence; a missing field or a wrong type is an evaluation error,
//! which the caller counts as "not matched".
//!
//! # Bounded cost
//!
//! A filter runs once per event and webhook at ingest, so its cost must be bounded whatever the
//! expression and whatever the data. CEL has no loops except the comprehension macros and no
//! variables, so without comprehensions every node of the expression is evaluated at most once
//! and costs at most time linear in the size of its operands. What is checked when a filter is
//! compiled keeps both factors bounded:
//!
//! - at most [`MAX_FILTER_CHARS`] characters, at most [`MAX_NODES`] nodes, nesting at most
//!   [`MAX_DEPTH`] levels (the parser and the evaluator recurse; this bounds their stack);
//! - the comprehension macros `all`, `exists`, `exists_one`, `map` and `filter` are refused:
//!   their cost is the size of a list from the data times the size of their body, and nested
//!   ones multiply, which no static check of the expression can bound. List membership is
//!   still available with `in` (`"vip" in data.tags`), which is linear;
//! - at most [`MAX_ADDITIONS`] `+` operators: `+` is the only operator whose result is larger
//!   than its operands (string and list concatenation), so with a cap on its count every value
//!   stays within a small multiple of the event's data.
//!
//! Typical filters evaluate in microseconds (see the `typical_cost` test); the worst case is
//! linear in the size of the data times the number of nodes. The CEL standard library is used
//! without its optional parts (no regular expressions, timestamps or durations), so nothing
//! compiles or interprets a second language at evaluation time.

use std::fmt;
use std::sync::{Arc, LazyLock};

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue, operators};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::objects::{Key, Map};
use cel::{Context, Env, Value};

use super::json::{self, Json};

/// The longest filter accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 2000;
/// The most nodes a compiled filter may have.
pub const MAX_NODES: usize = 1000;
/// The deepest nesting of a filter's expression.
pub const MAX_DEPTH: usize = 32;
/// The most `+` operators in one filter.
pub const MAX_ADDITIONS: usize = 16;
/// The stack of the thread that parses a filter: the parser's recursion up to [`MAX_DEPTH`]
/// needs a few MiB in a debug build. Only touched pages are ever committed.
const COMPILE_STACK_BYTES: usize = 32 * 1024 * 1024;
/// The longest evaluation error message kept (it may quote values from the data).
const MAX_ERROR_CHARS: usize = 200;

/// The variables a filter may name.
const VARIABLES: [&str; 3] = ["type", "data", "account"];
/// Type names CEL lets an expression mention as identifiers (`type(x) == int`).
const TYPE_NAMES: [&str; 10] = [
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "list",
    "map",
    "null_type",
    "dyn",
];
/// Functions whose result is never a boolean (a filter that is one of them is refused).
const NON_BOOLEAN_FUNCTIONS: [&str; 13] = [
    operators::ADD,
    operators::SUBSTRACT,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::NEGATE,
    "size",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "type",
];

/// Standard CEL functions left out of this build (they need the `cel` crate's optional
/// regex and chrono parts): refused when a filter is saved rather than failing every event.
const UNAVAILABLE_FUNCTIONS: [&str; 3] = ["matches", "timestamp", "duration"];

/// The standard CEL environment (its functions and macros), built once.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A compiled filter: cheap to evaluate, safe to share between threads.
pub struct Filter {
    source: String,
    expression: IdedExpr,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Filter").field(&self.source).finish()
    }
}

/// Why a filter gave no answer for one event; the caller counts the event as not matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Evaluation failed: a missing field, a wrong type, an overflow (the message is short
    /// and may quote values from the event).
    Evaluation(String),
    /// The expression gave a value that is not a boolean (its CEL type is named).
    NotBoolean(String),
    /// The event's data is not JSON.
    InvalidData(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Evaluation(why) => write!(f, "evaluation failed: {why}"),
            FilterError::NotBoolean(kind) => write!(f, "the result is a {kind}, not a boolean"),
            FilterError::InvalidData(why) => write!(f, "the event data is not JSON: {why}"),
        }
    }
}

impl std::error::Error for FilterError {}

/// One event as filters see it, converted once so every webhook's filter can read it.
pub struct FilterInput {
    event_type: Box<dyn Val>,
    data: Box<dyn Val>,
    account: Box<dyn Val>,
}

impl fmt::Debug for FilterInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterInput").finish_non_exhaustive()
    }
}

impl FilterInput {
    /// The event from already parsed data. Integers beyond 64 bits are doubles here (as
    /// `serde_json` reads them).
    pub fn new(event_type: &str, data: &serde_json::Value, account: &str) -> FilterInput {
        FilterInput::from_value(event_type, serde_to_cel(data), account)
    }

    /// The event from its data as JSON text (the stored form), read with
    /// [`json::parse`](super::json::parse): numbers such as `1e400` and lone surrogate escapes,
    /// which `serde_json::Value` refuses, are readable here.
    pub fn from_json_text(
        event_type: &str,
        data: &str,
        account: &str,
    ) -> Result<FilterInput, FilterError> {
        let data = json::parse(data).map_err(FilterError::InvalidData)?;
        Ok(FilterInput::from_value(
            event_type,
            json_to_cel(&data),
            account,
        ))
    }

    fn from_value(event_type: &str, data: Value, account: &str) -> FilterInput {
        FilterInput {
            event_type: to_val(Value::String(Arc::new(event_type.to_string()))),
            data: to_val(data),
            account: to_val(Value::String(Arc::new(account.to_string()))),
        }
    }
}

impl VariableResolver for FilterInput {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let value = match variable {
            "type" => &self.event_type,
            "data" => &self.data,
            "account" => &self.account,
            _ => return None,
        };
        Some(CowVal::Borrowed(value.as_ref()))
    }
}

/// A CEL value in the interpreter's own form. Conversion of the values built here (strings,
/// numbers, lists, maps with string keys) cannot fail; `null` stands in if it ever did.
fn to_val(value: Value) -> Box<dyn Val> {
    Box::<dyn Val>::try_from(value).unwrap_or_else(|_| Box::new(cel::common::types::CelNull))
}

impl Filter {
    /// Compiles a filter as it is saved. The error is the message for the `filter` field:
    /// the parser's message for a syntax error, or which rule the expression breaks.
    pub fn compile(source: &str) -> Result<Filter, String> {
        let chars = source.chars().count();
        if chars > MAX_FILTER_CHARS {
            return Err(format!(
                "must be at most {MAX_FILTER_CHARS} characters (is {chars})"
            ));
        }
        if source.trim().is_empty() {
            return Err("must not be empty".into());
        }
        // The parser is generated recursive descent that spends a lot of stack per nesting
        // level (over 100 KiB in a debug build) before its own depth limit stops it: it runs
        // on a thread of its own with a stack that is ample for that limit, whatever thread
        // calls. A panic in the parser is a refusal, not a crash.
        let parsed = std::thread::scope(|scope| {
            let parser = std::thread::Builder::new()
                .name("hookd-filter-compile".into())
                .stack_size(COMPILE_STACK_BYTES)
                .spawn_scoped(scope, || parse(source))
                .map_err(|e| format!("cannot be compiled now: {e}"))?;
            parser
                .join()
                .unwrap_or_else(|_| Err("does not parse (the parser failed)".to_string()))
        })?;
        Ok(Filter {
            source: source.to_string(),
            expression: parsed,
        })
    }

    /// The expression as it was written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the filter for one event. `Ok(true)`: deliver; `Ok(false)`: not for this
    /// webhook; `Err`: an evaluation error or a non-boolean result, which the caller counts as
    /// not matched (and in `hookd_filter_errors_total`).
    pub fn matches(
        &self,
        event_type: &str,
        data: &serde_json::Value,
        account: &str,
    ) -> Result<bool, FilterError> {
        self.matches_input(&FilterInput::new(event_type, data, account))
    }

    /// [`matches`](Self::matches) on an event converted once with [`FilterInput`], for
    /// evaluating many webhooks' filters on the same event.
    pub fn matches_input(&self, input: &FilterInput) -> Result<bool, FilterError> {
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.set_variable_resolver(input);
        match Value::resolve(&self.expression, &context) {
            Ok(Value::Bool(matched)) => Ok(matched),
            Ok(other) => Err(FilterError::NotBoolean(other.type_of().to_string())),
            Err(error) => Err(FilterError::Evaluation(shorten(&error.to_string()))),
        }
    }
}

/// Parses and checks an expression (on the compile thread).
fn parse(source: &str) -> Result<IdedExpr, String> {
    let parser = ENV.parser().max_recursion_depth(MAX_DEPTH as u16);
    let expression = parser.parse(source).map_err(|errors| {
        if errors
            .errors
            .iter()
            .any(|e| e.msg.contains("Recursion limit"))
        {
            return format!("is nested too deeply (more than {MAX_DEPTH} levels)");
        }
        let shown: Vec<String> = errors
            .errors
            .iter()
            .take(3)
            .map(|e| format!("{}:{}: {}", e.pos.0, e.pos.1, e.msg))
            .collect();
        format!("does not parse: {}", shown.join("; "))
    })?;
    check_shape(&expression)?;
    if let Some(kind) = never_boolean(&expression) {
        return Err(format!("must be a boolean expression (this one is {kind})"));
    }
    Ok(expression)
}

/// Walks the expression (iteratively: its depth is what is being checked) and enforces the
/// limits of the module docs.
fn check_shape(root: &IdedExpr) -> Result<(), String> {
    let mut nodes = 0usize;
    let mut additions = 0usize;
    let mut stack: Vec<(&IdedExpr, usize)> = vec![(root, 1)];
    while let Some((node, depth)) = stack.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(format!("is too complex (more than {MAX_NODES} nodes)"));
        }
        if depth > MAX_DEPTH {
            return Err(format!(
                "is nested too deeply (more than {MAX_DEPTH} levels)"
            ));
        }
        let next = depth + 1;
        match &node.expr {
            Expr::Unspecified | Expr::Literal(_) => {}
            Expr::Ident(name) => {
                if !VARIABLES.contains(&name.as_str()) && !TYPE_NAMES.contains(&name.as_str()) {
                    return Err(format!(
                        "names an unknown variable {name:?} (the variables are type, data and account)"
                    ));
                }
            }
            Expr::Comprehension(_) => {
                return Err(
                    "must not use the comprehension macros all, exists, exists_one, map or filter: their cost grows with the event's lists without bound (use `in` for membership)"
                        .into(),
                );
            }
            Expr::Call(call) => {
                if UNAVAILABLE_FUNCTIONS.contains(&call.func_name.as_str()) {
                    return Err(format!(
                        "uses {}(), which filters do not provide (no regular expressions, timestamps or durations)",
                        call.func_name
                    ));
                }
                if call.func_name == operators::ADD {
                    additions += 1;
                    if additions > MAX_ADDITIONS {
                        return Err(format!("must have at most {MAX_ADDITIONS} `+` operators"));
                    }
                }
                if let Some(target) = &call.target {
                    stack.push((target, next));
                }
                stack.extend(call.args.iter().map(|arg| (arg, next)));
            }
            Expr::List(list) => stack.extend(list.elements.iter().map(|e| (e, next))),
            Expr::Select(select) => stack.push((&select.operand, next)),
            Expr::Map(map) => push_entries(&mut stack, &map.entries, next),
            Expr::Struct(structure) => push_entries(&mut stack, &structure.entries, next),
        }
    }
    Ok(())
}

fn push_entries<'a>(
    stack: &mut Vec<(&'a IdedExpr, usize)>,
    entries: &'a [cel::common::ast::IdedEntryExpr],
    depth: usize,
) {
    for entry in entries {
        match &entry.expr {
            EntryExpr::MapEntry(e) => {
                stack.push((&e.key, depth));
                stack.push((&e.value, depth));
            }
            EntryExpr::StructField(f) => stack.push((&f.value, depth)),
        }
    }
}

/// What the expression certainly is when it can never be a boolean (a literal number, a
/// string, a list, arithmetic, a conversion), else `None`. Depth is bounded by
/// [`check_shape`], which runs first.
fn never_boolean(expression: &IdedExpr) -> Option<String> {
    match &expression.expr {
        Expr::Literal(literal) => match literal {
            LiteralValue::Boolean(_) => None,
            LiteralValue::Bytes(_) => Some("a bytes literal".into()),
            LiteralValue::Double(_) => Some("a double literal".into()),
            LiteralValue::Int(_) => Some("an int literal".into()),
            LiteralValue::UInt(_) => Some("a uint literal".into()),
            LiteralValue::Null => Some("null".into()),
            LiteralValue::String(_) => Some("a string literal".into()),
        },
        Expr::List(_) => Some("a list".into()),
        Expr::Map(_) => Some("a map".into()),
        Expr::Struct(_) => Some("a message".into()),
        Expr::Ident(name) if name == "type" || name == "account" => {
            Some(format!("the string {name}"))
        }
        Expr::Ident(name) if TYPE_NAMES.contains(&name.as_str()) => Some("a type".into()),
        Expr::Call(call) if call.func_name == operators::CONDITIONAL && call.args.len() == 3 => {
            // A ternary is never boolean only when neither branch can be.
            let yes = never_boolean(&call.args[1])?;
            let no = never_boolean(&call.args[2])?;
            Some(format!("{yes} or {no}"))
        }
        Expr::Call(call) if NON_BOOLEAN_FUNCTIONS.contains(&call.func_name.as_str()) => Some(
            format!("the result of {}", display_function(&call.func_name)),
        ),
        _ => None,
    }
}

/// `_+_` as `+`, `size` as `size()`.
fn display_function(name: &str) -> String {
    match name {
        n if n == operators::ADD => "`+`".into(),
        n if n == operators::SUBSTRACT || n == operators::NEGATE => "`-`".into(),
        n if n == operators::MULTIPLY => "`*`".into(),
        n if n == operators::DIVIDE => "`/`".into(),
        n if n == operators::MODULO => "`%`".into(),
        other => format!("{other}()"),
    }
}

/// Cuts an error message to [`MAX_ERROR_CHARS`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// JSON as CEL: integers as `int` when they fit, `uint` above `i64::MAX`, else `double`.
fn json_to_cel(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Int(i) => {
            if let Ok(int) = i64::try_from(*i) {
                Value::Int(int)
            } else if let Ok(uint) = u64::try_from(*i) {
                Value::UInt(uint)
            } else {
                Value::Float(*i as f64)
            }
        }
        Json::Float(f) => Value::Float(*f),
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(json_to_cel).collect())),
        Json::Object(members) => Value::Map(Map {
            map: Arc::new(
                members
                    .iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), json_to_cel(v)))
                    .collect(),
            ),
        }),
    }
}

/// `serde_json` values as CEL, with the same number rules as [`json_to_cel`].
fn serde_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(int) = n.as_i64() {
                Value::Int(int)
            } else if let Some(uint) = n.as_u64() {
                Value::UInt(uint)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(serde_to_cel).collect()))
        }
        serde_json::Value::Object(members) => Value::Map(Map {
            map: Arc::new(
                members
                    .iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), serde_to_cel(v)))
                    .collect(),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(filter: &str, data: serde_json::Value) -> Result<bool, FilterError> {
        Filter::compile(filter)
            .unwrap()
            .matches("booking.created", &data, "acc_1")
    }

    #[test]
    fn the_spec_example_matches_and_does_not() {
        let filter = "data.clinicId == 42 && data.total_cents >= 10000";
        assert_eq!(
            eval(filter, json!({"clinicId": 42, "total_cents": 10000})),
            Ok(true)
        );
        assert_eq!(
            eval(filter, json!({"clinicId": 42, "total_cents": 9999})),
            Ok(false)
        );
        assert_eq!(
            eval(filter, json!({"clinicId": 7, "total_cents": 50000})),
            Ok(false)
        );
    }

    #[test]
    fn type_and_account_are_variables() {
        assert_eq!(eval("type == 'booking.created'", json!({})), Ok(true));
        assert_eq!(eval("type.startsWith('invoice.')", json!({})), Ok(false));
        assert_eq!(eval("account == 'acc_1'", json!(null)), Ok(true));
        assert_eq!(eval("account != 'acc_1'", json!(null)), Ok(false));
    }

    #[test]
    fn a_missing_field_is_an_error_and_has_tests_presence() {
        assert!(matches!(
            eval("data.missing == 1", json!({"present": 1})),
            Err(FilterError::Evaluation(_))
        ));
        assert_eq!(eval("has(data.present)", json!({"present": 1})), Ok(true));
        assert_eq!(eval("has(data.missing)", json!({"present": 1})), Ok(false));
        assert_eq!(
            eval("has(data.missing) && data.missing == 1", json!({})),
            Ok(false)
        );
        assert_eq!(eval("has(data.a.b)", json!({"a": {"b": null}})), Ok(true));
    }

    #[test]
    fn a_wrong_type_is_an_error() {
        assert!(matches!(
            eval("data.total > 10", json!({"total": "lots"})),
            Err(FilterError::Evaluation(_))
        ));
        assert!(matches!(
            eval("data.name.startsWith('a')", json!({"name": 5})),
            Err(FilterError::Evaluation(_))
        ));
        assert!(matches!(
            eval("data.x.y == 1", json!({"x": [1]})),
            Err(FilterError::Evaluation(_))
        ));
    }

    #[test]
    fn a_non_boolean_result_is_an_error() {
        assert_eq!(
            eval("data.n", json!({"n": 5})),
            Err(FilterError::NotBoolean("int".into()))
        );
        assert_eq!(eval("data.flag", json!({"flag": true})), Ok(true));
        assert!(matches!(
            eval("data", json!("text")),
            Err(FilterError::NotBoolean(_))
        ));
    }

    #[test]
    fn numbers_compare_across_kinds() {
        assert_eq!(eval("data.price > 10", json!({"price": 10.5})), Ok(true));
        assert_eq!(eval("data.price == 10.5", json!({"price": 10.5})), Ok(true));
        assert_eq!(eval("data.n == 3.0", json!({"n": 3})), Ok(true));
        assert_eq!(eval("data.n < 2", json!({"n": 3})), Ok(false));
    }

    #[test]
    fn big_integers_and_floats_in_data() {
        // Above i64::MAX: a uint, exact.
        let data = json!({"big": 18446744073709551615u64});
        assert_eq!(
            eval("data.big == 18446744073709551615u", data.clone()),
            Ok(true)
        );
        assert_eq!(eval("data.big > 100", data.clone()), Ok(true));
        assert_eq!(eval("data.big == 18446744073709551614u", data), Ok(false));
        assert_eq!(
            eval("data.neg == -9223372036854775808", json!({"neg": i64::MIN})),
            Ok(true)
        );
        // Beyond 64 bits (only reachable from the text form): a double.
        let input = FilterInput::from_json_text(
            "t.x",
            r#"{"huge": 123456789012345678901234567890, "inf": 1e400, "f": 0.1}"#,
            "a",
        )
        .unwrap();
        let check = |f: &str| Filter::compile(f).unwrap().matches_input(&input);
        assert_eq!(check("data.huge > 1.0e29"), Ok(true));
        assert_eq!(check("type(data.huge) == double"), Ok(true));
        assert_eq!(check("data.inf > 1.0e308"), Ok(true));
        assert_eq!(check("data.f == 0.1"), Ok(true));
        assert!(FilterInput::from_json_text("t", "{oops", "a").is_err());
    }

    #[test]
    fn lists_and_strings() {
        let data = json!({"tags": ["vip", "new"], "name": "Ann", "nested": {"list": [{"k": 1}]}});
        assert_eq!(eval("'vip' in data.tags", data.clone()), Ok(true));
        assert_eq!(eval("'old' in data.tags", data.clone()), Ok(false));
        assert_eq!(eval("size(data.tags) == 2", data.clone()), Ok(true));
        assert_eq!(eval("data.name + '!' == 'Ann!'", data.clone()), Ok(true));
        assert_eq!(eval("data.nested.list[0].k == 1", data.clone()), Ok(true));
        assert_eq!(eval("data['name'] == 'Ann'", data.clone()), Ok(true));
        assert!(matches!(
            eval("data.nested.list[5].k == 1", data),
            Err(FilterError::Evaluation(_))
        ));
        assert_eq!(eval("true", json!(null)), Ok(true));
        assert_eq!(eval("1 / 0 == 1 || true", json!(null)), Ok(true));
        assert!(matches!(
            eval("1 / 0 == 1", json!(null)),
            Err(FilterError::Evaluation(_))
        ));
    }

    #[test]
    fn parse_errors_carry_the_parsers_message() {
        let error = Filter::compile("data.clinicId == ").unwrap_err();
        assert!(error.starts_with("does not parse: 1:"), "{error}");
        let error = Filter::compile("data.a === 1").unwrap_err();
        assert!(error.starts_with("does not parse"), "{error}");
        assert!(Filter::compile("").unwrap_err().contains("empty"));
        assert!(Filter::compile("   ").unwrap_err().contains("empty"));
        assert!(Filter::compile("(((").is_err());
    }

    #[test]
    fn what_is_known_not_to_be_boolean_is_refused() {
        for expression in [
            "42",
            "1.5",
            "'text'",
            "b'x'",
            "null",
            "[1, 2]",
            "{'a': 1}",
            "data.a + 1",
            "-data.a",
            "size(data.a)",
            "string(data.a)",
            "type",
            "account",
            "data.a ? 1 : 'b'",
            "int",
        ] {
            let error = Filter::compile(expression).unwrap_err();
            assert!(error.contains("boolean"), "{expression}: {error}");
        }
        for expression in [
            "data.a",
            "data.a ? true : 1",
            "true",
            "!data.a",
            "data.a == 1",
        ] {
            assert!(Filter::compile(expression).is_ok(), "{expression}");
        }
    }

    #[test]
    fn what_could_run_long_is_refused() {
        for expression in [
            "data.items.exists(i, i.sku == 'x')",
            "data.items.all(i, i > 0)",
            "data.items.exists_one(i, i > 0)",
            "size(data.items.map(i, i * 2)) > 0",
            "size(data.items.filter(i, i > 0)) > 0",
        ] {
            let error = Filter::compile(expression).unwrap_err();
            assert!(error.contains("comprehension"), "{expression}: {error}");
        }
        let many_additions = format!("data.s{} == ''", " + data.s".repeat(MAX_ADDITIONS + 1));
        let error = Filter::compile(&many_additions).unwrap_err();
        assert!(error.contains("`+`"), "{error}");
        let enough = format!("data.s{} == ''", " + data.s".repeat(MAX_ADDITIONS));
        assert!(Filter::compile(&enough).is_ok());
        let too_long = format!("data.a == '{}'", "x".repeat(MAX_FILTER_CHARS));
        assert!(Filter::compile(&too_long).unwrap_err().contains("2000"));
        // Characters, not bytes: 2000 two-byte characters fit.
        let wide = format!("data.a == '{}'", "é".repeat(MAX_FILTER_CHARS - 13));
        assert!(Filter::compile(&wide).is_ok());
        let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
        assert!(Filter::compile(&deep).is_err());
        // Repeated negations collapse while parsing: no depth.
        let negations = format!("{}true", "!".repeat(101));
        assert_eq!(
            Filter::compile(&negations)
                .unwrap()
                .matches("t", &json!(null), "a"),
            Ok(false)
        );
        let chain = format!("1{} == 1", " - 1".repeat(400));
        assert!(Filter::compile(&chain).is_err());
    }

    #[test]
    fn functions_this_build_lacks_are_refused() {
        for expression in [
            "data.a.matches('^x')",
            "matches(data.a, 'x')",
            "timestamp(data.at) > timestamp('2026-01-01T00:00:00Z')",
            "duration('1h') > duration('1m')",
        ] {
            let error = Filter::compile(expression).unwrap_err();
            assert!(error.contains("do not provide"), "{expression}: {error}");
        }
    }

    #[test]
    fn unknown_variables_are_refused() {
        let error = Filter::compile("foo == 1").unwrap_err();
        assert!(error.contains("\"foo\""), "{error}");
        assert!(Filter::compile("type(data.a) == int").is_ok());
    }

    #[test]
    fn the_deepest_filters_compile_and_evaluate_on_a_small_stack() {
        // Evaluation runs on the caller's thread (the engine's have 2 MiB stacks); compiling
        // has a thread of its own.
        let sources = [
            format!(
                "{}data.a == 1{}",
                "(".repeat(MAX_DEPTH),
                ")".repeat(MAX_DEPTH)
            ),
            format!(
                "{}[1]{} == []",
                "[".repeat(MAX_DEPTH),
                "]".repeat(MAX_DEPTH)
            ),
            format!("data{} == 1", ".a".repeat(MAX_DEPTH)),
            format!("{}true", "!".repeat(200)),
            format!("1{} == 1", " - 1".repeat(400)),
            format!("{}true", "true ? true : ".repeat(100)),
            format!("{}1{} > 0", "size(".repeat(200), ")".repeat(200)),
        ];
        let compiled: Vec<Filter> = sources
            .iter()
            .filter_map(|source| Filter::compile(source).ok())
            .collect();
        assert!(!compiled.is_empty());
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let mut nested = json!(1);
                for _ in 0..MAX_DEPTH {
                    nested = json!({ "a": nested });
                }
                for filter in &compiled {
                    let _ = filter.matches("t", &nested, "a");
                }
            })
            .unwrap();
        handle.join().unwrap();
        let error = Filter::compile(&sources[0].replacen('(', "((", 1)).unwrap_err();
        assert!(error.contains("nested too deeply"), "{error}");
    }

    #[test]
    fn typical_cost() {
        let filter = Filter::compile(
            "data.clinicId == 42 && data.total_cents >= 10000 && type.startsWith('booking.')",
        )
        .unwrap();
        let data = json!({
            "clinicId": 42, "total_cents": 12000, "customer": {"name": "Ann", "email": "a@b.c"},
            "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}]
        });
        let input = FilterInput::new("booking.created", &data, "acc_1");
        let rounds = 1000;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            assert_eq!(filter.matches_input(&input), Ok(true));
        }
        let per_eval = started.elapsed() / rounds;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            let _ = FilterInput::new("booking.created", &data, "acc_1");
        }
        let per_input = started.elapsed() / rounds;
        println!("typical filter: {per_eval:?} per evaluation, {per_input:?} per input conversion");
    }

    #[test]
    fn filters_are_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Filter>();
        shareable::<FilterInput>();
    }
}
