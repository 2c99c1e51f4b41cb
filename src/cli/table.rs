//! Plain-text output: aligned tables for lists, `field  value` lines for one resource.
//!
//! No colours and no box drawing, so the output reads the same in a terminal, a log and a
//! pipe into `grep`/`awk`. Every cell goes through [`clean`]: names and URLs come from the
//! store, and a control character in them must not reach the operator's terminal.

use serde_json::Value;

/// A table: a header row and data rows, each column as wide as its widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(header: &[&'static str]) -> Table {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds one row; cells are cleaned here, so callers pass server text as is.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| clean(c)).collect());
    }

    /// The table as lines separated by two spaces between columns; the last column is not
    /// padded, so lines carry no trailing blanks.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    let pad = width - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// One resource as `field  value` lines, the values aligned.
pub fn pairs(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (key, value) in pairs {
        let value = clean(value);
        out.push_str(format!("{key:<width$}  {value}").trim_end());
        out.push('\n');
    }
    out
}

/// A JSON value as cell text: strings as they are, `null`/absent as `-`, a list of strings
/// joined with `, `, anything else as compact JSON.
pub fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Server text made safe for a terminal: control characters (ESC, CR, newlines…) become
/// `\u{…}` escapes, so a stored name cannot move the cursor, recolour or forge output lines.
pub fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_align_without_trailing_blanks() {
        let mut table = Table::new(&["ID", "NAME", "X"]);
        table.row(vec!["a".into(), "Cool Account".into(), String::new()]);
        table.row(vec!["long-id".into(), "n".into(), "1".into()]);
        assert_eq!(
            table.render(),
            "ID       NAME          X\na        Cool Account\nlong-id  n             1\n"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("plain näme"), "plain näme");
        assert_eq!(clean("a\u{1b}[31mred\nx"), "a\\u{1b}[31mred\\u{a}x");
        let mut table = Table::new(&["NAME"]);
        table.row(vec!["x\ry".into()]);
        assert_eq!(table.render(), "NAME\nx\\u{d}y\n");
    }

    #[test]
    fn values_become_cell_text() {
        assert_eq!(text(None), "-");
        assert_eq!(text(Some(&json!(null))), "-");
        assert_eq!(text(Some(&json!("s"))), "s");
        assert_eq!(text(Some(&json!(["a.b", "c.*"]))), "a.b, c.*");
        assert_eq!(text(Some(&json!({"k": 1}))), "{\"k\":1}");
        assert_eq!(text(Some(&json!(true))), "true");
    }

    #[test]
    fn pairs_align_keys() {
        assert_eq!(
            pairs(&[
                ("id", "1".into()),
                ("name", "n".into()),
                ("none", String::new())
            ]),
            "id    1\nname  n\nnone\n"
        );
    }
}
