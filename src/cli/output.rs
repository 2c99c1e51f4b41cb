//! Where a command's answer goes: the API's body untouched with `--json` (for scripts and
//! `jq`), a readable rendering otherwise.

use std::io::Write;

use serde_json::Value;

use super::Failure;
use super::http::Reply;

/// The output mode of one command.
pub struct Output {
    json: bool,
}

impl Output {
    /// `json`: print response bodies as received instead of tables.
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Prints one resource: the body with `--json`, else `render` of the parsed body.
    pub fn show(
        &self,
        reply: &Reply,
        render: impl FnOnce(&Value) -> String,
    ) -> Result<(), Failure> {
        if self.json {
            return raw(&reply.body);
        }
        let value = reply.json()?;
        write_out(render(&value).as_bytes())
    }

    /// Prints a page: the page object with `--json`, else the rendered items, and on stderr
    /// how to get the next page when there is one (stderr so the table stays parseable).
    pub fn page(
        &self,
        reply: &Reply,
        render: impl FnOnce(&Value) -> String,
    ) -> Result<(), Failure> {
        if self.json {
            return raw(&reply.body);
        }
        let value = reply.json()?;
        write_out(render(&value).as_bytes())?;
        if let Some(cursor) = value.get("nextCursor").and_then(Value::as_str) {
            eprintln!(
                "more on the next page: repeat with --cursor {}",
                super::table::clean(cursor)
            );
        }
        Ok(())
    }

    /// Prints the outcome of a call without a resource in its answer (204): the body as
    /// received (empty) with `--json`, else `message`.
    pub fn done(&self, reply: &Reply, message: &str) -> Result<(), Failure> {
        if self.json {
            return raw(&reply.body);
        }
        write_out(format!("{message}\n").as_bytes())
    }
}

/// Writes a body as received, adding a final newline only when it lacks one (so the shell
/// prompt does not end up on the JSON's line).
fn raw(body: &[u8]) -> Result<(), Failure> {
    if body.is_empty() || body.ends_with(b"\n") {
        return write_out(body);
    }
    let mut with_newline = Vec::with_capacity(body.len() + 1);
    with_newline.extend_from_slice(body);
    with_newline.push(b'\n');
    write_out(&with_newline)
}

/// Writes to stdout without panicking when it is closed (`hookd … | head`).
pub fn write_out(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Other(format!("cannot write to standard output: {e}")))
}
