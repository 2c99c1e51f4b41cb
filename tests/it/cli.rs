//! The command-line client end to end: the real `hookd` binary run as a client against a real
//! server (tests/it/common), its tables, `--json`, errors and exit codes; `healthcheck`, `verify`
//! and a backup that is restored and served.

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use base64::Engine as _;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// What one run of the binary did.
struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Out {
    /// Asserts success and returns stdout.
    fn ok(&self) -> &str {
        assert!(
            self.status.success(),
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.status.code(),
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    fn json(&self) -> Value {
        let text = self.ok();
        serde_json::from_str(text).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}"))
    }

    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs the binary with `args`, the client's environment variables cleared and `env` set,
/// and `stdin` as standard input (none: empty).
fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookd"));
    cmd.args(args)
        .current_dir(std::env::temp_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for key in [
        "HOOKD_SERVER",
        "HOOKD_TOKEN",
        "HOOKD_LISTEN",
        "HOOKD_CONFIG",
        "HOOKD_DATA_DIR",
        "HOOKD_ADMIN_TOKEN",
        "HOOKD_WEBHOOK_SECRET",
        "HOOKD_WEBHOOK_PUBLIC_KEY",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run hookd");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(input).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for hookd");
    Out {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A client command against `server` as admin, the connection options placed after the
/// subcommand's own arguments.
fn cli(server: &Server, args: &[&str]) -> Out {
    let mut all = args.to_vec();
    all.extend(["--server", server.base.as_str(), "--token", ADMIN]);
    run(&all, &[], None)
}

/// The value of the `field  value` line of a one-resource rendering.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?;
            rest.starts_with("  ").then(|| rest.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {name:?} line in:\n{text}"))
}

/// The rows of a table (header excluded), split on whitespace.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn webhook_path(account: &str, id: &str) -> String {
    format!("/v1/accounts/{account}/webhooks/{id}")
}

fn account_create_and_list_as_table_and_json() {
    let server = Server::start();
    let created = cli(
        &server,
        &["account", "create", "Cool Account", "--id", "cool"],
    );
    let text = created.ok();
    assert_eq!(field(text, "id"), "cool");
    assert_eq!(field(text, "name"), "Cool Account");
    assert_eq!(server.get("/v1/accounts/cool", ADMIN).status, 200);

    let other = cli(&server, &["account", "create", "Other Account", "--json"]).json();
    assert_eq!(other["name"], "Other Account");
    let other_id = other["id"].as_str().expect("generated id").to_string();
    assert_eq!(other_id.len(), 36, "a UUID: {other_id}");
    assert_eq!(other["language"], "en");

    let table = cli(&server, &["account", "list"]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "NAME", "CREATED"]
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cool ") && l.contains("Cool Account"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&other_id) && l.contains("Other Account"))
    );

    // --json prints the page object as the API sent it.
    let listed = cli(&server, &["account", "list", "--json"]);
    let direct = server.get("/v1/accounts", ADMIN);
    assert_eq!(listed.ok().trim_end(), direct.text.trim_end());

    // A language for its notifications and activation pages; the server checks it.
    let german = cli(
        &server,
        &["account", "create", "Praxis", "--language", "de", "--json"],
    )
    .json();
    assert_eq!(german["language"], "de");
    let bad = cli(&server, &["account", "create", "X", "--language", "fr"]);
    assert_eq!(bad.code(), Some(1), "{}", bad.stderr);
    assert!(bad.stderr.contains("language"), "{}", bad.stderr);

    // Paging: the next cursor is announced on stderr and accepted back.
    let first = cli(&server, &["account", "list", "--limit", "1"]);
    assert_eq!(rows(first.ok()).len(), 1);
    let cursor = first
        .stderr
        .split("--cursor ")
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("no cursor hint: {}", first.stderr))
        .to_string();
    let second = cli(
        &server,
        &[
            "account", "list", "--limit", "1", "--cursor", &cursor, "--json",
        ],
    )
    .json();
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    let first_id = &rows(&first.stdout)[0][0];
    assert_ne!(second["items"][0]["id"].as_str(), Some(first_id.as_str()));
}

fn api_errors_exit_non_zero_with_title_and_detail() {
    let server = Server::start();
    cli(&server, &["account", "create", "A", "--id", "dup"]).ok();
    let again = cli(&server, &["account", "create", "A", "--id", "dup"]);
    assert_eq!(again.code(), Some(1), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    let problem = server.post("/v1/accounts", ADMIN, &json!({"name": "A", "id": "dup"}));
    problem.assert_problem(409, "conflict");
    for part in ["title", "detail"] {
        let text = problem.json[part].as_str().unwrap();
        assert!(
            again.stderr.contains(text),
            "{part} {text:?} in {}",
            again.stderr
        );
    }

    // A validation problem lists each bad field.
    let invalid = cli(
        &server,
        &[
            "webhook",
            "create",
            "dup",
            "--name",
            "n",
            "--url",
            "not a url",
            "--event",
            "bad type!",
        ],
    );
    assert_eq!(invalid.code(), Some(1));
    assert!(
        invalid.stderr.contains("Validation failed"),
        "{}",
        invalid.stderr
    );
    assert!(
        invalid.stderr.contains("\n  eventUrl: "),
        "{}",
        invalid.stderr
    );
    assert!(
        invalid.stderr.contains("\n  eventList[0]: "),
        "{}",
        invalid.stderr
    );

    // A wrong token is the server's 401; no token at all is a usage error before any call.
    let wrong = run(
        &[
            "account",
            "list",
            "--server",
            &server.base,
            "--token",
            "nope",
        ],
        &[],
        None,
    );
    assert_eq!(wrong.code(), Some(1));
    assert!(wrong.stderr.contains("(401)"), "{}", wrong.stderr);
    let none = run(&["account", "list", "--server", &server.base], &[], None);
    assert_eq!(none.code(), Some(2));
    assert!(none.stderr.contains("HOOKD_TOKEN"), "{}", none.stderr);

    // An unreachable server is named.
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let down = run(
        &["account", "list", "--server", &url, "--token", ADMIN],
        &[],
        None,
    );
    assert_eq!(down.code(), Some(1));
    assert!(down.stderr.contains(&url), "{}", down.stderr);
}

fn token_create_and_list() {
    let server = Server::start();
    let account = server.create_account("Tokens");
    let created = cli(&server, &["token", "create", &account, "--name", "backend"]);
    let token = field(created.ok(), "token");
    assert!(token.starts_with("hkd_"), "{token}");
    assert_eq!(field(&created.stdout, "name"), "backend");
    // The printed token works for its account.
    let own = request(
        "GET",
        &server.url(&format!("/v1/accounts/{account}")),
        Some(&token),
        None,
    );
    assert_eq!(own.status, 200, "{}", own.text);

    // Server and token from the environment this time.
    let listed = run(
        &["token", "list", &account],
        &[("HOOKD_SERVER", &server.base), ("HOOKD_TOKEN", ADMIN)],
        None,
    );
    let table = listed.ok();
    assert_eq!(rows(table).len(), 1, "{table}");
    assert!(table.contains("backend"));
    assert!(!table.contains(&token), "a list never shows the token");
    let page = cli(&server, &["token", "list", &account, "--json"]).json();
    assert_eq!(page["items"][0]["name"], "backend");
    assert!(page["nextCursor"].is_null());
}

fn webhook_create_and_list_with_filters_and_options_anywhere() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("Hooks");
    let alpha = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "alpha",
            "--url",
            &receiver.url,
            "--event",
            "order.created",
            "--event",
            "invoice.*",
            "--json",
        ],
    )
    .json();
    assert_eq!(alpha["eventList"], json!(["order.created", "invoice.*"]));
    assert!(alpha["secret"].as_str().unwrap_or("").starts_with("whsec_"));
    let beta = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "beta",
            "--url",
            &receiver.url,
            "--event",
            "shipment.*",
        ],
    );
    assert!(field(beta.ok(), "secret").starts_with("whsec_"));
    let beta_id = field(&beta.stdout, "id");

    // Options after the positional argument.
    let base = server.base.as_str();
    let by_name = run(
        &[
            "webhook", "list", &account, "--name", "alpha", "--json", "--server", base, "--token",
            ADMIN,
        ],
        &[],
        None,
    )
    .json();
    let items = by_name["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{by_name}");
    assert_eq!(items[0]["name"], "alpha");
    // Options before the subcommand and before the positional argument.
    let by_event = run(
        &[
            "webhook",
            "--server",
            base,
            "--token",
            ADMIN,
            "list",
            "--json",
            "--event",
            "shipment.sent",
            &account,
        ],
        &[],
        None,
    )
    .json();
    let items = by_event["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{by_event}");
    assert_eq!(items[0]["id"].as_str(), Some(beta_id.as_str()));

    let table = cli(&server, &["webhook", "list", &account]);
    let all = rows(table.ok());
    assert_eq!(all.len(), 2, "{}", table.stdout);
    assert!(table.stdout.lines().next().unwrap_or("").starts_with("ID"));
    let invoices = cli(
        &server,
        &["webhook", "list", &account, "--event", "invoice.paid"],
    );
    let found = rows(invoices.ok());
    assert_eq!(found.len(), 1, "{}", invoices.stdout);
    assert_eq!(found[0][1], "alpha");
    assert!(found[0].contains(&receiver.url));
}

fn webhook_update_keeps_what_is_not_given() {
    let server = Server::start();
    let account = server.create_account("Update");
    let created = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "orig", "eventUrl": "http://127.0.0.1:9/a", "eventList": ["a.b"],
            "description": "kept", "headers": {"x-custom": "1"}, "rateLimit": 7, "ordered": true}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_string();

    let updated = cli(
        &server,
        &[
            "webhook",
            "update",
            &account,
            &id,
            "--url",
            "http://127.0.0.1:9/b",
            "--json",
        ],
    )
    .json();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["eventUrl"], "http://127.0.0.1:9/b");
    assert_eq!(updated["name"], "orig");
    assert_eq!(updated["eventList"], json!(["a.b"]));
    assert_eq!(updated["description"], "kept");
    assert_eq!(updated["headers"], json!({"x-custom": "1"}));
    assert_eq!(updated["rateLimit"], 7);
    assert_eq!(updated["ordered"], true);
    assert_eq!(updated["enabled"], true);

    let table = cli(
        &server,
        &[
            "webhook",
            "update",
            &account,
            &id,
            "--enabled",
            "false",
            "--name",
            "renamed",
            "--event",
            "x.y",
            "--event",
            "z.*",
        ],
    );
    assert_eq!(field(table.ok(), "version"), "3");
    let stored = server.get(&webhook_path(&account, &id), ADMIN).json;
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["enabled"], false);
    assert_eq!(stored["name"], "renamed");
    assert_eq!(stored["eventList"], json!(["x.y", "z.*"]));
    assert_eq!(stored["eventUrl"], "http://127.0.0.1:9/b");
    assert_eq!(stored["description"], "kept");
    assert_eq!(stored["rateLimit"], 7);

    // Nothing to change, or a bad --enabled, is a usage error and changes nothing.
    let nothing = cli(&server, &["webhook", "update", &account, &id]);
    assert_eq!(nothing.code(), Some(2), "{}", nothing.stderr);
    let bad = cli(
        &server,
        &["webhook", "update", &account, &id, "--enabled", "maybe"],
    );
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr);
    assert_eq!(
        server.get(&webhook_path(&account, &id), ADMIN).json["version"],
        3
    );
}

fn webhook_rotate_test_activate_and_delete() {
    let gone = Arc::new(AtomicBool::new(false));
    let flag = gone.clone();
    let receiver = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::status(410)
        } else {
            Reply::ok()
        }
    });
    let server = Server::start_with("[delivery]\nretry_schedule = [\"100ms\", \"100ms\"]\n", &[]);
    let account = server.create_account("Life");
    let created = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "life",
            "--url",
            &receiver.url,
            "--event",
            "order.*",
            "--json",
        ],
    )
    .json();
    let id = created["id"].as_str().unwrap().to_string();
    let first_secret = created["secret"].as_str().unwrap().to_string();

    // rotate-secret prints the new secret, which is the stored one.
    let rotated = cli(&server, &["webhook", "rotate-secret", &account, &id]);
    let secret = field(rotated.ok(), "secret");
    assert!(secret.starts_with("whsec_"));
    assert_ne!(secret, first_secret);
    let stored = server.get(&format!("{}/secret", webhook_path(&account, &id)), ADMIN);
    assert_eq!(stored.json["secret"].as_str(), Some(secret.as_str()));

    // test sends a hookd.ping to this webhook.
    let test = cli(&server, &["webhook", "test", &account, &id, "--json"]).json();
    let ping_id = test["eventId"].as_str().expect("eventId").to_string();
    assert!(test["deliveryId"].is_string());
    let got = receiver.wait_for(1, WAIT);
    assert_eq!(got[0].json()["type"], "hookd.ping");
    assert_eq!(got[0].header("webhook-id"), Some(ping_id.as_str()));

    // Deactivate (410), buffer an event, activate with --replay: it is delivered.
    gone.store(true, Ordering::SeqCst);
    let buffered = deactivate_and_buffer(&server, &receiver, &account, &id);
    gone.store(false, Ordering::SeqCst);
    let activated = cli(&server, &["webhook", "activate", &account, &id, "--replay"]);
    let text = activated.ok();
    assert_eq!(field(text, "status"), "active");
    let replayed: u64 = field(text, "replayed").parse().expect("a count");
    assert!(replayed >= 1, "{text}");
    eventually(WAIT, || {
        receiver
            .requests()
            .iter()
            .any(|r| r.header("webhook-id") == Some(buffered.as_str()))
            .then_some(())
    });

    // Without --replay the buffered events are dropped.
    gone.store(true, Ordering::SeqCst);
    let dropped_event = deactivate_and_buffer(&server, &receiver, &account, &id);
    gone.store(false, Ordering::SeqCst);
    let activated = cli(&server, &["webhook", "activate", &account, &id, "--json"]).json();
    assert_eq!(activated["webhook"]["status"], "active");
    assert_eq!(activated["replayed"], 0);
    assert!(
        activated["dropped"].as_u64().unwrap_or(0) >= 1,
        "{activated}"
    );
    let event = server.get(
        &format!("/v1/accounts/{account}/events/{dropped_event}"),
        ADMIN,
    );
    assert_eq!(
        event.json["deliveries"][0]["status"], "cancelled",
        "{}",
        event.text
    );

    let deleted = cli(&server, &["webhook", "delete", &account, &id]);
    assert_eq!(deleted.ok().trim(), format!("deleted webhook {id}"));
    assert_eq!(server.get(&webhook_path(&account, &id), ADMIN).status, 404);
    let again = cli(&server, &["webhook", "delete", &account, &id]);
    assert_eq!(again.code(), Some(1));
    assert!(again.stderr.contains("(404)"), "{}", again.stderr);
}

/// Sends an event the receiver answers with 410, waits for the deactivation, then sends
/// another that is buffered; returns the buffered event's id.
fn deactivate_and_buffer(server: &Server, receiver: &Receiver, account: &str, id: &str) -> String {
    let before = receiver.count();
    let first = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "order.gone", "data": {}}),
    );
    assert_eq!(first.status, 202, "{}", first.text);
    receiver.wait_for(before + 1, WAIT);
    eventually(WAIT, || {
        let w = server.get(&webhook_path(account, id), ADMIN).json;
        (w["status"] == "deactivated").then_some(())
    });
    let second = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "order.buffered", "data": {"n": 1}}),
    );
    assert_eq!(second.status, 202, "{}", second.text);
    let event_id = second.json["id"].as_str().unwrap().to_string();
    let event = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    assert_eq!(
        event.json["deliveries"][0]["status"], "buffered",
        "{}",
        event.text
    );
    event_id
}

fn event_send_inline_and_from_file_and_show() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("Events");
    let webhook = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "e",
            "--url",
            &receiver.url,
            "--event",
            "order.*",
            "--json",
        ],
    )
    .json();
    let webhook_id = webhook["id"].as_str().unwrap().to_string();

    // Key order, a trailing zero and a number too big for f64 survive only if the CLI sends
    // the data bytes as given.
    let data = r#"{"z":1,"a":[1.50,true],"big":123456789012345678901234567890}"#;
    let sent = cli(
        &server,
        &["event", "send", &account, "order.created", "--data", data],
    );
    let text = sent.ok();
    assert_eq!(field(text, "type"), "order.created");
    assert_eq!(field(text, "deliveries"), "1");
    let event_id = field(text, "id");
    let got = receiver.wait_for(1, WAIT);
    let body = String::from_utf8_lossy(&got[0].body).into_owned();
    assert!(body.contains(data), "{body}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data.json");
    let file_data = r#"{"from":"file","n":2.0}"#;
    std::fs::write(&file, format!("{file_data}\n")).expect("write data file");
    let at_file = format!("@{}", file.display());
    let from_file = cli(
        &server,
        &[
            "event",
            "send",
            &account,
            "order.paid",
            "--data",
            &at_file,
            "--json",
        ],
    )
    .json();
    assert_eq!(from_file["type"], "order.paid");
    let file_event = from_file["id"].as_str().unwrap().to_string();
    let shown = cli(&server, &["event", "show", &account, &file_event, "--json"]);
    assert!(shown.ok().contains(file_data), "{}", shown.stdout);
    assert_eq!(shown.json()["type"], "order.paid");

    // The table shows the data as the server sent it (its raw text, not re-rendered) and
    // the delivery.
    let table = cli(&server, &["event", "show", &account, &event_id]);
    let text = table.ok();
    assert_eq!(field(text, "type"), "order.created");
    let direct = server.get(&format!("/v1/accounts/{account}/events/{event_id}"), ADMIN);
    let raw: RawData = serde_json::from_str(&direct.text).expect("event JSON");
    assert_eq!(field(text, "data"), raw.data.get());
    let delivery_line = text
        .lines()
        .find(|l| l.contains(&webhook_id))
        .unwrap_or_else(|| panic!("no delivery row in:\n{text}"));
    assert!(!delivery_line.is_empty());
    assert!(text.contains("DELIVERY"), "{text}");

    // Data that is not exactly one JSON value is refused before anything is sent.
    let events_before = server
        .get(&format!("/v1/accounts/{account}/events"), ADMIN)
        .json;
    for bad in [r#"1, "type": "other""#, "{", ""] {
        let refused = cli(
            &server,
            &["event", "send", &account, "order.bad", "--data", bad],
        );
        assert_eq!(refused.code(), Some(2), "{bad:?}: {}", refused.stderr);
    }
    let missing = cli(
        &server,
        &[
            "event",
            "send",
            &account,
            "order.bad",
            "--data",
            "@/nonexistent/x.json",
        ],
    );
    assert_eq!(missing.code(), Some(2), "{}", missing.stderr);
    let events_after = server
        .get(&format!("/v1/accounts/{account}/events"), ADMIN)
        .json;
    assert_eq!(events_before["items"], events_after["items"]);
}

fn delivery_list_with_filters_and_retry() {
    let healthy = Receiver::ok();
    let failing_now = Arc::new(AtomicBool::new(true));
    let flag = failing_now.clone();
    let flaky = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    let server = Server::start_with("[delivery]\nretry_schedule = [\"100ms\"]\n", &[]);
    let account = server.create_account("Deliveries");
    let create = |name: &str, url: &str| {
        cli(
            &server,
            &[
                "webhook", "create", &account, "--name", name, "--url", url, "--event", "order.*",
                "--json",
            ],
        )
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let good = create("good", &healthy.url);
    let bad = create("bad", &flaky.url);
    cli(
        &server,
        &["event", "send", &account, "order.created", "--data", "{}"],
    )
    .ok();

    let list = |args: &[&str]| {
        let mut all = vec!["delivery", "list", account.as_str()];
        all.extend_from_slice(args);
        cli(&server, &all)
    };
    let failed = eventually(WAIT, || {
        let page = list(&["--status", "failed", "--json"]).json();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 1).then(|| items[0].clone())
    });
    assert_eq!(failed["webhookId"].as_str(), Some(bad.as_str()));
    let failed_id = failed["id"].as_str().unwrap().to_string();
    let succeeded = list(&["--webhook", &good, "--status", "succeeded", "--json"]).json();
    assert_eq!(
        succeeded["items"].as_array().map(Vec::len),
        Some(1),
        "{succeeded}"
    );
    assert_eq!(
        succeeded["items"][0]["webhookId"].as_str(),
        Some(good.as_str())
    );
    let none = list(&["--webhook", &good, "--status", "failed", "--json"]).json();
    assert_eq!(none["items"], json!([]));

    let table = list(&[]);
    let text = table.ok();
    assert_eq!(rows(text).len(), 2, "{text}");
    let bad_row = text
        .lines()
        .find(|l| l.starts_with(&failed_id))
        .unwrap_or_else(|| panic!("no row for {failed_id}:\n{text}"));
    assert!(
        bad_row.contains("failed") && bad_row.contains("http_error (500)"),
        "{bad_row}"
    );
    let only_good = list(&["--webhook", &good]);
    let good_rows = rows(only_good.ok());
    assert_eq!(good_rows.len(), 1);
    assert!(
        good_rows[0].contains(&"succeeded".to_string()),
        "{good_rows:?}"
    );

    // Retry the failed one once its receiver is healthy again.
    failing_now.store(false, Ordering::SeqCst);
    let retried = cli(&server, &["delivery", "retry", &account, &failed_id]);
    assert_eq!(field(retried.ok(), "id"), failed_id);
    let done = eventually(WAIT, || {
        let d = server
            .get(
                &format!("/v1/accounts/{account}/deliveries/{failed_id}"),
                ADMIN,
            )
            .json;
        (d["status"] == "succeeded").then_some(d)
    });
    assert_eq!(done["attempts"].as_array().map(Vec::len), Some(3), "{done}");
}

#[test]
fn healthcheck_answers_by_exit_code() {
    let server = Server::start();
    let addr = server
        .base
        .strip_prefix("http://")
        .expect("http base")
        .to_string();
    let port = addr.rsplit(':').next().expect("port").to_string();

    let by_flag = run(&["healthcheck", "--server", &server.base], &[], None);
    assert_eq!(by_flag.code(), Some(0), "{}", by_flag.stderr);
    let by_listen = run(&["healthcheck"], &[("HOOKD_LISTEN", &addr)], None);
    assert_eq!(by_listen.code(), Some(0), "{}", by_listen.stderr);
    let unspecified = format!("0.0.0.0:{port}");
    let by_any = run(&["healthcheck"], &[("HOOKD_LISTEN", &unspecified)], None);
    assert_eq!(by_any.code(), Some(0), "{}", by_any.stderr);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, format!("listen = \"{unspecified}\"\n")).expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let by_config = run(&["healthcheck", "--config", config], &[], None);
    assert_eq!(by_config.code(), Some(0), "{}", by_config.stderr);
    let by_config_env = run(&["healthcheck"], &[("HOOKD_CONFIG", config)], None);
    assert_eq!(by_config_env.code(), Some(0), "{}", by_config_env.stderr);

    // A closed port, by flag and by listen address; HOOKD_SERVER wins over the listen address.
    let closed = format!("127.0.0.1:{}", closed_port());
    let down = run(
        &["healthcheck", "--server", &format!("http://{closed}")],
        &[],
        None,
    );
    assert_eq!(down.code(), Some(1));
    let down = run(&["healthcheck"], &[("HOOKD_LISTEN", &closed)], None);
    assert_eq!(down.code(), Some(1));
    let server_wins = run(
        &["healthcheck"],
        &[("HOOKD_LISTEN", &closed), ("HOOKD_SERVER", &server.base)],
        None,
    );
    assert_eq!(server_wins.code(), Some(0), "{}", server_wins.stderr);

    // Something other than 200, or no answer within 2 s, is unhealthy.
    let unavailable = Receiver::start(|_, _| Reply::status(503));
    let base = format!("http://127.0.0.1:{}", unavailable.port);
    assert_eq!(
        run(&["healthcheck", "--server", &base], &[], None).code(),
        Some(1)
    );
    // The answer would be a 200, 20 s later: unhealthy means it gave up before.
    let slow = Receiver::start(|_, _| Reply::ok().after(Duration::from_secs(20)));
    let base = format!("http://127.0.0.1:{}", slow.port);
    let hung = run(&["healthcheck", "--server", &base], &[], None);
    assert_eq!(hung.code(), Some(1));
    slow.wait_for(1, Duration::from_secs(20));
}

#[test]
fn verify_checks_signature_and_timestamp() {
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    );
    let body = br#"{"type":"order.created","timestamp":"2026-11-22T10:15:02.123Z","data":{"n":1}}"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, body).expect("write body");
    let body_path = body_file.to_str().expect("utf-8 path");
    let now = now_secs();
    let signature = standard_signature(&secret, "msg_1", now, body);
    let id = "webhook-id: msg_1".to_string();
    let ts = format!("webhook-timestamp: {now}");
    let sig = format!("webhook-signature: {signature}");

    let good = run(
        &[
            "verify",
            "--secret",
            &secret,
            "-H",
            &id,
            "-H",
            &ts,
            "-H",
            &sig,
            "--body-file",
            body_path,
        ],
        &[],
        None,
    );
    assert_eq!(good.code(), Some(0), "{}", good.stderr);
    assert_eq!(good.stdout, "verified\n");

    // From standard input, with header names in any case, another entry beside ours, and
    // the secret from the environment.
    let mixed = format!("Webhook-Signature: v1,AAAA {signature}");
    let stdin = run(
        &[
            "verify",
            "--header",
            "WEBHOOK-ID: msg_1",
            "-H",
            &ts,
            "-H",
            &mixed,
        ],
        &[("HOOKD_WEBHOOK_SECRET", &secret)],
        Some(body),
    );
    assert_eq!(stdin.code(), Some(0), "{}", stdin.stderr);
    assert_eq!(stdin.stdout, "verified\n");

    // A tampered body, another secret, an old timestamp: refused, saying why.
    let mut tampered = body.to_vec();
    tampered[body.len() - 3] = b'2';
    let bad_body = run(
        &[
            "verify", "--secret", &secret, "-H", &id, "-H", &ts, "-H", &sig,
        ],
        &[],
        Some(&tampered),
    );
    assert_ne!(bad_body.code(), Some(0));
    assert!(bad_body.stdout.is_empty());
    assert!(
        bad_body.stderr.contains("not verified"),
        "{}",
        bad_body.stderr
    );
    let other_secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([8u8; 32])
    );
    let bad_secret = run(
        &[
            "verify",
            "--secret",
            &other_secret,
            "-H",
            &id,
            "-H",
            &ts,
            "-H",
            &sig,
            "--body-file",
            body_path,
        ],
        &[],
        None,
    );
    assert_ne!(bad_secret.code(), Some(0));
    let old = now - 600;
    let old_ts = format!("webhook-timestamp: {old}");
    let old_sig = format!(
        "webhook-signature: {}",
        standard_signature(&secret, "msg_1", old, body)
    );
    let stale = run(
        &[
            "verify",
            "--secret",
            &secret,
            "-H",
            &id,
            "-H",
            &old_ts,
            "-H",
            &old_sig,
            "--body-file",
            body_path,
        ],
        &[],
        None,
    );
    assert_ne!(stale.code(), Some(0));
    assert!(stale.stderr.contains("tolerance"), "{}", stale.stderr);

    // A missing header is a usage error naming it.
    let missing = run(
        &[
            "verify",
            "--secret",
            &secret,
            "-H",
            &id,
            "-H",
            &sig,
            "--body-file",
            body_path,
        ],
        &[],
        None,
    );
    assert_eq!(missing.code(), Some(2));
    assert!(
        missing.stderr.contains("webhook-timestamp"),
        "{}",
        missing.stderr
    );
}

#[test]
fn verify_checks_v1a_with_a_public_key() {
    use hookd::signing::{SigningKeyPair, SigningKeys, build_signature_header};
    let pair = SigningKeyPair::generate();
    let public_key = pair.public_key();
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    );
    let body = br#"{"type":"order.created","data":{"n":1}}"#;
    let now = now_secs();
    let v1a_only = SigningKeys {
        key_pair: Some(&pair),
        ..SigningKeys::default()
    };
    let header = build_signature_header(&v1a_only, "msg_1", now, body).unwrap();
    let id = "webhook-id: msg_1".to_string();
    let ts = format!("webhook-timestamp: {now}");
    let sig = format!("webhook-signature: {header}");
    let verify = |keys: &[&str], env: &[(&str, &str)], body: &[u8]| {
        let mut args = vec!["verify"];
        args.extend_from_slice(keys);
        args.extend_from_slice(&["-H", &id, "-H", &ts, "-H", &sig]);
        run(&args, env, Some(body))
    };

    let good = verify(&["--public-key", &public_key], &[], body);
    assert_eq!(good.code(), Some(0), "{}", good.stderr);
    assert_eq!(good.stdout, "verified\n");
    // With both keys, the matching scheme is enough; the key may come from the environment.
    let both = verify(
        &["--secret", &secret],
        &[("HOOKD_WEBHOOK_PUBLIC_KEY", &public_key)],
        body,
    );
    assert_eq!(both.code(), Some(0), "{}", both.stderr);
    // The secret alone cannot verify a v1a signature; another key or body does not either.
    let secret_only = verify(&["--secret", &secret], &[], body);
    assert_ne!(secret_only.code(), Some(0));
    assert!(
        secret_only.stderr.contains("not verified"),
        "{}",
        secret_only.stderr
    );
    let stranger = SigningKeyPair::generate().public_key();
    assert_ne!(
        verify(&["--public-key", &stranger], &[], body).code(),
        Some(0)
    );
    assert_ne!(
        verify(&["--public-key", &public_key], &[], b"{}").code(),
        Some(0)
    );
    let malformed = verify(&["--public-key", "whpk_nope"], &[], body);
    assert_ne!(malformed.code(), Some(0));
    assert!(malformed.stderr.contains("whpk_"), "{}", malformed.stderr);
    // Neither key: a usage error.
    let neither = verify(&[], &[], body);
    assert_eq!(neither.code(), Some(2), "{}", neither.stderr);
}

#[test]
fn verify_accepts_a_real_delivery() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("Verify");
    let created = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "v",
            "--url",
            &receiver.url,
            "--event",
            "order.*",
            "--json",
        ],
    )
    .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    cli(
        &server,
        &[
            "event",
            "send",
            &account,
            "order.created",
            "--data",
            r#"{"n":1}"#,
        ],
    )
    .ok();
    let got = receiver.wait_for(1, WAIT).remove(0);
    let mut args = vec!["verify".to_string(), "--secret".to_string(), secret];
    for name in [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
    ] {
        let value = got.header(name).unwrap_or_else(|| panic!("no {name}"));
        args.extend(["-H".to_string(), format!("{name}: {value}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let verified = run(&args, &[], Some(&got.body));
    assert_eq!(verified.code(), Some(0), "{}", verified.stderr);
    assert_eq!(verified.stdout, "verified\n");
}

#[test]
fn backup_is_restored_and_served() {
    let source = Server::start();
    cli(&source, &["account", "create", "Backed Up", "--id", "keep"]).ok();
    let webhook = cli(
        &source,
        &[
            "webhook",
            "create",
            "keep",
            "--name",
            "kept-hook",
            "--url",
            "http://127.0.0.1:9/x",
            "--event",
            "order.*",
            "--json",
        ],
    )
    .json();
    let webhook_id = webhook["id"].as_str().unwrap().to_string();
    let event = cli(
        &source,
        &[
            "event",
            "send",
            "keep",
            "order.created",
            "--data",
            r#"{"kept":true}"#,
            "--json",
        ],
    )
    .json();
    let event_id = event["id"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hookd-backup.redb");
    let file_arg = file.to_str().expect("utf-8 path");
    let out = cli(&source, &["backup", file_arg]);
    let size = std::fs::metadata(&file).expect("backup written").len();
    assert!(size > 0);
    assert!(out.ok().contains(&size.to_string()), "{}", out.stdout);
    assert_eq!(
        entries(dir.path()),
        ["hookd-backup.redb"],
        "no temporary file left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }

    // Not with an account token: nothing is written.
    let (_, token) = source.create_token("keep");
    let refused_file = dir.path().join("refused.redb");
    let refused = run(
        &[
            "backup",
            refused_file.to_str().expect("utf-8"),
            "--server",
            &source.base,
            "--token",
            &token,
        ],
        &[],
        None,
    );
    assert_eq!(refused.code(), Some(1));
    assert!(refused.stderr.contains("(403)"), "{}", refused.stderr);
    assert_eq!(entries(dir.path()), ["hookd-backup.redb"]);

    // Restore: kill a fresh server that has written since its start (so its write-ahead log
    // holds records of its own), put the file in place as its store, start it.
    let mut restored = Server::start();
    let empty = cli(&restored, &["account", "list", "--json"]).json();
    assert_eq!(empty["items"], json!([]));
    cli(
        &restored,
        &["account", "create", "Replaced", "--id", "replaced"],
    )
    .ok();
    kill_and_restore(&mut restored, &file);
    assert_eq!(
        account_ids(&restored),
        ["keep"],
        "the replaced store's log is not applied to the backup"
    );

    // The same backup restored again after the restored store wrote and was killed: its log
    // (of a store that started from this very file) is not applied either.
    cli(&restored, &["account", "create", "Again", "--id", "again"]).ok();
    kill_and_restore(&mut restored, &file);
    assert_eq!(
        account_ids(&restored),
        ["keep"],
        "a store restored twice does not take the first restore's log"
    );

    let accounts = cli(&restored, &["account", "list", "--json"]).json();
    assert_eq!(accounts["items"][0]["id"], "keep", "{accounts}");
    let hooks = cli(&restored, &["webhook", "list", "keep", "--json"]).json();
    assert_eq!(hooks["items"][0]["id"].as_str(), Some(webhook_id.as_str()));
    assert_eq!(hooks["items"][0]["name"], "kept-hook");
    let shown = cli(&restored, &["event", "show", "keep", &event_id, "--json"]).json();
    assert_eq!(shown["data"], json!({"kept": true}));

    // Restored over the very store it was taken from, after that store wrote more and was
    // killed: the backup is what is served, nothing of the store's log is applied to it.
    let mut source = source;
    cli(&source, &["account", "create", "Later", "--id", "later"]).ok();
    kill_and_restore(&mut source, &file);
    assert_eq!(
        account_ids(&source),
        ["keep"],
        "the store's own log is not applied to its backup"
    );
}

/// The `data` of an event response as raw JSON text.
#[derive(serde::Deserialize)]
struct RawData {
    data: Box<serde_json::value::RawValue>,
}

/// Kills the server (its write-ahead log keeps whatever it wrote last), puts `file` in place
/// as its store, and starts it again.
fn kill_and_restore(server: &mut Server, file: &Path) {
    server.kill();
    std::fs::copy(file, server.data_dir().join("hookd.redb")).expect("restore the file");
    server.restart();
}

/// The ids of the server's accounts, as listed.
fn account_ids(server: &Server) -> Vec<String> {
    cli(server, &["account", "list", "--json"]).json()["items"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect()
}

/// The names in a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A local port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

crate::on_both_backends!(
    account_create_and_list_as_table_and_json,
    api_errors_exit_non_zero_with_title_and_detail,
    token_create_and_list,
    webhook_create_and_list_with_filters_and_options_anywhere,
    webhook_update_keeps_what_is_not_given,
    webhook_rotate_test_activate_and_delete,
    event_send_inline_and_from_file_and_show,
    delivery_list_with_filters_and_retry,
);
#[test]
fn webhook_receiver_options_from_the_command_line() {
    let server = Server::start();
    let account = server.create_account("Receivers");
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("body.j2");
    std::fs::write(&template, "{{ event.type }} for {{ event.account }}").unwrap();
    let created = cli(
        &server,
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "options",
            "--url",
            "http://127.0.0.1:9/hook",
            "--event",
            "a.*",
            "--auth-basic",
            "ann:pa:ss",
            "--filter",
            "data.n > 1",
            "--template-file",
            template.to_str().unwrap(),
            "--content-type",
            "text/plain",
            "--signature",
            "v1 v1a",
            "--json",
        ],
    )
    .json();
    assert_eq!(created["auth"], json!({"type": "basic", "username": "ann"}));
    assert_eq!(created["filter"], "data.n > 1");
    assert_eq!(
        created["template"],
        json!({"body": "{{ event.type }} for {{ event.account }}", "contentType": "text/plain"})
    );
    assert_eq!(created["signature"], "v1 v1a");
    let id = created["id"].as_str().unwrap().to_string();
    let path = webhook_path(&account, &id);
    // The password went in whole: split at the first colon only.
    let receiver = Receiver::ok();
    let moved = cli(
        &server,
        &["webhook", "update", &account, &id, "--url", &receiver.url],
    );
    moved.ok();
    let ping = cli(&server, &["webhook", "test", &account, &id, "--json"]);
    ping.ok();
    let got = receiver.wait_for(1, Duration::from_secs(20));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ann:pa:ss")
    );
    assert_eq!(got[0].header("authorization"), Some(basic.as_str()));
    assert_eq!(got[0].body, format!("hookd.ping for {account}").as_bytes());
    assert_eq!(got[0].header("content-type"), Some("text/plain"));

    // oauth2, then another token URL with the stored client and secret kept.
    let updated = cli(
        &server,
        &[
            "webhook",
            "update",
            &account,
            &id,
            "--auth-oauth2",
            "http://127.0.0.1:9/token",
            "--client-id",
            "client",
            "--client-secret",
            "s3cret",
            "--scope",
            "events",
            "--template-preset",
            "slack",
            "--json",
        ],
    )
    .json();
    assert_eq!(updated["auth"]["type"], "oauth2");
    assert_eq!(updated["template"], json!({"preset": "slack"}));
    assert_eq!(updated["filter"], "data.n > 1", "kept: {updated}");
    let moved = cli(
        &server,
        &[
            "webhook",
            "update",
            &account,
            &id,
            "--auth-oauth2",
            "http://127.0.0.1:8/token",
            "--json",
        ],
    )
    .json();
    assert_eq!(
        moved["auth"],
        json!({"type": "oauth2", "tokenUrl": "http://127.0.0.1:8/token", "clientId": "client",
               "scope": "events", "audience": null})
    );
    let table = cli(
        &server,
        &["webhook", "update", &account, &id, "--signature", "v1a"],
    );
    assert_eq!(
        field(table.ok(), "auth"),
        "oauth2 (client at http://127.0.0.1:8/token)"
    );
    let secret = cli(&server, &["webhook", "rotate-secret", &account, &id]);
    assert!(field(secret.ok(), "public key").starts_with("whpk_"));

    // Clearing.
    let cleared = cli(
        &server,
        &[
            "webhook",
            "update",
            &account,
            &id,
            "--no-auth",
            "--no-filter",
            "--no-template",
            "--json",
        ],
    )
    .json();
    for member in ["auth", "filter", "template"] {
        assert_eq!(cleared[member], Value::Null, "{member}");
    }
    assert_eq!(cleared["signature"], "v1a", "kept");

    // Two auth types, a bad USER:PASS, or a template preset beside a file: usage errors.
    let version = server.get(&path, ADMIN).json["version"].clone();
    for args in [
        vec!["--auth-basic", "a:b", "--auth-bearer", "t"],
        vec!["--auth-basic", "no-colon"],
        vec!["--template-preset", "slack", "--template-file", "x"],
        vec!["--no-auth", "--auth-bearer", "t"],
        vec!["--client-id", "c"],
    ] {
        let mut all = vec!["webhook", "update", account.as_str(), id.as_str()];
        all.extend(args.iter().copied());
        let out = cli(&server, &all);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
    }
    assert_eq!(server.get(&path, ADMIN).json["version"], version);
    // A refused option is the API's 400, named.
    let out = cli(
        &server,
        &["webhook", "update", &account, &id, "--filter", "data.n >"],
    );
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("filter"), "{}", out.stderr);
}

// Moving between backends ---------------------------------------------------------------------

/// What a copy must keep, read from a server: the account seen with its own token, the
/// webhook and its secret, and the second page of events reached with a cursor of the store
/// the copy was taken from.
fn copied_state(server: &Server, account: &str, token: &str, webhook: &str, cursor: &str) -> Value {
    let hooks = format!("/v1/accounts/{account}/webhooks");
    let seen = server.get(&format!("/v1/accounts/{account}"), token);
    assert_eq!(seen.status, 200, "the token works: {}", seen.text);
    let secret = server.get(&format!("{hooks}/{webhook}/secret"), ADMIN);
    assert_eq!(secret.status, 200, "{}", secret.text);
    let page = server.get(
        &format!("/v1/accounts/{account}/events?limit=2&cursor={cursor}"),
        token,
    );
    assert_eq!(page.status, 200, "the cursor works: {}", page.text);
    let ids: Vec<Value> = page.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    json!({"secret": secret.json["secret"], "page": ids, "account": seen.json["id"]})
}

/// Sends an event and checks the receiver gets it signed with `secret`.
fn signed_with(
    server: &Server,
    receiver: &Receiver,
    account: &str,
    token: &str,
    secret: &str,
    n: usize,
) {
    let sent = server.post(
        &format!("/v1/accounts/{account}/events"),
        token,
        &json!({"type": "a.copied", "data": {"n": n}}),
    );
    assert_eq!(sent.status, 202, "{}", sent.text);
    let got = receiver.wait_for(n, Duration::from_secs(30));
    let last = got
        .iter()
        .find(|r| r.header("webhook-id") == sent.json["id"].as_str())
        .expect("the new event arrived");
    let expected = standard_signature(
        secret,
        last.header("webhook-id").unwrap(),
        last.header("webhook-timestamp").unwrap(),
        &last.body,
    );
    assert!(
        last.header("webhook-signature")
            .unwrap()
            .split(' ')
            .any(|s| s == expected),
        "signed with the copied secret"
    );
}

#[test]
fn store_copy_round_trip_keeps_ids_secrets_cursors_and_signatures() {
    let Some(pg) = crate::common::pg::cluster() else {
        eprintln!("SKIPPED: PostgreSQL is not installed");
        return;
    };
    let receiver = Receiver::ok();
    let mut source = Server::start();
    let account = source.create_account("Copied");
    let (_, token) = source.create_token(&account);
    let hook = source.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "copied", "eventUrl": receiver.url, "eventList": ["a.*"]}),
    );
    assert_eq!(hook.status, 201, "{}", hook.text);
    let webhook = hook.json["id"].as_str().unwrap().to_string();
    let secret = hook.json["secret"].as_str().unwrap().to_string();
    for n in 1..=5 {
        signed_with(&source, &receiver, &account, &token, &secret, n);
    }
    let first = source.get(&format!("/v1/accounts/{account}/events?limit=2"), &token);
    let cursor = first.json["nextCursor"].as_str().unwrap().to_string();
    let before = copied_state(&source, &account, &token, &webhook, &cursor);
    assert_eq!(before["page"].as_array().unwrap().len(), 2);
    source.stop();

    // redb → postgres.
    let url = pg.new_database();
    let from = format!("redb:{}", source.data_dir().display());
    let copied = run(&["store", "copy", &from, &url], &[], None);
    assert!(copied.ok().contains("events"), "{}", copied.stdout);
    // A second copy into a store with records is refused and changes nothing.
    let again = run(&["store", "copy", &from, &url], &[], None);
    assert_eq!(again.code(), Some(1));
    assert!(
        again.stderr.contains("already holds records"),
        "{}",
        again.stderr
    );
    let mut on_postgres = Server::start_on_database(&url);
    assert_eq!(
        copied_state(&on_postgres, &account, &token, &webhook, &cursor),
        before
    );
    signed_with(&on_postgres, &receiver, &account, &token, &secret, 6);
    on_postgres.stop();

    // postgres → redb.
    let back = Server::start_prepared("", &[], |dir| {
        let to = format!("redb:{}", dir.display());
        let copied = run(&["store", "copy", &url, &to], &[], None);
        assert!(copied.ok().contains("events"), "{}", copied.stdout);
    });
    assert_eq!(
        copied_state(&back, &account, &token, &webhook, &cursor),
        before
    );
    signed_with(&back, &receiver, &account, &token, &secret, 7);
}

#[test]
fn backup_of_the_postgres_backend_is_an_embedded_store_file() {
    let Some(pg) = crate::common::pg::cluster() else {
        eprintln!("SKIPPED: PostgreSQL is not installed");
        return;
    };
    let source = Server::start_on_database(&pg.new_database());
    let account = source.create_account("Backed up");
    let hook = source.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "kept", "eventUrl": "http://127.0.0.1:9/x", "eventList": ["a.*"]}),
    );
    assert_eq!(hook.status, 201, "{}", hook.text);
    let event = source.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "a.kept", "data": {"kept": true}}),
    );
    assert_eq!(event.status, 202, "{}", event.text);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("backup.redb");
    cli(&source, &["backup", file.to_str().unwrap()]).ok();

    let restored = Server::start_prepared("", &[], |data| {
        std::fs::copy(&file, data.join("hookd.redb")).expect("restore the file");
    });
    let hooks = restored.get(&format!("/v1/accounts/{account}/webhooks"), ADMIN);
    assert_eq!(
        hooks.json["items"][0]["id"], hook.json["id"],
        "{}",
        hooks.text
    );
    let secret = restored.get(
        &format!(
            "/v1/accounts/{account}/webhooks/{}/secret",
            hook.json["id"].as_str().unwrap()
        ),
        ADMIN,
    );
    assert_eq!(secret.json["secret"], hook.json["secret"]);
    let shown = restored.get(
        &format!(
            "/v1/accounts/{account}/events/{}",
            event.json["id"].as_str().unwrap()
        ),
        ADMIN,
    );
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["data"], json!({"kept": true}));
}
