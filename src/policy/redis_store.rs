//! Redis [`StateStore`]: limits, concurrency and spend shared by every replica, and
//! spend that survives restarts.
//!
//! One connection (to a server, or to a Redis Cluster: see [`super::redis_conn`])
//! and three Lua scripts ([`super::redis_scripts`]), invoked by SHA with a transparent
//! reload after a Redis restart. Every call runs under `state.timeout_ms`, connecting
//! included, so a dead or silent Redis never holds a request longer than that.
//!
//! Connection, timeout and breaker: [`super::redis_link`]. Every failure is
//! counted in `tollgate_state_errors_total{backend="redis"}`; the policy then applies
//! `state.on_error`.

use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, FromRedisValue, Script, ScriptInvocation};

use super::metrics;
use super::redis_conn::Target;
use super::redis_link::{kind_str, Link};
use super::redis_scripts;
use super::store::{
    AdmitOutcome, AdmitRequest, ReadRequest, ReadResult, SettleRequest, StateStore, StoreError,
};

/// The Redis-backed store.
pub struct RedisStore {
    link: Link,
    prefix: String,
    admit: Script,
    settle: Script,
    read: Script,
}

impl RedisStore {
    /// Parses the URL (no I/O yet). The error never repeats the URL (it may hold a password).
    pub fn new(url: &str, timeout: Duration, prefix: &str) -> Result<RedisStore, String> {
        RedisStore::with_tls_ca(url, None, timeout, prefix)
    }

    /// [`RedisStore::new`], verifying a `rediss://` server against the CA certificates
    /// of `ca_pem` (PEM) instead of the system roots when given.
    pub fn with_tls_ca(
        url: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
        prefix: &str,
    ) -> Result<RedisStore, String> {
        let target = Target::single(url, ca_pem)
            .map_err(|e| format!("invalid redis URL or CA: {}", kind_str(&e)))?;
        Ok(RedisStore::over(target, timeout, prefix))
    }

    /// A store on a Redis Cluster known by `seeds` (see [`super::redis_conn`] for why
    /// every key then shares one hash tag).
    pub fn cluster(
        seeds: &[&str],
        ca_pem: Option<&[u8]>,
        timeout: Duration,
        prefix: &str,
    ) -> Result<RedisStore, String> {
        let target = Target::cluster(seeds, ca_pem, timeout)
            .map_err(|e| format!("invalid redis cluster URLs or CA: {}", kind_str(&e)))?;
        Ok(RedisStore::over(target, timeout, prefix))
    }

    fn over(target: Target, timeout: Duration, prefix: &str) -> RedisStore {
        RedisStore {
            prefix: target.key_prefix(prefix),
            link: Link::new(target, timeout),
            admit: Script::new(redis_scripts::ADMIT),
            settle: Script::new(redis_scripts::SETTLE),
            read: Script::new(redis_scripts::READ),
        }
    }

    /// Tries to connect now (bounded by the timeout); the store works without it and
    /// connects on first use. Returns the reason when Redis is unreachable.
    pub async fn connect_now(&self) -> Result<(), StoreError> {
        self.link.connect_now().await.map_err(StoreError::new)
    }

    fn key(&self, k: &str) -> String {
        format!("{}{}", self.prefix, k)
    }

    /// Runs one script invocation on the link, counting failures.
    async fn run<T: FromRedisValue>(&self, inv: &ScriptInvocation<'_>) -> Result<T, StoreError> {
        counted(
            self.link
                .call(|mut conn| async move { inv.invoke_async::<T>(&mut conn).await })
                .await,
        )
    }

    /// Runs one plain command on the link, counting failures.
    pub(super) async fn command<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        counted(
            self.link
                .call(|mut conn| async move { cmd.query_async::<T>(&mut conn).await })
                .await,
        )
    }

    /// The full Redis key of a store key (the configured prefix in front).
    pub(super) fn full_key(&self, k: &str) -> String {
        self.key(k)
    }
}

/// A link call's result as the store's, each failure counted and logged.
fn counted<T>(result: Result<T, String>) -> Result<T, StoreError> {
    let result = result.map_err(StoreError::new);
    if let Err(e) = &result {
        metrics::inc(&metrics::STATE_ERRORS, &["redis"], 1);
        log::debug!("state store: {e}");
    }
    result
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn us(d: Duration) -> u64 {
    super::gcra::micros(d)
}

fn lease_member(id: u64) -> String {
    format!("{id:016x}")
}

/// Maps the admit script's answer onto an outcome.
fn admit_outcome(v: &[i64]) -> Result<AdmitOutcome, StoreError> {
    let bad = || StoreError::new("redis admit: malformed script answer");
    let (&status, &index, &value) = match v {
        [s, i, x, ..] => (s, i, x),
        _ => return Err(bad()),
    };
    let index = usize::try_from(index).map_err(|_| bad())?;
    Ok(match status {
        0 => AdmitOutcome::Admitted {
            until_full: v[3..]
                .iter()
                .map(|&u| Duration::from_micros(u.max(0) as u64))
                .collect(),
        },
        1 => AdmitOutcome::RateLimited {
            index,
            retry_after: (value >= 0).then(|| Duration::from_micros(value as u64)),
        },
        2 => AdmitOutcome::OverBudget {
            index,
            spent: value,
        },
        3 => AdmitOutcome::Concurrency {
            index,
            in_use: value.max(0) as u64,
        },
        _ => return Err(bad()),
    })
}

#[async_trait]
impl StateStore for RedisStore {
    async fn admit(&self, req: &AdmitRequest) -> Result<AdmitOutcome, StoreError> {
        let mut inv = self.admit.prepare_invoke();
        for b in &req.buckets {
            inv.key(self.key(b.key));
        }
        for b in &req.budgets {
            inv.key(self.key(b.key));
        }
        for s in &req.slots {
            inv.key(self.key(s.key));
        }
        inv.arg(req.buckets.len())
            .arg(req.budgets.len())
            .arg(req.slots.len());
        inv.arg(lease_member(req.lease_id)).arg(us(req.lease_ttl));
        for b in &req.buckets {
            inv.arg(b.limit.max(1)).arg(us(b.period)).arg(b.cost);
        }
        for b in &req.budgets {
            inv.arg(b.limit);
        }
        for s in &req.slots {
            inv.arg(s.max);
        }
        let answer: Vec<i64> = self.run(&inv).await?;
        admit_outcome(&answer)
    }

    async fn settle(&self, req: &SettleRequest) -> Result<Vec<i64>, StoreError> {
        if req.is_empty() {
            return Ok(Vec::new());
        }
        let mut inv = self.settle.prepare_invoke();
        for a in &req.adjust {
            inv.key(self.key(a.key));
        }
        for c in &req.counters {
            inv.key(self.key(c.key));
        }
        for k in &req.release {
            inv.key(self.key(k));
        }
        for (set, _) in &req.members {
            inv.key(self.key(set));
        }
        inv.arg(req.adjust.len())
            .arg(req.counters.len())
            .arg(req.release.len())
            .arg(req.members.len());
        inv.arg(lease_member(req.lease_id));
        for a in &req.adjust {
            inv.arg(a.limit.max(1)).arg(us(a.period)).arg(a.delta);
        }
        for c in &req.counters {
            inv.arg(c.delta).arg(c.ttl.map(ms).unwrap_or(0));
        }
        for (_, m) in &req.members {
            inv.arg(m);
        }
        self.run(&inv).await
    }

    async fn read(&self, req: &ReadRequest) -> Result<ReadResult, StoreError> {
        let mut inv = self.read.prepare_invoke();
        for k in req
            .buckets
            .iter()
            .chain(&req.counters)
            .chain(&req.slots)
            .chain(&req.sets)
        {
            inv.key(self.key(k));
        }
        inv.arg(req.buckets.len())
            .arg(req.counters.len())
            .arg(req.slots.len())
            .arg(req.sets.len());
        type Answer = (Vec<i64>, Vec<i64>, Vec<i64>, Vec<Vec<String>>);
        let (b, c, s, m): Answer = self.run(&inv).await?;
        Ok(ReadResult {
            buckets: b
                .into_iter()
                .map(|u| Duration::from_micros(u.max(0) as u64))
                .collect(),
            counters: c,
            slots: s.into_iter().map(|n| n.max(0) as u64).collect(),
            sets: m,
        })
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn docs(&self) -> Option<&dyn super::store::DocStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn admit_answers_map_to_outcomes() {
        assert_eq!(
            admit_outcome(&[0, 0, 0, 1_000, 2_000]),
            Ok(AdmitOutcome::Admitted {
                until_full: vec![Duration::from_millis(1), Duration::from_millis(2)]
            })
        );
        assert_eq!(
            admit_outcome(&[1, 1, 5_000]),
            Ok(AdmitOutcome::RateLimited {
                index: 1,
                retry_after: Some(Duration::from_millis(5))
            })
        );
        assert_eq!(
            admit_outcome(&[1, 0, -1]),
            Ok(AdmitOutcome::RateLimited {
                index: 0,
                retry_after: None
            })
        );
        assert_eq!(
            admit_outcome(&[2, 0, 77]),
            Ok(AdmitOutcome::OverBudget {
                index: 0,
                spent: 77
            })
        );
        assert_eq!(
            admit_outcome(&[3, 2, 4]),
            Ok(AdmitOutcome::Concurrency {
                index: 2,
                in_use: 4
            })
        );
        assert!(admit_outcome(&[9, 0, 0]).is_err());
        assert!(admit_outcome(&[0]).is_err());
    }

    #[test]
    fn bad_url_is_rejected_without_echo() {
        let e = RedisStore::new("http://user:hunter2@x", Duration::from_millis(5), "t:")
            .err()
            .unwrap();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(
            RedisStore::new("redis://127.0.0.1:6390/0", Duration::from_millis(5), "t:").is_ok()
        );
    }

    #[tokio::test]
    async fn closed_port_fails_fast_and_opens_the_breaker() {
        // Port 1 on loopback is closed on any sane test machine.
        let s = RedisStore::new("redis://127.0.0.1:1/", Duration::from_millis(200), "t:").unwrap();
        let t = Instant::now();
        assert!(s.read(&ReadRequest::default()).await.is_err());
        // Second call: breaker open, no connect attempt.
        let e = s.read(&ReadRequest::default()).await.err().unwrap();
        assert!(e.message.contains("backing off"), "{e}");
        assert!(t.elapsed() < Duration::from_millis(400));
    }
}
