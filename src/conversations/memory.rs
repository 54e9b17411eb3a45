//! The in-process document store: a `moka` cache bounded by bytes (key and value
//! counted), each entry living for its own TTL. Eviction under pressure drops the
//! least useful conversations first (TinyLFU), never grows past the bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::sync::Cache;
use moka::Expiry;

use crate::policy::store::{DocStore, StoreError};

struct Doc {
    bytes: Vec<u8>,
    ttl: Duration,
}

struct PerDocTtl;

impl Expiry<String, Arc<Doc>> for PerDocTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        doc: &Arc<Doc>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(doc.ttl)
    }
}

/// Documents in this process.
pub struct MemoryDocs {
    docs: Cache<String, Arc<Doc>>,
}

impl MemoryDocs {
    pub fn new(max_bytes: u64) -> MemoryDocs {
        let docs = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, d: &Arc<Doc>| {
                // The key, the value and about 100 bytes of entry and node overhead.
                u32::try_from(k.len() + d.bytes.len() + 100).unwrap_or(u32::MAX)
            })
            .expire_after(PerDocTtl)
            .build();
        MemoryDocs { docs }
    }
}

#[async_trait]
impl DocStore for MemoryDocs {
    async fn get_doc(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.docs.get(key).map(|d| d.bytes.clone()))
    }

    async fn put_doc(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let doc = Doc {
            bytes: value.to_vec(),
            ttl,
        };
        self.docs.insert(key.to_string(), Arc::new(doc));
        Ok(())
    }

    async fn delete_doc(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.docs.remove(key).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_and_expiry() {
        let m = MemoryDocs::new(1 << 20);
        m.put_doc("a", b"one", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(m.get_doc("a").await.unwrap().as_deref(), Some(&b"one"[..]));
        assert!(m.delete_doc("a").await.unwrap());
        assert!(!m.delete_doc("a").await.unwrap());
        assert_eq!(m.get_doc("a").await.unwrap(), None);
        m.put_doc("b", b"two", Duration::from_millis(1))
            .await
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(m.get_doc("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn stays_within_its_bound() {
        let m = MemoryDocs::new(64 * 1024);
        let value = vec![b'x'; 1024];
        for i in 0..500 {
            m.put_doc(&format!("k{i}"), &value, Duration::from_secs(60))
                .await
                .unwrap();
        }
        m.docs.run_pending_tasks();
        assert!(
            m.docs.weighted_size() <= 64 * 1024,
            "{}",
            m.docs.weighted_size()
        );
    }
}
