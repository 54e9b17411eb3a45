//! The response cache's Prometheus metrics. Label values are configured route names
//! and the fixed outcome names, never request data.

use once_cell::sync::Lazy;
use prometheus::{CounterVec, IntCounter, IntCounterVec, IntGauge, Opts};

use super::Outcome;
use crate::metrics::registered as register;

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(
        IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|_| unreachable_metric()),
    )
}

fn unreachable_metric<T>() -> T {
    unreachable!("metric definitions are constant and valid")
}

pub static REQUESTS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_cache_requests_total",
        "Cacheable requests by route and cache outcome (hit, semantic-hit, miss, bypass)",
        &["route", "result"],
    )
});

pub static TOKENS_SAVED: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_cache_tokens_saved_total",
        "Upstream tokens (input + output) not spent thanks to cache hits",
        &["route"],
    )
});

pub static USD_SAVED: Lazy<CounterVec> = Lazy::new(|| {
    let opts = Opts::new(
        "tollgate_cache_saved_usd_total",
        "Upstream cost (USD, from the price table) not spent thanks to cache hits",
    );
    register(CounterVec::new(opts, &["route"]).unwrap_or_else(|_| unreachable_metric()))
});

pub static EVICTIONS: Lazy<IntCounter> = Lazy::new(|| {
    let c = IntCounter::new(
        "tollgate_cache_evictions_total",
        "Entries evicted to keep the cache within its size bound",
    )
    .unwrap_or_else(|_| unreachable_metric());
    register(c)
});

pub static ENTRIES: Lazy<IntGauge> = Lazy::new(|| {
    let g = IntGauge::new("tollgate_cache_entries", "Entries in the response cache")
        .unwrap_or_else(|_| unreachable_metric());
    register(g)
});

pub static BYTES: Lazy<IntGauge> = Lazy::new(|| {
    let g = IntGauge::new(
        "tollgate_cache_bytes",
        "Weighted size of the response cache (keys and stored answers)",
    )
    .unwrap_or_else(|_| unreachable_metric());
    register(g)
});

pub static ERRORS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_cache_errors_total",
        "Failed or timed-out cache backend calls (each a miss: fail-open), by operation",
        &["backend", "op"],
    )
});

pub static EMBEDDING_ERRORS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_cache_embedding_errors_total",
        "Semantic lookups skipped because the embedding call failed or timed out",
        &["route"],
    )
});

pub static SEMANTIC_ENTRIES: Lazy<IntGauge> = Lazy::new(|| {
    let g = IntGauge::new(
        "tollgate_cache_semantic_entries",
        "Entries in this process's semantic index",
    )
    .unwrap_or_else(|_| unreachable_metric());
    register(g)
});

/// Backend operations counted in `tollgate_cache_errors_total`.
const REDIS_OPS: [&str; 5] = ["get", "set", "announce", "sync", "invalidate"];

/// Registers every series at start (and for new routes on reload), at zero.
/// `cached_routes`: each cached route's name and whether it looks up semantically.
pub fn init<'a>(cached_routes: impl Iterator<Item = (&'a str, bool)>) {
    Lazy::force(&EVICTIONS);
    Lazy::force(&ENTRIES);
    Lazy::force(&BYTES);
    Lazy::force(&SEMANTIC_ENTRIES);
    for op in REDIS_OPS {
        ERRORS.with_label_values(&["redis", op]);
    }
    for (route, semantic) in cached_routes {
        let outcomes: &[Outcome] = if semantic {
            &[
                Outcome::Hit,
                Outcome::SemanticHit,
                Outcome::Miss,
                Outcome::Bypass,
            ]
        } else {
            &[Outcome::Hit, Outcome::Miss, Outcome::Bypass]
        };
        for o in outcomes {
            REQUESTS.with_label_values(&[route, o.as_str()]);
        }
        TOKENS_SAVED.with_label_values(&[route]);
        USD_SAVED.with_label_values(&[route]);
        if semantic {
            EMBEDDING_ERRORS.with_label_values(&[route]);
        }
    }
}
