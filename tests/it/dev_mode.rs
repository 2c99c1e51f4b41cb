//! `hookd serve --dev` (README.md "First steps"): it lets webhooks target a plain-http receiver
//! on loopback, which the defaults refuse, overriding the file and the environment for that and
//! for the log level, and says so in a warning at start-up.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::common::process::Background;
use crate::common::receiver::Receiver;
use crate::common::*;

const WAIT: Duration = Duration::from_secs(30);

/// A configuration that refuses what dev mode allows, and a quiet log.
const STRICT_CONFIG: &str = r#"
[delivery]
allow_http = false
allow_private_targets = false
[log]
level = "warn"
"#;

/// Starts the binary with `args` on a free port, with `extra_env`; returns it and its base URL.
fn start(args: &[&str], dir: &Path, extra_env: &[(&str, &str)]) -> (Background, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("HOOKD_CONFIG")
        .env_remove("HOOKD_ADMIN_TOKEN_FILE")
        .env_remove("HOOKD_LOG_FORMAT")
        .env("HOOKD_LISTEN", "127.0.0.1:0")
        .env("HOOKD_DATA_DIR", dir.join("data"))
        .env("HOOKD_ADMIN_TOKEN", ADMIN)
        .env("HOOKD_LOG", "info");
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut server = Background::start(command);
    let line = server.wait_for_stderr("hookd listening on ", WAIT);
    let addr: String = line
        .split("hookd listening on ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
        .collect();
    (server, format!("http://{addr}"))
}

/// Creates an account and a webhook for `url`; returns the webhook creation's response.
fn create_webhook(base: &str, url: &str) -> Resp {
    let account = request(
        "POST",
        &format!("{base}/v1/accounts"),
        Some(ADMIN),
        Some(json!({"name": "Dev", "id": "dev"}).to_string().as_bytes()),
    );
    assert_eq!(account.status, 201, "{}", account.text);
    let webhook = json!({"name": "local", "eventUrl": url, "eventList": ["*"]});
    request(
        "POST",
        &format!("{base}/v1/accounts/dev/webhooks"),
        Some(ADMIN),
        Some(webhook.to_string().as_bytes()),
    )
}

#[test]
fn serve_dev_delivers_to_a_loopback_http_receiver_and_warns() {
    for args in [&["serve", "--dev"][..], &["--dev"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("strict.toml");
        std::fs::write(&config, STRICT_CONFIG).unwrap();
        let mut all_args = vec!["--config", config.to_str().unwrap()];
        all_args.extend_from_slice(args);
        // The file refuses http and private targets and asks for warn; the environment asks
        // for errors only: dev mode overrides both.
        let (mut server, base) = start(&all_args, tmp.path(), &[("HOOKD_LOG", "error")]);
        let warning = server.wait_for_stderr("dev mode is on", WAIT);
        assert!(warning.contains("WARN"), "{args:?}: {warning}");
        assert!(warning.contains("never use it in production"), "{warning}");

        let receiver = Receiver::ok();
        assert!(receiver.url.starts_with("http://127.0.0.1:"));
        let webhook = create_webhook(&base, &receiver.url);
        assert_eq!(webhook.status, 201, "{args:?}: {}", webhook.text);
        let event = request(
            "POST",
            &format!("{base}/v1/accounts/dev/events"),
            Some(ADMIN),
            Some(br#"{"type": "dev.tried", "data": {"n": 1}}"#),
        );
        assert_eq!(event.status, 202, "{}", event.text);
        let received = receiver.wait_for(1, WAIT);
        assert_eq!(received[0].json()["type"], "dev.tried");
        // Logging at debug: the API's per-request lines appear.
        server.wait_for_stderr("DEBUG", WAIT);
    }
}

#[test]
fn without_dev_the_same_webhook_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, base) = start(&["serve"], tmp.path(), &[]);
    let receiver = Receiver::ok();
    let webhook = create_webhook(&base, &receiver.url);
    assert_eq!(webhook.status, 400, "{}", webhook.text);
    assert!(webhook.text.contains("allow_http"), "{}", webhook.text);
    let over_https = create_webhook_again(&base, &format!("https://127.0.0.1:{}/", receiver.port));
    assert_eq!(over_https.status, 400, "{}", over_https.text);
    assert!(
        over_https.text.contains("allow_private_targets"),
        "{}",
        over_https.text
    );
    assert!(!server.stderr().contains("dev mode"), "{}", server.stderr());
    assert!(!server.stderr().contains("DEBUG"), "{}", server.stderr());
}

/// Creates a second webhook in the account `create_webhook` made.
fn create_webhook_again(base: &str, url: &str) -> Resp {
    let webhook = json!({"name": "local-tls", "eventUrl": url, "eventList": ["*"]});
    request(
        "POST",
        &format!("{base}/v1/accounts/dev/webhooks"),
        Some(ADMIN),
        Some(webhook.to_string().as_bytes()),
    )
}

#[test]
fn dev_is_an_option_of_the_server_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (status, _, stderr) = run_hookd(&["--dev", "account", "list"], &[], tmp.path());
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("hookd serve --dev"), "{stderr}");
    let (status, _, stderr) = run_hookd(&["account", "list", "--dev"], &[], tmp.path());
    assert_eq!(status.code(), Some(2), "{stderr}");
}
