//! Hostile input (docs/api.md "Request bodies and limits" and "Errors"; SECURITY.md "Hostile
//! clients"): malformed and absurd requests get a problem response and change nothing;
//! oversized, slow and surplus connections are cut off or wait, and never take the server down.
//!
//! Most requests here go over a raw `TcpStream`, so the test controls every byte (invalid
//! UTF-8, a missing content type, a declared length that is never sent) and can tell "the
//! server closed the connection" from "the server said nothing".

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// A response read off a raw connection.
#[derive(Debug)]
struct RawResp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The status, `application/problem+json` and the problem `type`.
    fn assert_problem(&self, status: u16, type_name: &str, what: &str) {
        assert_eq!(self.status, status, "{what}: body {}", self.text());
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "{what}: content-type {content_type:?}, body {}",
            self.text()
        );
        let json = self.json();
        assert_eq!(
            json["type"],
            format!("/problems/{type_name}"),
            "{what}: {}",
            self.text()
        );
        assert_eq!(json["status"], status, "{what}: {}", self.text());
    }

    fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What a raw connection produced within a bounded wait.
#[derive(Debug)]
enum Got {
    /// A complete response.
    Resp(RawResp),
    /// The server closed (EOF or reset) before a complete response; the bytes it sent first.
    Closed,
    /// Nothing complete arrived and the connection stayed open until the wait ended.
    Silent(usize),
}

/// The address (`127.0.0.1:port`) of a test server.
fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to hookd");
    stream.set_nodelay(true).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Decodes a complete chunked body; `None` while it is incomplete.
fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Parses `buf` as a response; `None` while it is incomplete (`eof`: the server closed, so a
/// body without a length ends here).
fn parse_response(buf: &[u8], eof: bool) -> Option<RawResp> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &buf[head_end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if let Some(len) = find("content-length") {
        let len: usize = len.parse().ok()?;
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        decode_chunked(rest)?
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(RawResp {
        status,
        headers,
        body,
    })
}

/// Reads one response, starting with bytes already read, for at most `within`.
fn read_response_from(stream: &mut TcpStream, mut buf: Vec<u8>, within: Duration) -> Got {
    let deadline = Instant::now() + within;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(resp) = parse_response(&buf, false) {
            return Got::Resp(resp);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Got::Silent(buf.len());
        }
        stream
            .set_read_timeout(Some(left.min(Duration::from_millis(100))))
            .unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => {
                return match parse_response(&buf, true) {
                    Some(resp) => Got::Resp(resp),
                    None => Got::Closed,
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                return match parse_response(&buf, true) {
                    Some(resp) => Got::Resp(resp),
                    None => Got::Closed,
                };
            }
        }
    }
}

fn read_response(stream: &mut TcpStream, within: Duration) -> Got {
    read_response_from(stream, Vec::new(), within)
}

/// Expects a complete response within `within`.
fn expect_response(stream: &mut TcpStream, within: Duration, what: &str) -> RawResp {
    match read_response(stream, within) {
        Got::Resp(r) => r,
        other => panic!("{what}: no response within {within:?}: {other:?}"),
    }
}

/// The head of a request as admin (`Connection: close` unless `keep_alive`).
fn head(method: &str, path: &str, headers: &[(&str, &str)], keep_alive: bool) -> String {
    let mut text =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\n");
    if !keep_alive {
        text.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// Sends one whole request as admin; `content_type` None sends none. Waits at most 10 s.
fn raw(
    server: &Server,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> RawResp {
    let mut stream = connect(&addr(server));
    let length = body.len().to_string();
    let mut headers = vec![("Content-Length", length.as_str())];
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    headers.extend_from_slice(extra);
    let mut bytes = head(method, path, &headers, false).into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).expect("send request");
    expect_response(
        &mut stream,
        Duration::from_secs(10),
        &format!("{method} {path}"),
    )
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const JSON: Option<&str> = Some("application/json");

/// An account with one webhook (listening to a type nobody sends) and one event.
struct Fixture {
    account: String,
    webhook: String,
}

fn fixture(server: &Server) -> Fixture {
    let account = server.create_account("hostile");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "hook", "eventUrl": "http://127.0.0.1:9/hook",
                "eventList": ["never.sent"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.json["id"].as_str().unwrap().to_string();
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "base.line", "data": 1}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    Fixture { account, webhook }
}

/// Everything a hostile request could have changed: accounts, webhooks (list and one),
/// events, deliveries and tokens.
fn snapshot(server: &Server, f: &Fixture) -> Vec<Value> {
    let a = &f.account;
    [
        "/v1/accounts?limit=200".to_string(),
        format!("/v1/accounts/{a}/webhooks?limit=200"),
        format!("/v1/accounts/{a}/webhooks/{}", f.webhook),
        format!("/v1/accounts/{a}/events?limit=200"),
        format!("/v1/accounts/{a}/deliveries?limit=200"),
        format!("/v1/accounts/{a}/tokens?limit=200"),
    ]
    .iter()
    .map(|path| {
        let r = server.get(path, ADMIN);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        r.json
    })
    .collect()
}

fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn deep_object(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// One hostile request and the problem it must get.
struct Case {
    what: String,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    problem: &'static str,
    /// A field the problem's `errors` must name.
    field: Option<&'static str>,
    /// Extra request headers.
    headers: Vec<(&'static str, String)>,
}

fn case(
    what: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
) -> Case {
    Case {
        what: what.into(),
        method,
        path: path.into(),
        content_type,
        body: body.into(),
        status: 400,
        problem: "validation-error",
        field: None,
        headers: Vec::new(),
    }
}

impl Case {
    fn expect(mut self, status: u16, problem: &'static str) -> Case {
        self.status = status;
        self.problem = problem;
        self
    }

    fn naming(mut self, field: &'static str) -> Case {
        self.field = Some(field);
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
}

/// Sends every case, checks its problem, then checks nothing changed and the server serves.
fn run_cases(server: &Server, f: &Fixture, cases: Vec<Case>) {
    let before = snapshot(server, f);
    for c in &cases {
        // `raw` fails unless the answer comes within its deadline.
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = raw(server, c.method, &c.path, c.content_type, &headers, &c.body);
        r.assert_problem(c.status, c.problem, &c.what);
        if let Some(field) = c.field {
            assert!(
                r.error_fields().iter().any(|e| e == field),
                "{}: errors should name {field}: {}",
                c.what,
                r.text()
            );
        }
    }
    let r = server.get("/healthz", "");
    assert_eq!(r.status, 200, "the server still serves");
    assert_eq!(
        snapshot(server, f),
        before,
        "a refused request changed something"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed bodies, absurd numbers, wrong content types
// ---------------------------------------------------------------------------------------------

fn malformed_json_wrong_shapes_duplicates_and_deep_nesting_are_400_and_change_nothing() {
    let server = Server::start();
    let f = fixture(&server);
    let accounts = "/v1/accounts".to_string();
    let hooks = format!("/v1/accounts/{}/webhooks", f.account);
    let hook = format!("{hooks}/{}", f.webhook);
    let events = format!("/v1/accounts/{}/events", f.account);
    let batch = format!("{events}/batch");
    let webhook_with = |extra: &str| {
        format!(r#"{{"name":"w","eventUrl":"http://127.0.0.1:9/x","eventList":["a.b"]{extra}}}"#)
    };
    let mut invalid_utf8_name = br#"{"name":"bad "#.to_vec();
    invalid_utf8_name.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8_name.extend_from_slice(br#""}"#);
    let mut invalid_utf8_data = br#"{"type":"a.b","data":""#.to_vec();
    invalid_utf8_data.extend_from_slice(&[0xc3, 0x28, 0xff]);
    invalid_utf8_data.extend_from_slice(br#""}"#);
    let mut invalid_utf8_bare = br#"{"type":"a.b","data":"#.to_vec();
    invalid_utf8_bare.extend_from_slice(&[0xff]);
    invalid_utf8_bare.extend_from_slice(b"}");
    let mut invalid_utf8_webhook = webhook_with("").into_bytes();
    invalid_utf8_webhook.truncate(invalid_utf8_webhook.len() - 1);
    invalid_utf8_webhook.extend_from_slice(br#","description":"#);
    invalid_utf8_webhook.extend_from_slice(&[b'"', 0x80, 0x80, b'"', b'}']);

    let cases = vec![
        // Malformed JSON.
        case(
            "truncated object",
            "POST",
            &accounts,
            JSON,
            r#"{"name": "a""#,
        ),
        case(
            "trailing comma",
            "POST",
            &accounts,
            JSON,
            r#"{"name":"a",}"#,
        ),
        case("single quotes", "POST", &accounts, JSON, "{'name':'a'}"),
        case("bare word", "POST", &accounts, JSON, "name"),
        case(
            "NaN",
            "POST",
            &hooks,
            JSON,
            webhook_with(r#","rateLimit":NaN"#),
        ),
        case(
            "two documents",
            "POST",
            &accounts,
            JSON,
            r#"{"name":"a"}{"name":"b"}"#,
        ),
        case(
            "malformed event",
            "POST",
            &events,
            JSON,
            r#"{"type":"a.b","data":}"#,
        ),
        case(
            "unterminated event string",
            "POST",
            &events,
            JSON,
            r#"{"type":"a.b","data":"x}"#,
        ),
        case(
            "malformed webhook update",
            "PUT",
            &hook,
            JSON,
            r#"{"name":"w","version":1"#,
        ),
        // Invalid UTF-8.
        case(
            "invalid UTF-8 account name",
            "POST",
            &accounts,
            JSON,
            invalid_utf8_name,
        ),
        case(
            "invalid UTF-8 in event data string",
            "POST",
            &events,
            JSON,
            invalid_utf8_data,
        ),
        case(
            "invalid UTF-8 byte as event data",
            "POST",
            &events,
            JSON,
            invalid_utf8_bare,
        ),
        case(
            "invalid UTF-8 webhook description",
            "POST",
            &hooks,
            JSON,
            invalid_utf8_webhook,
        ),
        // Arrays, strings and scalars where an object is expected.
        case(
            "account array",
            "POST",
            &accounts,
            JSON,
            r#"[{"name":"a"}]"#,
        ),
        case("account string", "POST", &accounts, JSON, r#""a""#),
        case("account number", "POST", &accounts, JSON, "42"),
        case("account null", "POST", &accounts, JSON, "null"),
        case(
            "webhook array",
            "POST",
            &hooks,
            JSON,
            format!("[{}]", webhook_with("")),
        ),
        case(
            "event array",
            "POST",
            &events,
            JSON,
            r#"[{"type":"a.b","data":1}]"#,
        ),
        case("event string", "POST", &events, JSON, r#""a.b""#),
        case("batch string", "POST", &batch, JSON, r#""events""#),
        case(
            "webhook headers as an array",
            "POST",
            &hooks,
            JSON,
            webhook_with(r#","headers":["x-a"]"#),
        )
        .naming("headers"),
        case(
            "webhook eventList as a string",
            "POST",
            &hooks,
            JSON,
            r#"{"name":"w","eventUrl":"http://127.0.0.1:9/x","eventList":"a.b"}"#,
        )
        .naming("eventList"),
        // Duplicate keys: a body that says two things at once.
        case(
            "duplicate account name",
            "POST",
            &accounts,
            JSON,
            r#"{"name":"a","name":"b"}"#,
        ),
        case(
            "duplicate event type",
            "POST",
            &events,
            JSON,
            r#"{"type":"a.b","type":"c.d","data":1}"#,
        ),
        case(
            "duplicate event data",
            "POST",
            &events,
            JSON,
            r#"{"type":"a.b","data":1,"data":2}"#,
        ),
        case(
            "duplicate webhook eventUrl",
            "POST",
            &hooks,
            JSON,
            webhook_with(r#","eventUrl":"http://127.0.0.1:9/y""#),
        ),
        // Absurd idempotency keys, in the body and in the header.
        case(
            "a 10 KB Idempotency-Key header",
            "POST",
            &events,
            JSON,
            r#"{"type":"a.b","data":1}"#,
        )
        .header("Idempotency-Key", "k".repeat(10_000))
        .naming("Idempotency-Key"),
        case(
            "a 201-character idempotencyKey",
            "POST",
            &events,
            JSON,
            format!(
                r#"{{"type":"a.b","data":1,"idempotencyKey":"{}"}}"#,
                "k".repeat(201)
            ),
        )
        .naming("idempotencyKey"),
        // 10,000 levels of nesting.
        case(
            "deep array in a webhook",
            "POST",
            &hooks,
            JSON,
            webhook_with(&format!(r#","description":{}"#, deep_array(10_000))),
        ),
        case(
            "deep object in a webhook",
            "POST",
            &hooks,
            JSON,
            webhook_with(&format!(r#","headers":{}"#, deep_object(10_000))),
        ),
        case(
            "deep array as an account name",
            "POST",
            &accounts,
            JSON,
            format!(r#"{{"name":{}}}"#, deep_array(10_000)),
        ),
        case(
            "deep array in event data",
            "POST",
            &events,
            JSON,
            format!(r#"{{"type":"a.b","data":{}}}"#, deep_array(10_000)),
        ),
        case(
            "deep object in event data",
            "POST",
            &events,
            JSON,
            format!(r#"{{"type":"a.b","data":{}}}"#, deep_object(10_000)),
        ),
        case(
            "unbalanced deep array in event data",
            "POST",
            &events,
            JSON,
            format!(r#"{{"type":"a.b","data":{}}}"#, "[".repeat(10_000)),
        ),
    ];
    run_cases(&server, &f, cases);
}

fn absurd_numbers_where_numbers_matter_are_400_and_change_nothing() {
    let server = Server::start();
    let f = fixture(&server);
    let a = &f.account;
    let hooks = format!("/v1/accounts/{a}/webhooks");
    let hook = format!("{hooks}/{}", f.webhook);
    let put = |version: &str, extra: &str| {
        format!(
            r#"{{"name":"hook","eventUrl":"http://127.0.0.1:9/hook","eventList":["never.sent"],"version":{version}{extra}}}"#
        )
    };
    let create = |rate: &str| {
        format!(
            r#"{{"name":"w","eventUrl":"http://127.0.0.1:9/x","eventList":["a.b"],"rateLimit":{rate}}}"#
        )
    };
    let mut cases = vec![
        // `version` on PUT: not a positive integer the store could hold.
        // Numbers out of range of any JSON number type name their field like any bad value.
        case("version 1e400", "PUT", &hook, JSON, put("1e400", "")).naming("version"),
        case("version -1e400", "PUT", &hook, JSON, put("-1e400", "")).naming("version"),
        case(
            "version 400 digits",
            "PUT",
            &hook,
            JSON,
            put(&"9".repeat(400), ""),
        )
        .naming("version"),
        case(
            "version 2^64",
            "PUT",
            &hook,
            JSON,
            put("18446744073709551616", ""),
        )
        .naming("version"),
        case("version -1", "PUT", &hook, JSON, put("-1", "")).naming("version"),
        case("version 1.5", "PUT", &hook, JSON, put("1.5", "")).naming("version"),
        case("version as a string", "PUT", &hook, JSON, put(r#""1""#, "")).naming("version"),
        // `rateLimit`: on create and on an otherwise valid update.
        case("rateLimit 1e30", "POST", &hooks, JSON, create("1e30")).naming("rateLimit"),
        case("rateLimit 1e400", "POST", &hooks, JSON, create("1e400")).naming("rateLimit"),
        case("rateLimit -1e400", "POST", &hooks, JSON, create("-1e400")).naming("rateLimit"),
        case(
            "rateLimit 400 digits",
            "POST",
            &hooks,
            JSON,
            create(&"1".repeat(400)),
        )
        .naming("rateLimit"),
        case(
            "rateLimit 1e400 on update",
            "PUT",
            &hook,
            JSON,
            put("1", r#","rateLimit":1e400"#),
        )
        .naming("rateLimit"),
        case(
            "rateLimit 2^64",
            "POST",
            &hooks,
            JSON,
            create("18446744073709551616"),
        )
        .naming("rateLimit"),
        case("rateLimit -1", "POST", &hooks, JSON, create("-1")).naming("rateLimit"),
        case("rateLimit 0", "POST", &hooks, JSON, create("0")).naming("rateLimit"),
        case("rateLimit 1.5", "POST", &hooks, JSON, create("1.5")).naming("rateLimit"),
        case(
            "rateLimit 1e30 on update",
            "PUT",
            &hook,
            JSON,
            put("1", r#","rateLimit":1e30"#),
        )
        .naming("rateLimit"),
    ];
    // `limit` and `cursor` on every list.
    let lists = [
        "/v1/accounts".to_string(),
        format!("/v1/accounts/{a}/tokens"),
        hooks.clone(),
        format!("/v1/accounts/{a}/events"),
        format!("/v1/accounts/{a}/deliveries"),
        format!("/v1/accounts/{a}/notifications"),
    ];
    let long_cursor = "A".repeat(10 * 1024);
    for list in &lists {
        for (query, field) in [
            ("limit=99999999999999999999", Some("limit")),
            ("limit=-1", Some("limit")),
            ("limit=abc", Some("limit")),
            ("limit=0", Some("limit")),
            ("limit=201", Some("limit")),
            ("cursor=%ff", None),
            ("cursor=%zz", None),
            (&format!("cursor={long_cursor}"), Some("cursor")),
            ("cursor=bm90LWEtY3Vyc29y", Some("cursor")),
        ] {
            let path = format!("{list}?{query}");
            let mut c = case(
                format!("GET {}", &path[..path.len().min(80)]),
                "GET",
                path,
                None,
                Vec::new(),
            );
            c.field = field;
            cases.push(c);
        }
    }
    run_cases(&server, &f, cases);
    // The webhook is still at version 1, without a rate limit.
    let r = server.get(&hook, ADMIN);
    assert_eq!(r.json["version"], 1, "{}", r.text);
    assert_eq!(r.json["rateLimit"], Value::Null, "{}", r.text);
    // Where a number has no meaning to hookd (event `data`) the same numbers are accepted and
    // kept byte for byte (docs/api.md "Precise rules").
    let data = "[1e400,18446744073709551616,-1,1.5,1e30,-0.0,1E-400]";
    let r = raw(
        &server,
        "POST",
        &format!("/v1/accounts/{a}/events"),
        JSON,
        &[],
        format!(r#"{{"type":"a.b","data":{data}}}"#).as_bytes(),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let shown = raw(
        &server,
        "GET",
        &format!("/v1/accounts/{a}/events/{id}"),
        None,
        &[],
        b"",
    );
    assert!(
        shown.text().contains(&format!(r#""data":{data}"#)),
        "{}",
        shown.text()
    );
}

fn an_absurdly_long_query_value_gets_a_refusal_and_changes_nothing() {
    let server = Server::start();
    let f = fixture(&server);
    let before = snapshot(&server, &f);
    // A 60 KB cursor reaches hookd: not a cursor it issued, so 400 as a problem (docs/api.md
    // "Pagination").
    let path = format!("/v1/accounts?cursor={}", "A".repeat(60_000));
    let r = raw(&server, "GET", &path, None, &[], b"");
    assert_eq!(r.status, 400, "{:?}", r.text());
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/problem+json")
    );
    assert_eq!(r.json()["type"], "/problems/validation-error");
    // Past 64 KiB the request line is refused by the HTTP layer before hookd sees it: a bare
    // 414 (documented in SECURITY.md), promptly, and the server goes on serving.
    let path = format!("/v1/accounts?cursor={}", "A".repeat(100_000));
    let r = raw(&server, "GET", &path, None, &[], b"");
    assert_eq!(r.status, 414, "{:?}", r.text());
    assert_eq!(server.get("/healthz", "").status, 200);
    assert_eq!(snapshot(&server, &f), before);
}

fn bodies_that_are_not_declared_json_are_415_and_change_nothing() {
    let server = Server::start();
    let f = fixture(&server);
    let a = &f.account;
    let accounts = "/v1/accounts";
    let hook = format!("/v1/accounts/{a}/webhooks/{}", f.webhook);
    let events = format!("/v1/accounts/{a}/events");
    let account_body = r#"{"name":"content-type"}"#;
    let event_body = r#"{"type":"a.b","data":1}"#;
    let put_body = r#"{"name":"renamed","eventUrl":"http://127.0.0.1:9/hook","eventList":["x.y"],"version":1}"#;
    let cases = vec![
        case(
            "account as text/plain",
            "POST",
            accounts,
            Some("text/plain"),
            account_body,
        ),
        case(
            "account as a form",
            "POST",
            accounts,
            Some("application/x-www-form-urlencoded"),
            "name=content-type",
        ),
        case(
            "account without a content type",
            "POST",
            accounts,
            None,
            account_body,
        ),
        case(
            "account as multipart",
            "POST",
            accounts,
            Some("multipart/form-data; boundary=x"),
            "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ny\r\n--x--\r\n",
        ),
        case(
            "event as text/plain",
            "POST",
            &events,
            Some("text/plain"),
            event_body,
        ),
        case(
            "event as a form",
            "POST",
            &events,
            Some("application/x-www-form-urlencoded"),
            "type=a.b&data=1",
        ),
        case(
            "event without a content type",
            "POST",
            &events,
            None,
            event_body,
        ),
        case(
            "event as application/xml",
            "POST",
            &events,
            Some("application/xml"),
            "<event/>",
        ),
        case(
            "webhook update as text/plain",
            "PUT",
            &hook,
            Some("text/plain"),
            put_body,
        ),
        case(
            "webhook update without a content type",
            "PUT",
            &hook,
            None,
            put_body,
        ),
    ]
    .into_iter()
    .map(|c| c.expect(415, "unsupported-media-type"))
    .collect();
    run_cases(&server, &f, cases);
}

// ---------------------------------------------------------------------------------------------
// Body limits
// ---------------------------------------------------------------------------------------------

const LIMITS: &str = r#"
[limits]
max_body_bytes = 65536
max_event_bytes = 4096
header_read_timeout = "1s"
"#;

#[test]
fn a_declared_1_gib_body_is_refused_with_413_before_it_is_sent() {
    let server = Server::start_with(LIMITS, &[]);
    let f = fixture(&server);
    let before = snapshot(&server, &f);
    let events = format!("/v1/accounts/{}/events", f.account);
    for (path, length, first_bytes) in [
        ("/v1/accounts", "1073741824", r#"{"name":"#),
        (events.as_str(), "1073741824", r#"{"type":"a.b","data":"#),
        // Just over max_event_bytes (4096) but far under max_body_bytes.
        (events.as_str(), "5000", r#"{"type":"a.b","data":"#),
    ] {
        let mut stream = connect(&addr(&server));
        let head = head(
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", length),
            ],
            false,
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(first_bytes.as_bytes()).unwrap();
        // Only the head and a few bytes are sent: the answer must come without the rest (a
        // server waiting for the body would answer 400 at the 1 s body deadline, not 413).
        let r = expect_response(
            &mut stream,
            Duration::from_secs(10),
            &format!("POST {path} declaring {length} bytes"),
        );
        r.assert_problem(413, "payload-too-large", path);
    }
    assert_eq!(snapshot(&server, &f), before);
}

/// Sends a chunked body of `chunk`s (after `prefix`) until a response starts to arrive or
/// `max_total` bytes were sent; returns what was read and how many body bytes were sent by then.
fn chunked_upload(
    server: &Server,
    path: &str,
    prefix: &str,
    chunk: &[u8],
    max_total: usize,
) -> (Got, usize) {
    let mut stream = connect(&addr(server));
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let head = head(
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
        false,
    );
    stream.write_all(head.as_bytes()).unwrap();
    let frame = |data: &[u8]| {
        let mut f = format!("{:x}\r\n", data.len()).into_bytes();
        f.extend_from_slice(data);
        f.extend_from_slice(b"\r\n");
        f
    };
    stream.write_all(&frame(prefix.as_bytes())).unwrap();
    let mut sent = prefix.len();
    let mut first = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    stream
        .set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    let started = Instant::now();
    // Bounded by bytes (max_total) and time (20 s).
    while sent < max_total && started.elapsed() < Duration::from_secs(20) {
        if stream.write_all(&frame(chunk)).is_err() {
            break; // the server stopped reading: its answer should be waiting
        }
        sent += chunk.len();
        // Has the answer started to arrive? A 1 ms look after each 1 KiB chunk also paces the
        // client (at most ~1 MB/s), so the bytes sent by the time the answer arrives say how
        // much the server took, not how big the socket buffers are.
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                first.extend_from_slice(&buf[..n]);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let read = read_response_from(&mut stream, first, Duration::from_secs(5));
    (read, sent)
}

#[test]
fn a_chunked_upload_past_the_limit_is_cut_off_with_413() {
    let server = Server::start_with(LIMITS, &[]);
    let f = fixture(&server);
    let before = snapshot(&server, &f);
    let max_total = 2 * 1024 * 1024;
    let events = format!("/v1/accounts/{}/events", f.account);
    for (path, prefix, limit) in [
        ("/v1/accounts", r#"{"name":""#, 65536),
        (events.as_str(), r#"{"type":"a.b","data":""#, 4096),
    ] {
        let (read, sent) = chunked_upload(&server, path, prefix, &[b'a'; 1024], max_total);
        let Got::Resp(r) = read else {
            panic!("POST {path} chunked: no response after {sent} bytes: {read:?}");
        };
        r.assert_problem(413, "payload-too-large", path);
        assert!(
            sent < max_total / 2,
            "POST {path}: the 413 came only after the client sent {sent} of {max_total} bytes"
        );
        assert!(
            sent > limit,
            "POST {path}: refused after {sent} bytes, under the {limit}-byte limit"
        );
        eprintln!("POST {path}: 413 after {sent} of {max_total} bytes (limit {limit})");
    }
    assert_eq!(snapshot(&server, &f), before);
}

// ---------------------------------------------------------------------------------------------
// Slow clients and the connection cap
// ---------------------------------------------------------------------------------------------

/// Opens `n` connections that each send the start of a request line and nothing more.
fn open_slow_connections(server: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = connect(&addr(server));
            s.write_all(b"GET /healthz HT").unwrap();
            s
        })
        .collect()
}

#[test]
fn slowloris_connections_are_closed_after_the_header_timeout_while_others_are_served() {
    // Other clients are answered while slow ones hold their connections. Checked on a server
    // whose header timeout is far longer than the serving can take, so that a slow connection
    // found closed is always a failure, never a timeout that a loaded machine reached first.
    let patient_timeout = Duration::from_secs(60);
    let patient = Server::start_with(
        &format!(
            "[limits]\nheader_read_timeout = \"{}s\"\n",
            patient_timeout.as_secs()
        ),
        &[],
    );
    let opened = Instant::now();
    let mut slow = open_slow_connections(&patient, 20);
    for _ in 0..5 {
        let r = patient.get("/healthz", "");
        assert_eq!(r.status, 200);
        let r = patient.get("/v1/accounts", ADMIN);
        assert_eq!(r.status, 200);
    }
    let served_after = opened.elapsed();
    assert!(
        served_after < patient_timeout,
        "serving 10 requests took {served_after:?}, past the {patient_timeout:?} header timeout: \
         cannot tell whether the slow connections were held while others were served"
    );
    // Still open now (a non-blocking look: a closed connection reads 0 or an error, an open
    // idle one would block), so open while the others were served.
    for (i, s) in slow.iter_mut().enumerate() {
        s.set_nonblocking(true).unwrap();
        let got = s.read(&mut [0u8; 64]);
        s.set_nonblocking(false).unwrap();
        assert!(
            matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock),
            "slow connection {i} was answered or closed before its header timeout: {got:?}"
        );
    }
    drop(slow);

    // With header_read_timeout = 1 s, the server closes each slow connection by itself.
    let server = Server::start_with(LIMITS, &[]);
    let opened = Instant::now();
    let mut slow = open_slow_connections(&server, 20);
    let deadline = opened + Duration::from_secs(20);
    for (i, s) in slow.iter_mut().enumerate() {
        match read_response(s, deadline.saturating_duration_since(Instant::now())) {
            Got::Closed => {}
            Got::Resp(r) => assert!(
                (400..500).contains(&r.status),
                "slow connection {i} got {} {}",
                r.status,
                r.text()
            ),
            Got::Silent(n) => panic!(
                "slow connection {i} still open {:?} after it sent a partial request line ({n} bytes read)",
                opened.elapsed()
            ),
        }
    }
    eprintln!(
        "others served within {served_after:?}; slow connections closed by {:?}",
        opened.elapsed()
    );
    assert_eq!(server.get("/healthz", "").status, 200);
}

#[test]
fn a_trickling_body_is_cut_off_by_the_body_deadline() {
    let server = Server::start_with(LIMITS, &[]);
    let before = server.get("/v1/accounts", ADMIN).json;
    let body = br#"{"name":"trickled in one byte every 300 ms....................."}"#;
    let mut stream = connect(&addr(&server));
    let length = body.len().to_string();
    let head = head(
        "POST",
        "/v1/accounts",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &length),
        ],
        false,
    );
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let sent = sent.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            // The client's pace, not synchronisation: one byte every 300 ms, bounded by the body.
            for byte in body {
                if stop.load(Ordering::Relaxed) || stream.write_all(&[*byte]).is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // The whole body would take ~20 s; the server must give up within a few seconds.
    let read = read_response(&mut stream, Duration::from_secs(6));
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sent_by_then = sent.load(Ordering::Relaxed);
    let _ = stream.shutdown(Shutdown::Both);
    writer.join().unwrap();
    eprintln!("trickling body: {read:?} after {elapsed:?}, {sent_by_then} bytes sent");
    match read {
        Got::Resp(r) => r.assert_problem(400, "validation-error", "trickled body"),
        Got::Closed => {}
        Got::Silent(_) => panic!("the server still waits for the trickled body after {elapsed:?}"),
    }
    assert!(
        sent_by_then < body.len(),
        "the server waited for the whole body ({sent_by_then} bytes, {elapsed:?})"
    );
    assert_eq!(server.get("/v1/accounts", ADMIN).json, before);
}

#[test]
fn connections_over_max_connections_wait_until_a_slot_frees() {
    // header_read_timeout is long so that only our closing a connection can free a slot.
    let server = Server::start_with(
        "[limits]\nmax_connections = 4\nheader_read_timeout = \"30s\"\n",
        &[],
    );
    let request = head("GET", "/healthz", &[], true);
    let mut held: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut s = connect(&addr(&server));
            s.write_all(request.as_bytes()).unwrap();
            let r = expect_response(&mut s, Duration::from_secs(5), &format!("held {i}"));
            assert_eq!(r.status, 200);
            s // kept open and idle: a keep-alive connection holding a slot
        })
        .collect();
    let mut fifth = connect(&addr(&server));
    fifth.write_all(request.as_bytes()).unwrap();
    // The one "nothing happens" observation: while the 4 slots are held, the 5th request waits
    // in the backlog. 1 s is ample for an answer from an idle local server.
    match read_response(&mut fifth, Duration::from_secs(1)) {
        Got::Silent(0) => {}
        other => panic!("a 5th connection was served while 4 slots were held: {other:?}"),
    }
    // The held connections are still usable: they really hold their slots.
    held[1].write_all(request.as_bytes()).unwrap();
    let r = expect_response(&mut held[1], Duration::from_secs(5), "held 1 again");
    assert_eq!(r.status, 200);
    // Closing one of them lets the 5th in (long before the 30 s header timeout could).
    let closed = Instant::now();
    let gone = held.remove(0);
    gone.shutdown(Shutdown::Both).unwrap();
    drop(gone);
    let r = expect_response(&mut fifth, Duration::from_secs(20), "the 5th after a close");
    assert_eq!(r.status, 200);
    eprintln!("5th served {:?} after a slot freed", closed.elapsed());
}

crate::on_both_backends!(
    malformed_json_wrong_shapes_duplicates_and_deep_nesting_are_400_and_change_nothing,
    absurd_numbers_where_numbers_matter_are_400_and_change_nothing,
    an_absurdly_long_query_value_gets_a_refusal_and_changes_nothing,
    bodies_that_are_not_declared_json_are_415_and_change_nothing,
);
