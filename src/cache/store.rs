//! [`CacheStore`]: where entries live — in this process (`memory`) or in Redis
//! (`redis`, shared by replicas) — and the semantic index beside them. Kept across
//! reloads while its settings (and, for Redis, the state section's Redis) stay the
//! same, so a reload does not empty the cache.

use std::sync::Arc;
use std::time::SystemTime;

use super::memory::MemoryStore;
use super::redis::RedisCache;
use super::semantic::{Record, SemanticIndex};
use super::{codec, Entry};
use crate::config::{CacheBackend, CacheSettings, StateSpec};

/// The cache of the process.
pub struct CacheStore {
    settings: CacheSettings,
    /// The state section it was built with (`redis`: whose Redis it uses).
    state: Option<StateSpec>,
    memory: Option<MemoryStore>,
    redis: Option<Arc<RedisCache>>,
    pub semantic: Arc<SemanticIndex>,
}

impl CacheStore {
    /// An in-memory store of `max_bytes`.
    pub fn in_memory(max_bytes: u64) -> CacheStore {
        let settings = CacheSettings {
            max_bytes,
            ..CacheSettings::default()
        };
        CacheStore {
            semantic: Arc::new(SemanticIndex::new(settings.semantic_max_entries)),
            memory: Some(MemoryStore::new(max_bytes)),
            redis: None,
            state: None,
            settings,
        }
    }

    /// The store `settings` ask for; Redis is not contacted until first use beyond a
    /// bounded connection attempt.
    pub async fn build(settings: &CacheSettings, state: &StateSpec) -> Result<CacheStore, String> {
        let semantic = Arc::new(SemanticIndex::new(settings.semantic_max_entries));
        let (memory, redis, state) = match settings.backend {
            CacheBackend::Memory => (Some(MemoryStore::new(settings.max_bytes)), None, None),
            CacheBackend::Redis => {
                let r =
                    RedisCache::from_state(state, settings.timeout, settings.semantic_max_entries)?;
                r.connect_or_warn().await;
                (None, Some(Arc::new(r)), Some(state.clone()))
            }
        };
        Ok(CacheStore {
            settings: settings.clone(),
            state,
            memory,
            redis,
            semantic,
        })
    }

    /// The store after a reload: the previous one (entries and index survive) unless
    /// its settings or its Redis changed.
    pub async fn for_reload(
        previous: Option<&Arc<CacheStore>>,
        settings: &CacheSettings,
        state: &StateSpec,
    ) -> Result<Arc<CacheStore>, String> {
        if let Some(p) = previous {
            let same_redis =
                settings.backend == CacheBackend::Memory || p.state.as_ref() == Some(state);
            if &p.settings == settings && same_redis {
                return Ok(p.clone());
            }
        }
        Ok(Arc::new(CacheStore::build(settings, state).await?))
    }

    /// The entry under `key` (a Redis failure is a miss).
    pub async fn get(&self, route: &str, namespace: &str, key: &[u8; 32]) -> Option<Arc<Entry>> {
        if let Some(m) = &self.memory {
            return m.get(key);
        }
        match &self.redis {
            Some(r) => r.get(route, namespace, key).await.map(Arc::new),
            None => None,
        }
    }

    /// Stores an answer, and its semantic record when the request had one. With Redis
    /// the write happens in the background (under the cache timeout): the response
    /// is never held for it.
    pub fn insert(&self, key: [u8; 32], entry: Entry, record: Option<Record>) {
        let now = codec::unix_ms(SystemTime::now());
        if let Some(r) = &record {
            self.semantic.insert(r, now);
        }
        if let Some(m) = &self.memory {
            m.insert(key, Arc::new(entry));
            return;
        }
        if let Some(r) = &self.redis {
            let r = r.clone();
            tokio::spawn(async move { r.set(&key, &entry, record.as_ref()).await });
        }
    }

    /// Drops every entry, or those of one route and/or namespace, with their semantic
    /// records; returns how many entries there were (memory) or were deleted (Redis).
    pub async fn invalidate(&self, route: Option<&str>, namespace: Option<&str>) -> u64 {
        self.semantic.invalidate(route, namespace);
        if let Some(m) = &self.memory {
            return m.invalidate(route, namespace);
        }
        match &self.redis {
            Some(r) => r.invalidate(route, namespace).await,
            None => 0,
        }
    }

    /// Upkeep tick: with Redis, read the semantic records announced since the last.
    pub async fn sync(&self) {
        if let Some(r) = &self.redis {
            r.sync(&self.semantic).await;
        }
    }

    #[cfg(test)]
    pub(super) fn memory(&self) -> Option<&MemoryStore> {
        self.memory.as_ref()
    }
}
