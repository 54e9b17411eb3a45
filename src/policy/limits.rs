//! Rate limits and concurrency caps per key and per team.
//!
//! Algorithm: GCRA token buckets (see [`super::gcra`]), one per key or team and per
//! kind. `rpm` buckets cost 1 per request. `tpm` buckets are charged at admission
//! with an estimate (the proxy's prompt-token estimate + the request's max output
//! tokens) and corrected at settlement with the real usage: the difference is refunded
//! or charged, so a client that asks for `max_tokens: 4096` and uses 200 gets the rest
//! back. Buckets refill continuously (a key with `rpm: 60` may burst 60, then gets one
//! per second), which is what clients used to OpenAI's limits expect.
//!
//! `max_concurrent` takes a slot at admission and gives it back at settlement (or when
//! the [`super::Admission`] is dropped without settlement). The Redis store leases
//! slots for [`LEASE_TTL`] so a replica that dies mid-request does not leak them.
//!
//! Every response of a limited key gets OpenAI's headers
//! (`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`) for the tightest bucket.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::gcra::{micros, Gcra};
use super::keys::KeyInfo;
use super::store::{AdjustOp, BucketOp, SlotOp};
use crate::config::governance::LimitsConfig;
use crate::edge::header_value;
use crate::error::{ErrorKind, GatewayError};

/// Window of `rpm` and `tpm`.
pub const MINUTE: Duration = Duration::from_secs(60);
/// How long a concurrency slot is held at most if never released (longer than any stream).
pub const LEASE_TTL: Duration = Duration::from_secs(3600);

/// Whose limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Key,
    Team,
}

impl Scope {
    /// The metric-label and store-key spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::Team => "team",
        }
    }
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Requests,
    Tokens,
}

impl Kind {
    /// The metric-label and store-key spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Requests => "rpm",
            Kind::Tokens => "tpm",
        }
    }
}

/// A bucket that applies to a request, with what is needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub scope: Scope,
    pub name: String,
    pub kind: Kind,
    pub limit: u64,
    pub key: Arc<str>,
    /// `limit` as the value of its `x-ratelimit-limit-*` header, made once.
    pub limit_header: HeaderValue,
}

/// A concurrency cap that applies to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub scope: Scope,
    pub name: String,
    pub max: u64,
    pub key: Arc<str>,
}

/// Store key of a bucket.
pub fn bucket_key(scope: Scope, name: &str, kind: Kind) -> String {
    format!("rl:{}:{}:{}", scope.as_str(), name, kind.as_str())
}

/// Store key of a concurrency cap.
pub fn slot_key(scope: Scope, name: &str) -> String {
    format!("cc:{}:{}", scope.as_str(), name)
}

/// The (scope, name, limits) pairs that apply to a key: its own, then its team's.
fn scopes(key: &KeyInfo) -> impl Iterator<Item = (Scope, &str, &LimitsConfig)> {
    let own = std::iter::once((Scope::Key, key.name.as_str(), &key.limits));
    own.chain(
        key.team
            .iter()
            .map(|t| (Scope::Team, t.name.as_str(), &t.limits)),
    )
}

/// Buckets that apply to `key`, keys first, requests before tokens.
pub fn buckets(key: &KeyInfo) -> Vec<Bucket> {
    let mut out = Vec::new();
    for (scope, name, limits) in scopes(key) {
        for (kind, limit) in [(Kind::Requests, limits.rpm), (Kind::Tokens, limits.tpm)] {
            if let Some(limit) = limit {
                let key = bucket_key(scope, name, kind).into();
                out.push(Bucket::new(scope, name, kind, limit, key));
            }
        }
    }
    out
}

/// Concurrency caps that apply to `key`.
pub fn slots(key: &KeyInfo) -> Vec<Slot> {
    scopes(key)
        .filter_map(|(scope, name, limits)| {
            limits.max_concurrent.map(|max| Slot {
                scope,
                name: name.to_string(),
                max,
                key: slot_key(scope, name).into(),
            })
        })
        .collect()
}

impl Bucket {
    /// The bucket of `limit` per minute of `kind` for `scope`/`name`, stored at `key`.
    pub fn new(scope: Scope, name: &str, kind: Kind, limit: u64, key: Arc<str>) -> Bucket {
        Bucket {
            scope,
            name: name.to_string(),
            kind,
            limit,
            key,
            limit_header: header_value::configured_count(limit),
        }
    }

    /// The admission op: 1 request, or the token estimate.
    pub fn take(&self, estimated_tokens: u64) -> BucketOp<'_> {
        let cost = match self.kind {
            Kind::Requests => 1,
            Kind::Tokens => estimated_tokens,
        };
        BucketOp {
            key: &self.key,
            limit: self.limit,
            period: MINUTE,
            cost,
        }
    }

    /// The settlement op of a tokens bucket: real minus estimated.
    pub fn correct(&self, delta: i64) -> Option<AdjustOp<'_>> {
        (self.kind == Kind::Tokens && delta != 0).then_some(AdjustOp {
            key: &self.key,
            limit: self.limit,
            period: MINUTE,
            delta,
        })
    }

    fn gcra(&self) -> Gcra {
        Gcra {
            limit: self.limit,
            period_us: micros(MINUTE),
        }
    }

    /// Units left when the bucket is `until_full` from full.
    pub fn remaining(&self, until_full: Duration) -> u64 {
        self.gcra().remaining(micros(until_full))
    }

    /// The refusal a client sees.
    pub fn refusal(&self, retry_after: Option<Duration>, estimated_tokens: u64) -> GatewayError {
        let who = format!("{} `{}`", self.scope.as_str(), self.name);
        let message = match (self.kind, retry_after) {
            (Kind::Tokens, None) => format!(
                "request too large: about {estimated_tokens} tokens (prompt estimate + max output tokens) \
                 but the {who} allows {} tokens per minute; lower max_tokens",
                self.limit
            ),
            (Kind::Requests, _) => format!("rate limit reached for {who}: {} requests per minute", self.limit),
            (Kind::Tokens, Some(_)) => format!("rate limit reached for {who}: {} tokens per minute", self.limit),
        };
        let err = GatewayError::new(ErrorKind::RateLimited, message);
        match retry_after {
            Some(after) => err.with_retry_after(round_up_ms(after)),
            None => err.with_code("request_too_large"),
        }
    }
}

impl Slot {
    /// The admission op: one slot.
    pub fn take(&self) -> SlotOp<'_> {
        SlotOp {
            key: &self.key,
            max: self.max,
        }
    }

    /// The refusal a client sees; capacity frees when a request ends, so retry soon.
    pub fn refusal(&self) -> GatewayError {
        GatewayError::new(
            ErrorKind::RateLimited,
            format!(
                "too many concurrent requests for {} `{}` (at most {})",
                self.scope.as_str(),
                self.name,
                self.max
            ),
        )
        .with_retry_after(Duration::from_secs(1))
    }
}

fn round_up_ms(d: Duration) -> Duration {
    Duration::from_millis(micros(d).div_ceil(1000))
}

/// OpenAI's reset format: `20ms`, `1.5s`, `6m0s`, `1h2m3s`.
pub fn format_reset(d: Duration) -> String {
    let ms = micros(d).div_ceil(1000);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    if secs < 60 {
        let frac = ms % 1000;
        return match frac {
            0 => format!("{secs}s"),
            f if f % 100 == 0 => format!("{secs}.{}s", f / 100),
            f if f % 10 == 0 => format!("{secs}.{:02}s", f / 10),
            f => format!("{secs}.{f:03}s"),
        };
    }
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else {
        format!("{m}m{s}s")
    }
}

/// A `x-ratelimit-*` header: its name (parsed once, for the whole process) and value.
pub type RateLimitHeader = (&'static HeaderName, HeaderValue);

static REQUEST_NAMES: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-requests"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-reset-requests"),
];
static TOKEN_NAMES: [HeaderName; 3] = [
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
];

/// A reset as a header value; a bucket that is full again (the usual case under a
/// generous limit) needs no formatting.
fn reset_value(until_full: Duration) -> HeaderValue {
    if until_full.is_zero() {
        return HeaderValue::from_static("0ms");
    }
    header_value::owned(format_reset(until_full))
}

/// `x-ratelimit-*` headers for the tightest bucket of each kind.
/// `state[i]` is how long `buckets[i]` is from full after this request.
pub fn headers(buckets: &[Bucket], state: &[Duration]) -> Vec<RateLimitHeader> {
    let mut out = Vec::with_capacity(6);
    for (kind, names) in [
        (Kind::Requests, &REQUEST_NAMES),
        (Kind::Tokens, &TOKEN_NAMES),
    ] {
        let tightest = buckets
            .iter()
            .zip(state)
            .filter(|(b, _)| b.kind == kind)
            .map(|(b, s)| (b, b.remaining(*s), *s))
            .min_by_key(|(b, remaining, _)| (*remaining, u64::MAX - b.limit));
        if let Some((b, remaining, until_full)) = tightest {
            out.push((&names[0], b.limit_header.clone()));
            out.push((&names[1], header_value::count(remaining)));
            out.push((&names[2], reset_value(until_full)));
        }
    }
    out
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
