//! A real HTTP receiver on 127.0.0.1 for delivery tests: records every request and answers
//! as the test's behaviour says.
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (simulates a slow or hung endpoint).
    pub delay: Duration,
    /// Before the delay, hold the request until this is true (at most `Hold::at_most`).
    pub hold: Option<Hold>,
}

/// A condition a request is held for before it is answered, so that a test can make a state
/// (so many requests open at once, or open across some change) certain rather than likely.
#[derive(Clone)]
pub struct Hold {
    until: HoldUntil,
    /// The most a request is held, so that a test that fails early never leaves it hanging.
    at_most: Duration,
}

#[derive(Clone)]
enum HoldUntil {
    /// This many requests are open at once.
    Open(usize),
    /// The test opened the gate.
    Gate(Gate),
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.until {
            HoldUntil::Open(n) => write!(f, "until {n} open, at most {:?}", self.at_most),
            HoldUntil::Gate(g) => write!(
                f,
                "until the gate opens ({g:?}), at most {:?}",
                self.at_most
            ),
        }
    }
}

/// A gate the test opens to release the requests held for it.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<AtomicBool>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            hold: None,
        }
    }

    pub fn ok() -> Reply {
        Reply::status(200)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(mut self, body: &str) -> Reply {
        self.body = body.into();
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Holds the request until `n` requests (this one included) are open at once, then
    /// answers as otherwise told.
    pub fn until_open(mut self, n: usize, at_most: Duration) -> Reply {
        self.hold = Some(Hold {
            until: HoldUntil::Open(n),
            at_most,
        });
        self
    }

    /// Holds the request until the test opens `gate`, then answers as otherwise told.
    pub fn until_gate(mut self, gate: &Gate, at_most: Duration) -> Reply {
        self.hold = Some(Hold {
            until: HoldUntil::Gate(gate.clone()),
            at_most,
        });
        self
    }
}

/// What the receiver saw: every request, and how many were open (arrived, not yet answered).
#[derive(Default)]
struct Log {
    requests: Vec<Received>,
    open: usize,
    peak_open: usize,
}

/// Counts a request as open until its answer is ready, or until hookd gave up on it (the
/// service's future is dropped then).
struct OpenRequest(Arc<Mutex<Log>>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.open -= 1;
    }
}

type Behaviour = Arc<dyn Fn(usize, &Received) -> Reply + Send + Sync>;

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub url: String,
    pub port: u16,
    log: Arc<Mutex<Log>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// Answers 200 to everything.
    pub fn ok() -> Receiver {
        Receiver::start(|_, _| Reply::ok())
    }

    /// Answers each request (numbered from 0 in arrival order) as `behaviour` says.
    pub fn start(
        behaviour: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static,
    ) -> Receiver {
        Receiver::start_on(0, behaviour)
    }

    /// Like [`Receiver::start`] on a chosen port (0 = any).
    pub fn start_on(
        port: u16,
        behaviour: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static,
    ) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .expect("bind receiver");
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Log>> = Arc::new(Mutex::new(Log::default()));
        let behaviour: Behaviour = Arc::new(behaviour);
        let recorded = log.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let recorded = recorded.clone();
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let recorded = recorded.clone();
                        let behaviour = behaviour.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_string();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.to_str().unwrap_or_default().to_string())
                                })
                                .collect();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            let received = Received {
                                method,
                                path,
                                headers,
                                body,
                                at: Instant::now(),
                            };
                            let n = {
                                let mut log = recorded.lock().unwrap();
                                log.requests.push(received.clone());
                                log.open += 1;
                                log.peak_open = log.peak_open.max(log.open);
                                log.requests.len() - 1
                            };
                            let _open = OpenRequest(recorded.clone());
                            let reply = behaviour(n, &received);
                            if let Some(hold) = &reply.hold {
                                let deadline = Instant::now() + hold.at_most;
                                while Instant::now() < deadline {
                                    let released = match &hold.until {
                                        HoldUntil::Open(n) => recorded.lock().unwrap().open >= *n,
                                        HoldUntil::Gate(gate) => gate.is_open(),
                                    };
                                    if released {
                                        break;
                                    }
                                    tokio::time::sleep(Duration::from_millis(2)).await;
                                }
                            }
                            if !reply.delay.is_zero() {
                                tokio::time::sleep(reply.delay).await;
                            }
                            let mut response =
                                hyper::Response::new(Full::new(Bytes::from(reply.body)));
                            *response.status_mut() =
                                hyper::StatusCode::from_u16(reply.status).unwrap();
                            for (k, v) in reply.headers {
                                response.headers_mut().insert(
                                    hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                    hyper::header::HeaderValue::from_str(&v).unwrap(),
                                );
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            log,
            _runtime: runtime,
        }
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().unwrap().requests.clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().requests.len()
    }

    /// Requests that arrived and are not answered yet (nor given up on by their sender).
    pub fn open(&self) -> usize {
        self.log.lock().unwrap().open
    }

    /// The most requests that were ever open at once. A sender that starts a request only
    /// after the previous answer in its slot never has more open here than it has slots,
    /// however slow either side is.
    pub fn peak_open(&self) -> usize {
        self.log.lock().unwrap().peak_open
    }

    /// Waits until at least `n` requests arrived; returns them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.requests();
            if all.len() >= n {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got {} of {n} requests within {timeout:?}",
                all.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
