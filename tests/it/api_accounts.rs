//! Accounts: create, validation, pagination, get/update/delete, cascading deletion, and what an
//! account token may do with account records (docs/api.md "Accounts", "Pagination",
//! "Authentication and access", "Precise rules").

use std::collections::HashSet;

use crate::common::*;
use serde_json::{Value, json};

/// Ids of the `items` of a list response.
fn ids(r: &Resp) -> Vec<String> {
    r.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", r.text))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every account id, in the order of one large page.
fn all_account_ids(server: &Server) -> Vec<String> {
    let r = server.get("/v1/accounts?limit=200", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["nextCursor"], Value::Null);
    ids(&r)
}

fn create_returns_the_account_with_a_generated_uuid_v7_id_and_times() {
    let server = Server::start();
    let r = server.post("/v1/accounts", ADMIN, &json!({"name": "Cool Account"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("content-type")
            .map(|c| c.starts_with("application/json")),
        Some(true)
    );
    assert_eq!(
        keys(&r.json),
        sorted(&["id", "name", "language", "createdDate", "lastUpdate"])
    );
    assert_eq!(r.json["name"], "Cool Account");
    assert_uuid_v7(r.json["id"].as_str().unwrap());
    assert!(is_time(&r.json["createdDate"]), "{}", r.text);
    assert!(is_time(&r.json["lastUpdate"]), "{}", r.text);
    assert!(r.json["lastUpdate"].as_str() >= r.json["createdDate"].as_str());

    // A second generated id is different and sorts after the first (time-ordered).
    let second = server.create_account("Second");
    assert_uuid_v7(&second);
    assert!(second.as_str() > r.json["id"].as_str().unwrap());

    // The created account is what GET answers.
    let id = r.json["id"].as_str().unwrap();
    let got = server.get(&format!("/v1/accounts/{id}"), ADMIN);
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json, r.json);

    // Names are counted in characters, not bytes: 200 two-byte characters are fine.
    let r = server.post("/v1/accounts", ADMIN, &json!({"name": "é".repeat(200)}));
    assert_eq!(r.status, 201, "{}", r.text);
}

fn own_ids_are_kept_and_an_id_in_use_is_a_conflict() {
    let server = Server::start();
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Clinic 42", "id": "clinic-42_A"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["id"], "clinic-42_A");
    let original = r.json.clone();

    let long_id = "a".repeat(64);
    let r = server.post("/v1/accounts", ADMIN, &json!({"name": "x", "id": long_id}));
    assert_eq!(r.status, 201, "a 64-character id is allowed: {}", r.text);
    assert_eq!(r.json["id"], long_id);

    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Impostor", "id": "clinic-42_A"}),
    );
    r.assert_problem(409, "conflict");

    // Nothing changed: the first account keeps its name, no account was added.
    let got = server.get("/v1/accounts/clinic-42_A", ADMIN);
    assert_eq!(got.json, original);
    assert_eq!(all_account_ids(&server).len(), 2);
}

fn invalid_accounts_are_refused_listing_every_bad_field_and_change_nothing() {
    let server = Server::start();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["name"]),
        (json!({"id": "no-name"}), vec!["name"]),
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(201)}), vec!["name"]),
        (json!({"name": "é".repeat(201)}), vec!["name"]),
        (json!({"name": 42}), vec!["name"]),
        (json!({"name": ["a"]}), vec!["name"]),
        (json!({"name": true}), vec!["name"]),
        (json!({"name": "ok", "id": "a b"}), vec!["id"]),
        (json!({"name": "ok", "id": "a/b"}), vec!["id"]),
        (json!({"name": "ok", "id": "a.b"}), vec!["id"]),
        (json!({"name": "ok", "id": "ä"}), vec!["id"]),
        (json!({"name": "ok", "id": ""}), vec!["id"]),
        (json!({"name": "ok", "id": "a".repeat(65)}), vec!["id"]),
        (json!({"name": "ok", "id": 17}), vec!["id"]),
        (json!({"name": "ok", "id": {"x": 1}}), vec!["id"]),
        (json!({"name": "", "id": "a b"}), vec!["name", "id"]),
        (json!({"name": 5, "id": 5}), vec!["name", "id"]),
    ];
    for (body, fields) in cases {
        let r = server.post("/v1/accounts", ADMIN, &body);
        r.assert_problem(400, "validation-error");
        let named = r.error_fields();
        for field in &fields {
            assert!(
                named.iter().any(|f| f == field),
                "{body}: errors must name {field}: {}",
                r.text
            );
        }
        assert!(
            all_account_ids(&server).is_empty(),
            "a refused create changes nothing: {body}"
        );
    }

    // Malformed JSON and a body that is not an object.
    for raw in [&b"{\"name\": "[..], b"[{\"name\": \"x\"}]", b"\"x\""] {
        let r = request("POST", &server.url("/v1/accounts"), Some(ADMIN), Some(raw));
        r.assert_problem(400, "validation-error");
    }
    assert!(all_account_ids(&server).is_empty());
}

fn list_pages_through_every_account_without_skipping_or_repeating() {
    let server = Server::start();
    let r = server.get("/v1/accounts", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"items": [], "nextCursor": null}));

    let mut created = Vec::new();
    for i in 0..7 {
        created.push(server.create_account(&format!("Account {i}")));
    }
    let all = all_account_ids(&server);
    assert_eq!(
        all.iter().collect::<HashSet<_>>(),
        created.iter().collect::<HashSet<_>>()
    );
    // Items are full accounts.
    let r = server.get("/v1/accounts?limit=1", ADMIN);
    assert_eq!(
        keys(&r.json["items"][0]),
        sorted(&["id", "name", "language", "createdDate", "lastUpdate"])
    );
    assert!(r.json["nextCursor"].is_string());

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut url = "/v1/accounts?limit=3".to_string();
    loop {
        let r = server.get(&url, ADMIN);
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json.get("nextCursor").is_some(), "{}", r.text);
        sizes.push(r.json["items"].as_array().unwrap().len());
        seen.extend(ids(&r));
        match &r.json["nextCursor"] {
            Value::Null => break,
            Value::String(c) => url = format!("/v1/accounts?limit=3&cursor={}", enc(c)),
            other => panic!("nextCursor must be a string or null: {other}"),
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, all, "pages cover the list in order, once each");
}

fn paging_stays_consistent_while_accounts_are_added() {
    let server = Server::start();
    let mut before = Vec::new();
    for i in 0..6 {
        before.push(server.create_account(&format!("A{i}")));
    }
    let first = server.get("/v1/accounts?limit=2", ADMIN);
    assert_eq!(first.status, 200, "{}", first.text);
    let mut seen = ids(&first);
    let mut cursor = first.json["nextCursor"].as_str().unwrap().to_string();
    // New accounts arrive between pages: one sorting before everything, one generated.
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "early", "id": "0000-early"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    server.create_account("late");
    for _ in 0..10 {
        let r = server.get(
            &format!("/v1/accounts?limit=2&cursor={}", enc(&cursor)),
            ADMIN,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(ids(&r));
        match r.json["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no account is repeated: {seen:?}");
    for id in &before {
        assert!(seen.contains(id), "account {id} was skipped: {seen:?}");
    }
}

fn default_page_size_is_50_and_the_limit_is_bounded() {
    let server = Server::start();
    for i in 0..51 {
        server.create_account(&format!("bulk {i}"));
    }
    let r = server.get("/v1/accounts", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 50);
    assert!(r.json["nextCursor"].is_string());
    let cursor = r.json["nextCursor"].as_str().unwrap().to_string();
    let r = server.get(&format!("/v1/accounts?cursor={}", enc(&cursor)), ADMIN);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["nextCursor"], Value::Null);

    let r = server.get("/v1/accounts?limit=200", ADMIN);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 51);
    let r = server.get("/v1/accounts?limit=1", ADMIN);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);

    for bad in [
        "0",
        "201",
        "abc",
        "-1",
        "1.5",
        "",
        "99999999999999999999999",
    ] {
        let r = server.get(&format!("/v1/accounts?limit={bad}"), ADMIN);
        r.assert_problem(400, "validation-error");
        assert!(
            r.error_fields().iter().any(|f| f == "limit"),
            "limit={bad}: {}",
            r.text
        );
    }

    // A cursor hookd did not issue: garbage, and a real one with a character changed.
    let mut forged = cursor.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        "abc",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00",
        forged.as_str(),
    ] {
        let r = server.get(&format!("/v1/accounts?cursor={}", enc(bad)), ADMIN);
        r.assert_problem(400, "validation-error");
    }
}

fn get_update_and_delete_an_account() {
    let server = Server::start();
    let r = server.post("/v1/accounts", ADMIN, &json!({"name": "Before"}));
    assert_eq!(r.status, 201);
    let created = r.json.clone();
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/v1/accounts/{id}");

    let t0 = std::time::Instant::now();
    eventually(std::time::Duration::from_secs(1), || {
        (t0.elapsed() >= std::time::Duration::from_millis(3)).then_some(())
    });
    let r = server.put(&path, ADMIN, &json!({"name": "After"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        keys(&r.json),
        sorted(&["id", "name", "language", "createdDate", "lastUpdate"])
    );
    assert_eq!(r.json["id"], created["id"]);
    assert_eq!(r.json["name"], "After");
    assert_eq!(r.json["createdDate"], created["createdDate"]);
    assert!(is_time(&r.json["lastUpdate"]));
    assert!(
        r.json["lastUpdate"].as_str().unwrap() > created["lastUpdate"].as_str().unwrap(),
        "lastUpdate moves on an update: {} then {}",
        created,
        r.json
    );
    let updated = r.json.clone();
    assert_eq!(server.get(&path, ADMIN).json, updated);

    // Invalid updates change nothing.
    for body in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "x".repeat(201)}),
        json!({"name": 1}),
    ] {
        let r = server.put(&path, ADMIN, &body);
        r.assert_problem(400, "validation-error");
        assert!(r.error_fields().iter().any(|f| f == "name"), "{}", r.text);
    }
    assert_eq!(server.get(&path, ADMIN).json, updated);

    // Unknown accounts are 404 for the admin.
    server
        .get("/v1/accounts/no-such-account", ADMIN)
        .assert_problem(404, "not-found");
    server
        .put("/v1/accounts/no-such-account", ADMIN, &json!({"name": "x"}))
        .assert_problem(404, "not-found");
    server
        .delete("/v1/accounts/no-such-account", ADMIN)
        .assert_problem(404, "not-found");

    let r = server.delete(&path, ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    server.get(&path, ADMIN).assert_problem(404, "not-found");
    server.delete(&path, ADMIN).assert_problem(404, "not-found");
    assert!(all_account_ids(&server).is_empty());
}

fn accounts_have_a_language_set_on_create_and_put() {
    let mut server = Server::start();
    // English unless said otherwise, in every view of the account.
    let r = server.post("/v1/accounts", ADMIN, &json!({"name": "Plain"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["language"], "en");
    let plain = r.json["id"].as_str().unwrap().to_string();

    for code in ["en", "de", "da", "nb", "pt"] {
        let r = server.post(
            "/v1/accounts",
            ADMIN,
            &json!({"name": format!("In {code}"), "language": code}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["language"], code);
        let got = server.get(
            &format!("/v1/accounts/{}", r.json["id"].as_str().unwrap()),
            ADMIN,
        );
        assert_eq!(got.json["language"], code);
    }
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Null", "language": null}),
    );
    assert_eq!(r.json["language"], "en", "null is absent");

    // Only the five exact codes; the error names `language` (and every other bad field).
    for bad in [
        json!("fr"),
        json!("EN"),
        json!("De"),
        json!("pt-PT"),
        json!("pt_BR"),
        json!("no"),
        json!(" en"),
        json!(""),
        json!(1),
        json!(["de"]),
        json!({"code": "de"}),
        json!(true),
    ] {
        let r = server.post(
            "/v1/accounts",
            ADMIN,
            &json!({"name": "x", "language": bad}),
        );
        r.assert_problem(400, "validation-error");
        assert_eq!(
            r.json["errors"][0]["field"], "language",
            "{bad}: {}",
            r.text
        );
        assert_eq!(r.error_fields(), vec!["language".to_string()], "{}", r.text);
    }
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "", "language": "xx"}),
    );
    r.assert_problem(400, "validation-error");
    assert_eq!(r.error_fields().len(), 2, "{}", r.text);
    assert_eq!(
        all_account_ids(&server).len(),
        7,
        "refused creates change nothing"
    );

    // PUT replaces the account: the language it names, or English when it names none (an
    // omitted optional field takes its default, as for webhooks).
    let path = format!("/v1/accounts/{plain}");
    let r = server.put(&path, ADMIN, &json!({"name": "Plain", "language": "nb"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["language"], "nb");
    assert_eq!(server.get(&path, ADMIN).json["language"], "nb");
    let r = server.put(&path, ADMIN, &json!({"name": "Plain", "language": "Nb"}));
    r.assert_problem(400, "validation-error");
    assert_eq!(r.json["errors"][0]["field"], "language");
    assert_eq!(
        server.get(&path, ADMIN).json["language"],
        "nb",
        "a refused PUT changes nothing"
    );
    let r = server.put(&path, ADMIN, &json!({"name": "Renamed"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["language"], "en");

    // An account token reads its account's language but cannot change it.
    let (_, token) = server.create_token(&plain);
    assert_eq!(server.get(&path, &token).json["language"], "en");
    let r = server.put(&path, &token, &json!({"name": "Plain", "language": "de"}));
    r.assert_problem(403, "forbidden");

    // The language survives a restart (it is stored with the account).
    server.restart();
    assert_eq!(server.get(&path, ADMIN).json["language"], "en");
    let listed = server.get("/v1/accounts?limit=200", ADMIN).json;
    let languages: HashSet<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["language"].as_str().unwrap())
        .collect();
    assert_eq!(languages, HashSet::from(["en", "de", "da", "nb", "pt"]));
}

fn deleting_an_account_removes_its_tokens_and_webhooks_and_frees_its_id() {
    let server = Server::start();
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Hotel", "id": "hotel-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other = server.create_account("Bystander");
    let (_, token) = server.create_token("hotel-1");
    let (_, other_token) = server.create_token(&other);
    let r = server.post(
        "/v1/accounts/hotel-1/webhooks",
        &token,
        &json!({"name": "w", "eventUrl": "https://example.com/h", "eventList": ["booking.*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.json["id"].as_str().unwrap().to_string();
    let r = server.post(
        &format!("/v1/accounts/{other}/webhooks"),
        ADMIN,
        &json!({"name": "keep", "eventUrl": "https://example.com/k", "eventList": ["*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(server.get("/v1/accounts/hotel-1", &token).status, 200);

    let r = server.delete("/v1/accounts/hotel-1", ADMIN);
    assert_eq!(r.status, 204, "{}", r.text);

    // Its token stops working at once.
    server
        .get("/v1/accounts/hotel-1", &token)
        .assert_problem(401, "unauthorized");
    server
        .get("/v1/accounts/hotel-1/webhooks", &token)
        .assert_problem(401, "unauthorized");
    server
        .get("/v1/accounts/hotel-1/webhooks", ADMIN)
        .assert_problem(404, "not-found");

    // The id may be used again, and the new account starts empty: no webhooks, no tokens,
    // and the old token does not come back to life.
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": "Hotel again", "id": "hotel-1"}),
    );
    assert_eq!(
        r.status, 201,
        "a deleted account's id may be used again: {}",
        r.text
    );
    assert_eq!(r.json["name"], "Hotel again");
    let r = server.get("/v1/accounts/hotel-1/webhooks", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"], json!([]), "the old webhooks are gone");
    server
        .get(&format!("/v1/accounts/hotel-1/webhooks/{webhook}"), ADMIN)
        .assert_problem(404, "not-found");
    let r = server.get("/v1/accounts/hotel-1/tokens", ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"], json!([]), "the old tokens are gone");
    server
        .get("/v1/accounts/hotel-1", &token)
        .assert_problem(401, "unauthorized");

    // The other account is untouched.
    let r = server.get(&format!("/v1/accounts/{other}/webhooks"), &other_token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
}

fn account_tokens_may_read_their_own_account_and_nothing_else() {
    let server = Server::start();
    let own = server.create_account("Own");
    let other = server.create_account("Other");
    let (_, token) = server.create_token(&own);
    let own_path = format!("/v1/accounts/{own}");
    let other_path = format!("/v1/accounts/{other}");
    let own_before = server.get(&own_path, ADMIN).json;
    let other_before = server.get(&other_path, ADMIN).json;

    let r = server.get(&own_path, &token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, own_before);

    server
        .put(&own_path, &token, &json!({"name": "hijacked"}))
        .assert_problem(403, "forbidden");
    server
        .delete(&own_path, &token)
        .assert_problem(403, "forbidden");

    server
        .get(&other_path, &token)
        .assert_problem(403, "forbidden");
    server
        .put(&other_path, &token, &json!({"name": "hijacked"}))
        .assert_problem(403, "forbidden");
    server
        .delete(&other_path, &token)
        .assert_problem(403, "forbidden");

    // A non-existent account: 403 for an account token (no probing), 404 for the admin.
    for method in ["GET", "PUT", "DELETE"] {
        let body = json!({"name": "x"}).to_string();
        let body = (method == "PUT").then_some(body.as_bytes());
        let r = request(
            method,
            &server.url("/v1/accounts/ghost"),
            Some(&token),
            body,
        );
        r.assert_problem(403, "forbidden");
        let r = request(method, &server.url("/v1/accounts/ghost"), Some(ADMIN), body);
        r.assert_problem(404, "not-found");
    }

    // Account tokens cannot list or create accounts.
    server
        .get("/v1/accounts", &token)
        .assert_problem(403, "forbidden");
    server
        .post("/v1/accounts", &token, &json!({"name": "mine now"}))
        .assert_problem(403, "forbidden");

    // Nothing changed.
    assert_eq!(server.get(&own_path, ADMIN).json, own_before);
    assert_eq!(server.get(&other_path, ADMIN).json, other_before);
    assert_eq!(all_account_ids(&server).len(), 2);
}

crate::on_both_backends!(
    create_returns_the_account_with_a_generated_uuid_v7_id_and_times,
    own_ids_are_kept_and_an_id_in_use_is_a_conflict,
    invalid_accounts_are_refused_listing_every_bad_field_and_change_nothing,
    list_pages_through_every_account_without_skipping_or_repeating,
    paging_stays_consistent_while_accounts_are_added,
    default_page_size_is_50_and_the_limit_is_bounded,
    get_update_and_delete_an_account,
    accounts_have_a_language_set_on_create_and_put,
    deleting_an_account_removes_its_tokens_and_webhooks_and_frees_its_id,
    account_tokens_may_read_their_own_account_and_nothing_else,
);
