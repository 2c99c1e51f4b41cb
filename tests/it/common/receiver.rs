//! A real HTTP receiver on 127.0.0.1 for delivery tests: records every request and answers
//! as the test's behaviour says.
#![allow(dead_code)]

use std::convert::Infallible;
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
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
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
}

type Behaviour = Arc<dyn Fn(usize, &Received) -> Reply + Send + Sync>;

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
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
        let requests: Arc<Mutex<Vec<Received>>> = Arc::new(Mutex::new(Vec::new()));
        let behaviour: Behaviour = Arc::new(behaviour);
        let recorded = requests.clone();
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
                                let mut all = recorded.lock().unwrap();
                                all.push(received.clone());
                                all.len() - 1
                            };
                            let reply = behaviour(n, &received);
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
            requests,
            _runtime: runtime,
        }
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
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
