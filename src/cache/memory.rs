//! The in-process store on `moka`: bounded by bytes through a weigher, TinyLFU
//! admission, each entry with its own TTL, predicate invalidation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use super::{metrics, Entry};

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
pub struct MemoryStore {
    pub(super) entries: Cache<[u8; 32], Arc<Entry>>,
}

impl MemoryStore {
    pub fn new(max_bytes: u64) -> MemoryStore {
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
        MemoryStore { entries }
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Entry>> {
        self.entries.get(key)
    }

    pub fn insert(&self, key: [u8; 32], entry: Arc<Entry>) {
        self.entries.insert(key, entry);
        self.update_gauges();
    }

    /// Drops every entry, or those of one route and/or namespace; returns how many
    /// entries were present before (the removal itself completes in the background).
    pub fn invalidate(&self, route: Option<&str>, namespace: Option<&str>) -> u64 {
        self.entries.run_pending_tasks();
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
