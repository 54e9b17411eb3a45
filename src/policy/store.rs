//! The shared-state seam: the few atomic operations rate limits, concurrency caps and
//! budgets need, behind one small trait with an in-process implementation
//! ([`super::memory_store::MemoryStore`]) and a Redis one
//! ([`super::redis_store::RedisStore`]) for several replicas.
//!
//! The operations are compound on purpose: one admission is one call (one Redis round
//! trip running one Lua script), so a request that passes the key's bucket but fails
//! the team's takes nothing from either, and one settlement is one call too.
//!
//! Keys are plain strings built by the policy (`rl:key:<name>:rpm`, `spend:team:<name>:d:20250101`);
//! the Redis store prefixes them. Operations borrow them from the policy, which keeps
//! them in `Arc`s per key and day: cloning those on every request wrote their counts,
//! shared by every worker thread, a dozen times a request (and the memory store finds
//! its cells by the `Arc`'s address). Money is counted in integer nano-dollars so that sums
//! are exact and Redis `INCRBY` can be used.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// Take `cost` units from a GCRA token bucket that holds `limit` units and refills
/// fully over `period` (see [`super::gcra`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketOp<'a> {
    pub key: &'a Arc<str>,
    pub limit: u64,
    pub period: Duration,
    pub cost: u64,
}

/// Admission requires the counter at `key` to be below `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetOp<'a> {
    pub key: &'a Arc<str>,
    pub limit: i64,
}

/// Admission takes one of `max` concurrency slots at `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotOp<'a> {
    pub key: &'a Arc<str>,
    pub max: u64,
}

/// Everything one request needs to be admitted, checked and taken atomically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdmitRequest<'a> {
    pub buckets: Vec<BucketOp<'a>>,
    pub budgets: Vec<BudgetOp<'a>>,
    pub slots: Vec<SlotOp<'a>>,
    /// Identifies this request's slot leases (unique across replicas).
    pub lease_id: u64,
    /// A slot not released within this time is reclaimed (a replica that died
    /// mid-request must not leak capacity forever). Memory ignores it.
    pub lease_ttl: Duration,
}

/// Result of an admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdmitOutcome {
    /// Everything was taken. For each bucket (same order as the request): how long
    /// until it is full again.
    Admitted { until_full: Vec<Duration> },
    /// `buckets[index]` has no room. `retry_after` is None when the cost exceeds the
    /// bucket's whole capacity (waiting will not help).
    RateLimited {
        index: usize,
        retry_after: Option<Duration>,
    },
    /// `budgets[index]` is spent (`spent` is the counter value).
    OverBudget { index: usize, spent: i64 },
    /// `slots[index]` is full.
    Concurrency { index: usize, in_use: u64 },
}

/// Move a bucket by `delta` units after the fact (negative = refund), without any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustOp<'a> {
    pub key: &'a Arc<str>,
    pub limit: u64,
    pub period: Duration,
    pub delta: i64,
}

/// Add `delta` to a counter; `ttl` (re)arms its expiry, None keeps it forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterOp<'a> {
    pub key: &'a Arc<str>,
    pub delta: i64,
    pub ttl: Option<Duration>,
}

/// The end of a request: correct buckets, release slots, add counters, remember names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettleRequest<'a> {
    pub adjust: Vec<AdjustOp<'a>>,
    /// Slot keys to release this request's lease from.
    pub release: Vec<&'a Arc<str>>,
    pub lease_id: u64,
    pub counters: Vec<CounterOp<'a>>,
    /// `(set key, member)` pairs to add (e.g. the models that have spend).
    pub members: Vec<(String, String)>,
}

impl SettleRequest<'_> {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.adjust.is_empty()
            && self.release.is_empty()
            && self.counters.is_empty()
            && self.members.is_empty()
    }
}

/// A read-only snapshot for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadRequest {
    /// Bucket keys; the answer is how long until each is full (zero = full).
    pub buckets: Vec<String>,
    pub counters: Vec<String>,
    /// Slot keys; the answer is how many are in use.
    pub slots: Vec<String>,
    /// Set keys; the answer is their members.
    pub sets: Vec<String>,
}

/// Answer to a [`ReadRequest`], each vector in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadResult {
    pub buckets: Vec<Duration>,
    pub counters: Vec<i64>,
    pub slots: Vec<u64>,
    pub sets: Vec<Vec<String>>,
}

/// Why a store call failed (unreachable, timed out, bad answer). The message never
/// contains connection credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
}

impl StoreError {
    /// An error with a message (no credentials in it).
    pub fn new(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// Shared state for limits and budgets. Implementations must make `admit` atomic per
/// call (all or nothing) and bound every call in time.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Checks budgets, takes from every bucket and one lease of every slot, or nothing.
    async fn admit(&self, req: &AdmitRequest) -> Result<AdmitOutcome, StoreError>;

    /// Applies a settlement; returns the new value of each counter in `req.counters`.
    async fn settle(&self, req: &SettleRequest) -> Result<Vec<i64>, StoreError>;

    /// [`Self::admit`] without a future, when the backend answers without waiting
    /// (memory): `None` when the caller must await `admit`. A boxed future and its
    /// poll for an answer that is ready at once cost more than the admission itself.
    fn admit_now(&self, _req: &AdmitRequest) -> Option<Result<AdmitOutcome, StoreError>> {
        None
    }

    /// [`Self::settle`] without a future, when the backend can (memory): `None` when
    /// the caller must await `settle` (nothing was applied then).
    fn settle_now(&self, _req: &SettleRequest) -> Option<Result<Vec<i64>, StoreError>> {
        None
    }

    /// Reads bucket, counter, slot and set state without changing it.
    async fn read(&self, req: &ReadRequest) -> Result<ReadResult, StoreError>;

    /// `memory` or `redis`: the `backend` label of `tollgate_state_errors_total`.
    fn backend(&self) -> &'static str;

    /// The same backend as a document store, when it is shared by replicas (Redis).
    /// The in-process store has none: documents then live in a bounded store of
    /// their owner (see `crate::conversations`).
    fn docs(&self) -> Option<&dyn DocStore> {
        None
    }
}

/// Whole documents under a key with an expiry (stored Responses conversations):
/// written once, read, deleted. Every call is bounded in time like the rest.
#[async_trait]
pub trait DocStore: Send + Sync {
    /// The document at `key`; `None` when absent or expired.
    async fn get_doc(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` at `key` for `ttl`, replacing any previous one.
    async fn put_doc(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Deletes the document at `key`; whether there was one.
    async fn delete_doc(&self, key: &str) -> Result<bool, StoreError>;
}
