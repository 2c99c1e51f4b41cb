//! The receiver's side, end to end against real receivers on loopback: authentication (basic,
//! bearer, OAuth2 client credentials with a real token endpoint, client certificates from a
//! CA made here), filters, body templates, `v1a` Ed25519 signatures with rotation, and
//! secrets that never show in responses, the delivery log or hookd's own log.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::common::receiver::{Received, Receiver, Reply};
use crate::common::*;

const WAIT: Duration = Duration::from_secs(20);

/// Retries come quickly, so a test sees a second attempt without waiting minutes.
const FAST_RETRIES: &str = "[delivery]\nretry_schedule = [\"100ms\", \"100ms\"]\n";

fn hooks(account: &str) -> String {
    format!("/v1/accounts/{account}/webhooks")
}

/// Creates a webhook as admin; returns its JSON (with the secret).
fn create(server: &Server, account: &str, body: Value) -> Value {
    let r = server.post(&hooks(account), ADMIN, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

/// Sends an event as admin; returns the ingest answer.
fn send(server: &Server, account: &str, event_type: &str, data: Value) -> Value {
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": event_type, "data": data}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.json
}

/// The deliveries of one webhook.
fn deliveries(server: &Server, account: &str, webhook: &str) -> Vec<Value> {
    let r = server.get(
        &format!("/v1/accounts/{account}/deliveries?webhookId={webhook}"),
        ADMIN,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["items"].as_array().unwrap().clone()
}

/// Waits until the webhook's only delivery has `status` and at least `attempts` attempts.
fn delivery_when(
    server: &Server,
    account: &str,
    webhook: &str,
    status: &str,
    attempts: usize,
) -> Value {
    eventually(WAIT, || {
        deliveries(server, account, webhook)
            .into_iter()
            .find(|d| d["status"] == status && d["attempts"].as_array().unwrap().len() >= attempts)
    })
}

/// The validation problem's fields, asserting a 400.
fn refused(r: &Resp) -> Vec<String> {
    r.assert_problem(400, "validation-error");
    r.error_fields()
}

/// Verifies a received request's signature header entry by entry: every `v1` entry with one
/// of `secrets` (independently computed HMAC), every `v1a` entry with one of `public_keys`
/// (ed25519-dalek), over the exact bytes received. Returns the tags in order.
fn verify_entries(request: &Received, secrets: &[&str], public_keys: &[&str]) -> Vec<String> {
    let id = request.header("webhook-id").unwrap();
    let ts = request.header("webhook-timestamp").unwrap();
    let header = request.header("webhook-signature").unwrap();
    let mut tags = Vec::new();
    let mut content = format!("{id}.{ts}.").into_bytes();
    content.extend_from_slice(&request.body);
    for (n, entry) in header.split(' ').enumerate() {
        let (tag, signature) = entry.split_once(',').unwrap();
        match tag {
            "v1" => {
                let secret = secrets.get(tags.iter().filter(|t| *t == "v1").count());
                let secret = secret.unwrap_or_else(|| panic!("an unexpected v1 entry {n}"));
                assert_eq!(
                    entry,
                    standard_signature(secret, id, ts, &request.body),
                    "v1 entry {n}"
                );
            }
            "v1a" => {
                let key = public_keys.get(tags.iter().filter(|t| *t == "v1a").count());
                let key = key.unwrap_or_else(|| panic!("an unexpected v1a entry {n}"));
                let raw: [u8; 32] = STANDARD
                    .decode(key.strip_prefix("whpk_").unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap();
                let verifying = ed25519_dalek::VerifyingKey::from_bytes(&raw).unwrap();
                let signature =
                    ed25519_dalek::Signature::from_slice(&STANDARD.decode(signature).unwrap())
                        .unwrap();
                verifying
                    .verify_strict(&content, &signature)
                    .unwrap_or_else(|e| panic!("v1a entry {n} does not verify: {e}"));
            }
            other => panic!("unknown signature version {other}"),
        }
        tags.push(tag.to_string());
    }
    tags
}

// Authentication ------------------------------------------------------------------------------

fn basic_and_bearer_credentials_are_sent_and_kept_on_put_back() {
    let receiver = Receiver::ok();
    let server = Server::start();
    let account = server.create_account("Clinic");
    let hook = create(
        &server,
        &account,
        json!({"name": "basic", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "basic", "username": "ann", "password": "pa:ss wörd"}}),
    );
    let id = hook["id"].as_str().unwrap();
    assert_eq!(hook["auth"], json!({"type": "basic", "username": "ann"}));
    send(&server, &account, "a.one", json!({}));
    let basic = format!("Basic {}", STANDARD.encode("ann:pa:ss wörd"));
    assert_eq!(
        receiver.wait_for(1, WAIT)[0].header("authorization"),
        Some(basic.as_str())
    );

    // PUT back what GET shows: the same type without its password keeps the password.
    let path = format!("{}/{id}", hooks(&account));
    let mut shown = server.get(&path, ADMIN).json;
    shown["name"] = json!("basic, renamed");
    let r = server.put(&path, ADMIN, &shown);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["auth"], json!({"type": "basic", "username": "ann"}));
    send(&server, &account, "a.two", json!({}));
    assert_eq!(
        receiver.wait_for(2, WAIT)[1].header("authorization"),
        Some(basic.as_str())
    );

    // Another type needs its own secret.
    let mut bearer = r.json.clone();
    bearer["auth"] = json!({"type": "bearer"});
    assert_eq!(refused(&server.put(&path, ADMIN, &bearer)), ["auth.token"]);
    bearer["auth"] = json!({"type": "bearer", "token": "tok-123.abc"});
    let r = server.put(&path, ADMIN, &bearer);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["auth"], json!({"type": "bearer"}));
    send(&server, &account, "a.three", json!({}));
    assert_eq!(
        receiver.wait_for(3, WAIT)[2].header("authorization"),
        Some("Bearer tok-123.abc")
    );

    // Omitting auth on PUT clears it (like every optional field).
    let mut cleared = r.json.clone();
    cleared.as_object_mut().unwrap().remove("auth");
    let r = server.put(&path, ADMIN, &cleared);
    assert_eq!(r.json["auth"], Value::Null, "{}", r.text);
    send(&server, &account, "a.four", json!({}));
    assert_eq!(receiver.wait_for(4, WAIT)[3].header("authorization"), None);
}

/// A token endpoint answering `access_token` `at-<n>` to its n-th request.
fn token_endpoint() -> Receiver {
    Receiver::start(|n, _| {
        Reply::ok()
            .with_header("content-type", "application/json")
            .with_body(&format!(
                r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":3600}}"#
            ))
    })
}

fn oauth2_tokens_are_granted_cached_across_attempts_and_refreshed_after_a_401() {
    let tokens = token_endpoint();
    // The third request (n = 2) is refused as unauthorized; every other one succeeds.
    let receiver = Receiver::start(|n, _| Reply::status(if n == 2 { 401 } else { 200 }));
    let server = Server::start_with(FAST_RETRIES, &[]);
    let account = server.create_account("Clinic");
    let token_url = tokens.url.replace("/hook", "/oauth/token");
    let hook = create(
        &server,
        &account,
        json!({"name": "oauth", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "oauth2", "tokenUrl": token_url, "clientId": "hookd client",
                        "clientSecret": "s3cr&t", "scope": "events.write",
                        "audience": "https://api.example"}}),
    );
    assert_eq!(
        hook["auth"],
        json!({"type": "oauth2", "tokenUrl": token_url, "clientId": "hookd client",
               "scope": "events.write", "audience": "https://api.example"})
    );
    let id = hook["id"].as_str().unwrap();
    send(&server, &account, "a.one", json!({}));
    let got = receiver.wait_for(1, WAIT);
    assert_eq!(got[0].header("authorization"), Some("Bearer at-0"));

    // The grant: client credentials, form-encoded, the client authenticated with Basic
    // (each part form-encoded first, RFC 6749 §2.3.1).
    let grant = &tokens.requests()[0];
    assert_eq!(grant.method, "POST");
    assert_eq!(grant.path, "/oauth/token");
    assert_eq!(
        grant.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(&grant.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        form,
        [
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".to_string(), "events.write".to_string()),
            ("audience".to_string(), "https://api.example".to_string()),
        ]
    );
    let basic = format!("Basic {}", STANDARD.encode("hookd+client:s3cr%26t"));
    assert_eq!(grant.header("authorization"), Some(basic.as_str()));

    // The token is cached: the next attempt uses it without asking again.
    send(&server, &account, "a.two", json!({}));
    assert_eq!(
        receiver.wait_for(2, WAIT)[1].header("authorization"),
        Some("Bearer at-0")
    );
    assert_eq!(tokens.count(), 1);

    // A 401 drops it: the retry gets a new one.
    send(&server, &account, "a.three", json!({}));
    let got = receiver.wait_for(4, WAIT);
    assert_eq!(got[2].header("authorization"), Some("Bearer at-0"));
    assert_eq!(got[3].header("authorization"), Some("Bearer at-1"));
    assert_eq!(tokens.count(), 2);
    let all = deliveries(&server, &account, id);
    let third = all.iter().find(|d| d["eventType"] == "a.three").unwrap();
    assert_eq!(third["attempts"][0]["statusCode"], 401, "{third}");
}

fn a_failing_token_endpoint_makes_auth_errors_that_are_retried() {
    let tokens = Receiver::start(|n, _| match n {
        0 => Reply::status(500).with_body("down"),
        _ => Reply::ok().with_body(r#"{"token_type":"Bearer"}"#),
    });
    let receiver = Receiver::ok();
    let server = Server::start_with(FAST_RETRIES, &[]);
    let account = server.create_account("Clinic");
    let hook = create(
        &server,
        &account,
        json!({"name": "oauth", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "c",
                        "clientSecret": "s"}}),
    );
    let id = hook["id"].as_str().unwrap();
    send(&server, &account, "a.one", json!({}));
    // Three attempts (the schedule's whole series), each an auth_error: no status, a reason.
    let failed = delivery_when(&server, &account, id, "failed", 3);
    let attempts = failed["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{failed}");
    for attempt in attempts {
        assert_eq!(attempt["outcome"], "auth_error", "{failed}");
        assert_eq!(attempt["statusCode"], Value::Null);
    }
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("HTTP 500"),
        "{failed}"
    );
    assert!(
        attempts[1]["error"]
            .as_str()
            .unwrap()
            .contains("no access_token"),
        "{failed}"
    );
    assert_eq!(receiver.count(), 0);
    // A token endpoint that cannot be reached is an auth error too.
    let path = format!("{}/{id}", hooks(&account));
    let mut hook = server.get(&path, ADMIN).json;
    hook["auth"]["tokenUrl"] = json!("http://127.0.0.1:9/token");
    let r = server.put(&path, ADMIN, &hook);
    assert_eq!(r.status, 200, "{}", r.text);
    send(&server, &account, "a.two", json!({}));
    let failed = eventually(WAIT, || {
        deliveries(&server, &account, id)
            .into_iter()
            .find(|d| d["eventType"] == "a.two" && d["status"] == "failed")
    });
    for attempt in failed["attempts"].as_array().unwrap() {
        assert_eq!(attempt["outcome"], "auth_error", "{failed}");
        let error = attempt["error"].as_str().unwrap();
        assert!(error.starts_with("token request failed"), "{error}");
    }
    let metrics = server.get("/metrics", ADMIN).text;
    assert!(
        metrics.contains("hookd_delivery_attempts_total{outcome=\"auth_error\"} 6"),
        "{metrics}"
    );
    assert_eq!(receiver.count(), 0);
}

// Client certificates -------------------------------------------------------------------------

/// A CA made for one test.
struct TestCa {
    pem: String,
    der: CertificateDer<'static>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn test_ca(name: &str) -> TestCa {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    TestCa {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

/// A certificate from `ca` for `name`: (certificate PEM, key PEM).
fn leaf(ca: &TestCa, name: &str, usage: rcgen::ExtendedKeyUsagePurpose) -> (String, String) {
    leaf_until(ca, name, usage, (2099, 1, 1))
}

fn leaf_until(
    ca: &TestCa,
    name: &str,
    usage: rcgen::ExtendedKeyUsagePurpose,
    (year, month, day): (i32, u8, u8),
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params.extended_key_usages = vec![usage];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(year, month, day);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// An HTTPS receiver on 127.0.0.1 with a certificate from `server_ca` that requires a client
/// certificate from `client_ca`; records each request's body and answers 200.
struct TlsReceiver {
    url: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    _runtime: tokio::runtime::Runtime,
}

fn tls_receiver(server_ca: &TestCa, client_ca: &TestCa) -> TlsReceiver {
    let (cert_pem, key_pem) = leaf(
        server_ca,
        "127.0.0.1",
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    );
    let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen = bodies.clone();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        seen.lock().unwrap().push(body.to_vec());
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("ok"))))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    TlsReceiver {
        url: format!("https://127.0.0.1:{port}/hook"),
        bodies,
        _runtime: runtime,
    }
}

fn client_certificates_from_a_private_ca_reach_a_receiver_that_requires_them() {
    let server_ca = test_ca("receiver CA");
    let client_ca = test_ca("client CA");
    let stranger_ca = test_ca("stranger CA");
    let receiver = tls_receiver(&server_ca, &client_ca);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &server_ca.pem).unwrap();
    let server = Server::start_with(
        &format!(
            "[delivery]\nca_file = {:?}\nretry_schedule = []\n",
            ca_file.to_str().unwrap()
        ),
        &[],
    );
    let account = server.create_account("Clinic");
    let (cert, key) = leaf(
        &client_ca,
        "hookd.clinic.example",
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    let trusted = create(
        &server,
        &account,
        json!({"name": "mtls", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "mtls", "certificate": cert, "privateKey": key}}),
    );
    let auth = &trusted["auth"];
    assert_eq!(auth["type"], "mtls");
    assert_eq!(auth["certificate"], cert.as_str());
    assert_eq!(auth["certificateSubject"], "CN=hookd.clinic.example");
    assert_eq!(auth["certificateNotAfter"], "2099-01-01T00:00:00.000Z");
    let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(der.as_ref())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(auth["certificateSha256"], sha256);
    assert!(auth.get("privateKey").is_none());

    let (stranger_cert, stranger_key) = leaf(
        &stranger_ca,
        "stranger",
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    let refused = create(
        &server,
        &account,
        json!({"name": "stranger", "eventUrl": receiver.url, "eventList": ["b.*"],
               "auth": {"type": "mtls", "certificate": stranger_cert,
                        "privateKey": stranger_key}}),
    );
    let anonymous = create(
        &server,
        &account,
        json!({"name": "anonymous", "eventUrl": receiver.url, "eventList": ["b.*"]}),
    );
    send(&server, &account, "a.one", json!({"n": 1}));
    send(&server, &account, "b.one", json!({"n": 2}));
    let ok = delivery_when(
        &server,
        &account,
        trusted["id"].as_str().unwrap(),
        "succeeded",
        1,
    );
    assert_eq!(ok["attempts"][0]["statusCode"], 200, "{ok}");
    for hook in [&refused, &anonymous] {
        let failed = delivery_when(&server, &account, hook["id"].as_str().unwrap(), "failed", 1);
        assert_eq!(failed["attempts"][0]["outcome"], "tls_error", "{failed}");
    }
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        serde_json::from_slice::<Value>(&bodies[0]).unwrap()["data"],
        json!({"n": 1})
    );
}

// Filters -------------------------------------------------------------------------------------

fn filters_choose_deliveries_and_evaluation_errors_are_counted() {
    let receiver = Receiver::ok();
    let server = Server::start();
    let account = server.create_account("Clinic");
    let url = |path: &str| receiver.url.replace("/hook", path);
    let big = create(
        &server,
        &account,
        json!({"name": "big", "eventUrl": url("/big"), "eventList": ["order.*"],
               "filter": "data.clinicId == 42 && data.total_cents >= 10000"}),
    );
    assert_eq!(
        big["filter"],
        "data.clinicId == 42 && data.total_cents >= 10000"
    );
    create(
        &server,
        &account,
        json!({"name": "missing", "eventUrl": url("/missing"), "eventList": ["order.*"],
               "filter": "data.coupon.code == 'X'"}),
    );
    create(
        &server,
        &account,
        json!({"name": "present", "eventUrl": url("/present"), "eventList": ["order.*"],
               "filter": "has(data.coupon) && type == 'order.paid'"}),
    );
    create(
        &server,
        &account,
        json!({"name": "all", "eventUrl": url("/all"), "eventList": ["order.*"]}),
    );

    let first = send(
        &server,
        &account,
        "order.paid",
        json!({"clinicId": 42, "total_cents": 25000}),
    );
    // big and all; `missing` fails to evaluate (no coupon), `present` is false.
    assert_eq!(first["deliveries"], 2, "{first}");
    let second = send(
        &server,
        &account,
        "order.paid",
        json!({"clinicId": 42, "total_cents": 50, "coupon": {"code": "X"}}),
    );
    // missing, present and all.
    assert_eq!(second["deliveries"], 3, "{second}");
    let third = send(&server, &account, "order.refunded", json!("not an object"));
    // A string has no members: `big` and `missing` fail to evaluate, `present` is false.
    assert_eq!(third["deliveries"], 1, "{third}");
    let got = receiver.wait_for(6, WAIT);
    let mut paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/all", "/all", "/all", "/big", "/missing", "/present"]
    );
    let event = server.get(
        &format!(
            "/v1/accounts/{account}/events/{}",
            first["id"].as_str().unwrap()
        ),
        ADMIN,
    );
    assert_eq!(event.json["deliveries"].as_array().unwrap().len(), 2);
    let metrics = server.get("/metrics", ADMIN).text;
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hookd_filter_errors_total "))
        .unwrap()
        .parse()
        .unwrap();
    // first: missing; third: big and missing.
    assert_eq!(errors, 3, "{metrics}");

    // The test action takes the filter-less path.
    let test = server.post(
        &format!("{}/{}/test", hooks(&account), big["id"].as_str().unwrap()),
        ADMIN,
        &json!({}),
    );
    assert_eq!(test.status, 202, "{}", test.text);
    let got = receiver.wait_for(7, WAIT);
    assert_eq!(got[6].path, "/big");
    assert_eq!(got[6].json()["type"], "hookd.ping");
}

// Templates -----------------------------------------------------------------------------------

fn templates_shape_the_body_that_is_signed_and_sent() {
    let receiver = Receiver::ok();
    let server = Server::start();
    let account = server.create_account("clinic-7");
    let slack = create(
        &server,
        &account,
        json!({"name": "slack", "eventUrl": receiver.url.replace("/hook", "/slack"),
               "eventList": ["order.*"], "template": {"preset": "slack"}}),
    );
    assert_eq!(slack["template"], json!({"preset": "slack"}));
    let body = r#"{"kind": {{ event.type | tojson }}, "id": "{{ event.id }}", "account": "{{ event.account }}", "total": {{ data.total }}, "who": {{ data.who | tojson }}}"#;
    let jinja = create(
        &server,
        &account,
        json!({"name": "jinja", "eventUrl": receiver.url.replace("/hook", "/jinja"),
               "eventList": ["order.*"], "template": {"body": body}}),
    );
    assert_eq!(
        jinja["template"],
        json!({"body": body, "contentType": "application/json"})
    );
    let text = create(
        &server,
        &account,
        json!({"name": "text", "eventUrl": receiver.url.replace("/hook", "/text"),
               "eventList": ["order.*"],
               "template": {"body": "{{ event.type }}: {{ data.total }}",
                            "contentType": "text/plain; charset=utf-8"}}),
    );
    // A number beyond 64 bits goes through exactly.
    let event = request(
        "POST",
        &server.url(&format!("/v1/accounts/{account}/events")),
        Some(ADMIN),
        Some(
            br#"{"type": "order.paid", "data": {"total": 12345678901234567890123, "who": "Ann \"A\""}}"#,
        ),
    );
    assert_eq!(event.status, 202, "{}", event.text);
    let event = event.json;
    let event_id = event["id"].as_str().unwrap();
    let got = receiver.wait_for(3, WAIT);
    let by_path = |path: &str| got.iter().find(|r| r.path == path).unwrap().clone();

    let slack_request = by_path("/slack");
    let expected_text = format!(
        "Event `order.paid` for account `{account}`\n```\n{{\n  \"total\": 12345678901234567890123,\n  \"who\": \"Ann \\\"A\\\"\"\n}}\n```"
    );
    assert_eq!(
        String::from_utf8(slack_request.body.clone()).unwrap(),
        json!({ "text": expected_text }).to_string()
    );
    assert_eq!(
        slack_request.header("content-type"),
        Some("application/json")
    );
    verify_entries(&slack_request, &[slack["secret"].as_str().unwrap()], &[]);

    let jinja_request = by_path("/jinja");
    assert_eq!(
        String::from_utf8(jinja_request.body.clone()).unwrap(),
        format!(
            r#"{{"kind": "order.paid", "id": "{event_id}", "account": "{account}", "total": 12345678901234567890123, "who": "Ann \"A\""}}"#
        )
    );
    verify_entries(&jinja_request, &[jinja["secret"].as_str().unwrap()], &[]);

    let text_request = by_path("/text");
    assert_eq!(text_request.body, b"order.paid: 12345678901234567890123");
    assert_eq!(
        text_request.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    verify_entries(&text_request, &[text["secret"].as_str().unwrap()], &[]);

    // The test action answers with the body the receiver gets: the rendered preset, or
    // null for a template the ping cannot fill (its attempt is a template_error).
    let test = |hook: &Value| {
        let r = server.post(
            &format!("{}/{}/test", hooks(&account), hook["id"].as_str().unwrap()),
            ADMIN,
            &json!({}),
        );
        assert_eq!(r.status, 202, "{}", r.text);
        r.json
    };
    let preview = test(&slack);
    let got = receiver.wait_for(4, WAIT);
    assert_eq!(
        preview["body"].as_str().map(str::as_bytes),
        Some(&got[3].body[..])
    );
    assert_eq!(preview["contentType"], "application/json");
    let preview = test(&jinja);
    assert_eq!(preview["body"], Value::Null, "{preview}");
    let failed = eventually(WAIT, || {
        let d = server.get(
            &format!(
                "/v1/accounts/{account}/deliveries/{}",
                preview["deliveryId"].as_str().unwrap()
            ),
            ADMIN,
        );
        (d.json["status"] == "failed").then_some(d.json)
    });
    assert_eq!(failed["attempts"][0]["outcome"], "template_error");
}

fn a_template_that_fails_for_an_event_fails_its_delivery_at_once() {
    let receiver = Receiver::ok();
    let server = Server::start_with(FAST_RETRIES, &[]);
    let account = server.create_account("Clinic");
    let missing = create(
        &server,
        &account,
        json!({"name": "missing", "eventUrl": receiver.url, "eventList": ["a.*"],
               "template": {"body": "{\"x\": {{ data.missing }}}"}}),
    );
    let not_json = create(
        &server,
        &account,
        json!({"name": "not json", "eventUrl": receiver.url, "eventList": ["a.*"],
               "template": {"body": "{\"x\": {{ data.n }}"}}),
    );
    send(&server, &account, "a.one", json!({"n": 1}));
    for (hook, why) in [(&missing, "undefined"), (&not_json, "not valid JSON")] {
        let failed = delivery_when(&server, &account, hook["id"].as_str().unwrap(), "failed", 1);
        let attempts = failed["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "not retried: {failed}");
        assert_eq!(attempts[0]["outcome"], "template_error");
        assert_eq!(attempts[0]["statusCode"], Value::Null);
        assert_eq!(failed["nextAttemptDate"], Value::Null);
        let error = attempts[0]["error"].as_str().unwrap();
        assert!(error.contains(why), "{error}");
    }
    assert_eq!(receiver.count(), 0);
    let w = server.get(
        &format!("{}/{}", hooks(&account), missing["id"].as_str().unwrap()),
        ADMIN,
    );
    assert_eq!(w.json["failureCount"], 1, "a failed attempt: {}", w.text);
}

// Signatures ----------------------------------------------------------------------------------

fn v1a_signatures_verify_with_the_public_key_and_rotation_sends_old_and_new() {
    let receiver = Receiver::ok();
    let server = Server::start();
    let account = server.create_account("Clinic");
    let both = create(
        &server,
        &account,
        json!({"name": "both", "eventUrl": receiver.url.replace("/hook", "/both"),
               "eventList": ["a.*"], "signature": "v1 v1a",
               "template": {"body": "{\"n\": {{ data.n }}}"}}),
    );
    assert_eq!(both["signature"], "v1 v1a");
    let only = create(
        &server,
        &account,
        json!({"name": "only", "eventUrl": receiver.url.replace("/hook", "/only"),
               "eventList": ["b.*"], "signature": "v1a"}),
    );
    let plain = create(
        &server,
        &account,
        json!({"name": "plain", "eventUrl": receiver.url, "eventList": ["c.*"]}),
    );
    let secret_of = |hook: &Value| {
        server
            .get(
                &format!(
                    "{}/{}/secret",
                    hooks(&account),
                    hook["id"].as_str().unwrap()
                ),
                ADMIN,
            )
            .json
    };
    assert_eq!(keys(&secret_of(&plain)), ["secret"]);
    let both_keys = secret_of(&both);
    assert_eq!(keys(&both_keys), ["publicKey", "secret"]);
    let public = both_keys["publicKey"].as_str().unwrap().to_string();
    assert!(public.starts_with("whpk_"));
    let secret = both["secret"].as_str().unwrap().to_string();
    let only_public = secret_of(&only)["publicKey"].as_str().unwrap().to_string();

    send(&server, &account, "a.one", json!({"n": 1}));
    send(&server, &account, "b.one", json!({"n": 2}));
    let got = receiver.wait_for(2, WAIT);
    let first = got.iter().find(|r| r.path == "/both").unwrap();
    assert_eq!(first.body, b"{\"n\": 1}");
    assert_eq!(verify_entries(first, &[&secret], &[&public]), ["v1", "v1a"]);
    let only_request = got.iter().find(|r| r.path == "/only").unwrap();
    assert_eq!(verify_entries(only_request, &[], &[&only_public]), ["v1a"]);

    // Rotation: new secret and key pair; for a day both old and new of each scheme sign.
    let rotated = server.post(
        &format!(
            "{}/{}/rotate-secret",
            hooks(&account),
            both["id"].as_str().unwrap()
        ),
        ADMIN,
        &json!({}),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.json["secret"].as_str().unwrap().to_string();
    let new_public = rotated.json["publicKey"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_ne!(new_public, public);
    assert_eq!(secret_of(&both)["publicKey"], new_public.as_str());
    send(&server, &account, "a.two", json!({"n": 3}));
    let got = receiver.wait_for(3, WAIT);
    let after = got.iter().rfind(|r| r.path == "/both").unwrap();
    assert_eq!(after.body, b"{\"n\": 3}");
    assert_eq!(
        verify_entries(after, &[&new_secret, &secret], &[&new_public, &public]),
        ["v1", "v1", "v1a", "v1a"]
    );
}

// Secrets -------------------------------------------------------------------------------------

fn secrets_never_show_in_responses_the_delivery_log_or_hookds_own_log() {
    let tokens = Receiver::start(|_, _| {
        Reply::ok().with_body(r#"{"access_token":"at-TOKEN-7f3a9c","expires_in":60}"#)
    });
    // Every receiver fails the first time, with its request echoed nowhere.
    let receiver = Receiver::start(|n, _| Reply::status(if n < 3 { 500 } else { 200 }));
    let ca = test_ca("client CA");
    let (cert, key) = leaf(&ca, "client", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let server = Server::start_with(FAST_RETRIES, &[("HOOKD_LOG", "trace")]);
    let account = server.create_account("Clinic");
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let secrets = [
        "pw-PASSWORD-41c2",
        "tok-BEARER-9d7e",
        "cs-CLIENT-SECRET-5b1f",
        "at-TOKEN-7f3a9c",
        &key_body[..40],
    ];
    let bodies = [
        json!({"name": "basic", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "basic", "username": "ann", "password": secrets[0]}}),
        json!({"name": "bearer", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "bearer", "token": secrets[1]}}),
        json!({"name": "oauth", "eventUrl": receiver.url, "eventList": ["a.*"],
               "auth": {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "c",
                        "clientSecret": secrets[2]}}),
        json!({"name": "mtls", "eventUrl": "https://127.0.0.1:9/hook", "eventList": ["a.*"],
               "auth": {"type": "mtls", "certificate": cert, "privateKey": key}}),
    ];
    let mut responses = Vec::new();
    let mut ids = Vec::new();
    for body in bodies {
        let r = server.post(&hooks(&account), ADMIN, &body);
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.json["id"].as_str().unwrap().to_string());
        // PUT back what was shown: the secrets are kept, and not shown either.
        let path = format!("{}/{}", hooks(&account), r.json["id"].as_str().unwrap());
        let shown = server.get(&path, ADMIN);
        let put = server.put(&path, ADMIN, &shown.json);
        assert_eq!(put.status, 200, "{}", put.text);
        responses.extend([r.text, shown.text, put.text]);
    }
    send(&server, &account, "a.one", json!({"n": 1}));
    let got = receiver.wait_for(6, WAIT);
    for id in &ids[..3] {
        delivery_when(&server, &account, id, "succeeded", 2);
    }
    delivery_when(&server, &account, &ids[3], "failed", 3);
    // The receiver got them, so they were really in use.
    let authorizations: Vec<&str> = got
        .iter()
        .filter_map(|r| r.header("authorization"))
        .collect();
    assert!(authorizations.contains(&"Bearer tok-BEARER-9d7e"));
    assert!(authorizations.contains(&"Bearer at-TOKEN-7f3a9c"));
    responses.push(server.get(&hooks(&account), ADMIN).text);
    responses.push(
        server
            .get(&format!("/v1/accounts/{account}/deliveries"), ADMIN)
            .text,
    );
    for id in &ids {
        responses.push(
            server
                .get(
                    &format!("/v1/accounts/{account}/deliveries?webhookId={id}"),
                    ADMIN,
                )
                .text,
        );
    }
    responses.push(server.get("/metrics", ADMIN).text);
    let log = server.log_text();
    assert!(log.contains("TRACE") || log.contains("DEBUG") || log.contains("INFO"));
    for secret in secrets {
        for response in &responses {
            assert!(
                !response.contains(secret),
                "{secret} in a response: {response}"
            );
        }
        assert!(!log.contains(secret), "{secret} in hookd's log:\n{log}");
    }
}

// Validation ----------------------------------------------------------------------------------

fn invalid_receiver_options_are_refused_naming_the_field() {
    let server = Server::start_with(
        "[delivery]\nallow_private_targets = false\nallow_http = false\n",
        &[],
    );
    let account = server.create_account("Clinic");
    let base = json!({"name": "h", "eventUrl": "https://example.com/hook", "eventList": ["a.*"]});
    let with = |member: &str, value: Value| {
        let mut body = base.clone();
        body[member] = value;
        body
    };
    let ca = test_ca("CA");
    let (cert, key) = leaf(&ca, "client", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let (_, other_key) = leaf(&ca, "other", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let (expired, expired_key) = leaf_until(
        &ca,
        "old",
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        (2021, 1, 1),
    );
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let long_filter = format!("data.x == '{}'", "y".repeat(2000));
    let cases: Vec<(Value, &str, &str)> = vec![
        (with("auth", json!("basic")), "auth", "must be an object"),
        (
            with("auth", json!({"type": "digest"})),
            "auth.type",
            "must be basic",
        ),
        (
            with("auth", json!({"type": "basic", "username": "ann"})),
            "auth.password",
            "is required",
        ),
        (
            with(
                "auth",
                json!({"type": "basic", "username": "a:b", "password": "p"}),
            ),
            "auth.username",
            "colon",
        ),
        (
            with("auth", json!({"type": "bearer"})),
            "auth.token",
            "is required",
        ),
        (
            with("auth", json!({"type": "bearer", "token": "two words"})),
            "auth.token",
            "visible ASCII",
        ),
        (
            with(
                "auth",
                json!({"type": "oauth2", "tokenUrl": "http://auth.example.com/token",
                       "clientId": "c", "clientSecret": "s"}),
            ),
            "auth.tokenUrl",
            "https",
        ),
        (
            with(
                "auth",
                json!({"type": "oauth2", "tokenUrl": "https://10.0.0.1/token",
                       "clientId": "c", "clientSecret": "s"}),
            ),
            "auth.tokenUrl",
            "forbidden address",
        ),
        (
            with(
                "auth",
                json!({"type": "oauth2", "tokenUrl": "https://auth.example.com/token",
                       "clientSecret": "s"}),
            ),
            "auth.clientId",
            "is required",
        ),
        (
            with(
                "auth",
                json!({"type": "mtls", "certificate": "not a certificate", "privateKey": key}),
            ),
            "auth.certificate",
            "PEM",
        ),
        (
            with(
                "auth",
                json!({"type": "mtls", "certificate": cert, "privateKey": encrypted}),
            ),
            "auth.privateKey",
            "encrypted",
        ),
        (
            with(
                "auth",
                json!({"type": "mtls", "certificate": cert, "privateKey": other_key}),
            ),
            "auth.privateKey",
            "does not match",
        ),
        (
            with(
                "auth",
                json!({"type": "mtls", "certificate": expired, "privateKey": expired_key}),
            ),
            "auth.certificate",
            "expired",
        ),
        (
            json!({"name": "h", "eventUrl": "https://example.com/hook", "eventList": ["a.*"],
                   "headers": {"Authorization": "Bearer mine"},
                   "auth": {"type": "bearer", "token": "t"}}),
            "headers.authorization",
            "conflicts with auth",
        ),
        (
            with("filter", json!("data.total >")),
            "filter",
            "does not parse",
        ),
        (with("filter", json!(long_filter)), "filter", "at most 2000"),
        (with("filter", json!("data.total + 1")), "filter", "boolean"),
        (with("filter", json!(42)), "filter", "must be a string"),
        (
            with("template", json!({"body": "{{ data.x "})),
            "template.body",
            "does not parse",
        ),
        (
            with("template", json!({"preset": "teams"})),
            "template.preset",
            "slack",
        ),
        (
            with("template", json!({"preset": "slack", "body": "x"})),
            "template",
            "not both",
        ),
        (
            with("template", json!({"body": "x", "contentType": "json"})),
            "template.contentType",
            "media type",
        ),
        (with("signature", json!("v2")), "signature", "v1a"),
    ];
    for (body, field, words) in cases {
        let r = server.post(&hooks(&account), ADMIN, &body);
        assert_eq!(refused(&r), [field], "{body}: {}", r.text);
        let message = r.json["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{field}: {message}");
    }
    // mtls needs https (on a server that allows http).
    let open = Server::start();
    let account = open.create_account("Clinic");
    let r = open.post(
        &hooks(&account),
        ADMIN,
        &json!({"name": "h", "eventUrl": "http://127.0.0.1:9/hook", "eventList": ["a.*"],
                "auth": {"type": "mtls", "certificate": cert, "privateKey": key}}),
    );
    assert_eq!(refused(&r), ["auth"], "{}", r.text);
    // Nothing was created by any refused request.
    let list = open.get(&hooks(&account), ADMIN);
    assert_eq!(list.json["items"], json!([]));
}

fn put_back_of_an_mtls_webhook_keeps_its_key_and_a_new_certificate_must_match_it() {
    let server = Server::start();
    let account = server.create_account("Clinic");
    let ca = test_ca("CA");
    let (cert, key) = leaf(&ca, "client", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let (other_cert, _) = leaf(&ca, "other", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let hook = create(
        &server,
        &account,
        json!({"name": "h", "eventUrl": "https://example.com/hook", "eventList": ["a.*"],
               "auth": {"type": "mtls", "certificate": cert, "privateKey": key},
               "filter": "data.n > 1", "template": {"preset": "discord"},
               "signature": "v1a"}),
    );
    let path = format!("{}/{}", hooks(&account), hook["id"].as_str().unwrap());
    let shown = server.get(&path, ADMIN).json;
    let r = server.put(&path, ADMIN, &shown);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["auth"], shown["auth"]);
    assert_eq!(r.json["filter"], "data.n > 1");
    assert_eq!(r.json["template"], json!({"preset": "discord"}));
    assert_eq!(r.json["signature"], "v1a");
    // A new certificate with the stored key: it must match that key.
    let mut changed = r.json.clone();
    changed["auth"] = json!({"type": "mtls", "certificate": other_cert});
    assert_eq!(
        refused(&server.put(&path, ADMIN, &changed)),
        ["auth.privateKey"]
    );
    // Omitted receiver options are cleared, and the signature is v1 again.
    let mut bare = r.json.clone();
    for member in ["auth", "filter", "template", "signature"] {
        bare.as_object_mut().unwrap().remove(member);
    }
    let r = server.put(&path, ADMIN, &bare);
    assert_eq!(r.status, 200, "{}", r.text);
    for member in ["auth", "filter", "template"] {
        assert_eq!(r.json[member], Value::Null, "{member}");
    }
    assert_eq!(r.json["signature"], "v1");
    assert_eq!(
        keys(&server.get(&format!("{path}/secret"), ADMIN).json),
        ["secret"]
    );
}

crate::on_both_backends!(
    basic_and_bearer_credentials_are_sent_and_kept_on_put_back,
    oauth2_tokens_are_granted_cached_across_attempts_and_refreshed_after_a_401,
    a_failing_token_endpoint_makes_auth_errors_that_are_retried,
    client_certificates_from_a_private_ca_reach_a_receiver_that_requires_them,
    filters_choose_deliveries_and_evaluation_errors_are_counted,
    templates_shape_the_body_that_is_signed_and_sent,
    a_template_that_fails_for_an_event_fails_its_delivery_at_once,
    v1a_signatures_verify_with_the_public_key_and_rotation_sends_old_and_new,
    secrets_never_show_in_responses_the_delivery_log_or_hookds_own_log,
    invalid_receiver_options_are_refused_naming_the_field,
    put_back_of_an_mtls_webhook_keeps_its_key_and_a_new_certificate_must_match_it,
);
