//! The Redis backend: entries shared by every replica, and the semantic records that
//! keep every replica's local index in step.
//!
//! It reaches Redis exactly as the state store does (`state:` — one server or a
//! cluster, TLS, key prefix; [`crate::policy::redis_link`]: every call under
//! `cache.timeout_ms`, connecting included, with the same circuit breaker), on a
//! connection of its own so cache traffic never queues behind limit checks. Every
//! failure is a miss (`cache.on_error: fail_open`), counted in
//! `tollgate_cache_errors_total{backend="redis",op}`.
//!
//! Layout, under `<state.key_prefix>cache:` (a hash tag in a cluster, as for the
//! state store: one slot, so `SCAN` on that slot's primary sees every entry):
//! - `e:<route>:<namespace>:<key>` — one entry (see `super::codec`), with the entry's
//!   TTL (`PX`); route and namespace as 16-hex-digit hashes, so `DELETE /admin/cache`
//!   finds a route's or a namespace's entries with one `SCAN MATCH` pattern;
//! - `semantic` — a stream of semantic records, trimmed to about the index bound.
//!   A replica reads it from the start when it starts (so it learns what others
//!   stored before) and then every upkeep tick from where it stopped: a stream, not
//!   pub/sub, so a replica that was disconnected misses nothing that is still there.

use std::sync::Mutex;

use redis::{Cmd, Value};
use sha2::{Digest, Sha256};

use super::semantic::{Record, SemanticIndex};
use super::{codec, metrics, Entry};
use crate::config::{Secret, StateBackend, StateSpec};
use crate::policy::redis_conn::Target;
use crate::policy::redis_link::{kind_str, Link};

/// Records read per `XREAD`, and batches per sync tick (bounds one tick's work).
const SYNC_BATCH: usize = 512;
const SYNC_BATCHES_PER_TICK: usize = 20;
/// Keys per `SCAN` step when invalidating.
const SCAN_COUNT: usize = 1000;

/// The shared store.
pub struct RedisCache {
    link: Link,
    /// `<prefix>cache:` (hash-tagged in a cluster).
    prefix: String,
    /// The last stream id read into the local index.
    cursor: Mutex<String>,
    stream_max: usize,
}

fn short_hash(s: &str) -> String {
    let h = Sha256::digest(s.as_bytes());
    hex::encode(&h[..8])
}

impl RedisCache {
    /// A cache on the Redis of the `state:` section (no I/O yet).
    pub fn from_state(
        state: &StateSpec,
        timeout: std::time::Duration,
        stream_max: usize,
    ) -> Result<RedisCache, String> {
        let target = match &state.backend {
            StateBackend::Redis { url, ca_pem } => Target::single(url.expose(), ca_pem.as_deref())
                .map_err(|e| format!("invalid redis URL or CA: {}", kind_str(&e)))?,
            StateBackend::RedisCluster { seeds, ca_pem } => {
                let seeds: Vec<&str> = seeds.iter().map(Secret::expose).collect();
                Target::cluster(&seeds, ca_pem.as_deref(), timeout)
                    .map_err(|e| format!("invalid redis cluster URLs or CA: {}", kind_str(&e)))?
            }
            StateBackend::Memory => {
                return Err("cache.backend redis needs state.backend redis or redis_cluster".into())
            }
        };
        let prefix = format!("{}cache:", target.key_prefix(&state.key_prefix));
        Ok(RedisCache {
            link: Link::new(target, timeout),
            prefix,
            cursor: Mutex::new("0".to_string()),
            stream_max: stream_max.max(1),
        })
    }

    /// Connects now when it can; the cache works without it (it connects on use).
    pub async fn connect_or_warn(&self) {
        if let Err(e) = self.link.connect_now().await {
            log::warn!("redis response cache not reachable yet ({e}); will retry on use");
        }
    }

    fn entry_key(&self, route: &str, namespace: &str, key: &[u8; 32]) -> String {
        format!(
            "{}e:{}:{}:{}",
            self.prefix,
            short_hash(route),
            short_hash(namespace),
            hex::encode(key)
        )
    }

    fn stream_key(&self) -> String {
        format!("{}semantic", self.prefix)
    }

    fn failed(op: &str, e: &str) {
        metrics::ERRORS.with_label_values(&["redis", op]).inc();
        log::debug!("response cache: redis {op}: {e}");
    }

    /// The entry under `key`, or `None` (absent, unreadable, or Redis failed).
    pub async fn get(&self, route: &str, namespace: &str, key: &[u8; 32]) -> Option<Entry> {
        let k = self.entry_key(route, namespace, key);
        let got = self
            .link
            .call(|mut conn| async move {
                redis::cmd("GET")
                    .arg(&k)
                    .query_async::<Option<Vec<u8>>>(&mut conn)
                    .await
            })
            .await;
        match got {
            Ok(v) => codec::decode_entry(&v?),
            Err(e) => {
                Self::failed("get", &e);
                None
            }
        }
    }

    /// Stores `entry` under `key` for its TTL; then announces `record`, if any.
    pub async fn set(&self, key: &[u8; 32], entry: &Entry, record: Option<&Record>) {
        let Some(value) = codec::encode_entry(entry) else {
            return;
        };
        let k = self.entry_key(&entry.route, &entry.namespace, key);
        let ttl_ms = entry.ttl.as_millis().max(1) as u64;
        let set = self
            .link
            .call(|mut conn| async move {
                redis::cmd("SET")
                    .arg(&k)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        if let Err(e) = set {
            return Self::failed("set", &e);
        }
        let Some(record) = record else { return };
        let stream = self.stream_key();
        let payload = codec::encode_record(record);
        let max = self.stream_max;
        let added = self
            .link
            .call(|mut conn| async move {
                redis::cmd("XADD")
                    .arg(&stream)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max)
                    .arg("*")
                    .arg("r")
                    .arg(payload)
                    .query_async::<Value>(&mut conn)
                    .await
            })
            .await;
        if let Err(e) = added {
            Self::failed("announce", &e);
        }
    }

    /// Reads the semantic records other replicas (and this one) announced since the
    /// last call into `index`.
    pub async fn sync(&self, index: &SemanticIndex) {
        let now = codec::unix_ms(std::time::SystemTime::now());
        for _ in 0..SYNC_BATCHES_PER_TICK {
            let from = self.cursor.lock().map(|c| c.clone()).unwrap_or_default();
            let stream = self.stream_key();
            let read = self
                .link
                .call(|mut conn| async move {
                    redis::cmd("XREAD")
                        .arg("COUNT")
                        .arg(SYNC_BATCH)
                        .arg("STREAMS")
                        .arg(&stream)
                        .arg(&from)
                        .query_async::<Value>(&mut conn)
                        .await
                })
                .await;
            let value = match read {
                Ok(v) => v,
                Err(e) => return Self::failed("sync", &e),
            };
            let records = stream_records(value);
            let n = records.len();
            for (id, payload) in records {
                if let Some(r) = codec::decode_record(&payload) {
                    index.insert(&r, now);
                }
                if let Ok(mut c) = self.cursor.lock() {
                    *c = id;
                }
            }
            if n < SYNC_BATCH {
                return;
            }
        }
    }

    /// Deletes every entry, or those of one route and/or namespace; returns how many.
    pub async fn invalidate(&self, route: Option<&str>, namespace: Option<&str>) -> u64 {
        let pattern = format!(
            "{}e:{}:{}:*",
            glob_escape(&self.prefix),
            route.map_or("*".to_string(), short_hash),
            namespace.map_or("*".to_string(), short_hash)
        );
        let mut cursor: u64 = 0;
        let mut deleted = 0u64;
        loop {
            let (pattern, anchor) = (pattern.clone(), self.prefix.clone());
            let step = self
                .link
                .call(|mut conn| async move {
                    let mut scan = Cmd::new();
                    scan.arg("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT);
                    let (next, keys): (u64, Vec<String>) = conn.query_where(scan, &anchor).await?;
                    // All keys share the prefix's slot in a cluster: one UNLINK.
                    let n = if keys.is_empty() {
                        0
                    } else {
                        redis::cmd("UNLINK")
                            .arg(&keys)
                            .query_async::<u64>(&mut conn)
                            .await?
                    };
                    Ok((next, n))
                })
                .await;
            match step {
                Ok((next, n)) => {
                    deleted += n;
                    cursor = next;
                    if cursor == 0 {
                        break;
                    }
                }
                Err(e) => {
                    Self::failed("invalidate", &e);
                    break;
                }
            }
        }
        if route.is_none() && namespace.is_none() {
            let stream = self.stream_key();
            let _ = self
                .link
                .call(|mut conn| async move {
                    redis::cmd("DEL")
                        .arg(&stream)
                        .query_async::<u64>(&mut conn)
                        .await
                })
                .await;
        }
        deleted
    }
}

/// `*?[]\` escaped for a `SCAN MATCH` pattern (the configured prefix may hold any).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `(id, r)` pairs of an `XREAD` answer (RESP2: `[[stream, [[id, [field, value…]]…]]]`
/// or nil; RESP3 may send the outer level as a map).
fn stream_records(v: Value) -> Vec<(String, Vec<u8>)> {
    let streams = match v {
        Value::Array(s) => s
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else {
            continue;
        };
        for e in entries {
            let Value::Array(mut parts) = e else { continue };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop();
            let id = match parts.pop() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
                Some(Value::SimpleString(s)) => s,
                _ => continue,
            };
            let Some(Value::Array(fields)) = fields else {
                continue;
            };
            let payload = fields
                .chunks_exact(2)
                .find_map(|kv| match (&kv[0], &kv[1]) {
                    (Value::BulkString(k), Value::BulkString(v)) if k == b"r" => Some(v.clone()),
                    _ => None,
                });
            out.push((id, payload.unwrap_or_default()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xread_answers_are_read_in_order() {
        let bulk = |s: &[u8]| Value::BulkString(s.to_vec());
        let v = Value::Array(vec![Value::Array(vec![
            bulk(b"tollgate:cache:semantic"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk(b"1-0"),
                    Value::Array(vec![bulk(b"r"), bulk(b"ab")]),
                ]),
                Value::Array(vec![
                    bulk(b"2-0"),
                    Value::Array(vec![bulk(b"r"), bulk(b"cd")]),
                ]),
            ]),
        ])]);
        let got = stream_records(v);
        assert_eq!(
            got,
            vec![
                ("1-0".into(), b"ab".to_vec()),
                ("2-0".into(), b"cd".to_vec())
            ]
        );
        assert!(stream_records(Value::Nil).is_empty());
        assert_eq!(glob_escape("a*b[c]"), "a\\*b\\[c\\]");
    }
}
