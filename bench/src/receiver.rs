//! The loopback receiver hookd delivers to, and the "black hole" endpoint that never answers.
//!
//! The receiver is a plain hyper HTTP/1.1 server on its own thread with a current-thread
//! runtime: it answers 200 at once and records, per webhook (the path `/h/<n>`), which sequence
//! numbers arrived, when, and how long after they were sent. It runs on one thread so that it
//! takes at most one core from hookd, and does a byte search rather than a JSON parse per body.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::payload::{find_u64, now_us};

/// What has arrived since the last [`Recorder::reset`].
#[derive(Default)]
pub struct Tally {
    /// Expected sequence numbers per webhook: `0..expected`.
    pub expected: u64,
    /// One flag per (webhook, seq): arrived at least once.
    seen: Vec<Vec<bool>>,
    /// Distinct (webhook, seq) pairs arrived, per webhook.
    pub unique: Vec<u64>,
    pub duplicates: u64,
    /// Bodies without a readable seq, or from an unknown path.
    pub unreadable: u64,
    /// Seqs at or above `expected` (still counted as arrivals).
    pub out_of_range: u64,
    /// Ingest-to-arrival latencies in µs, when asked for.
    pub latencies_us: Option<Vec<u32>>,
    /// Time (µs since the epoch) of the first arrival and of the last new (webhook, seq).
    pub first_us: Option<u64>,
    pub last_new_us: Option<u64>,
}

impl Tally {
    /// The missing seqs of `webhook` (only those below `expected`), at most `limit` of them.
    pub fn missing(&self, webhook: usize, limit: usize) -> Vec<u64> {
        self.seen.get(webhook).map_or(Vec::new(), |seen| {
            seen.iter()
                .enumerate()
                .filter(|(_, s)| !**s)
                .map(|(i, _)| i as u64)
                .take(limit)
                .collect()
        })
    }
}

/// The shared record of deliveries; the receiver writes, the scenario reads.
#[derive(Default)]
pub struct Recorder {
    tally: Mutex<Tally>,
    /// Every delivery received (duplicates included), readable without the lock.
    arrivals: AtomicU64,
    /// Distinct (webhook, seq) pairs received, readable without the lock.
    unique: AtomicU64,
}

impl Recorder {
    /// Starts a new count: `webhooks` webhooks, each expecting seqs `0..expected`.
    pub fn reset(&self, webhooks: usize, expected: u64, latencies: bool) {
        let mut tally = self.lock();
        *tally = Tally {
            expected,
            seen: vec![vec![false; expected as usize]; webhooks],
            unique: vec![0; webhooks],
            latencies_us: latencies.then(Vec::new),
            ..Tally::default()
        };
        self.arrivals.store(0, Ordering::Relaxed);
        self.unique.store(0, Ordering::Relaxed);
    }

    pub fn lock(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn arrivals(&self) -> u64 {
        self.arrivals.load(Ordering::Relaxed)
    }

    /// Distinct (webhook, seq) pairs so far.
    pub fn unique(&self) -> u64 {
        self.unique.load(Ordering::Relaxed)
    }

    fn record(&self, webhook: Option<usize>, body: &[u8]) {
        let now = now_us();
        self.arrivals.fetch_add(1, Ordering::Relaxed);
        let seq = find_u64(body, b"\"seq\":");
        let sent = find_u64(body, b"\"sent\":");
        let mut tally = self.lock();
        tally.first_us.get_or_insert(now);
        let (Some(webhook), Some(seq)) = (webhook, seq) else {
            tally.unreadable += 1;
            return;
        };
        if webhook >= tally.seen.len() {
            tally.unreadable += 1;
            return;
        }
        if let (Some(sent), Some(latencies)) = (sent, tally.latencies_us.as_mut()) {
            latencies.push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
        }
        if seq >= tally.expected {
            tally.out_of_range += 1;
            return;
        }
        let slot = &mut tally.seen[webhook][seq as usize];
        if *slot {
            tally.duplicates += 1;
        } else {
            *slot = true;
            tally.unique[webhook] += 1;
            tally.last_new_us = Some(now);
            self.unique.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Which of hookd's webhooks a path belongs to: `/h/<n>`.
fn webhook_of(path: &str) -> Option<usize> {
    path.strip_prefix("/h/")?.parse().ok()
}

/// A running listener thread; stops when [`Server::stop`] is called or it is dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    /// Connections the black hole holds (0 for the receiver).
    pub held: Arc<AtomicU64>,
}

impl Server {
    /// Starts the receiver on `addr` (port 0 picks one), recording into `recorder`.
    pub fn receiver(addr: SocketAddr, recorder: Arc<Recorder>) -> std::io::Result<Server> {
        Server::start(addr, Role::Receiver(recorder))
    }

    /// Starts an endpoint that accepts connections, reads what comes and never answers.
    pub fn black_hole(addr: SocketAddr) -> std::io::Result<Server> {
        Server::start(addr, Role::BlackHole)
    }

    fn start(addr: SocketAddr, role: Role) -> std::io::Result<Server> {
        // Bound here, before the thread starts, so the port is listening when this returns.
        let listener = StdListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let held = Arc::new(AtomicU64::new(0));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let held_in = held.clone();
        let thread = std::thread::Builder::new()
            .name("bench-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, role, stopped, held_in).await,
                        Err(e) => eprintln!("receiver: cannot listen: {e}"),
                    }
                });
                // Dropping the runtime here ends every connection task.
            })?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
            held,
        })
    }

    /// Stops accepting and closes every connection.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[derive(Clone)]
enum Role {
    Receiver(Arc<Recorder>),
    BlackHole,
}

async fn serve(
    listener: TcpListener,
    role: Role,
    mut stopped: watch::Receiver<bool>,
    held: Arc<AtomicU64>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors and the like: back off rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match &role {
            Role::Receiver(recorder) => {
                let recorder = recorder.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let recorder = recorder.clone();
                    async move { Ok::<_, hyper::Error>(receive(&recorder, req).await) }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Role::BlackHole => {
                let held = held.clone();
                tokio::spawn(async move {
                    held.fetch_add(1, Ordering::Relaxed);
                    let mut stream = stream;
                    let mut buf = [0u8; 4096];
                    // Read and discard until the peer gives up; never write a byte.
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                    held.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }
}

async fn receive(recorder: &Recorder, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let webhook = webhook_of(req.uri().path());
    let status = match req.into_body().collect().await {
        Ok(body) => {
            recorder.record(webhook, &body.to_bytes());
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_seqs_per_webhook_and_counts_duplicates() {
        let recorder = Recorder::default();
        recorder.reset(2, 3, true);
        recorder.record(Some(0), br#"{"data":{"seq":1,"sent":0}}"#);
        recorder.record(Some(0), br#"{"data":{"seq":1,"sent":0}}"#);
        recorder.record(Some(1), br#"{"data":{"seq":2,"sent":0}}"#);
        recorder.record(Some(1), br#"{"data":{"seq":7,"sent":0}}"#);
        recorder.record(None, b"{}");
        let tally = recorder.lock();
        assert_eq!(tally.unique, [1, 1]);
        assert_eq!(tally.duplicates, 1);
        assert_eq!(tally.out_of_range, 1);
        assert_eq!(tally.unreadable, 1);
        assert_eq!(tally.missing(0, 10), [0, 2]);
        assert_eq!(recorder.unique(), 2);
        assert_eq!(recorder.arrivals(), 5);
        assert_eq!(webhook_of("/h/12"), Some(12));
    }
}
