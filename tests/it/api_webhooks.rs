//! Webhooks: create, validation, target URL rules, list filters and pagination, full-replacement
//! updates with optimistic locking, delete, secrets, access rules and hostile bodies
//! (docs/api.md "Webhooks", "Errors", "Pagination", "Precise rules"; docs/delivery.md "Target
//! URLs and SSRF").

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::{Map, Value, json};

/// Every field of the Webhook shape in docs/api.md ("Webhooks").
const WEBHOOK_FIELDS: &[&str] = &[
    "id",
    "createdDate",
    "lastUpdate",
    "version",
    "userIdentifier",
    "ownerIdentifier",
    "ownerName",
    "name",
    "enabled",
    "eventUrl",
    "eventList",
    "description",
    "headers",
    "rateLimit",
    "ordered",
    "status",
    "deactivatedDate",
    "deactivationReason",
    "failureCount",
    "failingSince",
    "auth",
    "filter",
    "template",
    "signature",
];

/// Asserts `secret` is `whsec_` + base64 of 24–64 bytes.
fn assert_secret_form(secret: &Value) {
    let s = secret
        .as_str()
        .unwrap_or_else(|| panic!("secret is not a string: {secret}"));
    let b64 = s
        .strip_prefix("whsec_")
        .unwrap_or_else(|| panic!("secret without whsec_: {s}"));
    let bytes = STANDARD
        .decode(b64)
        .or_else(|_| STANDARD_NO_PAD.decode(b64))
        .unwrap_or_else(|e| panic!("secret is not base64: {s}: {e}"));
    assert!(
        (24..=64).contains(&bytes.len()),
        "secret of {} bytes",
        bytes.len()
    );
}

/// A `whsec_` secret of `n` bytes of `fill`.
fn secret_of(n: usize, fill: u8) -> String {
    format!("whsec_{}", STANDARD.encode(vec![fill; n]))
}

/// A minimal valid create body.
fn body(name: &str) -> Value {
    json!({"name": name, "eventUrl": "https://example.com/hook", "eventList": ["booking.created"]})
}

/// `base` with `key` set to `value`.
fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut b = base.clone();
    b[key] = value;
    b
}

/// `base` without `key`.
fn without(base: &Value, key: &str) -> Value {
    let mut b = base.clone();
    b.as_object_mut().unwrap().remove(key);
    b
}

/// Whether a validation problem names `field` (or an entry of it, `field[3]` / `field.x`).
fn names(r: &Resp, field: &str) -> bool {
    r.error_fields().iter().any(|f| {
        f == field
            || f.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
    })
}

fn hooks(account: &str) -> String {
    format!("/v1/accounts/{account}/webhooks")
}

/// Creates a webhook as admin; returns the response body.
fn create(server: &Server, account: &str, body: &Value) -> Value {
    let r = server.post(&hooks(account), ADMIN, body);
    assert_eq!(r.status, 201, "{body}: {}", r.text);
    r.json
}

/// Ids of one list request (a single large page).
fn list_ids(server: &Server, account: &str, query: &str) -> Vec<String> {
    let sep = if query.is_empty() { "" } else { "&" };
    let r = server.get(&format!("{}?limit=200{sep}{query}", hooks(account)), ADMIN);
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    assert_eq!(r.json["nextCursor"], Value::Null);
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect()
}

/// Lets the clock move on, so a later write gets a later `lastUpdate`.
fn let_time_pass() {
    let t0 = Instant::now();
    eventually(Duration::from_secs(1), || {
        (t0.elapsed() >= Duration::from_millis(3)).then_some(())
    });
}

fn create_returns_every_field_with_its_default_and_the_secret() {
    let server = Server::start();
    let account = server.create_account("Cool Clinic");
    let r = server.post(
        &hooks(&account),
        ADMIN,
        &json!({"name": "Wink Stalker", "eventUrl": "https://my.system.com/webhook/wink",
                "eventList": ["booking.created"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let w = r.json.clone();
    let mut expected_keys: Vec<&str> = WEBHOOK_FIELDS.to_vec();
    expected_keys.push("secret");
    assert_eq!(keys(&w), sorted(&expected_keys));
    assert_uuid_v7(w["id"].as_str().unwrap());
    assert!(is_time(&w["createdDate"]), "{w}");
    assert!(is_time(&w["lastUpdate"]), "{w}");
    assert_eq!(w["version"], 1);
    assert_eq!(w["userIdentifier"], "admin");
    assert_eq!(w["ownerIdentifier"], account.as_str());
    assert_eq!(w["ownerName"], "Cool Clinic");
    assert_eq!(w["name"], "Wink Stalker");
    assert_eq!(w["enabled"], true);
    assert_eq!(w["eventUrl"], "https://my.system.com/webhook/wink");
    assert_eq!(w["eventList"], json!(["booking.created"]));
    assert_eq!(w["description"], Value::Null);
    assert_eq!(w["headers"], json!({}));
    assert_eq!(w["rateLimit"], Value::Null);
    assert_eq!(w["ordered"], false);
    assert_eq!(w["status"], "active");
    assert_eq!(w["deactivatedDate"], Value::Null);
    assert_eq!(w["deactivationReason"], Value::Null);
    assert_eq!(w["failureCount"], 0);
    assert_eq!(w["failingSince"], Value::Null);
    assert_eq!(w["auth"], Value::Null);
    assert_eq!(w["filter"], Value::Null);
    assert_eq!(w["template"], Value::Null);
    assert_eq!(w["signature"], "v1");
    assert_secret_form(&w["secret"]);
    let id = w["id"].as_str().unwrap().to_string();

    // GET and the list show the same webhook, never its secret.
    let mut without_secret = w.clone();
    without_secret.as_object_mut().unwrap().remove("secret");
    let got = server.get(&format!("{}/{id}", hooks(&account)), ADMIN);
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json, without_secret);
    let list = server.get(&hooks(&account), ADMIN);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        list.json,
        json!({"items": [without_secret], "nextCursor": null})
    );
    assert!(!list.text.contains(w["secret"].as_str().unwrap()));
    let secret = server.get(&format!("{}/{id}/secret", hooks(&account)), ADMIN);
    assert_eq!(secret.status, 200, "{}", secret.text);
    assert_eq!(secret.json, json!({"secret": w["secret"]}));

    // Every option given is kept.
    let full = json!({"name": "Full", "enabled": false, "eventUrl": "https://example.com/x?y=1",
        "eventList": ["booking.*", "optin_finalized", "*", "hookd.*"],
        "description": "all of it", "headers": {"X-Api-Key": "k1", "Authorization": "Bearer abc"},
        "rateLimit": 7, "ordered": true});
    let f = create(&server, &account, &full);
    for key in [
        "name",
        "enabled",
        "eventUrl",
        "eventList",
        "description",
        "headers",
        "rateLimit",
        "ordered",
    ] {
        assert_eq!(f[key], full[key], "{key}: {f}");
    }
    assert_eq!(f["status"], "active");
    assert_ne!(f["secret"], w["secret"], "each webhook gets its own secret");

    // The harness allows http and private targets, so this is accepted here.
    create(
        &server,
        &account,
        &with(&body("local"), "eventUrl", json!("http://127.0.0.1:9/x")),
    );

    // Created with an account token: userIdentifier is that token's id.
    let (token_id, token) = server.create_token(&account);
    let r = server.post(&hooks(&account), &token, &body("by token"));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["userIdentifier"], token_id.as_str());
    assert_eq!(r.json["ownerIdentifier"], account.as_str());
    assert_eq!(r.json["ownerName"], "Cool Clinic");
    assert_secret_form(&r.json["secret"]);
    // The account token reads its webhooks too.
    let r = server.get(&hooks(&account), &token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 4);

    // application/json with parameters is JSON.
    let r = request_with(
        "POST",
        &server.url(&hooks(&account)),
        Some(ADMIN),
        Some(body("charset").to_string().as_bytes()),
        &[("content-type", "application/json; charset=utf-8")],
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

fn a_provided_secret_is_kept_and_a_bad_one_refused() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    for n in [24, 32, 64] {
        let secret = secret_of(n, b'k');
        let w = create(
            &server,
            &account,
            &with(&body("s"), "secret", json!(secret)),
        );
        assert_eq!(w["secret"], secret.as_str());
        let id = w["id"].as_str().unwrap();
        let r = server.get(&format!("{}/{id}/secret", hooks(&account)), ADMIN);
        assert_eq!(r.json["secret"], secret.as_str());
    }
    let before = list_ids(&server, &account, "");

    let bad = [
        json!(secret_of(23, b'k')),
        json!(secret_of(65, b'k')),
        json!("whsec_"),
        json!("whsec_!!!not base64!!!"),
        json!(STANDARD.encode([7u8; 32])),
        json!(format!("wh_{}", STANDARD.encode([7u8; 32]))),
        json!(""),
        json!(42),
        json!({"secret": "x"}),
    ];
    for secret in bad {
        let r = server.post(
            &hooks(&account),
            ADMIN,
            &with(&body("bad"), "secret", secret.clone()),
        );
        r.assert_problem(400, "validation-error");
        assert!(names(&r, "secret"), "{secret}: {}", r.text);
        assert_eq!(
            list_ids(&server, &account, ""),
            before,
            "nothing created for {secret}"
        );
    }
}

fn invalid_webhooks_are_refused_naming_each_field_and_change_nothing() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let b = body("valid");
    let many_patterns: Vec<String> = (0..101).map(|i| format!("type.n{i}")).collect();
    let many_headers: Map<String, Value> = (0..21)
        .map(|i| (format!("X-Custom-{i}"), json!("v")))
        .collect();
    let long_url = format!("https://example.com/{}", "a".repeat(2001 - 20));
    assert_eq!(long_url.len(), 2001);
    let cases: Vec<(Value, &str)> = vec![
        // name
        (without(&b, "name"), "name"),
        (with(&b, "name", json!(null)), "name"),
        (with(&b, "name", json!("")), "name"),
        (with(&b, "name", json!("n".repeat(201))), "name"),
        (with(&b, "name", json!(5)), "name"),
        (with(&b, "name", json!(["x"])), "name"),
        // eventUrl
        (without(&b, "eventUrl"), "eventUrl"),
        (with(&b, "eventUrl", json!("")), "eventUrl"),
        (with(&b, "eventUrl", json!("/relative/path")), "eventUrl"),
        (with(&b, "eventUrl", json!("example.com/hook")), "eventUrl"),
        (
            with(&b, "eventUrl", json!("ftp://example.com/hook")),
            "eventUrl",
        ),
        (
            with(&b, "eventUrl", json!("file:///etc/passwd")),
            "eventUrl",
        ),
        (
            with(&b, "eventUrl", json!("https://user:pw@example.com/")),
            "eventUrl",
        ),
        (
            with(&b, "eventUrl", json!("https://user@example.com/")),
            "eventUrl",
        ),
        (with(&b, "eventUrl", json!("https://")), "eventUrl"),
        (with(&b, "eventUrl", json!("not a url")), "eventUrl"),
        (with(&b, "eventUrl", json!(long_url)), "eventUrl"),
        (with(&b, "eventUrl", json!(42)), "eventUrl"),
        // eventList
        (without(&b, "eventList"), "eventList"),
        (with(&b, "eventList", json!([])), "eventList"),
        (with(&b, "eventList", json!("booking.created")), "eventList"),
        (
            with(&b, "eventList", json!({"a": "booking.created"})),
            "eventList",
        ),
        (with(&b, "eventList", json!(many_patterns)), "eventList"),
        (with(&b, "eventList", json!(["a..b"])), "eventList"),
        (with(&b, "eventList", json!(["*.x"])), "eventList"),
        (with(&b, "eventList", json!(["booking*"])), "eventList"),
        (with(&b, "eventList", json!([".a"])), "eventList"),
        (with(&b, "eventList", json!(["a."])), "eventList"),
        (with(&b, "eventList", json!(["a b"])), "eventList"),
        (with(&b, "eventList", json!([""])), "eventList"),
        (with(&b, "eventList", json!(["x".repeat(201)])), "eventList"),
        (
            with(&b, "eventList", json!(["booking.created", 5])),
            "eventList",
        ),
        (with(&b, "eventList", json!([null])), "eventList"),
        // description
        (
            with(&b, "description", json!("d".repeat(1001))),
            "description",
        ),
        (with(&b, "description", json!(5)), "description"),
        // headers
        (with(&b, "headers", Value::Object(many_headers)), "headers"),
        (
            with(&b, "headers", json!({"Host": "evil.example"})),
            "headers",
        ),
        (
            with(&b, "headers", json!({"content-type": "text/plain"})),
            "headers",
        ),
        (
            with(&b, "headers", json!({"Content-Length": "1"})),
            "headers",
        ),
        (
            with(&b, "headers", json!({"Transfer-Encoding": "chunked"})),
            "headers",
        ),
        (
            with(&b, "headers", json!({"connection": "close"})),
            "headers",
        ),
        (with(&b, "headers", json!({"webhook-id": "x"})), "headers"),
        (
            with(&b, "headers", json!({"Webhook-Signature": "v1,x"})),
            "headers",
        ),
        (with(&b, "headers", json!({"hookd-x": "y"})), "headers"),
        (
            with(&b, "headers", json!({"HOOKD-EVENT-TYPE": "y"})),
            "headers",
        ),
        (with(&b, "headers", json!({"X-Number": 5})), "headers"),
        (
            with(&b, "headers", json!({"X-Object": {"a": "b"}})),
            "headers",
        ),
        (with(&b, "headers", json!({"X-Bool": true})), "headers"),
        (with(&b, "headers", json!({"bad name": "x"})), "headers"),
        (
            with(&b, "headers", json!({"X-Split": "a\r\nInjected: yes"})),
            "headers",
        ),
        (with(&b, "headers", json!("X-Api-Key: 1")), "headers"),
        (with(&b, "headers", json!(["X-Api-Key"])), "headers"),
        // rateLimit
        (with(&b, "rateLimit", json!(0)), "rateLimit"),
        (with(&b, "rateLimit", json!(-1)), "rateLimit"),
        (with(&b, "rateLimit", json!(1.5)), "rateLimit"),
        (
            with(&b, "rateLimit", json!(1_000_000_000_000u64)),
            "rateLimit",
        ),
        (with(&b, "rateLimit", json!(u64::MAX)), "rateLimit"),
        (with(&b, "rateLimit", json!(1e300)), "rateLimit"),
        (with(&b, "rateLimit", json!("5")), "rateLimit"),
        (with(&b, "rateLimit", json!(true)), "rateLimit"),
        // enabled, ordered
        (with(&b, "enabled", json!("yes")), "enabled"),
        (with(&b, "enabled", json!("true")), "enabled"),
        (with(&b, "enabled", json!(1)), "enabled"),
        (with(&b, "ordered", json!("no")), "ordered"),
        (with(&b, "ordered", json!(0)), "ordered"),
        // entity naming another account
        (
            with(&b, "entity", json!({"id": "someone-else", "name": "x"})),
            "entity",
        ),
    ];
    for (case, field) in &cases {
        let r = server.post(&hooks(&account), ADMIN, case);
        assert_eq!(r.status, 400, "{case}: {}", r.text);
        r.assert_problem(400, "validation-error");
        assert!(
            names(&r, field),
            "errors must name {field} for {case}: {}",
            r.text
        );
        assert!(
            list_ids(&server, &account, "").is_empty(),
            "a refused create changes nothing: {case}"
        );
    }

    // Several bad fields at once: every one is listed.
    let all_bad = json!({"name": "", "eventUrl": "ftp://example.com/", "eventList": [],
        "description": 5, "headers": {"Host": "x"}, "rateLimit": 0, "enabled": "x",
        "ordered": "y", "secret": "nope"});
    let r = server.post(&hooks(&account), ADMIN, &all_bad);
    r.assert_problem(400, "validation-error");
    for field in [
        "name",
        "eventUrl",
        "eventList",
        "description",
        "headers",
        "rateLimit",
        "enabled",
        "ordered",
        "secret",
    ] {
        assert!(names(&r, field), "{field} not listed: {}", r.text);
    }
    let r = server.post(&hooks(&account), ADMIN, &json!({}));
    r.assert_problem(400, "validation-error");
    for field in ["name", "eventUrl", "eventList"] {
        assert!(names(&r, field), "{field} not listed: {}", r.text);
    }
    assert!(list_ids(&server, &account, "").is_empty());

    // The limits themselves are accepted.
    let edge_patterns: Vec<String> = (0..100).map(|i| format!("type.n{i}")).collect();
    let edge_headers: Map<String, Value> = (0..20)
        .map(|i| (format!("X-Custom-{i}"), json!(format!("v{i}"))))
        .collect();
    let edge_url = format!("https://example.com/{}", "a".repeat(2000 - 20));
    let edge = json!({"name": "n".repeat(200), "eventUrl": edge_url, "eventList": edge_patterns,
        "description": "d".repeat(1000), "headers": edge_headers, "rateLimit": 1,
        "enabled": false, "ordered": true});
    let w = create(&server, &account, &edge);
    for key in [
        "name",
        "eventUrl",
        "eventList",
        "description",
        "headers",
        "rateLimit",
        "enabled",
        "ordered",
    ] {
        assert_eq!(w[key], edge[key], "{key}");
    }
    let w = create(
        &server,
        &account,
        &with(
            &with(&b, "description", json!("")),
            "rateLimit",
            json!(null),
        ),
    );
    assert_eq!(w["rateLimit"], Value::Null);
    assert_eq!(list_ids(&server, &account, "").len(), 2);
}

fn the_entity_object_must_name_the_path_account() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let w = create(
        &server,
        &account,
        &with(
            &body("compat"),
            "entity",
            json!({"id": account, "name": "Clinic"}),
        ),
    );
    assert_eq!(w["ownerIdentifier"], account.as_str());
    for entity in [
        json!({"id": "other-account", "name": "Clinic"}),
        json!({"id": format!("{account}x"), "name": "Clinic"}),
    ] {
        let r = server.post(
            &hooks(&account),
            ADMIN,
            &with(&body("compat"), "entity", entity.clone()),
        );
        r.assert_problem(400, "validation-error");
        assert!(names(&r, "entity"), "{entity}: {}", r.text);
    }
    assert_eq!(list_ids(&server, &account, "").len(), 1);
}

fn target_url_rules_without_http_and_private_targets() {
    let server = Server::start_with(
        "[delivery]\nallow_http = false\nallow_private_targets = false\n",
        &[],
    );
    let account = server.create_account("Clinic");
    let refused = [
        "http://example.com/hook",
        "http://localhost/x",
        "https://10.0.0.1/",
        "https://[::1]/",
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/x",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://192.168.1.10/",
        "https://172.16.5.4/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://[fc00::1]/",
        "https://[fd12:3456::1]/",
        "https://[fe80::1]/",
        "https://224.0.0.1/",
        "https://255.255.255.255/",
        "https://192.0.2.1/",
        "https://198.51.100.7/",
        "https://[2001:db8::1]/",
        // Numeric host forms that URL parsers and the system resolver read as loopback or
        // private (the WHATWG URL standard's IPv4 parser).
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://0xa.1/",
        "https://127.0.0.1./",
        // Not a valid address at all.
        "https://1.2.3.4.5/",
    ];
    for url in refused {
        let r = server.post(
            &hooks(&account),
            ADMIN,
            &with(&body("x"), "eventUrl", json!(url)),
        );
        assert_eq!(r.status, 400, "{url} must be refused: {}", r.text);
        r.assert_problem(400, "validation-error");
        assert!(names(&r, "eventUrl"), "{url}: {}", r.text);
        assert!(
            list_ids(&server, &account, "").is_empty(),
            "{url} created something"
        );
    }
    // Host names are checked at connect time; public literals are fine.
    for url in [
        "https://localhost/x",
        "https://example.com:8443/x",
        "https://8.8.8.8/hook",
        "https://[2606:4700::1111]/hook",
    ] {
        let w = create(
            &server,
            &account,
            &with(&body("ok"), "eventUrl", json!(url)),
        );
        assert_eq!(w["eventUrl"], url);
    }

    // The same rules apply on PUT, and a refused PUT changes nothing.
    let w = create(&server, &account, &body("put me"));
    let path = format!("{}/{}", hooks(&account), w["id"].as_str().unwrap());
    let before = server.get(&path, ADMIN).json;
    for url in [
        "http://example.com/",
        "https://10.0.0.1/",
        "https://[::ffff:10.0.0.1]/",
    ] {
        let r = server.put(
            &path,
            ADMIN,
            &json!({"name": "n", "eventUrl": url, "eventList": ["a"], "version": 1}),
        );
        r.assert_problem(400, "validation-error");
        assert!(names(&r, "eventUrl"), "{url}: {}", r.text);
        assert_eq!(server.get(&path, ADMIN).json, before);
    }
    let r = server.put(
        &path,
        ADMIN,
        &json!({"name": "n", "eventUrl": "https://localhost/y", "eventList": ["a"], "version": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

fn list_filters_combine_with_and() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let mk = |name: &str, events: Value, enabled: bool| -> String {
        let w = create(
            &server,
            &account,
            &json!({"name": name, "eventUrl": "https://example.com/h", "eventList": events,
                    "enabled": enabled}),
        );
        w["id"].as_str().unwrap().to_string()
    };
    let a = mk("alpha", json!(["booking.created"]), true);
    let b = mk("beta", json!(["booking.*"]), false);
    let c = mk("gamma", json!(["*"]), true);
    let d = mk("delta", json!(["hookd.webhook.deactivated"]), true);
    let e = mk("alpha", json!(["optin_finalized"]), false);
    let f = mk("eps", json!(["hookd.*"]), true);
    // Another account's webhooks never show up.
    let other = server.create_account("Other");
    create(
        &server,
        &other,
        &json!({"name": "alpha", "eventUrl": "https://example.com/o", "eventList": ["*"]}),
    );

    let check = |query: &str, expected: &[&String]| {
        let got: HashSet<String> = list_ids(&server, &account, query).into_iter().collect();
        let want: HashSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "filter {query}");
    };
    check("", &[&a, &b, &c, &d, &e, &f]);
    check("name=alpha", &[&a, &e]);
    check("name=Alpha", &[]);
    check("name=alph", &[]);
    check("name=nobody", &[]);
    check("event=booking.created", &[&a, &b, &c]);
    check("event=booking.payment.failed", &[&b, &c]);
    check("event=optin_finalized", &[&c, &e]);
    check("event=booking", &[&c]);
    check("event=hookd.webhook.deactivated", &[&d, &f]);
    check("event=hookd.ping", &[&f]);
    check("enabled=true", &[&a, &c, &d, &f]);
    check("enabled=false", &[&b, &e]);
    check("status=active", &[&a, &b, &c, &d, &e, &f]);
    check("status=deactivated", &[]);
    check("name=alpha&enabled=false", &[&e]);
    check("name=alpha&event=booking.created", &[&a]);
    check("event=booking.created&enabled=true", &[&a, &c]);
    check(
        "event=booking.payment.failed&enabled=false&status=active",
        &[&b],
    );
    check("name=alpha&event=booking.created&enabled=false", &[]);
    check("name=eps&status=deactivated", &[]);

    for bad in [
        "enabled=maybe",
        "enabled=yes",
        "status=zombie",
        "status=ACTIVE",
        "event=a..b",
        "event=a%20b",
    ] {
        let r = server.get(&format!("{}?{bad}", hooks(&account)), ADMIN);
        r.assert_problem(400, "validation-error");
        let param = bad.split('=').next().unwrap();
        assert!(names(&r, param), "{bad}: {}", r.text);
    }
    for bad in ["limit=0", "limit=201", "limit=abc", "cursor=forged"] {
        server
            .get(&format!("{}?{bad}", hooks(&account)), ADMIN)
            .assert_problem(400, "validation-error");
    }
}

fn pages_of_a_filtered_list_cover_every_match_once() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let mut matching = HashSet::new();
    for i in 0..14 {
        let events = if i % 2 == 0 {
            json!(["x.*"])
        } else {
            json!(["y.z"])
        };
        let w = create(
            &server,
            &account,
            &json!({"name": format!("w{i}"), "eventUrl": "https://example.com/h", "eventList": events}),
        );
        if i % 2 == 0 {
            matching.insert(w["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(matching.len(), 7);
    let base = format!("{}?event=x.y", hooks(&account));
    let mut seen = Vec::new();
    let mut url = format!("{base}&limit=3");
    let mut pages = 0;
    loop {
        let r = server.get(&url, ADMIN);
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json.get("nextCursor").is_some(), "{}", r.text);
        let items = r.json["items"].as_array().unwrap();
        assert!(items.len() <= 3, "a page holds at most limit items");
        seen.extend(items.iter().map(|w| w["id"].as_str().unwrap().to_string()));
        pages += 1;
        match &r.json["nextCursor"] {
            Value::Null => break,
            Value::String(c) => url = format!("{base}&limit=3&cursor={}", enc(c)),
            other => panic!("bad nextCursor {other}"),
        }
        assert!(pages < 20, "paging does not end");
    }
    assert!(
        pages >= 3,
        "7 matches at 3 per page take 3 pages, got {pages}"
    );
    assert_eq!(seen.len(), 7, "no repeats: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), matching);

    // Unfiltered, every webhook is listed once across pages too.
    let mut all = Vec::new();
    let mut url = format!("{}?limit=5", hooks(&account));
    for _ in 0..10 {
        let r = server.get(&url, ADMIN);
        assert_eq!(r.status, 200, "{}", r.text);
        all.extend(
            r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_str().unwrap().to_string()),
        );
        match r.json["nextCursor"].as_str() {
            Some(c) => url = format!("{}?limit=5&cursor={}", hooks(&account), enc(c)),
            None => break,
        }
    }
    assert_eq!(all.len(), 14);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 14);
}

fn put_replaces_the_whole_webhook_guarded_by_version() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let created = create(
        &server,
        &account,
        &json!({"name": "orig", "eventUrl": "https://example.com/a", "eventList": ["a.b"],
                "description": "d", "headers": {"X-Key": "v"}, "rateLimit": 5,
                "ordered": true, "enabled": false}),
    );
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("{}/{id}", hooks(&account));
    let secret_path = format!("{path}/secret");
    let secret = created["secret"].clone();

    let_time_pass();
    let r = server.put(
        &path,
        ADMIN,
        &json!({"name": "new", "eventUrl": "https://example.com/b", "eventList": ["c.*"],
                "version": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v2 = r.json.clone();
    assert_eq!(
        keys(&v2),
        sorted(WEBHOOK_FIELDS),
        "PUT never shows the secret"
    );
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["name"], "new");
    assert_eq!(v2["eventUrl"], "https://example.com/b");
    assert_eq!(v2["eventList"], json!(["c.*"]));
    // Omitted optional fields take their defaults.
    assert_eq!(v2["enabled"], true);
    assert_eq!(v2["description"], Value::Null);
    assert_eq!(v2["headers"], json!({}));
    assert_eq!(v2["rateLimit"], Value::Null);
    assert_eq!(v2["ordered"], false);
    // What PUT does not own stays.
    for key in [
        "id",
        "createdDate",
        "userIdentifier",
        "ownerIdentifier",
        "ownerName",
        "status",
    ] {
        assert_eq!(v2[key], created[key], "{key}");
    }
    assert!(is_time(&v2["lastUpdate"]));
    assert!(
        v2["lastUpdate"].as_str().unwrap() > created["lastUpdate"].as_str().unwrap(),
        "lastUpdate is set: {} then {}",
        created["lastUpdate"],
        v2["lastUpdate"]
    );
    assert_eq!(server.get(&path, ADMIN).json, v2);
    assert_eq!(server.get(&secret_path, ADMIN).json["secret"], secret);

    // Refused updates change nothing.
    let full = |version: Value| {
        json!({"name": "changed", "eventUrl": "https://example.com/c", "eventList": ["d"],
               "version": version})
    };
    let r = server.put(&path, ADMIN, &json!({"version": 2}));
    r.assert_problem(400, "validation-error");
    for field in ["name", "eventUrl", "eventList"] {
        assert!(names(&r, field), "{field}: {}", r.text);
    }
    assert_eq!(server.get(&path, ADMIN).json, v2);

    let r = server.put(&path, ADMIN, &without(&full(json!(2)), "version"));
    r.assert_problem(400, "validation-error");
    assert!(names(&r, "version"), "{}", r.text);
    let r = server.put(&path, ADMIN, &full(json!(null)));
    r.assert_problem(400, "validation-error");
    assert!(names(&r, "version"), "{}", r.text);
    let r = server.put(&path, ADMIN, &full(json!("2")));
    r.assert_problem(400, "validation-error");
    assert!(names(&r, "version"), "{}", r.text);
    let r = server.put(&path, ADMIN, &with(&full(json!(2)), "name", json!("")));
    r.assert_problem(400, "validation-error");
    assert!(names(&r, "name"), "{}", r.text);
    assert_eq!(server.get(&path, ADMIN).json, v2);

    for stale in [1, 3, 99] {
        let r = server.put(&path, ADMIN, &full(json!(stale)));
        r.assert_problem(409, "version-conflict");
        let detail = r.json["detail"].as_str().unwrap();
        assert!(
            detail
                .split(|c: char| !c.is_ascii_digit())
                .any(|n| n == "2"),
            "detail names the current version 2: {detail}"
        );
        assert_eq!(
            server.get(&path, ADMIN).json,
            v2,
            "a conflicting PUT changes nothing"
        );
    }

    // A client may PUT back the object it just read, read-only fields and all.
    let mut got = server.get(&path, ADMIN).json;
    got["name"] = json!("edited after GET");
    got["headers"] = json!({"X-Trace": "1"});
    let r = server.put(&path, ADMIN, &got);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["version"], 3);
    assert_eq!(r.json["name"], "edited after GET");
    assert_eq!(r.json["headers"], json!({"X-Trace": "1"}));
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(r.json["createdDate"], created["createdDate"]);
    assert_eq!(server.get(&path, ADMIN).json, r.json);

    // An account token may update its own webhooks.
    let (_, token) = server.create_token(&account);
    let r = server.put(&path, &token, &full(json!(3)));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["version"], 4);
    assert_eq!(
        r.json["userIdentifier"], "admin",
        "the creator does not change"
    );

    // Unknown webhooks are 404 whatever the body.
    let r = server.put(
        &format!("{}/no-such-webhook", hooks(&account)),
        ADMIN,
        &full(json!(1)),
    );
    r.assert_problem(404, "not-found");
}

fn delete_then_gone() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let keep = create(&server, &account, &body("keep"));
    let gone = create(&server, &account, &body("gone"));
    let path = format!("{}/{}", hooks(&account), gone["id"].as_str().unwrap());

    let r = server.delete(&path, ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    server.get(&path, ADMIN).assert_problem(404, "not-found");
    server.delete(&path, ADMIN).assert_problem(404, "not-found");
    server
        .get(&format!("{path}/secret"), ADMIN)
        .assert_problem(404, "not-found");
    server
        .post(&format!("{path}/rotate-secret"), ADMIN, &json!({}))
        .assert_problem(404, "not-found");
    server
        .put(
            &path,
            ADMIN,
            &json!({"name": "n", "eventUrl": "https://example.com/", "eventList": ["a"], "version": 1}),
        )
        .assert_problem(404, "not-found");
    assert_eq!(
        list_ids(&server, &account, ""),
        vec![keep["id"].as_str().unwrap().to_string()]
    );
}

fn secrets_are_read_and_rotated() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let w = create(&server, &account, &body("signed"));
    let path = format!("{}/{}", hooks(&account), w["id"].as_str().unwrap());
    let first = w["secret"].clone();

    let r = server.get(&format!("{path}/secret"), ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"secret": first}));

    // Rotation without a secret generates one.
    let r = server.post(&format!("{path}/rotate-secret"), ADMIN, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.json), vec!["secret".to_string()]);
    assert_secret_form(&r.json["secret"]);
    let second = r.json["secret"].clone();
    assert_ne!(second, first);
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json,
        json!({"secret": second})
    );

    // Rotation with a provided secret keeps it.
    let chosen = secret_of(32, b'z');
    let r = server.post(
        &format!("{path}/rotate-secret"),
        ADMIN,
        &json!({"secret": chosen}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"secret": chosen}));
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json,
        json!({"secret": chosen})
    );

    // A bad secret is refused and changes nothing.
    for bad in [json!("whsec_short"), json!(secret_of(16, b'q')), json!(5)] {
        let r = server.post(
            &format!("{path}/rotate-secret"),
            ADMIN,
            &json!({"secret": bad}),
        );
        r.assert_problem(400, "validation-error");
        assert!(names(&r, "secret"), "{}", r.text);
    }
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json,
        json!({"secret": chosen})
    );

    // An account token reads and rotates its own webhooks' secrets.
    let (_, token) = server.create_token(&account);
    let r = server.get(&format!("{path}/secret"), &token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["secret"], chosen.as_str());
    let r = server.post(&format!("{path}/rotate-secret"), &token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.json["secret"], chosen.as_str());

    // The webhook itself still never shows the secret.
    let r = server.get(&path, ADMIN);
    assert!(r.json.get("secret").is_none(), "{}", r.text);
}

fn other_accounts_tokens_are_forbidden_and_unknown_webhooks_not_found() {
    let server = Server::start();
    let a = server.create_account("A");
    let b = server.create_account("B");
    let (_, token_a) = server.create_token(&a);
    let (_, token_b) = server.create_token(&b);
    let w = create(&server, &a, &body("a's"));
    let wid = w["id"].as_str().unwrap().to_string();
    let path = format!("{}/{wid}", hooks(&a));
    let before = server.get(&path, ADMIN).json;
    let put_body =
        json!({"name": "x", "eventUrl": "https://example.com/", "eventList": ["a"], "version": 1});

    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", hooks(&a), None),
        ("POST", hooks(&a), Some(body("intruder"))),
        ("GET", path.clone(), None),
        ("PUT", path.clone(), Some(put_body.clone())),
        ("DELETE", path.clone(), None),
        ("GET", format!("{path}/secret"), None),
        ("POST", format!("{path}/rotate-secret"), Some(json!({}))),
    ];
    for (method, route, payload) in &attempts {
        let bytes = payload.as_ref().map(|p| p.to_string().into_bytes());
        let r = request(method, &server.url(route), Some(&token_b), bytes.as_deref());
        assert_eq!(
            r.status, 403,
            "{method} {route} with another account's token: {}",
            r.text
        );
        r.assert_problem(403, "forbidden");
    }
    // Nothing changed.
    assert_eq!(server.get(&path, ADMIN).json, before);
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json["secret"],
        w["secret"]
    );
    assert_eq!(list_ids(&server, &a, ""), vec![wid.clone()]);

    // The owner's token reaches every one of those routes.
    assert_eq!(server.get(&hooks(&a), &token_a).status, 200);
    assert_eq!(server.get(&path, &token_a).status, 200);
    assert_eq!(server.get(&format!("{path}/secret"), &token_a).status, 200);

    // A's webhook under B's path does not exist for B.
    let foreign = format!("{}/{wid}", hooks(&b));
    server
        .get(&foreign, &token_b)
        .assert_problem(404, "not-found");
    server
        .put(&foreign, &token_b, &put_body)
        .assert_problem(404, "not-found");
    server
        .delete(&foreign, &token_b)
        .assert_problem(404, "not-found");
    server
        .get(&format!("{foreign}/secret"), &token_b)
        .assert_problem(404, "not-found");
    server
        .post(&format!("{foreign}/rotate-secret"), &token_b, &json!({}))
        .assert_problem(404, "not-found");
    assert_eq!(server.get(&path, ADMIN).json, before);

    // Unknown webhook ids.
    for unknown in ["0190a5c4-0000-7000-8000-000000000000", "nope"] {
        let p = format!("{}/{unknown}", hooks(&a));
        server.get(&p, ADMIN).assert_problem(404, "not-found");
        server.get(&p, &token_a).assert_problem(404, "not-found");
        server
            .put(&p, ADMIN, &put_body)
            .assert_problem(404, "not-found");
        server.delete(&p, ADMIN).assert_problem(404, "not-found");
        server
            .get(&format!("{p}/secret"), ADMIN)
            .assert_problem(404, "not-found");
        server
            .post(&format!("{p}/rotate-secret"), ADMIN, &json!({}))
            .assert_problem(404, "not-found");
    }

    // Webhooks of an unknown account: 404 for the admin, 403 for an account token.
    server
        .get(&hooks("ghost"), ADMIN)
        .assert_problem(404, "not-found");
    server
        .post(&hooks("ghost"), ADMIN, &body("x"))
        .assert_problem(404, "not-found");
    server
        .get(&hooks("ghost"), &token_a)
        .assert_problem(403, "forbidden");
    server
        .post(&hooks("ghost"), &token_a, &body("x"))
        .assert_problem(403, "forbidden");
}

fn bodies_that_are_not_json_objects_are_refused_and_change_nothing() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let url = server.url(&hooks(&account));
    let valid = body("valid").to_string();

    for ctype in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = request_with(
            "POST",
            &url,
            Some(ADMIN),
            Some(valid.as_bytes()),
            &[("content-type", ctype)],
        );
        r.assert_problem(415, "unsupported-media-type");
        assert!(list_ids(&server, &account, "").is_empty(), "{ctype}");
    }
    let bad_bodies: Vec<&[u8]> = vec![
        b"{\"name\": ",
        b"{name: 'x'}",
        b"[]",
        b"[{\"name\": \"x\", \"eventUrl\": \"https://example.com/\", \"eventList\": [\"a\"]}]",
        b"null",
        b"42",
        b"\"text\"",
        b"{\"name\": \"\xff\xfe\", \"eventUrl\": \"https://example.com/\", \"eventList\": [\"a\"]}",
        b"\xff\xfe\xfd",
        b"",
    ];
    for raw in bad_bodies {
        let r = request("POST", &url, Some(ADMIN), Some(raw));
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(raw),
            r.text
        );
        r.assert_problem(400, "validation-error");
        assert!(list_ids(&server, &account, "").is_empty());
    }
    // Deep nesting is a problem response, not a crash.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = request("POST", &url, Some(ADMIN), Some(deep.as_bytes()));
    assert_eq!(r.status / 100, 4, "{}", r.text);
    assert!(list_ids(&server, &account, "").is_empty());
    assert_eq!(server.get("/healthz", "").status, 200);

    // The same on an update and a rotation.
    let w = create(&server, &account, &body("target"));
    let path = format!("{}/{}", hooks(&account), w["id"].as_str().unwrap());
    let before = server.get(&path, ADMIN).json;
    let put =
        json!({"name": "n", "eventUrl": "https://example.com/", "eventList": ["a"], "version": 1})
            .to_string();
    let r = request_with(
        "PUT",
        &server.url(&path),
        Some(ADMIN),
        Some(put.as_bytes()),
        &[("content-type", "text/plain")],
    );
    r.assert_problem(415, "unsupported-media-type");
    let r = request("PUT", &server.url(&path), Some(ADMIN), Some(b"[1, 2]"));
    r.assert_problem(400, "validation-error");
    let r = request(
        "PUT",
        &server.url(&path),
        Some(ADMIN),
        Some(b"{\"version\": 1, \"name\": \xc3"),
    );
    r.assert_problem(400, "validation-error");
    assert_eq!(server.get(&path, ADMIN).json, before);

    let rotate = json!({"secret": secret_of(32, b'r')}).to_string();
    let r = request_with(
        "POST",
        &server.url(&format!("{path}/rotate-secret")),
        Some(ADMIN),
        Some(rotate.as_bytes()),
        &[("content-type", "text/plain")],
    );
    r.assert_problem(415, "unsupported-media-type");
    let r = request(
        "POST",
        &server.url(&format!("{path}/rotate-secret")),
        Some(ADMIN),
        Some(b"{\"secret\": "),
    );
    r.assert_problem(400, "validation-error");
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json["secret"],
        w["secret"]
    );
}

fn bodies_over_the_limit_are_413_and_change_nothing() {
    let server = Server::start_with(
        "[limits]\nmax_body_bytes = 2048\nmax_event_bytes = 1024\n",
        &[],
    );
    let account = server.create_account("Clinic");
    let url = server.url(&hooks(&account));

    // Just under the limit is fine (on another account, to keep this one empty).
    let spare = server.create_account("Spare");
    let small = with(&body("small"), "description", json!("d".repeat(1000)));
    assert!(small.to_string().len() < 2048);
    create(&server, &spare, &small);

    for size in [2049usize, 3000, 20_000] {
        let padding = "p".repeat(size);
        let big = with(&body("big"), "padding", json!(padding));
        assert!(big.to_string().len() > 2048);
        let r = request("POST", &url, Some(ADMIN), Some(big.to_string().as_bytes()));
        r.assert_problem(413, "payload-too-large");
        assert!(list_ids(&server, &account, "").is_empty(), "{size}");
    }

    let w = create(&server, &account, &body("target"));
    let path = format!("{}/{}", hooks(&account), w["id"].as_str().unwrap());
    let before = server.get(&path, ADMIN).json;
    let big_put = json!({"name": "n", "eventUrl": "https://example.com/", "eventList": ["a"],
        "version": 1, "padding": "p".repeat(4000)});
    let r = server.put(&path, ADMIN, &big_put);
    r.assert_problem(413, "payload-too-large");
    assert_eq!(server.get(&path, ADMIN).json, before);
    let big_rotate = json!({"secret": secret_of(32, b'b'), "padding": "p".repeat(4000)});
    let r = server.post(&format!("{path}/rotate-secret"), ADMIN, &big_rotate);
    r.assert_problem(413, "payload-too-large");
    assert_eq!(
        server.get(&format!("{path}/secret"), ADMIN).json["secret"],
        w["secret"]
    );
}

crate::on_both_backends!(
    create_returns_every_field_with_its_default_and_the_secret,
    a_provided_secret_is_kept_and_a_bad_one_refused,
    invalid_webhooks_are_refused_naming_each_field_and_change_nothing,
    the_entity_object_must_name_the_path_account,
    target_url_rules_without_http_and_private_targets,
    list_filters_combine_with_and,
    pages_of_a_filtered_list_cover_every_match_once,
    put_replaces_the_whole_webhook_guarded_by_version,
    delete_then_gone,
    secrets_are_read_and_rotated,
    other_accounts_tokens_are_forbidden_and_unknown_webhooks_not_found,
    bodies_that_are_not_json_objects_are_refused_and_change_nothing,
    bodies_over_the_limit_are_413_and_change_nothing,
);
