//! `traces:` — OpenTelemetry trace export over OTLP/HTTP (protobuf), validated with key
//! paths. Absent (or `enabled: false`) means no spans are made and a client's
//! `traceparent` is forwarded upstream untouched, as before.
//!
//! Every setting reloads: a request reads the snapshot it started with (sampling,
//! queue bound), the exporter reads the current one before each batch (endpoint,
//! headers, batch size, timeout).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::errors::key_path;
use super::secret::Secret;
use super::url::{parse_base_url, BaseUrl};
use super::validate::Ctx;

/// The OTLP/HTTP path of traces, used when the endpoint has no path of its own.
pub const DEFAULT_TRACES_PATH: &str = "/v1/traces";
const DEFAULT_QUEUE_SIZE: usize = 2048;
const DEFAULT_BATCH_SIZE: usize = 512;
const DEFAULT_FLUSH_INTERVAL_MS: u64 = 1000;
/// The OTLP exporter specification's default export timeout.
const DEFAULT_EXPORT_TIMEOUT_MS: u64 = 10_000;
const MAX_QUEUE_SIZE: usize = 1 << 20;

/// `traces:` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TracesSection {
    /// Default true once the section is present.
    pub enabled: Option<bool>,
    /// `http(s)://host[:port][/path]` of an OTLP/HTTP receiver; no path means
    /// `/v1/traces` (e.g. `http://otel-collector:4318`).
    pub endpoint: Option<String>,
    /// Extra request headers for the receiver (usually an auth token as `${ENV}`).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Share of new traces recorded, 0.0–1.0 (default 1.0). A client's `traceparent`
    /// decides for its own trace (parent-based sampling).
    pub sample_ratio: Option<f64>,
    /// `service.name` of the resource (default `tollgate`).
    pub service_name: Option<String>,
    /// Spans waiting for export at most; more are dropped and counted (default 2048).
    pub queue_size: Option<usize>,
    /// Spans per export request at most (default 512).
    pub batch_size: Option<usize>,
    /// The longest a span waits before its batch is sent (default 1000 ms).
    pub flush_interval_ms: Option<u64>,
    /// One export request's time limit (default 10000 ms).
    pub export_timeout_ms: Option<u64>,
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct TraceSettings {
    pub endpoint: BaseUrl,
    /// Request path at the receiver.
    pub path: String,
    pub headers: Vec<(String, Secret)>,
    pub sample_ratio: f64,
    pub service_name: String,
    pub queue_size: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub export_timeout: Duration,
}

/// `traces:` → settings; `None` when absent or disabled.
pub(crate) fn build(s: Option<&TracesSection>, cx: &mut Ctx) -> Option<TraceSettings> {
    let s = s?;
    if s.enabled == Some(false) {
        return None;
    }
    let before = cx.count();
    let endpoint = endpoint(s, cx);
    let headers = headers(s, cx);
    let sample_ratio = s.sample_ratio.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_ratio) {
        cx.err(
            "traces.sample_ratio",
            format!("{sample_ratio} is out of range: between 0.0 and 1.0"),
        );
    }
    let service_name = s.service_name.clone().unwrap_or_else(|| "tollgate".into());
    if service_name.trim().is_empty() {
        cx.err(
            "traces.service_name",
            "is empty; remove the key for `tollgate`",
        );
    }
    let queue_size = s.queue_size.unwrap_or(DEFAULT_QUEUE_SIZE);
    if !(1..=MAX_QUEUE_SIZE).contains(&queue_size) {
        cx.err(
            "traces.queue_size",
            format!("{queue_size} is out of range: between 1 and {MAX_QUEUE_SIZE}"),
        );
    }
    let batch_size = s.batch_size.unwrap_or(DEFAULT_BATCH_SIZE.min(queue_size));
    if batch_size == 0 || batch_size > queue_size {
        cx.err(
            "traces.batch_size",
            format!("{batch_size} is out of range: between 1 and traces.queue_size ({queue_size})"),
        );
    }
    let flush_interval = millis(
        s.flush_interval_ms,
        DEFAULT_FLUSH_INTERVAL_MS,
        (10, 60_000),
        "flush_interval_ms",
        cx,
    );
    let export_timeout = millis(
        s.export_timeout_ms,
        DEFAULT_EXPORT_TIMEOUT_MS,
        (100, 60_000),
        "export_timeout_ms",
        cx,
    );
    let endpoint = endpoint?;
    (cx.count() == before).then(|| TraceSettings {
        path: if endpoint.path_prefix.is_empty() {
            DEFAULT_TRACES_PATH.to_string()
        } else {
            endpoint.path_prefix.clone()
        },
        endpoint,
        headers,
        sample_ratio,
        service_name,
        queue_size,
        batch_size,
        flush_interval,
        export_timeout,
    })
}

fn endpoint(s: &TracesSection, cx: &mut Ctx) -> Option<BaseUrl> {
    let path = "traces.endpoint";
    let Some(url) = s.endpoint.as_deref() else {
        cx.err(
            path,
            "is required: the OTLP/HTTP receiver, e.g. http://otel-collector:4318 (or enabled: false)",
        );
        return None;
    };
    match parse_base_url(url) {
        Ok(parsed) => Some(parsed),
        Err(why) => {
            let shown = cx.show(path, url);
            cx.err(path, format!("invalid URL {shown}: {why}"));
            None
        }
    }
}

fn headers(s: &TracesSection, cx: &mut Ctx) -> Vec<(String, Secret)> {
    let mut out = Vec::new();
    for (name, value) in &s.headers {
        let path = key_path("traces.headers", name);
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid_name {
            cx.err(
                path,
                "is not a valid header name (letters, digits, - and _)",
            );
            continue;
        }
        if value.expose().bytes().any(|b| b == b'\r' || b == b'\n') {
            cx.err(path, "contains a line break");
            continue;
        }
        out.push((name.to_ascii_lowercase(), value.clone()));
    }
    out
}

fn millis(
    value: Option<u64>,
    default: u64,
    (min, max): (u64, u64),
    key: &str,
    cx: &mut Ctx,
) -> Duration {
    let ms = value.unwrap_or(default);
    if !(min..=max).contains(&ms) {
        cx.err(
            key_path("traces", key),
            format!("{ms} is out of range: between {min} and {max}"),
        );
    }
    Duration::from_millis(ms)
}

#[cfg(test)]
#[path = "traces_tests.rs"]
mod tests;
