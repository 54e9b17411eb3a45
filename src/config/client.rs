//! The `client:` section: clocks and limits on the client side of the gateway, before
//! any upstream is involved. Defaults follow what nginx and Envoy do at the edge.

use std::time::Duration;

use serde::Deserialize;

use super::validate::Ctx;

/// As written in the file; every key optional.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    pub header_timeout_ms: Option<u64>,
    pub body_timeout_ms: Option<u64>,
    pub keepalive_timeout_ms: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_connections_per_ip: Option<u64>,
    pub max_header_bytes: Option<u64>,
    pub max_headers: Option<u64>,
    pub body_memory_bytes: Option<u64>,
}

/// The validated client-side settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLimits {
    /// The whole request header, from the connection's accept or the first byte of a
    /// request on a kept-alive connection (nginx `client_header_timeout` 60 s).
    pub header_timeout: Duration,
    /// Between two reads of the request body (nginx `client_body_timeout` 60 s).
    pub body_timeout: Duration,
    /// An idle kept-alive connection is closed after this (nginx `keepalive_timeout` 75 s).
    pub keepalive_timeout: Duration,
    /// Open client connections per process (0 = no cap).
    pub max_connections: usize,
    /// Open client connections per client IP address (0 = no cap).
    pub max_connections_per_ip: usize,
    /// Size of a request header, request line included (Envoy: 60 KiB).
    pub max_header_bytes: usize,
    /// Number of header lines (Envoy: 100).
    pub max_headers: usize,
    /// All request bodies buffered at once, together (0 = no budget).
    pub body_memory_bytes: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(75),
            max_connections: 10_000,
            max_connections_per_ip: 0,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            body_memory_bytes: 512 << 20,
        }
    }
}

/// Check one key against its range; the default when absent or out of range.
fn ranged(cx: &mut Ctx, key: &str, value: Option<u64>, range: (u64, u64), default: u64) -> u64 {
    match value {
        None => default,
        Some(v) if (range.0..=range.1).contains(&v) => v,
        Some(v) => {
            cx.err(
                format!("client.{key}"),
                format!("{v} is out of range: between {} and {}", range.0, range.1),
            );
            default
        }
    }
}

fn size(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Validate the section (each problem with its key path).
pub(crate) fn build(s: &ClientSection, cx: &mut Ctx) -> ClientLimits {
    let d = ClientLimits::default();
    let ms = |d: Duration| d.as_millis() as u64;
    let hour = 3_600_000;
    ClientLimits {
        header_timeout: Duration::from_millis(ranged(
            cx,
            "header_timeout_ms",
            s.header_timeout_ms,
            (100, hour),
            ms(d.header_timeout),
        )),
        body_timeout: Duration::from_millis(ranged(
            cx,
            "body_timeout_ms",
            s.body_timeout_ms,
            (100, hour),
            ms(d.body_timeout),
        )),
        keepalive_timeout: Duration::from_millis(ranged(
            cx,
            "keepalive_timeout_ms",
            s.keepalive_timeout_ms,
            (1000, hour),
            ms(d.keepalive_timeout),
        )),
        max_connections: size(ranged(
            cx,
            "max_connections",
            s.max_connections,
            (0, 10_000_000),
            d.max_connections as u64,
        )),
        max_connections_per_ip: size(ranged(
            cx,
            "max_connections_per_ip",
            s.max_connections_per_ip,
            (0, 10_000_000),
            0,
        )),
        max_header_bytes: size(ranged(
            cx,
            "max_header_bytes",
            s.max_header_bytes,
            (1024, 1 << 20),
            d.max_header_bytes as u64,
        )),
        max_headers: size(ranged(
            cx,
            "max_headers",
            s.max_headers,
            (8, 256),
            d.max_headers as u64,
        )),
        body_memory_bytes: size(ranged(
            cx,
            "body_memory_bytes",
            s.body_memory_bytes,
            (0, 1 << 40),
            d.body_memory_bytes as u64,
        )),
    }
}
