//! `hookd receive`, the local receiver for trying webhooks: what it prints for each request
//! (headers sorted, JSON re-indented, the signature's verdict with `--secret`), its answers
//! (200 to POST, 405 otherwise, 413 over 1 MiB), a clean stop on SIGTERM and Ctrl-C, and a
//! real delivery from hookd signed with a secret chosen by `hookd webhook create --secret`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::process::Background;
use crate::common::*;

const WAIT: Duration = Duration::from_secs(30);
const SECRET: &str = "whsec_aG9va2QtZmlyc3Qtc3RlcHMtZXhhbXBsZS1zZWNyZXQ=";
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The receiver's command on a free port, with `args` and no secret from the environment.
fn receive_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookd"));
    command
        .arg("receive")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("HOOKD_WEBHOOK_SECRET")
        .env_remove("HOOKD_RECEIVE_LISTEN");
    command
}

/// Waits for the receiver's start line; returns its base URL (`http://127.0.0.1:PORT`).
fn base_url(receiver: &mut Background) -> String {
    let line = receiver.wait_for_stderr("listening on http://", WAIT);
    let url = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    assert!(url.ends_with('/'), "{line}");
    url.trim_end_matches('/').to_string()
}

/// POSTs `body` with the Standard Webhooks headers for `id`, `ts`, signed with `secret`.
fn post_signed(url: &str, secret: &str, id: &str, ts: i64, body: &[u8]) -> Resp {
    let signature = standard_signature(secret, id, ts, body);
    let ts = ts.to_string();
    request_with(
        "POST",
        url,
        None,
        Some(body),
        &[
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &signature),
        ],
    )
}

/// Polls `file` until it holds `needle`; returns its whole text.
fn wait_in_file(file: &Path, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} not in the output:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn receive_prints_each_delivery_with_its_signature_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("deliveries.txt");
    // stdout into a file, as in `hookd receive > deliveries.txt`: each delivery must be there
    // while the receiver still runs.
    let mut receiver = Background::start_with_stdout(
        receive_command(&["--secret", SECRET]),
        std::fs::File::create(&output).unwrap(),
    );
    let base = base_url(&mut receiver);

    // Keys deliberately not in alphabetical order, numbers spelled as sent.
    let body = br#"{"type":"booking.created","data":{"id":7,"price":12.50}}"#;
    let reply = post_signed(
        &format!("{base}/bookings?from=test"),
        SECRET,
        "msg_1",
        now_secs(),
        body,
    );
    assert_eq!(reply.status, 200);
    let text = wait_in_file(&output, "signature: verified");
    assert!(text.starts_with("POST /bookings?from=test\n"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let position = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{text}"))
    };
    let header_lines = [
        "content-length: ",
        "content-type: application/json",
        "host: 127.0.0.1:",
        "webhook-id: msg_1",
        "webhook-signature: v1,",
        "webhook-timestamp: ",
    ];
    let positions: Vec<usize> = header_lines.iter().map(|h| position(h)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "headers not sorted:\n{text}"
    );
    assert!(
        text.contains(
            "\n{\n  \"type\": \"booking.created\",\n  \"data\": {\n    \"id\": 7,\n    \"price\": 12.50\n  }\n}\n"
        ),
        "{text}"
    );

    // Signed with another secret; too old; no signature headers at all.
    let reply = post_signed(
        &format!("{base}/other"),
        OTHER_SECRET,
        "msg_2",
        now_secs(),
        body,
    );
    assert_eq!(reply.status, 200);
    wait_in_file(
        &output,
        "signature: NOT verified (no signature in webhook-signature matches)",
    );
    let reply = post_signed(
        &format!("{base}/old"),
        SECRET,
        "msg_3",
        now_secs() - 3600,
        body,
    );
    assert_eq!(reply.status, 200);
    wait_in_file(
        &output,
        "signature: NOT verified (webhook-timestamp is outside the tolerance)",
    );
    let reply = request_with(
        "POST",
        &format!("{base}/plain"),
        None,
        Some(b"just words, not JSON\n"),
        &[("content-type", "text/plain")],
    );
    assert_eq!(reply.status, 200);
    let text = wait_in_file(
        &output,
        "signature: NOT verified (missing header webhook-id)",
    );
    assert!(text.contains("POST /plain\n"), "{text}");
    assert!(text.contains("\njust words, not JSON\n"), "{text}");
    assert_eq!(text.matches("signature: verified").count(), 1, "{text}");
}

#[test]
fn receive_without_secret_prints_and_takes_only_post() {
    let mut receiver = Background::start(receive_command(&[]));
    let base = base_url(&mut receiver);
    let reply = request("POST", &format!("{base}/x"), None, Some(b"[1,2]"));
    assert_eq!(reply.status, 200);
    let line = receiver.wait_for_stdout("signature: not checked", WAIT);
    assert!(line.contains("--secret"), "{line}");
    assert!(receiver.stdout().contains("[\n  1,\n  2\n]"));
    let reply = request("GET", &format!("{base}/"), None, None);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert!(!receiver.stdout().contains("GET /"));
}

#[test]
fn receive_answers_413_to_bodies_over_1_mib() {
    let mut receiver = Background::start(receive_command(&["--secret", SECRET]));
    let base = base_url(&mut receiver);
    let limit = 1024 * 1024;
    let reply = request(
        "POST",
        &format!("{base}/fits"),
        None,
        Some(&vec![b'a'; limit]),
    );
    assert_eq!(reply.status, 200);
    receiver.wait_for_stdout("POST /fits", WAIT);
    let reply = request(
        "POST",
        &format!("{base}/announced"),
        None,
        Some(&vec![b'a'; limit + 1]),
    );
    assert_eq!(reply.status, 413);
    // Without a length announced (chunked), the limit holds while reading.
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /chunked HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'b'; 64 * 1024];
    for _ in 0..17 {
        // The receiver may answer and close before the last chunks: stop writing then.
        if write!(stream, "{:x}\r\n", chunk.len()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = String::new();
    let mut buf = [0u8; 1024];
    while !answer.contains("\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    receiver.wait_for_stdout("POST /chunked", WAIT);
    let stdout = receiver.stdout();
    assert_eq!(
        stdout
            .matches("(body larger than 1 MiB: answered 413)")
            .count(),
        2,
        "{stdout}"
    );
}

#[test]
fn receive_stops_cleanly_on_sigterm_and_ctrl_c() {
    for signal in ["TERM", "INT"] {
        let mut receiver = Background::start(receive_command(&[]));
        base_url(&mut receiver);
        receiver.signal(signal);
        let status = receiver.wait_exit(WAIT);
        assert_eq!(status.code(), Some(0), "SIG{signal}: {status:?}");
    }
}

#[test]
fn receive_refuses_a_malformed_secret() {
    let tmp = tempfile::tempdir().unwrap();
    for secret in ["not-a-secret", "whsec_c2hvcnQ="] {
        let (status, _, stderr) = run_hookd(
            &["receive", "--listen", "127.0.0.1:0", "--secret", secret],
            &[],
            tmp.path(),
        );
        assert_eq!(status.code(), Some(2), "{secret}: {stderr}");
        assert!(stderr.contains("whsec_"), "{stderr}");
    }
}

#[test]
fn a_delivery_from_hookd_verifies_in_the_receiver() {
    let server = Server::start();
    let mut receiver = Background::start(receive_command(&["--secret", SECRET]));
    let base = base_url(&mut receiver);
    let account = server.create_account("Receiving");
    let tmp = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run_hookd(
        &[
            "webhook",
            "create",
            &account,
            "--name",
            "local",
            "--url",
            &format!("{base}/hook"),
            "--event",
            "booking.*",
            "--secret",
            SECRET,
            "--json",
        ],
        &[("HOOKD_SERVER", &server.base), ("HOOKD_TOKEN", ADMIN)],
        tmp.path(),
    );
    assert!(status.success(), "{stdout}\n{stderr}");
    let webhook: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(webhook["secret"], SECRET);
    let id = webhook["id"].as_str().unwrap();
    let stored = server.get(
        &format!("/v1/accounts/{account}/webhooks/{id}/secret"),
        ADMIN,
    );
    assert_eq!(stored.json["secret"], SECRET);

    let event = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &serde_json::json!({"type": "booking.created", "data": {"id": 7}}),
    );
    assert_eq!(event.status, 202, "{}", event.text);
    receiver.wait_for_stdout("signature: verified", WAIT);
    let stdout = receiver.stdout();
    assert!(stdout.contains("POST /hook\n"), "{stdout}");
    assert!(
        stdout.contains("  \"type\": \"booking.created\","),
        "{stdout}"
    );
}
