//! The endpoint lease: an attempt's hold on an endpoint. The in-flight count, the
//! half-open probe slots and the retry-budget slot it took are given back when it is
//! dropped, on every path (success, failure, retry, client disconnect, panic), so
//! `least_inflight` and `latency` balancing never drift.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::health::Breaker;
use super::pool::EndpointPool;

/// An attempt's hold on an endpoint: `in_flight`, probe slots and the retry-budget
/// slot are given back when it is dropped, on every path (success, failure, retry,
/// client disconnect, panic).
pub struct EndpointLease {
    pool: Arc<EndpointPool>,
    endpoint: usize,
    probes: Vec<Arc<Breaker>>,
    retry: bool,
}

impl EndpointLease {
    pub(super) fn new(
        pool: Arc<EndpointPool>,
        endpoint: usize,
        probes: Vec<Arc<Breaker>>,
        retry: bool,
    ) -> Self {
        EndpointLease {
            pool,
            endpoint,
            probes,
            retry,
        }
    }

    pub fn pool(&self) -> &Arc<EndpointPool> {
        &self.pool
    }
}

impl Drop for EndpointLease {
    fn drop(&mut self) {
        if let Some(s) = self.pool.stats.get(self.endpoint) {
            let _ = s
                .in_flight
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        for b in &self.probes {
            b.return_probe();
        }
        if self.retry {
            self.pool.budget.release();
        }
    }
}
