//! Storage faults on a real full disk (a size-limited tmpfs as the data directory): hookd
//! refuses writes with 503, reports the fault on `/readyz`, exits non-zero within 5 seconds,
//! refuses to start while the disk is still full, and after space is freed delivers every
//! event it acknowledged — and none it refused. Also a damaged write-ahead log (refused, named)
//! against a torn tail (started normally).

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::receiver::Receiver;
use crate::common::*;
use serde_json::json;

/// A tmpfs of a fixed size mounted over a directory, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `48m`) at `at`; `None`, with a loud message, where this
    /// machine does not let the test mount (not root, no mount in the container).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match output {
            Ok(o) if o.status.success() => Some(Tmpfs {
                at: at.to_path_buf(),
            }),
            Ok(o) => {
                eprintln!(
                    "\n*** SKIPPED: cannot mount a tmpfs for the full-disk test ({}) — run the tests as root ***\n",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("\n*** SKIPPED: cannot run mount for the full-disk test ({e}) ***\n");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// Fills the file system holding `dir` with a file `name` until it refuses more.
fn fill(dir: &Path, name: &str) {
    let mut file = std::fs::File::create(dir.join(name)).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
}

/// What the client of one ingest learned.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    /// 202 with this event id.
    Accepted(String),
    /// 503: nothing of it was stored.
    NotStored,
    /// 503 with an unknown outcome, or no answer at all.
    Unknown,
}

fn told(r: &Resp) -> Told {
    match r.status {
        202 => Told::Accepted(r.json["id"].as_str().unwrap().to_string()),
        503 => {
            r.assert_problem(503, "store-unavailable");
            let detail = r.json["detail"].as_str().unwrap();
            if detail.contains("nothing of this request was stored") {
                Told::NotStored
            } else {
                assert!(detail.contains("outcome is unknown"), "{detail}");
                assert!(detail.contains("idempotency key"), "{detail}");
                Told::Unknown
            }
        }
        other => panic!("unexpected answer {other}: {}", r.text),
    }
}

#[test]
fn a_full_disk_stops_hookd_cleanly_and_loses_nothing_acknowledged() {
    let mut mounted = None;
    let mut server = Server::start_prepared("", &[], |data| {
        mounted = Tmpfs::mount(data, "48m");
    });
    let Some(_tmpfs) = mounted else {
        return;
    };
    let receiver = Receiver::ok();
    let account = server.create_account("full-disk");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "sink", "eventUrl": receiver.url, "eventList": ["*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Leave about 4 MiB of the disk free, then ingest until the store can no longer write.
    let data = server.data_dir();
    let room = data.join("room");
    std::fs::write(&room, vec![0u8; 4 * 1024 * 1024]).unwrap();
    fill(&data, "filler");
    std::fs::remove_file(&room).unwrap();

    let outcomes: Arc<Mutex<BTreeMap<String, Told>>> = Arc::default();
    let first_refusal: Arc<Mutex<Option<Instant>>> = Arc::default();
    let url = server.url(&format!("/v1/accounts/{account}/events"));
    let padding = "x".repeat(2000);
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (outcomes, first_refusal) = (outcomes.clone(), first_refusal.clone());
            let (url, padding) = (url.clone(), padding.clone());
            std::thread::spawn(move || {
                for i in 0..5000 {
                    let key = format!("c{c}-{i}");
                    let body = json!({"type": "disk.filled", "idempotencyKey": key,
                                      "data": {"key": key, "padding": padding}})
                    .to_string();
                    let answer = std::panic::catch_unwind(|| {
                        request("POST", &url, Some(ADMIN), Some(body.as_bytes()))
                    });
                    let outcome = match &answer {
                        Ok(r) => told(r),
                        Err(_) => Told::Unknown, // the process is gone
                    };
                    if !matches!(outcome, Told::Accepted(_)) {
                        first_refusal
                            .lock()
                            .unwrap()
                            .get_or_insert_with(Instant::now);
                    }
                    outcomes.lock().unwrap().insert(key, outcome);
                    if answer.is_err() {
                        return;
                    }
                }
            })
        })
        .collect();

    // The first 503: from then on /readyz says why, and the process exits within 5 seconds.
    let refused_at = eventually(Duration::from_secs(120), || *first_refusal.lock().unwrap());
    let readyz = request("GET", &server.url("/readyz"), None, None);
    assert_eq!(readyz.status, 503, "{}", readyz.text);
    assert_eq!(readyz.json["status"], "unavailable");
    let reason = readyz.json["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("No space left on device"),
        "reason: {reason}"
    );
    // The log's space is reserved: the fault is the store file's, never a half-written record.
    assert!(!reason.contains("cannot write the log"), "reason: {reason}");
    let status = server
        .wait_for_exit(Duration::from_secs(5).saturating_sub(refused_at.elapsed()))
        .expect("hookd exits within 5 s of the storage fault");
    assert!(!status.success(), "exit status {status:?}");
    for client in clients {
        client.join().unwrap();
    }
    let log = server.log_text();
    assert!(log.contains("storage fault"), "log:\n{log}");
    assert!(log.contains("No space left on device"), "log:\n{log}");

    // While the disk is still full, a start fails and says so.
    let (status, _, stderr) = run_hookd(
        &["--config", server.config_path().to_str().unwrap()],
        &[("HOOKD_ADMIN_TOKEN", ADMIN)],
        &server.dir,
    );
    assert!(!status.success());
    assert!(stderr.contains("is full"), "stderr: {stderr}");

    // Free the space and start again: everything acknowledged is delivered.
    std::fs::remove_file(data.join("filler")).unwrap();
    server.restart();
    let outcomes = outcomes.lock().unwrap().clone();
    let accepted: HashSet<String> = outcomes
        .values()
        .filter_map(|t| match t {
            Told::Accepted(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let not_stored: Vec<&String> = outcomes
        .iter()
        .filter(|(_, t)| **t == Told::NotStored)
        .map(|(k, _)| k)
        .collect();
    eprintln!(
        "full disk: {} accepted, {} refused as not stored, {} of unknown outcome",
        accepted.len(),
        not_stored.len(),
        outcomes.len() - accepted.len() - not_stored.len()
    );
    assert!(accepted.len() > 10, "only {} accepted", accepted.len());
    assert!(
        !not_stored.is_empty(),
        "no request was refused as not stored"
    );
    eventually(Duration::from_secs(60), || {
        let delivered: HashSet<String> = receiver
            .requests()
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_string))
            .collect();
        accepted.is_subset(&delivered).then_some(())
    });

    // Nothing refused as "not stored" is in the store: its key is new to hookd.
    let delivered_keys: HashSet<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            r.json()["data"]["key"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for key in &not_stored {
        assert!(
            !delivered_keys.contains(*key),
            "{key} was refused but delivered"
        );
    }
    for key in not_stored.iter().take(20) {
        let body = json!({"type": "disk.filled", "idempotencyKey": key,
                          "data": {"key": key, "padding": padding}});
        let r = server.post(&format!("/v1/accounts/{account}/events"), ADMIN, &body);
        assert_eq!(r.status, 202, "{key} was refused but is stored: {}", r.text);
    }
}

/// The current records of a killed hookd's log: (offset, length with header, sequence number).
fn current_records(wal: &[u8]) -> Vec<(usize, usize, u64)> {
    const HEADER: usize = 28;
    let mut out = Vec::new();
    let mut offset = 0;
    let mut log_id = None;
    while offset + HEADER <= wal.len() {
        let word = |at: usize| u32::from_le_bytes(wal[at..at + 4].try_into().unwrap());
        let long = |at: usize| u64::from_le_bytes(wal[at..at + 8].try_into().unwrap());
        if word(offset) != 0x484b_574c {
            break;
        }
        let len = word(offset + 4) as usize;
        let id = long(offset + 8);
        let seq = long(offset + 16);
        if *log_id.get_or_insert(id) != id
            || out
                .last()
                .is_some_and(|&(_, _, last): &(usize, usize, u64)| seq != last + 1)
        {
            break;
        }
        out.push((offset, HEADER + len, seq));
        offset += HEADER + len;
    }
    out
}

/// Ingests events while killing hookd, until its log holds at least three current records.
fn killed_with_logged_records(server: &mut Server, account: &str) -> (PathBuf, Vec<u8>) {
    let wal = server.data_dir().join("hookd.wal");
    for _ in 0..20 {
        for i in 0..30 {
            let r = server.post(
                &format!("/v1/accounts/{account}/events"),
                ADMIN,
                &json!({"type": "logged.event", "data": {"i": i}}),
            );
            assert_eq!(r.status, 202);
        }
        server.kill();
        let bytes = std::fs::read(&wal).unwrap();
        if current_records(&bytes).len() >= 3 {
            return (wal, bytes);
        }
        server.restart();
    }
    panic!("the log never held three records at a kill");
}

#[test]
fn a_damaged_log_is_refused_by_name_and_a_torn_tail_is_not() {
    let mut server = Server::start();
    let account = server.create_account("damaged-log");
    let (wal, bytes) = killed_with_logged_records(&mut server, &account);
    let records = current_records(&bytes);

    // A torn tail: the last record is cut short. hookd starts and serves.
    let (last_offset, last_len, _) = *records.last().unwrap();
    let mut torn = bytes.clone();
    for b in &mut torn[last_offset + last_len - 3..last_offset + last_len] {
        *b ^= 0xff;
    }
    std::fs::write(&wal, &torn).unwrap();
    server.restart();
    let r = server.get(&format!("/v1/accounts/{account}"), ADMIN);
    assert_eq!(r.status, 200);

    // Damage in the middle: a bad record followed by intact ones is refused, naming the file,
    // the record and the way out.
    let (wal, bytes) = killed_with_logged_records(&mut server, &account);
    let records = current_records(&bytes);
    let (first_offset, _, first_seq) = records[0];
    let mut damaged = bytes.clone();
    damaged[first_offset + 28 + 1] ^= 0xff;
    std::fs::write(&wal, &damaged).unwrap();
    let (status, _, stderr) = run_hookd(
        &["--config", server.config_path().to_str().unwrap()],
        &[("HOOKD_ADMIN_TOKEN", ADMIN)],
        &server.dir,
    );
    assert!(!status.success());
    assert!(stderr.contains("hookd.wal"), "{stderr}");
    assert!(
        stderr.contains(&format!("damaged at record {first_seq}")),
        "{stderr}"
    );
    assert!(stderr.contains("move the log aside"), "{stderr}");
    // Accepting the loss as told: the log moved aside, hookd starts.
    std::fs::rename(&wal, wal.with_extension("wal.damaged")).unwrap();
    server.restart();
    let r = server.get(&format!("/v1/accounts/{account}"), ADMIN);
    assert_eq!(r.status, 200);
}
