//! In-process [`StateStore`]: the default, and the hot path of every request when no
//! Redis is configured.
//!
//! No global lock: state lives in 64 shards of `RwLock<HashMap>`, picked by a hash of
//! the key, each value an atomic on a cache line of its own, updated by
//! compare-and-swap. A thread reaches a key it used before through its own memory of
//! cells, without the shard's lock (`policy::memory_shards`), so concurrent requests
//! of the same key only contend on that key's cache line. The write lock is taken to
//! insert a key, to reset an expired counter, and by the sweep that drops expired
//! counters and full buckets once a minute.
//!
//! An admission touching several buckets takes them one by one and rolls back the
//! ones already taken when a later one refuses; a concurrent request may briefly see
//! the rolled-back units as used (a spurious refusal, never an over-admission).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::gcra::{micros, Gcra, Refusal};
use super::memory_shards::Shards;
use super::store::{
    AdmitOutcome, AdmitRequest, ReadRequest, ReadResult, SettleRequest, StateStore, StoreError,
};

const SWEEP_EVERY_US: u64 = 60_000_000;

/// A source of microseconds for bucket arithmetic; injectable for tests.
pub trait Clock: Send + Sync {
    fn now_us(&self) -> u64;
}

/// Monotonic microseconds that start at the wall-clock time of creation.
#[derive(Debug)]
pub struct MonotonicClock {
    start: Instant,
    base_us: u64,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        let base_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        MonotonicClock {
            start: Instant::now(),
            base_us,
        }
    }
}

impl Clock for MonotonicClock {
    fn now_us(&self) -> u64 {
        self.base_us + micros(self.start.elapsed())
    }
}

/// A clock moved by hand (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `start_us`.
    pub fn new(start_us: u64) -> ManualClock {
        ManualClock(AtomicU64::new(start_us))
    }
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(micros(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A counter with an optional expiry (0 = never).
#[derive(Debug, Default)]
struct Counter {
    value: AtomicI64,
    expires_us: AtomicU64,
}

impl Counter {
    fn live(&self, now: u64) -> bool {
        let e = self.expires_us.load(Ordering::Acquire);
        e == 0 || now < e
    }
}

/// The in-process store.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    buckets: Shards<AtomicU64>,
    counters: Shards<Counter>,
    slots: Shards<AtomicU64>,
    sets: Shards<RwLock<BTreeSet<String>>>,
    next_sweep_us: AtomicU64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_clock(Arc::new(MonotonicClock::default()))
    }
}

impl MemoryStore {
    /// A store on the given clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> MemoryStore {
        let now = clock.now_us();
        MemoryStore {
            clock,
            buckets: Shards::new(),
            counters: Shards::new(),
            slots: Shards::new(),
            sets: Shards::new(),
            next_sweep_us: AtomicU64::new(now + SWEEP_EVERY_US),
        }
    }

    fn take(&self, key: &Arc<str>, g: Gcra, now: u64, cost: u64) -> Result<u64, Refusal> {
        self.buckets.with_arc(key, |cell| {
            let mut cur = cell.load(Ordering::Acquire);
            loop {
                let new = g.take(cur, now, cost)?;
                match cell.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return Ok(new),
                    Err(actual) => cur = actual,
                }
            }
        })
    }

    fn adjust(&self, key: &Arc<str>, g: Gcra, now: u64, delta: i64) {
        self.buckets.with_arc(key, |cell| {
            let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(g.adjust(cur, now, delta))
            });
        });
    }

    fn acquire(&self, key: &Arc<str>, max: u64) -> Result<(), u64> {
        self.slots.with_arc(key, |cell| {
            cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ())
        })
    }

    fn release(&self, key: &Arc<str>) {
        self.slots.with_arc(key, |cell| {
            let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
        });
    }

    fn counter_get(&self, key: &Arc<str>, now: u64) -> i64 {
        self.counters.peek_arc(key, |c| live_value(c, now))
    }

    fn counter_add(&self, key: &Arc<str>, delta: i64, ttl: Option<Duration>, now: u64) -> i64 {
        let expires = ttl.map(|t| now + micros(t)).unwrap_or(0);
        let added = self.counters.with_arc(key, |c| {
            c.live(now).then(|| {
                c.expires_us.store(expires, Ordering::Release);
                c.value.fetch_add(delta, Ordering::AcqRel) + delta
            })
        });
        added.unwrap_or_else(|| {
            // Expired: start over, like a Redis key whose TTL ran out.
            self.counters.reset(
                key,
                Counter {
                    value: AtomicI64::new(delta),
                    expires_us: AtomicU64::new(expires),
                },
            );
            delta
        })
    }

    /// Admission, synchronously.
    fn admit_sync(&self, req: &AdmitRequest) -> AdmitOutcome {
        let now = self.clock.now_us();
        for (index, b) in req.budgets.iter().enumerate() {
            let spent = self.counter_get(b.key, now);
            if spent >= b.limit {
                return AdmitOutcome::OverBudget { index, spent };
            }
        }
        let mut until_full = Vec::with_capacity(req.buckets.len());
        for (index, b) in req.buckets.iter().enumerate() {
            let g = gcra_of(b.limit, b.period);
            match self.take(b.key, g, now, b.cost) {
                Ok(tat) => until_full.push(Duration::from_micros(tat - now)),
                Err(refusal) => {
                    self.undo_buckets(req, index, now);
                    let retry_after = match refusal {
                        Refusal::RetryAfter(us) => Some(Duration::from_micros(us)),
                        Refusal::TooLarge => None,
                    };
                    return AdmitOutcome::RateLimited { index, retry_after };
                }
            }
        }
        for (index, s) in req.slots.iter().enumerate() {
            if let Err(in_use) = self.acquire(s.key, s.max) {
                req.slots[..index].iter().for_each(|s| self.release(s.key));
                self.undo_buckets(req, req.buckets.len(), now);
                return AdmitOutcome::Concurrency { index, in_use };
            }
        }
        AdmitOutcome::Admitted { until_full }
    }

    /// Gives back what the first `taken` buckets of `req` took.
    fn undo_buckets(&self, req: &AdmitRequest, taken: usize, now: u64) {
        for b in &req.buckets[..taken] {
            let cost = i64::try_from(b.cost).unwrap_or(i64::MAX);
            self.adjust(b.key, gcra_of(b.limit, b.period), now, -cost);
        }
    }

    /// Settlement, synchronously.
    fn settle_sync(&self, req: &SettleRequest) -> Vec<i64> {
        let now = self.clock.now_us();
        for a in &req.adjust {
            self.adjust(a.key, gcra_of(a.limit, a.period), now, a.delta);
        }
        req.release.iter().for_each(|k| self.release(k));
        let values = req
            .counters
            .iter()
            .map(|c| self.counter_add(c.key, c.delta, c.ttl, now))
            .collect();
        for (set, member) in &req.members {
            self.sets.with(set, |s| {
                let known = s.read().unwrap_or_else(|e| e.into_inner()).contains(member);
                if !known {
                    s.write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(member.clone());
                }
            });
        }
        self.maybe_sweep(now);
        values
    }

    /// Drops expired counters and full buckets, at most once a minute, by one thread.
    fn maybe_sweep(&self, now: u64) {
        let due = self.next_sweep_us.load(Ordering::Acquire);
        if now < due
            || self
                .next_sweep_us
                .compare_exchange(
                    due,
                    now + SWEEP_EVERY_US,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        self.counters.retain(|c| c.live(now));
        self.buckets.retain(|tat| tat.load(Ordering::Acquire) > now);
    }

    fn read_now(&self, req: &ReadRequest) -> ReadResult {
        let now = self.clock.now_us();
        ReadResult {
            buckets: req
                .buckets
                .iter()
                .map(|k| {
                    let tat = self
                        .buckets
                        .peek(k, |c| c.map_or(0, |c| c.load(Ordering::Acquire)));
                    Duration::from_micros(tat.saturating_sub(now))
                })
                .collect(),
            counters: req
                .counters
                .iter()
                .map(|k| self.counters.peek(k, |c| live_value(c, now)))
                .collect(),
            slots: req
                .slots
                .iter()
                .map(|k| {
                    self.slots
                        .peek(k, |c| c.map_or(0, |c| c.load(Ordering::Acquire)))
                })
                .collect(),
            sets: req
                .sets
                .iter()
                .map(|k| {
                    self.sets.peek(k, |s| {
                        s.map(|s| {
                            s.read()
                                .unwrap_or_else(|e| e.into_inner())
                                .iter()
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default()
                    })
                })
                .collect(),
        }
    }
}

/// A counter's value, 0 when absent or expired.
fn live_value(c: Option<&Counter>, now: u64) -> i64 {
    match c {
        Some(c) if c.live(now) => c.value.load(Ordering::Acquire),
        _ => 0,
    }
}

/// The bucket shape of a limit over a period.
pub(crate) fn gcra_of(limit: u64, period: Duration) -> Gcra {
    Gcra {
        limit,
        period_us: micros(period),
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn admit(&self, req: &AdmitRequest) -> Result<AdmitOutcome, StoreError> {
        Ok(self.admit_sync(req))
    }

    async fn settle(&self, req: &SettleRequest) -> Result<Vec<i64>, StoreError> {
        Ok(self.settle_sync(req))
    }

    fn admit_now(&self, req: &AdmitRequest) -> Option<Result<AdmitOutcome, StoreError>> {
        Some(Ok(self.admit_sync(req)))
    }

    fn settle_now(&self, req: &SettleRequest) -> Option<Result<Vec<i64>, StoreError>> {
        Some(Ok(self.settle_sync(req)))
    }

    async fn read(&self, req: &ReadRequest) -> Result<ReadResult, StoreError> {
        Ok(self.read_now(req))
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
#[path = "memory_store_tests.rs"]
mod tests;
