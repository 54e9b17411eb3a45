//! [`DocStore`] on the Redis store: plain `GET`, `SET … PX` and `DEL` over the same
//! connection, timeout, breaker and key prefix as the limit scripts, so stored
//! conversations are shared by every replica on that Redis (or Redis Cluster).

use std::time::Duration;

use async_trait::async_trait;

use super::redis_store::RedisStore;
use super::store::{DocStore, StoreError};

#[async_trait]
impl DocStore for RedisStore {
    async fn get_doc(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.full_key(key));
        self.command(&cmd).await
    }

    async fn put_doc(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        let ttl_ms = (ttl.as_millis() as u64).max(1);
        cmd.arg(self.full_key(key)).arg(value).arg("PX").arg(ttl_ms);
        self.command::<()>(&cmd).await
    }

    async fn delete_doc(&self, key: &str) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.full_key(key));
        let removed: u64 = self.command(&cmd).await?;
        Ok(removed > 0)
    }
}
