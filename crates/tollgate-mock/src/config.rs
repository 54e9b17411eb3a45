//! The mock's knobs: [`MockConfig`] (set at startup or swapped at runtime) and the
//! per-request [`Knobs`] resolved from it plus `x-mock-*` request headers, which
//! override the configured values for that one request.

use std::time::Duration;

use super::http::RequestHead;

/// Largest `tokens` value honoured (a typo in a header must not allocate gigabytes).
const MAX_TOKENS: usize = 1_000_000;

/// Startup configuration of a mock upstream. Every field has a per-request header
/// override where the field doc names one.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// Sent back as `x-mock-name` on every response, so tests can tell endpoints apart.
    pub name: String,
    /// Tokens per reply (`x-mock-tokens`); the text is `tok0 tok1 ... tok{N-1}`.
    pub tokens: usize,
    /// Delay before the first stream event, in ms (`x-mock-ttft-ms`).
    pub ttft_ms: u64,
    /// Delay between stream token events, in ms (`x-mock-delay-ms`).
    pub delay_ms: u64,
    /// Delay before an answer's header (whole answers, forced errors and streams), in
    /// ms (`x-mock-latency-ms`).
    pub latency_ms: u64,
    /// Answer every API request with this status and a provider-shaped error body
    /// (`x-mock-status`). Only statuses ≥ 400 have an effect.
    pub status: Option<u16>,
    /// Fraction of API requests answered with 500, spread evenly and
    /// deterministically (0.5 fails every second request).
    pub fail_ratio: f64,
    /// Read the request and never answer until the client goes away (`x-mock-hang: 1`).
    pub hang: bool,
    /// `GET /health` answers 503.
    pub unhealthy: bool,
    /// Embedding vector length unless the request sets `dimensions`.
    pub embedding_dims: usize,
    /// Stream this many tokens, then stop sending without closing
    /// (`x-mock-stall-after`).
    pub stall_after: Option<usize>,
    /// Stream this many tokens, then close the connection mid-body
    /// (`x-mock-abort-after`).
    pub abort_after: Option<usize>,
    /// `retry-after` seconds added to forced error answers (`x-mock-retry-after`).
    pub retry_after: Option<u64>,
    /// Largest request body accepted; larger answers 413.
    pub max_body: usize,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
    /// Simulate a prefix cache (chat and messages): `cached_tokens` in usage, time to
    /// first token growing with the uncached prompt. Off by default.
    pub prefix_cache: Option<super::prefix_cache::PrefixCacheConfig>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            name: "mock".to_owned(),
            tokens: 8,
            ttft_ms: 0,
            delay_ms: 0,
            latency_ms: 0,
            status: None,
            fail_ratio: 0.0,
            hang: false,
            unhealthy: false,
            embedding_dims: 8,
            stall_after: None,
            abort_after: None,
            retry_after: None,
            max_body: 64 * 1024 * 1024,
            models: vec![
                "gpt-4o-mini".to_owned(),
                "gpt-4o".to_owned(),
                "text-embedding-3-small".to_owned(),
            ],
            prefix_cache: None,
        }
    }
}

/// The knobs in force for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Knobs {
    pub tokens: usize,
    pub ttft: Duration,
    pub delay: Duration,
    pub latency: Duration,
    pub status: Option<u16>,
    pub hang: bool,
    pub retry_after: Option<u64>,
    pub stall_after: Option<usize>,
    pub abort_after: Option<usize>,
}

impl Knobs {
    /// The configured values, overridden by any well-formed `x-mock-*` header.
    pub fn resolve(cfg: &MockConfig, head: &RequestHead) -> Knobs {
        let mut k = Knobs {
            tokens: cfg.tokens.min(MAX_TOKENS),
            ttft: Duration::from_millis(cfg.ttft_ms),
            delay: Duration::from_millis(cfg.delay_ms),
            latency: Duration::from_millis(cfg.latency_ms),
            status: cfg.status,
            hang: cfg.hang,
            retry_after: cfg.retry_after,
            stall_after: cfg.stall_after,
            abort_after: cfg.abort_after,
        };
        for (name, value) in head.headers() {
            if name.len() > 7 && name[..7].eq_ignore_ascii_case(b"x-mock-") {
                if let Ok(v) = std::str::from_utf8(value) {
                    k.apply(&name[7..], v.trim());
                }
            }
        }
        k
    }

    /// One override; unparsable values are ignored so a bad header never breaks a test
    /// in a confusing way (the configured value stays).
    fn apply(&mut self, knob: &[u8], v: &str) {
        let ms = |v: &str| v.parse().ok().map(Duration::from_millis);
        let lower = knob.to_ascii_lowercase();
        match lower.as_slice() {
            b"tokens" => self.tokens = v.parse().map_or(self.tokens, |n: usize| n.min(MAX_TOKENS)),
            b"ttft-ms" => self.ttft = ms(v).unwrap_or(self.ttft),
            b"delay-ms" => self.delay = ms(v).unwrap_or(self.delay),
            b"latency-ms" => self.latency = ms(v).unwrap_or(self.latency),
            b"status" => self.status = v.parse().ok().or(self.status),
            b"hang" => self.hang = parse_flag(v).unwrap_or(self.hang),
            b"retry-after" => self.retry_after = v.parse().ok().or(self.retry_after),
            b"stall-after" => self.stall_after = v.parse().ok().or(self.stall_after),
            b"abort-after" => self.abort_after = v.parse().ok().or(self.abort_after),
            _ => {}
        }
    }

    /// The forced error status, if one applies (statuses below 400 are ignored).
    pub fn forced_error(&self) -> Option<u16> {
        self.status.filter(|s| (400..=599).contains(s))
    }
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
pub(crate) fn parse_flag(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether request number `n` (0-based) of the fail-ratio sequence should fail:
/// true exactly when `floor((n+1)·r)` steps past `floor(n·r)`, which spreads failures
/// evenly (r = 0.5 fails requests 1, 3, 5, ...; r = 1 fails all).
pub(crate) fn fails(n: u64, ratio: f64) -> bool {
    if ratio <= 0.0 || ratio.is_nan() {
        return false;
    }
    let r = ratio.min(1.0);
    ((n + 1) as f64 * r).floor() > (n as f64 * r).floor()
}
