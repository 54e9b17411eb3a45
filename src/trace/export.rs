//! The span queue and the background exporter. A request only ever pushes its
//! finished spans into a bounded in-memory queue (one uncontended lock, no I/O, no
//! await); a span that does not fit is dropped and counted. The exporter, a Pingora
//! background service, takes batches off the queue when one is full or when the
//! flush interval passes, and POSTs each as OTLP/HTTP protobuf with a time limit. A
//! failed export is dropped and counted, not retried: a slow or dead collector must
//! never hold memory or a request back. At shutdown what is queued is sent once more.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use once_cell::sync::Lazy;
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::upstreams::peer::HttpPeer;
use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};
use tokio::sync::Notify;

use super::otlp::encode_export;
use super::span::SpanRecord;
use crate::config::traces::TraceSettings;
use crate::runtime::Gateway;

/// Why spans were dropped (the `reason` label).
pub const DROP_REASONS: [&str; 3] = ["queue_full", "export_failed", "disabled"];

pub static SPANS_EXPORTED: Lazy<Option<IntCounter>> = Lazy::new(|| {
    register_int_counter!(
        "tollgate_trace_spans_exported_total",
        "Spans accepted by the OTLP receiver"
    )
    .map_err(|e| log::error!("metric registration failed: {e}"))
    .ok()
});

pub static SPANS_DROPPED: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    register_int_counter_vec!(
        "tollgate_trace_spans_dropped_total",
        "Spans never exported: queue full, export failed or timed out, tracing disabled",
        &["reason"]
    )
    .map_err(|e| log::error!("metric registration failed: {e}"))
    .ok()
});

/// Registers the trace metrics with zero values (called at start and on reload).
pub fn init_metrics() {
    Lazy::force(&SPANS_EXPORTED);
    if let Some(dropped) = SPANS_DROPPED.as_ref() {
        for reason in DROP_REASONS {
            dropped.with_label_values(&[reason]);
        }
    }
}

fn count_dropped(reason: &str, n: usize) {
    if let Some(dropped) = SPANS_DROPPED.as_ref() {
        dropped.with_label_values(&[reason]).inc_by(n as u64);
    }
}

/// Finished spans waiting for the exporter.
struct SpanQueue {
    spans: Mutex<Vec<SpanRecord>>,
    /// Wakes the exporter when a batch is full.
    batch_ready: Notify,
}

static QUEUE: Lazy<SpanQueue> = Lazy::new(|| SpanQueue {
    spans: Mutex::new(Vec::new()),
    batch_ready: Notify::new(),
});

/// Queue a request's spans for export, never more than `queue_size` in all.
pub fn enqueue(spans: impl IntoIterator<Item = SpanRecord>, settings: &TraceSettings) {
    let mut dropped = 0;
    let full_batch = {
        let Ok(mut queue) = QUEUE.spans.lock() else {
            return;
        };
        for span in spans {
            if queue.len() < settings.queue_size {
                queue.push(span);
            } else {
                dropped += 1;
            }
        }
        queue.len() >= settings.batch_size
    };
    if dropped > 0 {
        count_dropped("queue_full", dropped);
    }
    if full_batch {
        QUEUE.batch_ready.notify_one();
    }
}

/// Up to `max` of the oldest queued spans.
fn take_batch(max: usize) -> Vec<SpanRecord> {
    let Ok(mut queue) = QUEUE.spans.lock() else {
        return Vec::new();
    };
    let n = queue.len().min(max);
    queue.drain(..n).collect()
}

/// The background service that ships queued spans to the configured receiver.
pub struct Exporter {
    pub gateway: Arc<Gateway>,
    connector: Connector,
    /// When a failed export was last logged (one line a minute at most).
    last_warning: Mutex<Option<Instant>>,
}

impl Exporter {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Exporter {
            gateway,
            connector: Connector::new(None),
            last_warning: Mutex::new(None),
        }
    }

    fn settings(&self) -> Option<Arc<TraceSettings>> {
        self.gateway.snapshot().config.traces.clone()
    }

    /// Send everything queued now, batch by batch.
    async fn flush(&self) {
        loop {
            let Some(settings) = self.settings() else {
                let n = take_batch(usize::MAX).len();
                if n > 0 {
                    count_dropped("disabled", n);
                }
                return;
            };
            let batch = take_batch(settings.batch_size);
            if batch.is_empty() {
                return;
            }
            let n = batch.len();
            let body = encode_export(&settings.service_name, &batch);
            drop(batch);
            let sent = tokio::time::timeout(settings.export_timeout, self.post(&settings, body));
            match sent.await {
                Ok(Ok(())) => {
                    if let Some(exported) = SPANS_EXPORTED.as_ref() {
                        exported.inc_by(n as u64);
                    }
                }
                Ok(Err(why)) => self.failed(&settings, n, &why),
                Err(_) => self.failed(&settings, n, "timed out"),
            }
        }
    }

    fn failed(&self, settings: &TraceSettings, n: usize, why: &str) {
        count_dropped("export_failed", n);
        let Ok(mut last) = self.last_warning.lock() else {
            return;
        };
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            log::warn!(
                "trace export to {} failed ({why}); {n} spans dropped (counted in tollgate_trace_spans_dropped_total)",
                settings.endpoint.normalized
            );
        }
    }

    /// One OTLP/HTTP request; Ok on a 2xx answer.
    async fn post(&self, settings: &TraceSettings, body: Vec<u8>) -> Result<(), String> {
        let ep = &settings.endpoint;
        let addr = tokio::net::lookup_host((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", ep.host))?
            .next()
            .ok_or_else(|| format!("{} has no address", ep.host))?;
        let mut peer = HttpPeer::new(addr, ep.tls, ep.host.clone());
        peer.options.connection_timeout = Some(settings.export_timeout);
        peer.options.read_timeout = Some(settings.export_timeout);
        peer.options.write_timeout = Some(settings.export_timeout);
        let (mut session, _) = self
            .connector
            .get_http_session(&peer)
            .await
            .map_err(|e| e.to_string())?;
        let req = request_header(settings, body.len()).map_err(|e| e.to_string())?;
        session
            .write_request_header(Box::new(req))
            .await
            .map_err(|e| e.to_string())?;
        session
            .write_request_body(Bytes::from(body), true)
            .await
            .map_err(|e| e.to_string())?;
        session
            .finish_request_body()
            .await
            .map_err(|e| e.to_string())?;
        session
            .read_response_header()
            .await
            .map_err(|e| e.to_string())?;
        let status = session.response_header().map_or(0, |r| r.status.as_u16());
        // Read the (small) answer to the end so the connection can be reused.
        while let Some(_chunk) = session
            .read_response_body()
            .await
            .map_err(|e| e.to_string())?
        {}
        self.connector
            .release_http_session(session, &peer, Some(Duration::from_secs(30)))
            .await;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("status {status}"))
        }
    }
}

fn request_header(settings: &TraceSettings, len: usize) -> pingora::Result<RequestHeader> {
    let mut req = RequestHeader::build("POST", settings.path.as_bytes(), Some(4))?;
    req.insert_header("host", settings.endpoint.host_header())?;
    req.insert_header("content-type", "application/x-protobuf")?;
    req.insert_header("content-length", len.to_string())?;
    for (name, value) in &settings.headers {
        req.insert_header(name.clone(), value.expose())?;
    }
    Ok(req)
}

#[async_trait]
impl BackgroundService for Exporter {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            let interval = self
                .settings()
                .map_or(Duration::from_secs(1), |s| s.flush_interval);
            tokio::select! {
                _ = shutdown.changed() => {
                    self.flush().await;
                    return;
                }
                _ = QUEUE.batch_ready.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
            self.flush().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::span::{SpanKind, SpanStatus};

    fn span() -> SpanRecord {
        SpanRecord {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent: None,
            name: "s".into(),
            kind: SpanKind::Server,
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            attributes: vec![],
            status: SpanStatus::Unset,
        }
    }

    #[test]
    fn the_queue_is_bounded_and_overflow_is_counted() {
        let text = "providers: []\ntraces:\n  endpoint: http://127.0.0.1:1\n  queue_size: 3\n  batch_size: 2\n";
        let config = crate::config::load_str(text, &|_| None).unwrap();
        let settings = config.traces.unwrap();
        init_metrics();
        let dropped = || {
            SPANS_DROPPED
                .as_ref()
                .map_or(0, |m| m.with_label_values(&["queue_full"]).get())
        };
        let before = dropped();
        take_batch(usize::MAX);
        enqueue((0..5).map(|_| span()), &settings);
        assert_eq!(dropped() - before, 2);
        assert_eq!(take_batch(2).len(), 2);
        assert_eq!(take_batch(10).len(), 1);
        assert!(take_batch(10).is_empty());
    }
}
