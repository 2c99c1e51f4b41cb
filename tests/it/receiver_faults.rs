//! Hostile receivers (delivery.md "Outcome of an attempt" and its precise rules): a real hookd
//! delivers to endpoints that reset, never stop sending headers or body, answer garbage,
//! redirect, present an untrusted certificate or never answer. Each attempt is recorded with the
//! right outcome, none of them stalls deliveries to a healthy webhook, and hookd's memory stays
//! bounded while it is being flooded.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use serde_json::{Value, json};

/// The most bytes a flooding receiver writes on one connection, and for how long it may write.
const FLOOD_BYTES: usize = 200 * 1024 * 1024;
const FLOOD_TIME: Duration = Duration::from_secs(10);
/// Connections each hostile receiver accepts, and how long it listens.
const MAX_CONNECTIONS: usize = 64;
/// Extra events sent to each flooding receiver, so several floods run at once.
const EXTRA_FLOODS: usize = 7;
const LISTEN_TIME: Duration = Duration::from_secs(120);

/// How a hostile receiver's connection ended.
#[derive(Debug, Clone, PartialEq)]
enum End {
    /// hookd closed or reset the connection (a write or read failed or saw EOF).
    PeerClosed,
    /// The receiver stopped by itself (its byte or time budget, or its script ended).
    OwnLimit,
}

#[derive(Debug, Clone)]
struct ConnReport {
    written: usize,
    end: End,
    lasted: Duration,
}

/// A raw TCP receiver on 127.0.0.1 running `handler` on each accepted connection (in a thread
/// of its own); stops accepting when dropped.
struct Hostile {
    port: u16,
    accepted: Arc<AtomicUsize>,
    reports: Arc<Mutex<Vec<ConnReport>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Hostile {
    fn start(handler: fn(&mut TcpStream) -> ConnReport) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind hostile receiver");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, s) = (accepted.clone(), reports.clone(), stop.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            // Bounded by connection count and listening time.
            while !s.load(Ordering::Relaxed)
                && a.load(Ordering::Relaxed) < MAX_CONNECTIONS
                && started.elapsed() < LISTEN_TIME
            {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        a.fetch_add(1, Ordering::Relaxed);
                        let r = r.clone();
                        std::thread::spawn(move || {
                            stream.set_nonblocking(false).unwrap();
                            stream
                                .set_read_timeout(Some(Duration::from_secs(5)))
                                .unwrap();
                            stream
                                .set_write_timeout(Some(Duration::from_secs(2)))
                                .unwrap();
                            let report = handler(&mut stream);
                            r.lock().unwrap().push(report);
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5)); // accept poll interval
                    }
                    Err(_) => break,
                }
            }
        });
        Hostile {
            port,
            accepted,
            reports,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn reports(&self) -> Vec<ConnReport> {
        self.reports.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` body), bounded by 1 MiB and the read timeout.
fn read_request(stream: &mut TcpStream) -> Result<Vec<u8>, End> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while buf.len() < 1024 * 1024 {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(buf);
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(End::PeerClosed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(buf)
}

/// Writes `first`, then `block` again and again until hookd goes away or the budget ends.
fn flood(stream: &mut TcpStream, first: &[u8], block: &[u8]) -> ConnReport {
    let started = Instant::now();
    if read_request(stream).is_err() {
        return ConnReport {
            written: 0,
            end: End::PeerClosed,
            lasted: started.elapsed(),
        };
    }
    let mut written = 0;
    if stream.write_all(first).is_err() {
        return ConnReport {
            written,
            end: End::PeerClosed,
            lasted: started.elapsed(),
        };
    }
    written += first.len();
    while written < FLOOD_BYTES && started.elapsed() < FLOOD_TIME {
        match stream.write(block) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // hookd holds the connection open without reading: keep trying until the
                // time budget ends (reported as OwnLimit).
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                return ConnReport {
                    written,
                    end: End::PeerClosed,
                    lasted: started.elapsed(),
                };
            }
        }
    }
    ConnReport {
        written,
        end: End::OwnLimit,
        lasted: started.elapsed(),
    }
}

/// Reads a little of the request, then drops the connection with the rest unread: the kernel
/// answers with a reset.
fn reset(stream: &mut TcpStream) -> ConnReport {
    let started = Instant::now();
    let _ = stream.read(&mut [0u8; 16]);
    ConnReport {
        written: 0,
        end: End::OwnLimit,
        lasted: started.elapsed(),
    }
}

/// `HTTP/1.1 200 OK` and then header lines forever.
fn endless_headers(stream: &mut TcpStream) -> ConnReport {
    let block = b"X-a: b\r\n".repeat(8 * 1024);
    flood(stream, b"HTTP/1.1 200 OK\r\n", &block)
}

/// A 200 that announces 100 MB and streams body bytes forever.
fn endless_body(stream: &mut TcpStream) -> ConnReport {
    let block = vec![b'z'; 64 * 1024];
    flood(
        stream,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n",
        &block,
    )
}

/// Reads until hookd closes, bounded by the read timeout and 10 s.
fn drain_until_closed(stream: &mut TcpStream, started: Instant) -> End {
    let mut chunk = [0u8; 8192];
    while started.elapsed() < Duration::from_secs(10) {
        match stream.read(&mut chunk) {
            Ok(0) => return End::PeerClosed,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return End::PeerClosed,
        }
    }
    End::OwnLimit
}

/// Reads the request, answers bytes that are not HTTP, and waits for hookd to hang up.
fn garbage(stream: &mut TcpStream) -> ConnReport {
    let started = Instant::now();
    let _ = read_request(stream);
    let reply = b"NOT HTTP\r\n\r\n";
    let _ = stream.write_all(reply);
    let _ = stream.shutdown(Shutdown::Write);
    let end = drain_until_closed(stream, started);
    ConnReport {
        written: reply.len(),
        end,
        lasted: started.elapsed(),
    }
}

/// Reads the request and never answers, until hookd gives up (or 10 s).
fn black_hole(stream: &mut TcpStream) -> ConnReport {
    let started = Instant::now();
    let _ = read_request(stream);
    let end = drain_until_closed(stream, started);
    ConnReport {
        written: 0,
        end,
        lasted: started.elapsed(),
    }
}

/// A TLS server on 127.0.0.1 with a self-signed certificate for `localhost`.
struct TlsReceiver {
    port: u16,
    handshakes: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsReceiver {
    fn start() -> TlsReceiver {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = rustls::pki_types::CertificateDer::from(certified.cert.der().to_vec());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        );
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
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
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let recorded = handshakes.clone();
        runtime.spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let result =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(stream)).await;
                    let text = match result {
                        Ok(Ok(_)) => "handshake completed".to_string(),
                        Ok(Err(e)) => format!("handshake failed: {e}"),
                        Err(_) => "handshake timed out".to_string(),
                    };
                    recorded.lock().unwrap().push(text);
                });
            }
        });
        TlsReceiver {
            port,
            handshakes,
            _runtime: runtime,
        }
    }
}

/// The pid of the hookd process serving `server` (matched by its config path on the command
/// line), read from /proc.
fn hookd_pid(server: &Server) -> Option<u32> {
    let config = server.dir.join("hookd.toml");
    let config = config.to_str()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let matches = cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == config.as_bytes());
            matches.then_some(pid)
        })
}

/// A `/proc/<pid>/status` size field (`VmRSS`, `VmHWM`) in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

fn webhook(server: &Server, account: &str, name: &str, url: &str, events: &[&str]) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": name, "eventUrl": url, "eventList": events}),
    );
    assert_eq!(r.status, 201, "{name}: {}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn send(server: &Server, account: &str, event_type: &str) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": event_type, "data": {"probe": event_type}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

/// The delivery of `event` to `webhook`, with its attempts.
fn delivery(server: &Server, account: &str, webhook: &str, event: &str) -> Value {
    let r = server.get(
        &format!("/v1/accounts/{account}/deliveries?webhookId={webhook}&eventId={event}"),
        ADMIN,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.text);
    let id = items[0]["id"].as_str().unwrap();
    let r = server.get(&format!("/v1/accounts/{account}/deliveries/{id}"), ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

fn is_final(d: &Value) -> bool {
    d["status"] == "succeeded" || d["status"] == "failed"
}

/// One hostile endpoint and the outcomes its attempts may have.
struct Probe {
    name: &'static str,
    webhook: String,
    event: String,
    allowed: &'static [&'static str],
}

#[test]
fn hostile_receivers_get_the_right_outcomes_without_stalling_others_or_bloating_memory() {
    let server = Server::start_with(
        "[delivery]\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\n\
         retry_schedule = [\"500ms\", \"500ms\"]\n",
        &[],
    );
    let healthy = Receiver::ok();
    let resetter = Hostile::start(reset);
    let headers = Hostile::start(endless_headers);
    let body = Hostile::start(endless_body);
    let junk = Hostile::start(garbage);
    let silent = Hostile::start(black_hole);
    let redirect_target = format!("http://127.0.0.1:{}/x", healthy.port);
    let redirector = Receiver::start(move |_, _| {
        Reply::status(302)
            .with_header("location", &redirect_target)
            .with_body("moved")
    });
    let tls = TlsReceiver::start();

    let account = server.create_account("faults");
    let healthy_hook = webhook(&server, &account, "healthy", &healthy.url, &["*"]);
    let targets: Vec<(&'static str, String, &'static [&'static str])> = vec![
        (
            "reset",
            resetter.url(),
            &["connect_error", "invalid_response"],
        ),
        (
            "endless-headers",
            headers.url(),
            &["invalid_response", "timeout"],
        ),
        ("endless-body", body.url(), &["success", "timeout"]),
        ("garbage", junk.url(), &["invalid_response"]),
        ("redirect", redirector.url.clone(), &["http_error"]),
        (
            "tls",
            format!("https://localhost:{}/", tls.port),
            &["tls_error"],
        ),
        ("black-hole", silent.url(), &["timeout"]),
    ];
    let mut probes: Vec<Probe> = targets
        .into_iter()
        .map(|(name, url, allowed)| Probe {
            name,
            webhook: webhook(&server, &account, name, &url, &[&format!("fault.{name}")]),
            event: String::new(),
            allowed,
        })
        .collect();
    let load_started = Instant::now();
    for p in &mut probes {
        p.event = send(&server, &account, &format!("fault.{}", p.name));
    }
    for _ in 0..EXTRA_FLOODS {
        send(&server, &account, "fault.endless-headers");
        send(&server, &account, "fault.endless-body");
    }

    // While the hostile endpoints are being attempted (and retried), a healthy webhook on the
    // same account gets each new event promptly: under the 2 s delivery timeout a stalled
    // dispatcher would have to wait out.
    let mut latencies = Vec::new();
    let ping_deadline = Instant::now() + Duration::from_secs(30);
    for i in 0..100 {
        let all_final = probes
            .iter()
            .all(|p| is_final(&delivery(&server, &account, &p.webhook, &p.event)));
        if (all_final && i >= 10) || Instant::now() > ping_deadline {
            break;
        }
        let sent = Instant::now();
        let id = send(&server, &account, "healthy.ping");
        let got = eventually(Duration::from_secs(10), || {
            healthy
                .requests()
                .into_iter()
                .find(|r| r.header("webhook-id") == Some(id.as_str()))
        });
        latencies.push(got.at.saturating_duration_since(sent));
    }
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    eprintln!(
        "healthy webhook: {} pings during the hostile attempts, slowest {slowest:?}",
        latencies.len()
    );
    assert!(latencies.len() >= 10, "too few pings: {}", latencies.len());
    assert!(
        slowest < Duration::from_millis(1500),
        "a healthy delivery took {slowest:?} while hostile endpoints were attempted: {latencies:?}"
    );

    // Every hostile delivery ends with its attempts recorded with an allowed outcome.
    for p in &probes {
        let d = eventually(Duration::from_secs(30), || {
            let d = delivery(&server, &account, &p.webhook, &p.event);
            is_final(&d).then_some(d)
        });
        let attempts = d["attempts"].as_array().unwrap();
        assert!(!attempts.is_empty(), "{}: {d}", p.name);
        let seen: Vec<String> = attempts
            .iter()
            .map(|a| {
                format!(
                    "{} ({}; {})",
                    a["outcome"].as_str().unwrap_or("?"),
                    a["statusCode"],
                    a["error"].as_str().unwrap_or("-")
                )
            })
            .collect();
        eprintln!("{}: {} — {}", p.name, d["status"], seen.join(" | "));
        for a in attempts {
            let outcome = a["outcome"].as_str().unwrap_or_default();
            assert!(
                p.allowed.contains(&outcome),
                "{}: outcome {outcome:?}, expected one of {:?}: {d}",
                p.name,
                p.allowed
            );
            match outcome {
                "success" => {
                    assert_eq!(a["statusCode"], 200, "{}: {d}", p.name);
                    assert_eq!(d["status"], "succeeded", "{}: {d}", p.name);
                }
                "http_error" => {
                    assert_eq!(a["statusCode"], 302, "{}: {d}", p.name);
                    assert_eq!(a["responseBody"], "moved", "{}: {d}", p.name);
                }
                _ => {
                    assert_eq!(a["statusCode"], Value::Null, "{}: {d}", p.name);
                    assert!(a["error"].is_string(), "{}: {d}", p.name);
                }
            }
            if outcome == "timeout" {
                let ms = a["durationMs"].as_u64().unwrap();
                assert!(
                    (1500..6000).contains(&ms),
                    "{}: a timeout after {ms} ms (delivery.timeout = 2 s)",
                    p.name
                );
            }
        }
        if d["status"] == "failed" {
            assert_eq!(attempts.len(), 3, "two waits = three attempts: {d}");
        }
    }
    let hostile_time = load_started.elapsed();

    // 3xx is not followed: the redirect's target never got a request.
    assert!(
        healthy.requests().iter().all(|r| r.path != "/x"),
        "hookd followed the redirect"
    );
    assert!(redirector.count() >= 1);
    // hookd really reached each raw endpoint and the TLS server.
    for (name, h) in [
        ("reset", &resetter),
        ("endless-headers", &headers),
        ("endless-body", &body),
        ("garbage", &junk),
        ("black-hole", &silent),
    ] {
        assert!(
            h.accepted.load(Ordering::Relaxed) >= 1,
            "{name}: no connection"
        );
    }
    let handshakes = tls.handshakes.lock().unwrap().clone();
    eprintln!("tls receiver saw: {handshakes:?}");
    assert!(!handshakes.is_empty(), "no TLS handshake was attempted");
    assert!(
        handshakes.iter().all(|h| h != "handshake completed"),
        "hookd completed a handshake with an untrusted certificate"
    );

    // The floods: once every delivery to them is over, hookd had hung up on each flooding connection by itself, long before the
    // receiver's 200 MB / 10 s budget, having taken at most 64 KiB plus what the sockets buffer.
    for (name, h) in [("endless-headers", &headers), ("endless-body", &body)] {
        let hook = &probes.iter().find(|p| p.name == name).unwrap().webhook;
        eventually(Duration::from_secs(30), || {
            let r = server.get(
                &format!("/v1/accounts/{account}/deliveries?webhookId={hook}&status=pending"),
                ADMIN,
            );
            r.json["items"].as_array()?.is_empty().then_some(())
        });
        let reports = eventually(Duration::from_secs(15), || {
            let r = h.reports();
            (r.len() == h.accepted.load(Ordering::Relaxed)).then_some(r)
        });
        eprintln!(
            "{name}: {} connections, at most {} bytes written and {:?} each before hookd hung up",
            reports.len(),
            reports.iter().map(|r| r.written).max().unwrap_or(0),
            reports.iter().map(|r| r.lasted).max().unwrap_or_default()
        );
        for r in &reports {
            assert_eq!(
                r.end,
                End::PeerClosed,
                "{name}: hookd kept the connection: {r:?}"
            );
            assert!(
                r.written < 64 * 1024 * 1024,
                "{name}: hookd took {} bytes",
                r.written
            );
            assert!(r.lasted < Duration::from_secs(5), "{name}: {r:?}");
        }
    }
    for (name, h) in [("garbage", &junk), ("black-hole", &silent)] {
        for r in h.reports() {
            assert_eq!(r.end, End::PeerClosed, "{name}: hookd never hung up: {r:?}");
        }
    }

    // Memory: hookd's resident size, now and at its peak, stayed small through the floods.
    match hookd_pid(&server) {
        Some(pid) => {
            let rss = status_kib(pid, "VmRSS");
            let peak = status_kib(pid, "VmHWM");
            eprintln!("hookd pid {pid}: VmRSS {rss} KiB, VmHWM {peak} KiB");
            assert!(rss < 200 * 1024, "VmRSS {rss} KiB after the floods");
            assert!(peak < 200 * 1024, "VmHWM {peak} KiB during the floods");
        }
        None => panic!("could not find the hookd process in /proc"),
    }
    assert_eq!(server.get("/healthz", "").status, 200);
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{healthy_hook}"),
        ADMIN,
    );
    assert_eq!(r.json["failureCount"], 0, "{}", r.text);
    eprintln!("hostile phase took {hostile_time:?}");
}
