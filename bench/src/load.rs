//! The load generator: N tasks, each with its own keep-alive connection, posting events.
//!
//! Three shapes of load, all bounded: as fast as the server answers for a time (closed loop),
//! a fixed number of events as fast as possible, and a fixed rate for a time (each task keeps
//! its own schedule, so the total rate holds while the server keeps up). Sequence numbers are
//! handed out from one counter, so every event of a run has its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::Method;
use hyper::body::Bytes;
use tokio::time::Instant;

use crate::http::{Link, Target};
use crate::payload::{count, now_us, write_batch, write_event};
use crate::stats::Latencies;

/// How long the load runs.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// As fast as answers come, for this long.
    Closed(Duration),
    /// As fast as answers come, until this many events were sent.
    Count(u64),
    /// This many events per second in all, for this long.
    Paced { rate: f64, duration: Duration },
}

/// One load run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub addr: SocketAddr,
    pub token: Option<String>,
    /// `POST` path: `/v1/accounts/<a>/events` or `…/events/batch`.
    pub path: String,
    pub event_type: String,
    pub connections: usize,
    pub shape: Shape,
    /// Events per request: 1 posts single events; more posts `{"events":[…]}` batches.
    pub batch: u64,
    /// The first sequence number.
    pub first_seq: u64,
    /// In `Count` runs, how often a failed request is sent again before its seqs are given up.
    pub retries: u32,
    pub timeout: Duration,
    /// Events accepted so far, readable while the load runs.
    pub accepted_live: Arc<AtomicU64>,
}

/// What a load run achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests answered 2xx.
    pub ok_requests: u64,
    /// Events the server accepted (202 for singles; items with a `createdDate` for batches).
    pub accepted: u64,
    /// Requests that got no answer (connect, protocol or timeout) or a non-2xx answer.
    pub failed_requests: u64,
    pub non_2xx: u64,
    /// The first failure, to show what went wrong.
    pub first_error: Option<String>,
    /// Seq ranges (start, count) given up after every retry failed.
    pub given_up: Vec<(u64, u64)>,
    /// Latency of every 2xx request.
    pub latencies: Latencies,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// One past the last seq handed out.
    pub next_seq: u64,
}

impl Outcome {
    /// Accepted events per second.
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Per-task state gathered into the [`Outcome`].
#[derive(Default)]
struct TaskOutcome {
    ok_requests: u64,
    accepted: u64,
    failed_requests: u64,
    non_2xx: u64,
    first_error: Option<String>,
    given_up: Vec<(u64, u64)>,
    latencies: Vec<u32>,
}

/// Runs the load to its end and returns what it achieved.
pub async fn run(spec: Spec) -> Outcome {
    let spec = Arc::new(spec);
    let next_seq = Arc::new(AtomicU64::new(spec.first_seq));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(spec.connections);
    for index in 0..spec.connections {
        let spec = spec.clone();
        let next_seq = next_seq.clone();
        tasks.push(tokio::spawn(async move {
            task(&spec, index, &next_seq, start).await
        }));
    }
    let mut outcome = Outcome::default();
    let mut latencies = Vec::new();
    for task in tasks {
        let Ok(t) = task.await else {
            outcome.failed_requests += 1;
            outcome
                .first_error
                .get_or_insert_with(|| "a load task panicked".into());
            continue;
        };
        outcome.ok_requests += t.ok_requests;
        outcome.accepted += t.accepted;
        outcome.failed_requests += t.failed_requests;
        outcome.non_2xx += t.non_2xx;
        if outcome.first_error.is_none() {
            outcome.first_error = t.first_error;
        }
        outcome.given_up.extend(t.given_up);
        latencies.extend(t.latencies);
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies = Latencies::new(latencies);
    outcome.next_seq = match spec.shape {
        Shape::Count(n) => spec.first_seq + n,
        _ => next_seq.load(Ordering::Relaxed),
    };
    outcome
}

async fn task(spec: &Spec, index: usize, next_seq: &AtomicU64, start: Instant) -> TaskOutcome {
    let target = Target::new(spec.addr, spec.token.as_deref());
    let mut link = Link::new(spec.addr);
    let mut out = TaskOutcome::default();
    let mut body = Vec::with_capacity(1100 * spec.batch as usize + 32);
    let batch = spec.batch.max(1);
    let (end_seq, deadline) = match spec.shape {
        Shape::Count(n) => (spec.first_seq + n, None),
        Shape::Closed(d) | Shape::Paced { duration: d, .. } => (u64::MAX, Some(start + d)),
    };
    // Paced: this task sends every `interval`, offset so the tasks interleave.
    let interval = match spec.shape {
        Shape::Paced { rate, .. } => Some(Duration::from_secs_f64(
            spec.connections as f64 * batch as f64 / rate.max(1e-3),
        )),
        _ => None,
    };
    let mut next_send = interval.map(|i| start + i.mul_f64(index as f64 / spec.connections as f64));
    // Bounded by the seq range or the deadline; each pass sends one request.
    loop {
        if let Some(at) = next_send {
            if deadline.is_some_and(|d| at >= d) {
                break;
            }
            tokio::time::sleep_until(at).await;
            next_send = interval.map(|i| at + i);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let first = next_seq.fetch_add(batch, Ordering::Relaxed);
        if first >= end_seq {
            break;
        }
        let n = batch.min(end_seq - first);
        body.clear();
        if spec.batch > 1 {
            write_batch(&mut body, &spec.event_type, first, n, now_us());
        } else {
            write_event(&mut body, &spec.event_type, first, now_us());
        }
        let body = Bytes::copy_from_slice(&body);
        let tries = if deadline.is_none() {
            spec.retries + 1
        } else {
            1
        };
        let mut delivered = false;
        for attempt in 0..tries {
            let req = target.request(Method::POST, &spec.path, Some(body.clone()));
            let sent = Instant::now();
            match link.send(req, spec.timeout).await {
                Ok((status, response)) if status.is_success() => {
                    out.latencies
                        .push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    out.ok_requests += 1;
                    let accepted = if spec.batch > 1 {
                        count(&response, b"\"createdDate\"") as u64
                    } else {
                        n
                    };
                    out.accepted += accepted;
                    spec.accepted_live.fetch_add(accepted, Ordering::Relaxed);
                    delivered = true;
                    break;
                }
                Ok((status, response)) => {
                    out.non_2xx += 1;
                    out.failed_requests += 1;
                    out.first_error.get_or_insert_with(|| {
                        format!("{status}: {}", String::from_utf8_lossy(&response))
                    });
                }
                Err(e) => {
                    out.failed_requests += 1;
                    out.first_error.get_or_insert_with(|| e.to_string());
                }
            }
            if attempt + 1 < tries {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        if !delivered {
            out.given_up.push((first, n));
        }
    }
    out
}
