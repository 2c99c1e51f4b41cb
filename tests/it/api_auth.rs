//! Authentication and access: 401/403 rules, tokens (create, list, revoke, last use),
//! throttling of failed authentications, problem pages, unknown routes and methods, health
//! (docs/api.md "Authentication and access", "Errors", "Tokens", "Outside /v1/", "Precise
//! rules").

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use serde_json::{Value, json};

/// Every problem type name docs/api.md lists ("Errors").
const PROBLEM_TYPES: &[&str] = &[
    "validation-error",
    "unauthorized",
    "forbidden",
    "not-found",
    "gone",
    "method-not-allowed",
    "version-conflict",
    "conflict",
    "payload-too-large",
    "unsupported-media-type",
    "rate-limited",
    "internal",
    "store-unavailable",
];

/// A GET with a raw `Authorization` header (or none).
fn get_with_auth(server: &Server, path: &str, authorization: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    request_with("GET", &server.url(path), None, None, &headers)
}

/// Asserts a 401 `unauthorized` problem with `WWW-Authenticate: Bearer`.
fn assert_unauthorized(r: &Resp) {
    r.assert_problem(401, "unauthorized");
    let challenge = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {:?}", r.headers));
    assert!(
        challenge.to_ascii_lowercase().starts_with("bearer"),
        "WWW-Authenticate: {challenge}"
    );
}

/// The methods of an `Allow` header.
fn allow(r: &Resp) -> HashSet<String> {
    r.header("allow")
        .unwrap_or_else(|| panic!("405 without Allow: {:?}", r.headers))
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

fn missing_malformed_and_unknown_credentials_are_401_with_a_bearer_challenge() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let (_, token) = server.create_token(&account);
    let paths = [
        "/v1/accounts".to_string(),
        format!("/v1/accounts/{account}"),
        format!("/v1/accounts/{account}/webhooks"),
        format!("/v1/accounts/{account}/tokens"),
    ];
    let bad_headers: Vec<Option<String>> = vec![
        None,
        Some(format!("Basic {}", "YWRtaW46cGFzc3dvcmQ=")),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some(format!("Token {ADMIN}")),
        Some(ADMIN.to_string()),
        Some("Bearer hkd_unknown0000000000000000000000000000000000".into()),
        Some(format!("Bearer {ADMIN}x")),
        Some(format!("Bearer {}", &token[..token.len() - 1])),
    ];
    for path in &paths {
        for header in &bad_headers {
            let r = get_with_auth(&server, path, header.as_deref());
            assert_eq!(r.status, 401, "{path} with {header:?}: {}", r.text);
            assert_unauthorized(&r);
        }
    }
    // Writes without credentials are refused the same way and change nothing.
    let r = request(
        "POST",
        &server.url("/v1/accounts"),
        None,
        Some(json!({"name": "sneaky"}).to_string().as_bytes()),
    );
    assert_unauthorized(&r);
    let r = request(
        "DELETE",
        &server.url(&format!("/v1/accounts/{account}")),
        None,
        None,
    );
    assert_unauthorized(&r);
    let r = server.get("/v1/accounts", ADMIN);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{}", r.text);

    // The well-formed credentials work.
    assert_eq!(server.get("/v1/accounts", ADMIN).status, 200);
    assert_eq!(server.get(&paths[1], &token).status, 200);
}

fn account_tokens_on_admin_routes_are_403() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let (token_id, token) = server.create_token(&account);
    let other = server.create_account("Other");

    server
        .get("/v1/accounts", &token)
        .assert_problem(403, "forbidden");
    server
        .post("/v1/accounts", &token, &json!({"name": "x"}))
        .assert_problem(403, "forbidden");
    for acc in [&account, &other] {
        let tokens = format!("/v1/accounts/{acc}/tokens");
        server.get(&tokens, &token).assert_problem(403, "forbidden");
        server
            .post(&tokens, &token, &json!({"name": "escalate"}))
            .assert_problem(403, "forbidden");
    }
    server
        .delete(&format!("/v1/accounts/{account}/tokens/{token_id}"), &token)
        .assert_problem(403, "forbidden");

    // Nothing changed: still one token, and it still works.
    let r = server.get(&format!("/v1/accounts/{account}/tokens"), ADMIN);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(
        server
            .get(&format!("/v1/accounts/{account}"), &token)
            .status,
        200
    );
    let r = server.get(&format!("/v1/accounts/{other}/tokens"), ADMIN);
    assert_eq!(r.json["items"], json!([]));
}

fn tokens_are_shown_once_listed_without_the_secret_and_revoked_at_once() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let tokens_path = format!("/v1/accounts/{account}/tokens");

    let r = server.post(&tokens_path, ADMIN, &json!({"name": "booking backend"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        keys(&r.json),
        sorted(&["id", "name", "accountId", "createdDate", "token"])
    );
    assert_eq!(r.json["name"], "booking backend");
    assert_eq!(r.json["accountId"], account.as_str());
    assert!(is_time(&r.json["createdDate"]), "{}", r.text);
    let token = r.json["token"].as_str().unwrap().to_string();
    let token_id = r.json["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("hkd_"), "{token}");
    // At least 32 random bytes: 43 characters even in base64.
    assert!(
        token.len() >= 4 + 43,
        "token too short for 32 bytes: {token}"
    );
    let created = r.json.clone();

    let (_, second) = server.create_token(&account);
    assert_ne!(second, token);

    let r = server.get(&tokens_path, ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("nextCursor").is_some(), "{}", r.text);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let item = items
        .iter()
        .find(|t| t["id"] == token_id.as_str())
        .expect("the token is listed");
    assert_eq!(
        keys(item),
        sorted(&["id", "name", "accountId", "createdDate", "lastUsedDate"])
    );
    assert_eq!(item["name"], "booking backend");
    assert_eq!(item["accountId"], account.as_str());
    assert_eq!(item["createdDate"], created["createdDate"]);
    assert_eq!(item["lastUsedDate"], Value::Null, "never used yet");
    assert!(!r.text.contains(&token), "the list never shows a token");
    assert!(!r.text.contains(&second), "the list never shows a token");

    // A use is recorded (asynchronously) as lastUsedDate.
    assert_eq!(
        server
            .get(&format!("/v1/accounts/{account}"), &token)
            .status,
        200
    );
    let used = eventually(Duration::from_secs(10), || {
        let r = server.get(&tokens_path, ADMIN);
        r.json["items"]
            .as_array()?
            .iter()
            .find(|t| t["id"] == token_id.as_str())
            .map(|t| t["lastUsedDate"].clone())
            .filter(|d| !d.is_null())
    });
    assert!(is_time(&used), "{used}");
    let used = used.as_str().unwrap();
    let created_minute = &created["createdDate"].as_str().unwrap()[..16];
    assert!(
        &used[..16] >= created_minute,
        "last use {used} is before the creation {created_minute}"
    );
    // The other token was not used.
    let r = server.get(&tokens_path, ADMIN);
    let unused = r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] != token_id.as_str())
        .unwrap();
    assert_eq!(unused["lastUsedDate"], Value::Null);

    // Revocation takes effect at once.
    let r = server.delete(&format!("{tokens_path}/{token_id}"), ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_unauthorized(&server.get(&format!("/v1/accounts/{account}"), &token));
    assert_unauthorized(&server.get(&format!("/v1/accounts/{account}/webhooks"), &token));
    let r = server.get(&tokens_path, ADMIN);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    assert_ne!(r.json["items"][0]["id"], token_id.as_str());
    server
        .delete(&format!("{tokens_path}/{token_id}"), ADMIN)
        .assert_problem(404, "not-found");
    // The remaining token still works.
    assert_eq!(
        server
            .get(&format!("/v1/accounts/{account}"), &second)
            .status,
        200
    );

    // Tokens of an unknown account.
    server
        .post("/v1/accounts/ghost/tokens", ADMIN, &json!({"name": "x"}))
        .assert_problem(404, "not-found");
    server
        .get("/v1/accounts/ghost/tokens", ADMIN)
        .assert_problem(404, "not-found");
}

fn the_token_list_is_paginated() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let mut created = HashSet::new();
    for _ in 0..5 {
        created.insert(server.create_token(&account).0);
    }
    let base = format!("/v1/accounts/{account}/tokens");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut url = format!("{base}?limit=2");
    loop {
        let r = server.get(&url, ADMIN);
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json.get("nextCursor").is_some(), "{}", r.text);
        let items = r.json["items"].as_array().unwrap();
        sizes.push(items.len());
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        match &r.json["nextCursor"] {
            Value::Null => break,
            Value::String(c) => url = format!("{base}?limit=2&cursor={}", enc(c)),
            other => panic!("bad nextCursor {other}"),
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);

    for bad in ["limit=0", "limit=201", "limit=abc", "cursor=forged"] {
        server
            .get(&format!("{base}?{bad}"), ADMIN)
            .assert_problem(400, "validation-error");
    }
}

fn repeated_failures_from_one_address_are_throttled_with_retry_after() {
    let server = Server::start_with("[limits]\nauth_failures_per_minute = 3\n", &[]);
    let account = server.create_account("Clinic");
    let (_, token) = server.create_token(&account);
    let account_path = format!("/v1/accounts/{account}");

    // The count is per minute: start early in a minute so the sequence stays within one.
    eventually(Duration::from_secs(70), || {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        (secs % 60 < 55).then_some(())
    });

    assert_unauthorized(&server.get("/v1/accounts", "wrong-1"));
    assert_unauthorized(&get_with_auth(&server, "/v1/accounts", None));
    // Below the limit, valid tokens still work (successes do not count).
    assert_eq!(server.get("/v1/accounts", ADMIN).status, 200);
    assert_eq!(server.get(&account_path, &token).status, 200);
    // The third failure is still answered 401.
    assert_unauthorized(&server.get("/v1/accounts", "wrong-3"));

    // From now on every request from this address is 429, valid tokens included.
    for (label, r) in [
        ("admin", server.get("/v1/accounts", ADMIN)),
        ("account token", server.get(&account_path, &token)),
        ("unknown token", server.get("/v1/accounts", "wrong-4")),
        ("no token", get_with_auth(&server, "/v1/accounts", None)),
    ] {
        assert_eq!(r.status, 429, "{label}: {}", r.text);
        r.assert_problem(429, "rate-limited");
        let retry_after = r
            .header("retry-after")
            .unwrap_or_else(|| panic!("{label}: 429 without Retry-After: {:?}", r.headers));
        let secs: u64 = retry_after
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After is not seconds: {retry_after}"));
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
    }
}

fn problem_pages_unknown_routes_wrong_methods_and_health() {
    let server = Server::start();
    for name in PROBLEM_TYPES {
        let r = request("GET", &server.url(&format!("/problems/{name}")), None, None);
        assert_eq!(r.status, 200, "/problems/{name}: {}", r.text);
        let ctype = r.header("content-type").unwrap_or_default();
        assert!(ctype.starts_with("text/plain"), "/problems/{name}: {ctype}");
        assert!(
            !r.text.trim().is_empty(),
            "/problems/{name} explains itself"
        );
    }
    let r = request("GET", &server.url("/problems/no-such-problem"), None, None);
    r.assert_problem(404, "not-found");

    // Every problem response's type is one of the documented pages.
    let r = server.get("/v1/accounts", "nope");
    let type_uri = r.json["type"].as_str().unwrap().to_string();
    let page = request("GET", &server.url(&type_uri), None, None);
    assert_eq!(page.status, 200, "{type_uri}");

    // Unknown routes.
    for path in [
        "/v1/nothing-here",
        "/v1/accounts/a/b/c/d/e/f",
        "/nope",
        "/v2/accounts",
    ] {
        let r = server.get(path, ADMIN);
        r.assert_problem(404, "not-found");
        // As in the example of docs/api.md "Errors", `instance` is the request's path.
        assert_eq!(r.json["instance"], path, "{}", r.text);
    }

    // Known paths, wrong methods.
    let account = server.create_account("Clinic");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "w", "eventUrl": "https://example.com/", "eventList": ["a"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.json["id"].as_str().unwrap().to_string();
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("DELETE", "/v1/accounts".into(), &["GET", "POST"]),
        ("PUT", "/v1/accounts".into(), &["GET", "POST"]),
        (
            "PATCH",
            format!("/v1/accounts/{account}"),
            &["GET", "PUT", "DELETE"],
        ),
        (
            "POST",
            format!("/v1/accounts/{account}"),
            &["GET", "PUT", "DELETE"],
        ),
        (
            "PUT",
            format!("/v1/accounts/{account}/webhooks"),
            &["GET", "POST"],
        ),
        (
            "POST",
            format!("/v1/accounts/{account}/webhooks/{webhook}"),
            &["GET", "PUT", "DELETE"],
        ),
        (
            "GET",
            format!("/v1/accounts/{account}/webhooks/{webhook}/rotate-secret"),
            &["POST"],
        ),
        (
            "DELETE",
            format!("/v1/accounts/{account}/webhooks/{webhook}/secret"),
            &["GET"],
        ),
        ("POST", "/healthz".into(), &["GET"]),
        ("DELETE", "/readyz".into(), &["GET"]),
    ];
    for (method, path, methods) in cases {
        let r = request(method, &server.url(&path), Some(ADMIN), None);
        r.assert_problem(405, "method-not-allowed");
        let allowed = allow(&r);
        for m in methods {
            assert!(
                allowed.contains(*m),
                "{method} {path}: Allow {allowed:?} lacks {m}"
            );
        }
        assert!(
            !allowed.contains(method),
            "{method} {path}: Allow {allowed:?}"
        );
    }
    // The 405 changed nothing.
    let r = server.get(&format!("/v1/accounts/{account}/webhooks/{webhook}"), ADMIN);
    assert_eq!(r.status, 200);

    // Health and readiness need no token.
    let r = request("GET", &server.url("/healthz"), None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"status": "ok"}));
    let r = request("GET", &server.url("/readyz"), None, None);
    assert_eq!(r.status, 200, "{}", r.text);
}

crate::on_both_backends!(
    missing_malformed_and_unknown_credentials_are_401_with_a_bearer_challenge,
    account_tokens_on_admin_routes_are_403,
    tokens_are_shown_once_listed_without_the_secret_and_revoked_at_once,
    the_token_list_is_paginated,
    repeated_failures_from_one_address_are_throttled_with_retry_after,
    problem_pages_unknown_routes_wrong_methods_and_health,
);
