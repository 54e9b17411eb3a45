//! Response cache (exact match): answers to repeated requests served without an
//! upstream call, in the client's own dialect.
//!
//! - `key`: the entry key — a SHA-256 of the canonical request after routing (route,
//!   the route's cache version, messages, tools, sampling…; not `stream`, not the
//!   dialect) within the route's namespace (key, team or everyone);
//! - [`CacheStore`]: the in-memory store on `moka` (bounded by bytes through a weigher,
//!   TinyLFU admission, per-entry TTL), kept across reloads;
//! - `serve`: the lookup after admission and the answer of a hit (JSON or a
//!   synthesised event stream, `x-tollgate-cache` and `age` headers);
//! - `record`: storing complete `200` answers — non-streaming bodies, and streams
//!   assembled while they pass (stored only when they ended normally).
//!
//! Entries keep the upstream's body in its own wire format: a hit in the same dialect
//! is the original bytes; another dialect is translated by the format modules.

mod key;
pub mod metrics;
mod record;
mod serve;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use moka::sync::Cache;
use moka::Expiry;

use crate::formats::WireFormat;
use crate::model::Usage;

pub use key::request_key;
pub use record::{
    on_body as record_chunk, on_client_json as record_client_json, on_end as record_end,
    on_json as record_json, on_response_start,
};
pub use serve::{lookup, response_header};

/// What the cache did for a request (header `x-tollgate-cache`, metric, access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// The route does not cache, or the request is not a chat request.
    #[default]
    NotCached,
    Hit,
    Miss,
    /// The client skipped the lookup (`no-cache`, `no-store`).
    Bypass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NotCached => "",
            Outcome::Hit => "hit",
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
}

impl Entry {
    fn weight(&self) -> u32 {
        // Key, the entry's own fields and the moka node: about 160 bytes beyond the body.
        let size = self.body.len() + self.route.len() + self.namespace.len() + 160;
        u32::try_from(size).unwrap_or(u32::MAX)
    }

    /// Whole seconds since the answer was stored (`age` header).
    pub fn age_seconds(&self) -> u64 {
        self.created.elapsed().map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// Each entry lives for its own TTL (the route's, or shorter when the client asked).
struct PerEntryTtl;

impl Expiry<[u8; 32], Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Entry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The in-memory store, bounded by bytes.
pub struct CacheStore {
    entries: Cache<[u8; 32], Arc<Entry>>,
    max_bytes: u64,
}

impl CacheStore {
    pub fn new(max_bytes: u64) -> CacheStore {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_k: &[u8; 32], v: &Arc<Entry>| v.weight())
            .expire_after(PerEntryTtl)
            .support_invalidation_closures()
            .eviction_listener(|_k, _v, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    metrics::EVICTIONS.inc();
                }
            })
            .build();
        CacheStore { entries, max_bytes }
    }

    /// The store to use after a reload: the same one (entries survive) unless its
    /// size bound changed.
    pub fn for_reload(previous: Option<&Arc<CacheStore>>, max_bytes: u64) -> Arc<CacheStore> {
        match previous {
            Some(p) if p.max_bytes == max_bytes => p.clone(),
            _ => Arc::new(CacheStore::new(max_bytes)),
        }
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Entry>> {
        self.entries.get(key)
    }

    pub fn insert(&self, key: [u8; 32], entry: Entry) {
        self.entries.insert(key, Arc::new(entry));
        self.update_gauges();
    }

    /// Drops every entry, or those of one route and/or namespace; returns how many
    /// entries were present before (the removal itself completes in the background).
    pub fn invalidate(&self, route: Option<&str>, namespace: Option<&str>) -> u64 {
        let before = self.entries.entry_count();
        match (route, namespace) {
            (None, None) => self.entries.invalidate_all(),
            _ => {
                let route = route.map(str::to_owned);
                let namespace = namespace.map(str::to_owned);
                let matched = self.entries.invalidate_entries_if(move |_k, e| {
                    route.as_deref().is_none_or(|r| &*e.route == r)
                        && namespace.as_deref().is_none_or(|n| &*e.namespace == n)
                });
                if let Err(e) = matched {
                    log::error!("cache invalidation failed: {e}");
                }
            }
        }
        self.entries.run_pending_tasks();
        self.update_gauges();
        before
    }

    fn update_gauges(&self) {
        metrics::ENTRIES.set(i64::try_from(self.entries.entry_count()).unwrap_or(i64::MAX));
        metrics::BYTES.set(i64::try_from(self.entries.weighted_size()).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
