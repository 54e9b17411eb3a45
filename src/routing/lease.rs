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
    /// Still counted in `in_flight`.
    counted: bool,
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
            counted: true,
        }
    }

    /// The upstream has answered in full: the endpoint no longer works on this
    /// attempt, though its context (and this lease's probe and retry slots) lives on
    /// until the client has it and the request is logged. A client's next request,
    /// sent the moment it has the answer, is balanced on counts without this one.
    pub fn upstream_done(&mut self) {
        if std::mem::replace(&mut self.counted, false) {
            self.uncount();
        }
    }

    fn uncount(&self) {
        if let Some(s) = self.pool.stats.get(self.endpoint) {
            let _ = s
                .in_flight
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    pub fn pool(&self) -> &Arc<EndpointPool> {
        &self.pool
    }
}

impl Drop for EndpointLease {
    fn drop(&mut self) {
        if self.counted {
            self.uncount();
        }
        for b in &self.probes {
            b.return_probe();
        }
        if self.retry {
            self.pool.budget.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_flight(pool: &EndpointPool) -> u64 {
        pool.stats[0].in_flight.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn the_count_goes_back_once_when_the_upstream_is_done() {
        let yaml =
            "providers:\n  - { name: p, format: openai, base_url: \"http://127.0.0.1:9\" }\n";
        let config = crate::config::load_str(yaml, &|_| None).unwrap();
        let pool = Arc::new(EndpointPool::new(&config.providers[0]).await);
        let mut first = pool.lease(0, "m", false, false);
        let second = pool.lease(0, "m", false, false);
        assert_eq!(in_flight(&pool), 2);
        first.upstream_done();
        assert_eq!(in_flight(&pool), 1, "the finished attempt no longer counts");
        first.upstream_done();
        drop(first);
        assert_eq!(in_flight(&pool), 1, "and is not taken off twice");
        drop(second);
        assert_eq!(in_flight(&pool), 0);
    }
}
