//! Response cache: answers to repeated (or, opted in, similar) requests served
//! without an upstream call, in the client's own dialect.
//!
//! - `key`: the entry key — a SHA-256 of the canonical request after routing (route,
//!   the route's cache version, messages, tools, sampling…; not `stream`, not the
//!   dialect) within the route's namespace (key, team or everyone);
//! - [`CacheStore`] (`store`): entries in this process (`memory`: `moka`, bounded by
//!   bytes, TinyLFU admission, per-entry TTL) or in Redis (`redis`: shared by
//!   replicas, TTL'd keys, zstd-compressed values, fail-open), kept across reloads;
//! - `semantic`: the opt-in lookup by embedding similarity and its local index,
//!   kept in step across replicas through a Redis stream;
//! - `serve`: the lookup after admission and the answer of a hit (JSON or a
//!   synthesised event stream, fast or paced, `x-tollgate-cache` and `age` headers);
//! - `record`: storing complete `200` answers — non-streaming bodies, and streams
//!   assembled while they pass (with their inter-chunk gaps; stored only when they
//!   ended normally).
//!
//! Entries keep the upstream's body in its own wire format: a hit in the same dialect
//! is the original bytes; another dialect is translated by the format modules.

mod codec;
mod key;
mod memory;
pub mod metrics;
mod record;
mod redis;
pub mod semantic;
mod serve;
mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::formats::WireFormat;
use crate::model::Usage;

pub use key::request_key;
pub use record::{
    on_body as record_chunk, on_client_json as record_client_json, on_end as record_end,
    on_json as record_json, on_response_start, StreamRecording,
};
pub use serve::{applies, lookup, response_header};
pub use store::CacheStore;

/// What the cache did for a request (header `x-tollgate-cache`, metric, access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// The route does not cache, or the request is not a chat request.
    #[default]
    NotCached,
    Hit,
    /// Answered with the entry of a similar question.
    SemanticHit,
    Miss,
    /// The client skipped the lookup (`no-cache`, `no-store`).
    Bypass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NotCached => "",
            Outcome::Hit => "hit",
            Outcome::SemanticHit => "semantic-hit",
            Outcome::Miss => "miss",
            Outcome::Bypass => "bypass",
        }
    }
}

/// The cache's part of a request's state (`ctx.req.cache`).
#[derive(Default)]
pub struct RequestCache {
    pub outcome: Outcome,
    /// Where the answer is stored, when it may be.
    pub store: Option<PendingStore>,
}

/// Where and for how long an answer of this request is stored.
pub struct PendingStore {
    pub key: [u8; 32],
    pub route: Arc<str>,
    pub namespace: Arc<str>,
    pub ttl: Duration,
    /// The question's scope and vector, when the route looks up semantically.
    pub semantic: Option<([u8; 32], Arc<[f32]>)>,
}

/// A stored answer.
pub struct Entry {
    /// The wire format of `body`.
    pub format: WireFormat,
    /// A complete non-streaming answer.
    pub body: Bytes,
    /// Usage of the answer in the upstream format's accounting (what a hit saves).
    pub usage: Usage,
    /// The upstream model that produced it (the price of what a hit saves).
    pub upstream_model: Arc<str>,
    pub created: SystemTime,
    pub route: Arc<str>,
    pub namespace: Arc<str>,
    ttl: Duration,
    /// Milliseconds between the chunks of the stream it was assembled from (empty
    /// for a non-streaming answer): what `replay: paced` reproduces.
    pub gaps_ms: Vec<u32>,
}

impl Entry {
    /// An answer stored now for `ttl`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        format: WireFormat,
        body: Bytes,
        usage: Usage,
        upstream_model: Arc<str>,
        route: Arc<str>,
        namespace: Arc<str>,
        ttl: Duration,
        gaps_ms: Vec<u32>,
    ) -> Entry {
        Entry {
            format,
            body,
            usage,
            upstream_model,
            created: SystemTime::now(),
            route,
            namespace,
            ttl,
            gaps_ms,
        }
    }

    fn weight(&self) -> u32 {
        // Key, the entry's own fields and allocations, and moka's node and indexes:
        // ~750 bytes beyond the body (`cargo bench --bench cache` measures 1543 bytes
        // of resident memory per entry of a 787-byte answer).
        let size = self.body.len()
            + self.route.len()
            + self.namespace.len()
            + self.gaps_ms.len() * 4
            + 750;
        u32::try_from(size).unwrap_or(u32::MAX)
    }

    /// Whole seconds since the answer was stored (`age` header).
    pub fn age_seconds(&self) -> u64 {
        self.created.elapsed().map(|d| d.as_secs()).unwrap_or(0)
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
