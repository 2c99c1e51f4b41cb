//! The machine's ceilings, measured in the same run as hookd: what a bare hyper server does
//! with the same requests from the same client, and how fast the data dir's disk fsyncs.
//!
//! The bare server runs as a child process (this binary with `--serve-ceiling`) with a
//! multi-thread runtime of default size, exactly like hookd, so that its CPU time and RSS are
//! read the same way as hookd's and the two compare like for like.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::payload::count;
use crate::procfs;
use crate::stats::Latencies;

/// The answer to one ingested event, the size of hookd's.
const ITEM: &str = r#"{"id":"0197a0b0-0000-7000-8000-000000000000","type":"bench.event","createdDate":"2026-01-01T00:00:00.000Z","deliveries":1}"#;

/// Runs the bare server until killed (the `--serve-ceiling` mode of this binary).
pub fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        // Serves until the parent kills this process.
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    })
}

/// Reads the whole body and answers 202 with one item per event, like hookd's ingest.
async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let batch = req.uri().path().ends_with("/batch");
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let text = if batch {
        let n = count(&body, b"{\"type\"");
        let items = vec![ITEM; n].join(",");
        format!("{{\"items\":[{items}]}}")
    } else {
        ITEM.to_string()
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// The bare server as a child process.
pub struct BareServer {
    child: Child,
    pub addr: SocketAddr,
}

impl BareServer {
    /// Starts `exe --serve-ceiling <addr>` and waits until it accepts connections.
    pub async fn start(exe: &Path) -> Result<BareServer, String> {
        let port = crate::hookd::free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(exe)
            .arg("--serve-ceiling")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the bare server: {e}"))?;
        let server = BareServer { child, addr };
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err("the bare server did not start listening within 5 s".into())
    }

    pub fn cpu_us(&self) -> u64 {
        procfs::cpu_us(self.child.id()).unwrap_or(0)
    }

    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.child.id()).unwrap_or(0)
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fsync figures of a disk.
#[derive(Debug, Clone)]
pub struct Fsync {
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ops: u64,
}

impl Fsync {
    /// A disk whose fsync p50 is over 0.5 ms makes a run "disturbed" (BENCHMARKS.md "Targets").
    pub fn disturbed(&self) -> bool {
        self.p50_ms > 0.5
    }
}

/// Writes 4 KiB and fsyncs, in a loop, for about `duration` (at most 1,000,000 times) in a
/// file under `dir`; blocking, so run it off the runtime.
pub fn measure_fsync(dir: &Path, duration: Duration) -> std::io::Result<Fsync> {
    let path: PathBuf = dir.join("fsync-probe");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    let block = [0x5au8; 4096];
    // Allocate the 1 MiB first, so the loop overwrites blocks (as a store file does) rather
    // than growing the file on every write.
    for _ in 0..256 {
        file.write_all(&block)?;
    }
    file.sync_all()?;
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut offset = 0u64;
    while start.elapsed() < duration && samples.len() < 1_000_000 {
        let t = Instant::now();
        // Rotate over 256 blocks (1 MiB) so each write dirties a page the way a log would.
        file.write_all_at(&block, offset * 4096)?;
        file.sync_all()?;
        samples.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        offset = (offset + 1) % 256;
    }
    let elapsed = start.elapsed();
    drop(file);
    let _ = std::fs::remove_file(&path);
    let ops = samples.len() as u64;
    let latencies = Latencies::new(samples);
    Ok(Fsync {
        ops_per_s: ops as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: latencies.percentile_ms(50.0).unwrap_or(0.0),
        p99_ms: latencies.percentile_ms(99.0).unwrap_or(0.0),
        ops,
    })
}
