//! Start-up, configuration errors, persistence across restarts, and graceful shutdown.

use crate::common::*;
use serde_json::json;

#[test]
fn unknown_config_key_is_a_startup_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[delivery]\ntimeot = \"5s\"\n").unwrap();
    let (status, _, stderr) = run_hookd(
        &["--config", config.to_str().unwrap()],
        &[("HOOKD_DATA_DIR", dir.path().join("data").to_str().unwrap())],
        dir.path(),
    );
    assert!(!status.success());
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("delivery.timeot"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "the store must not be opened"
    );
}

#[test]
fn bad_duration_is_a_startup_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[retention]\nbuffer = \"5 days\"\n").unwrap();
    let (status, _, stderr) = run_hookd(
        &["--config", config.to_str().unwrap()],
        &[("HOOKD_DATA_DIR", dir.path().join("data").to_str().unwrap())],
        dir.path(),
    );
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("retention.buffer"), "{stderr}");
    assert!(stderr.contains("5 days"), "{stderr}");
    assert!(!dir.path().join("data").exists());
}

#[test]
fn config_file_from_hookd_config_env_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "nonsense_key = 1\n").unwrap();
    let (status, _, stderr) = run_hookd(
        &[],
        &[("HOOKD_CONFIG", config.to_str().unwrap())],
        dir.path(),
    );
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("nonsense_key"), "{stderr}");
}

#[test]
fn both_secret_and_secret_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "abc\n").unwrap();
    let (status, _, stderr) = run_hookd(
        &["serve"],
        &[
            ("HOOKD_ADMIN_TOKEN", "x"),
            ("HOOKD_ADMIN_TOKEN_FILE", file.to_str().unwrap()),
        ],
        dir.path(),
    );
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("HOOKD_ADMIN_TOKEN_FILE"), "{stderr}");
}

#[test]
fn admin_token_from_file_works_and_trailing_newline_is_stripped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("admin");
    std::fs::write(&file, "file-admin-token-value\n").unwrap();
    let server = Server::start_with("", &[("HOOKD_ADMIN_TOKEN_FILE", file.to_str().unwrap())]);
    let r = server.get("/v1/accounts", "file-admin-token-value");
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn health_and_readiness_answer_without_a_token() {
    let server = Server::start();
    let r = server.get("/healthz", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"status": "ok"}));
    let r = request("GET", &server.url("/readyz"), None, None);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn generated_admin_token_is_printed_once_and_works_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_str = data.to_str().unwrap();
    let start = || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookd"))
            .env_remove("HOOKD_ADMIN_TOKEN")
            .env_remove("HOOKD_CONFIG")
            .env("HOOKD_LISTEN", "127.0.0.1:0")
            .env("HOOKD_DATA_DIR", data_str)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        let mut token = None;
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(t) = line.split("generated admin token").nth(1) {
                token = t.split_whitespace().last().map(str::to_string);
            }
            if let Some(a) = line.split("hookd listening on ").nth(1) {
                addr = Some(a.trim().to_string());
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        (child, token, addr.expect("listening line"))
    };
    let (mut first, token, addr) = start();
    let token = token.expect("a generated token is printed on the first start");
    assert!(token.starts_with("hkd_"));
    let r = request(
        "GET",
        &format!("http://{addr}/v1/accounts"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, again, addr) = start();
    assert!(again.is_none(), "the token is shown only once");
    let r = request(
        "GET",
        &format!("http://{addr}/v1/accounts"),
        Some(&token),
        None,
    );
    assert_eq!(
        r.status, 200,
        "the stored hash still authenticates: {}",
        r.text
    );
    second.kill().unwrap();
    second.wait().unwrap();
}

#[test]
fn everything_survives_a_restart() {
    let mut server = Server::start();
    let account = server.create_account("Persistent Clinic");
    let (token_id, token) = server.create_token(&account);
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "keep me", "eventUrl": "https://example.com/h", "eventList": ["booking.*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let webhook = r.json.clone();
    let id = webhook["id"].as_str().unwrap().to_string();

    server.restart();

    let r = server.get(&format!("/v1/accounts/{account}"), &token);
    assert_eq!(r.status, 200, "account token still works: {}", r.text);
    assert_eq!(r.json["name"], "Persistent Clinic");
    let r = server.get(&format!("/v1/accounts/{account}/webhooks/{id}"), ADMIN);
    assert_eq!(r.status, 200);
    let mut expected = webhook.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(r.json, expected);
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{id}/secret"),
        ADMIN,
    );
    assert_eq!(r.json["secret"], webhook["secret"]);
    let r = server.get(&format!("/v1/accounts/{account}/tokens"), ADMIN);
    assert_eq!(r.json["items"][0]["id"], token_id);
}

#[test]
fn sigterm_stops_cleanly_with_exit_zero() {
    let mut server = Server::start();
    server.create_account("x");
    let status = server.stop();
    assert!(status.success(), "{status:?}");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_store_is_one_file_in_the_data_dir() {
    let server = Server::start();
    server.create_account("x");
    assert!(server.data_dir().join("hookd.redb").is_file());
}
