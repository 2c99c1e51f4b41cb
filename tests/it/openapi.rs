//! The OpenAPI document at `GET /openapi.json` stays true to the router: every `/v1/` route of
//! the route table is documented with each of its methods, nothing else is, every `$ref`
//! resolves, every operation has a success response, and every operation declares the bearer
//! security every `/v1/` route requires.

use std::collections::BTreeSet;

use crate::common::{Server, request};
use hookd::reference::DOCUMENT;
use hookd::reference::ROUTES;
use serde_json::Value;

/// The keys of a path item that name operations.
const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn embedded() -> Value {
    serde_json::from_str(DOCUMENT).expect("src/api/openapi.json is valid JSON")
}

/// Every (path template, METHOD) the router serves under `/v1/`.
fn routed_v1() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .filter(|(template, _, _)| template.starts_with("/v1/"))
        .flat_map(|(template, _, methods)| {
            methods
                .iter()
                .map(move |m| (template.to_string(), m.to_ascii_uppercase()))
        })
        .collect()
}

/// Every operation of the document: (path, METHOD, operation object).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for (key, op) in item {
            if HTTP_METHODS.contains(&key.as_str()) {
                out.push((path.clone(), key.to_ascii_uppercase(), op));
            }
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    operations(doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect()
}

/// Names every route the document misses and every operation the router lacks; `None` when
/// the two sets are equal.
fn route_mismatch(doc: &Value) -> Option<String> {
    let routed = routed_v1();
    let documented = documented(doc);
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    (!missing.is_empty() || !extra.is_empty()).then(|| {
        format!(
            "OpenAPI paths differ from the route table\n  routed but not documented: {missing:?}\n  documented but not routed: {extra:?}"
        )
    })
}

fn assert_document_matches_routes(doc: &Value) {
    assert!(!routed_v1().is_empty(), "the route table has /v1/ routes");
    if let Some(mismatch) = route_mismatch(doc) {
        panic!("{mismatch}");
    }
}

/// Every `$ref` string anywhere in `value`, with where it was found.
fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                if k == "$ref" {
                    if let Value::String(target) = v {
                        out.push((here.clone(), target.clone()));
                    } else {
                        out.push((here.clone(), format!("<not a string: {v}>")));
                    }
                }
                collect_refs(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The names of the security schemes that are HTTP bearer schemes.
fn bearer_schemes(doc: &Value) -> BTreeSet<String> {
    doc["components"]["securitySchemes"]
        .as_object()
        .map(|schemes| {
            schemes
                .iter()
                .filter(|(_, s)| {
                    s["type"] == "http"
                        && s["scheme"]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case("bearer"))
                })
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a security requirement list (`[{scheme: [...]}, ...]`) demands a bearer token:
/// non-empty, and every alternative names a bearer scheme (an empty `{}` alternative would
/// make authentication optional).
fn requires_bearer(requirements: &Value, bearer: &BTreeSet<String>) -> bool {
    let Some(alternatives) = requirements.as_array() else {
        return false;
    };
    !alternatives.is_empty()
        && alternatives.iter().all(|alt| {
            alt.as_object()
                .is_some_and(|req| req.keys().any(|k| bearer.contains(k)))
        })
}

fn served_document_is_openapi_3_1_and_matches_the_route_table() {
    let server = Server::start();
    let r = request("GET", &server.url("/openapi.json"), None, None);
    assert_eq!(
        r.status, 200,
        "GET /openapi.json without a token: {}",
        r.text
    );
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "content-type: {:?}",
        r.header("content-type")
    );
    let doc: Value = serde_json::from_str(&r.text).expect("the served document is valid JSON");
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(version.starts_with("3.1"), "openapi version {version}");
    assert_eq!(doc, embedded(), "the served document is the embedded one");
    assert_document_matches_routes(&doc);
}

#[test]
fn the_comparison_catches_a_missing_route_and_an_unrouted_path() {
    let mut doc = embedded();
    assert_document_matches_routes(&doc);

    let mut missing = doc.clone();
    missing["paths"]["/v1/accounts"]
        .as_object_mut()
        .unwrap()
        .remove("post");
    let found = route_mismatch(&missing).expect("a routed method missing from the document");
    assert!(found.contains("\"POST\""), "{found}");

    doc["paths"]["/v1/nothing"] =
        serde_json::json!({"get": {"responses": {"200": {"description": "x"}}}});
    let found = route_mismatch(&doc).expect("a documented path the router does not have");
    assert!(found.contains("/v1/nothing"), "{found}");
}

#[test]
fn every_ref_resolves_to_a_defined_component() {
    let doc = embedded();
    let mut refs = Vec::new();
    collect_refs(&doc, "#", &mut refs);
    assert!(!refs.is_empty(), "the document uses components");
    let unresolved: Vec<_> = refs
        .iter()
        .filter(|(_, target)| {
            !target.starts_with("#/components/")
                || doc
                    .pointer(target.trim_start_matches('#'))
                    .is_none_or(Value::is_null)
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolved $refs: {unresolved:#?}");
}

#[test]
fn the_named_schemas_exist_with_api_md_field_names() {
    let doc = embedded();
    let schemas = &doc["components"]["schemas"];
    let expect: &[(&str, &[&str])] = &[
        (
            "Account",
            &["id", "name", "language", "createdDate", "lastUpdate"],
        ),
        ("AccountCreate", &["name", "id", "language"]),
        ("AccountUpdate", &["name", "language"]),
        (
            "Token",
            &["id", "name", "accountId", "createdDate", "lastUsedDate"],
        ),
        (
            "TokenCreated",
            &["id", "name", "accountId", "createdDate", "token"],
        ),
        (
            "Webhook",
            &[
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
            ],
        ),
        (
            "WebhookCreate",
            &[
                "name",
                "enabled",
                "eventUrl",
                "eventList",
                "description",
                "headers",
                "secret",
                "rateLimit",
                "ordered",
                "auth",
                "filter",
                "template",
                "signature",
            ],
        ),
        (
            "WebhookUpdate",
            &[
                "name",
                "enabled",
                "eventUrl",
                "eventList",
                "description",
                "headers",
                "rateLimit",
                "ordered",
                "version",
                "auth",
                "filter",
                "template",
                "signature",
            ],
        ),
        ("WebhookSecret", &["secret", "publicKey"]),
        ("AuthBasic", &["type", "username", "password"]),
        ("AuthBearer", &["type", "token"]),
        (
            "AuthOAuth2",
            &[
                "type",
                "tokenUrl",
                "clientId",
                "clientSecret",
                "scope",
                "audience",
            ],
        ),
        (
            "AuthMtls",
            &[
                "type",
                "certificate",
                "privateKey",
                "certificateSubject",
                "certificateNotAfter",
                "certificateSha256",
            ],
        ),
        (
            "Event",
            &["id", "type", "createdDate", "data", "idempotencyKey"],
        ),
        (
            "EventIngested",
            &["id", "type", "createdDate", "deliveries"],
        ),
        (
            "Delivery",
            &[
                "id",
                "eventId",
                "webhookId",
                "eventType",
                "createdDate",
                "status",
                "nextAttemptDate",
                "attempts",
            ],
        ),
        (
            "Attempt",
            &[
                "number",
                "date",
                "durationMs",
                "outcome",
                "statusCode",
                "responseBody",
                "error",
            ],
        ),
        (
            "Notification",
            &[
                "id",
                "kind",
                "accountId",
                "webhookId",
                "createdDate",
                "message",
                "activationUrl",
            ],
        ),
        (
            "Problem",
            &["type", "title", "status", "detail", "instance", "errors"],
        ),
    ];
    for (name, fields) in expect {
        let props = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("components/schemas/{name} with properties"));
        for field in *fields {
            assert!(props.contains_key(*field), "{name} lacks `{field}`");
        }
    }
    // Every attempt outcome, the receiver-side outcomes included; the signature schemes.
    let outcomes = &schemas["Attempt"]["properties"]["outcome"]["enum"];
    for outcome in ["success", "tls_error", "auth_error", "template_error"] {
        assert!(
            outcomes.as_array().unwrap().iter().any(|o| o == outcome),
            "{outcome}"
        );
    }
    assert_eq!(
        schemas["Signature"]["enum"],
        serde_json::json!(["v1", "v1a", "v1 v1a"])
    );
    assert_eq!(
        schemas["TemplateSpec"]["oneOf"].as_array().unwrap().len(),
        2
    );
    // Pages: {items, nextCursor}.
    let pages: Vec<_> = schemas
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.ends_with("Page"))
        .collect();
    assert!(pages.len() >= 6, "page schemas: {}", pages.len());
    for (name, page) in pages {
        assert_eq!(page["properties"]["items"]["type"], "array", "{name}");
        assert!(
            page["properties"].get("nextCursor").is_some(),
            "{name} lacks nextCursor"
        );
    }
}

#[test]
fn every_operation_has_a_success_response_and_declared_path_parameters() {
    let doc = embedded();
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(
            responses.keys().any(|code| code.starts_with('2')),
            "{method} {path} has no 2xx response"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path} has no summary"
        );
        // Every `{param}` of the template is declared as a path parameter of the operation
        // (directly or through a component), and no other path parameter is.
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .map(|p| match p["$ref"].as_str() {
                        Some(target) => doc
                            .pointer(target.trim_start_matches('#'))
                            .cloned()
                            .unwrap_or(Value::Null),
                        None => p.clone(),
                    })
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(in_template, declared, "{method} {path} path parameters");
    }
}

#[test]
fn every_v1_operation_declares_bearer_security() {
    let doc = embedded();
    let bearer = bearer_schemes(&doc);
    assert!(
        !bearer.is_empty(),
        "components/securitySchemes has an http bearer scheme"
    );
    let global = doc.get("security").cloned().unwrap_or(Value::Null);
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (path, method, op) in ops {
        // Every /v1/ route takes `Authorization: Bearer` (docs/api.md "Authentication and access").
        if !path.starts_with("/v1/") {
            continue;
        }
        let effective = op.get("security").unwrap_or(&global);
        assert!(
            requires_bearer(effective, &bearer),
            "{method} {path} does not declare bearer security: {effective}"
        );
        assert!(
            op["responses"].get("401").is_some(),
            "{method} {path} does not document 401"
        );
    }
}

#[test]
fn backup_is_documented_as_a_binary_download() {
    let doc = embedded();
    let ok = &doc["paths"]["/v1/backup"]["get"]["responses"]["200"];
    assert!(
        ok["content"].get("application/octet-stream").is_some(),
        "GET /v1/backup answers application/octet-stream: {ok}"
    );
}

crate::on_both_backends!(served_document_is_openapi_3_1_and_matches_the_route_table,);
