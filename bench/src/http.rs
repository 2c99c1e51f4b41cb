//! The benchmark's HTTP client: one hyper HTTP/1.1 keep-alive connection per task.
//!
//! No pool: each load task owns its connection, so a request costs one write and one read and
//! nothing is shared between tasks. A connection that fails is replaced by the task that owns
//! it; failures are returned as values so that a dropped connection never ends a run.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go and how they authenticate; cheap to clone into every task.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    host: HeaderValue,
    auth: Option<HeaderValue>,
}

impl Target {
    pub fn new(addr: SocketAddr, token: Option<&str>) -> Target {
        Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string())
                .unwrap_or(HeaderValue::from_static("localhost")),
            auth: token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()),
        }
    }

    /// A request with the target's `host` and `authorization` headers.
    pub fn request(&self, method: Method, path: &str, body: Option<Bytes>) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body.clone().unwrap_or_default()));
        *req.method_mut() = method;
        *req.uri_mut() = path.parse().unwrap_or_default();
        let headers = req.headers_mut();
        headers.insert(HOST, self.host.clone());
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        req
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub enum Failure {
    Connect(std::io::Error),
    Http(hyper::Error),
    Timeout,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "connect: {e}"),
            Failure::Http(e) => write!(f, "http: {e}"),
            Failure::Timeout => f.write_str("timeout"),
        }
    }
}

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Connects and spawns the connection's driver on the current runtime.
    pub async fn open(addr: SocketAddr) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr).await.map_err(Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(Failure::Http)?;
        tokio::spawn(async move {
            // The error (if any) reaches the sender as a failed request.
            let _ = connection.await;
        });
        Ok(Conn { sender })
    }

    /// Sends one request and reads the whole response, within `timeout`.
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), Failure> {
        let exchange = async {
            self.sender.ready().await.map_err(Failure::Http)?;
            let response = self.sender.send_request(req).await.map_err(Failure::Http)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(Failure::Http)?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(Failure::Timeout))
    }
}

/// A connection that reconnects on demand: the owner calls [`Link::send`] and never sees a
/// dead connection twice.
pub struct Link {
    addr: SocketAddr,
    conn: Option<Conn>,
}

impl Link {
    pub fn new(addr: SocketAddr) -> Link {
        Link { addr, conn: None }
    }

    /// Sends on the open connection (opening one first if needed); on failure the connection
    /// is dropped so the next call opens a fresh one.
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), Failure> {
        if self.conn.is_none() {
            let opened = tokio::time::timeout(timeout, Conn::open(self.addr))
                .await
                .unwrap_or(Err(Failure::Timeout))?;
            self.conn = Some(opened);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Failure::Timeout);
        };
        let result = conn.send(req, timeout).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}

/// One request on a fresh connection, for set-up calls; the body is parsed as JSON when it is.
pub async fn call(
    target: &Target,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(StatusCode, serde_json::Value), String> {
    let body = body.map(|b| Bytes::from(b.to_string()));
    let mut conn = Conn::open(target.addr)
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let (status, bytes) = conn
        .send(
            target.request(method.clone(), path, body),
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}
