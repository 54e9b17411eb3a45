//! The retry budget of one provider (Envoy's `retry_budget`, Finagle's `RetryBudget`):
//! retries may add at most `percent` to the requests the provider received over the
//! last `window`, so an outage does not multiply the load on a struggling provider by
//! the retry count. `min_concurrency` retries in flight are always allowed, so a
//! gateway with little traffic still retries a lone failure.
//!
//! Only retries that go back to an endpoint the request already tried draw on it;
//! failing over to another endpoint or a fallback route adds no load to the one
//! that failed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::config::RetryBudgetPolicy;

const BUCKETS: usize = 10;

#[derive(Debug, Default)]
pub struct RetryBudget {
    in_flight: AtomicU32,
    /// `(bucket number, requests, retries)`.
    window: Mutex<[(u64, u32, u32); BUCKETS]>,
}

impl RetryBudget {
    /// A request's first attempt on this provider.
    pub fn note_request(&self, now_ms: u64, policy: &RetryBudgetPolicy) {
        self.bump(now_ms, policy, true);
    }

    /// Take a retry from the budget; `false` when it is spent. A taken retry is given
    /// back with [`RetryBudget::release`] when the attempt ends (the lease does it).
    pub fn try_acquire(&self, now_ms: u64, policy: &RetryBudgetPolicy) -> bool {
        let floor = self.in_flight.load(Ordering::Relaxed) < policy.min_concurrency;
        let (requests, retries) = self.totals(now_ms, policy);
        let share = policy.percent / 100.0 * requests as f64;
        if !floor && (retries + 1) as f64 > share {
            return false;
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.bump(now_ms, policy, false);
        true
    }

    pub fn release(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn retries_in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn bucket(now_ms: u64, policy: &RetryBudgetPolicy) -> u64 {
        now_ms / (policy.window.as_millis() as u64 / BUCKETS as u64).max(1)
    }

    fn bump(&self, now_ms: u64, policy: &RetryBudgetPolicy, request: bool) {
        let n = Self::bucket(now_ms, policy);
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        let slot = &mut w[(n % BUCKETS as u64) as usize];
        if slot.0 != n {
            *slot = (n, 0, 0);
        }
        if request {
            slot.1 = slot.1.saturating_add(1);
        } else {
            slot.2 = slot.2.saturating_add(1);
        }
    }

    /// `(requests, retries)` over the window.
    fn totals(&self, now_ms: u64, policy: &RetryBudgetPolicy) -> (u64, u64) {
        let n = Self::bucket(now_ms, policy);
        let Ok(w) = self.window.lock() else {
            return (0, 0);
        };
        w.iter()
            .filter(|b| b.0 <= n && n - b.0 < BUCKETS as u64)
            .fold((0, 0), |(q, r), b| (q + b.1 as u64, r + b.2 as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(min: u32) -> RetryBudgetPolicy {
        RetryBudgetPolicy {
            percent: 20.0,
            min_concurrency: min,
            window: Duration::from_secs(10),
        }
    }

    #[test]
    fn retries_stay_within_the_share_of_requests() {
        let (b, p) = (RetryBudget::default(), policy(0));
        let mut retries = 0;
        for i in 0..100 {
            b.note_request(i, &p);
            // Every request wants two retries.
            for _ in 0..2 {
                if b.try_acquire(i, &p) {
                    retries += 1;
                    b.release();
                }
            }
        }
        assert_eq!(retries, 20);
    }

    #[test]
    fn min_concurrency_always_allows_a_few() {
        let (b, p) = (RetryBudget::default(), policy(2));
        assert!(b.try_acquire(0, &p));
        assert!(b.try_acquire(0, &p));
        assert!(
            !b.try_acquire(0, &p),
            "no requests yet and the floor is used"
        );
        b.release();
        assert!(b.try_acquire(0, &p));
        assert_eq!(b.retries_in_flight(), 2);
    }

    #[test]
    fn the_window_forgets() {
        let (b, p) = (RetryBudget::default(), policy(0));
        for _ in 0..10 {
            b.note_request(0, &p);
        }
        assert!(b.try_acquire(0, &p));
        assert!(b.try_acquire(0, &p));
        assert!(!b.try_acquire(0, &p));
        assert!(!b.try_acquire(20_000, &p), "the requests left the window");
    }
}
