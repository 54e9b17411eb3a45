//! What the mock remembers about the requests it received: the last
//! [`RING_CAPACITY`] requests (for `GET /__mock/requests` and
//! [`MockServer::requests`](super::MockServer::requests)) and the counters behind
//! `GET /__mock/stats`.
//!
//! A request is recorded as soon as its head is parsed, before its body is read, so
//! requests that hang, fail or are abandoned mid-body are still counted. Entries are
//! live: the body summary, the answered status and the `cancelled` flag are filled in
//! as the exchange progresses. Hot-path cost is one `Arc` and a 2 KiB body-prefix copy;
//! the JSON view is only built when someone asks for it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::http::RequestHead;

/// How many requests `GET /__mock/requests` keeps.
pub const RING_CAPACITY: usize = 100;
/// How many leading body bytes are kept per request.
pub const BODY_PREFIX: usize = 2 * 1024;

/// FNV-1a 64-bit hash: cheap, dependency-free and stable, so tests can compare the
/// body the mock received with the body they expected the gateway to send.
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Summary of a fully received body.
#[derive(Debug)]
pub(crate) struct BodyInfo {
    pub len: usize,
    pub fnv: u64,
    model: Option<String>,
    prefix: Box<[u8]>,
}

impl BodyInfo {
    /// Summarises `body`; `model` is the body's JSON `model` field, if any.
    pub fn new(body: &[u8], model: Option<&str>) -> Self {
        BodyInfo {
            len: body.len(),
            fnv: fnv1a64(body),
            model: model.map(str::to_owned),
            prefix: body[..body.len().min(BODY_PREFIX)].into(),
        }
    }
}

/// One request as it is being served.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Monotonic request number (never reset); also used in generated ids.
    pub seq: u64,
    pub head: RequestHead,
    received: AtomicUsize,
    body: OnceLock<BodyInfo>,
    cancelled: AtomicBool,
    status: AtomicU16,
}

impl Entry {
    pub fn new(seq: u64, head: RequestHead) -> Self {
        Entry {
            seq,
            head,
            received: AtomicUsize::new(0),
            body: OnceLock::new(),
            cancelled: AtomicBool::new(false),
            status: AtomicU16::new(0),
        }
    }

    /// Body bytes received so far (while the body is still arriving).
    pub fn set_received(&self, n: usize) {
        self.received.store(n, Ordering::Relaxed);
    }

    /// Stores the summary of the complete body.
    pub fn finish_body(&self, info: BodyInfo) {
        self.received.store(info.len, Ordering::Relaxed);
        let _ = self.body.set(info);
    }

    /// The complete body's summary, once received.
    pub fn body(&self) -> Option<&BodyInfo> {
        self.body.get()
    }

    /// The client went away before the exchange finished.
    pub fn mark_cancelled(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// The status line the mock answered (recorded when the head is written).
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RecordedRequest {
        let body = self.body.get();
        let headers = self
            .head
            .headers()
            .map(|(n, v)| {
                let name = String::from_utf8_lossy(n).to_ascii_lowercase();
                (name, String::from_utf8_lossy(v).into_owned())
            })
            .collect();
        let status = self.status.load(Ordering::Relaxed);
        RecordedRequest {
            seq: self.seq,
            method: self.head.method().to_owned(),
            path: self.head.target().to_owned(),
            headers,
            body_len: body.map_or(self.received.load(Ordering::Relaxed), |b| b.len),
            body_complete: body.is_some(),
            body_fnv: body.map_or_else(String::new, |b| format!("{:016x}", b.fnv)),
            model: body.and_then(|b| b.model.clone()),
            body_prefix: body.map_or_else(String::new, |b| {
                String::from_utf8_lossy(&b.prefix).into_owned()
            }),
            status: (status != 0).then_some(status),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }
}

/// One received request, as `GET /__mock/requests` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Request number since the mock started (1-based, not reset by `/__mock/reset`).
    pub seq: u64,
    /// Request method.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Every header line in order, names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
    /// Body length (bytes received so far while `body_complete` is false).
    pub body_len: usize,
    /// Whether the whole body arrived.
    pub body_complete: bool,
    /// FNV-1a 64 of the body, 16 lower-case hex digits (empty until complete).
    pub body_fnv: String,
    /// The body's JSON `model` field, if it had one.
    pub model: Option<String>,
    /// The first 2 KiB of the body, lossily decoded as UTF-8.
    pub body_prefix: String,
    /// Status the mock answered, once it wrote a response head.
    pub status: Option<u16>,
    /// The client closed the connection before the exchange finished (while the mock
    /// was reading the body, waiting, hanging, stalling or streaming).
    pub cancelled: bool,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The ring of recent requests plus counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    ring: Mutex<VecDeque<std::sync::Arc<Entry>>>,
    seq: AtomicU64,
    requests: AtomicUsize,
    health_checks: AtomicUsize,
}

impl Recorder {
    /// Next request number.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts and remembers `entry`, dropping the oldest beyond capacity.
    pub fn push(&self, entry: std::sync::Arc<Entry>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == RING_CAPACITY {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// Counts a `GET /health` (kept apart so health probes do not disturb hit counts).
    pub fn count_health(&self) {
        self.health_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted since start or the last reset.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Health probes counted since start or the last reset.
    pub fn health_checks(&self) -> usize {
        self.health_checks.load(Ordering::Relaxed)
    }

    /// The remembered requests, oldest first.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        let entries: Vec<_> = {
            let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            ring.iter().cloned().collect()
        };
        entries.iter().map(|e| e.snapshot()).collect()
    }

    /// Forgets every request and zeroes the counters (request numbers keep growing).
    pub fn reset(&self) {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.requests.store(0, Ordering::Relaxed);
        self.health_checks.store(0, Ordering::Relaxed);
    }
}
