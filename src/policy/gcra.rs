//! GCRA (generic cell rate algorithm): the token bucket behind `rpm` and `tpm`.
//!
//! A bucket holds `limit` units and refills continuously over `period` (one unit every
//! `T = period / limit`). Its whole state is one number, the theoretical arrival time
//! `TAT`: the instant at which the bucket will be full again. Taking `cost` units moves
//! `TAT` to `max(TAT, now) + cost × T` and is allowed when the result is at most
//! `period` ahead of `now` (i.e. the bucket had `cost` units). So a key with
//! `rpm: 60` may burst 60 requests, then gets one per second; over any window of
//! length `w` at most `limit + w / T` units pass. One number per bucket makes the Redis
//! version a single `GET`/`SET` in a Lua script and the memory version a single
//! compare-and-swap on an `AtomicU64`.
//!
//! Settlement moves `TAT` by the difference between the estimate and the real cost:
//! forward (charge) without a check — the debt delays later requests — or back
//! (refund), never before `now`, so a refund cannot create credit above `limit`.
//!
//! All times are microseconds on the store's clock. The Redis Lua scripts in
//! `redis_store` implement the same arithmetic; tests compare both.

/// A bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub limit: u64,
    pub period_us: u64,
}

/// Why a take was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Retry after this many microseconds.
    RetryAfter(u64),
    /// The cost exceeds the whole capacity; no wait helps.
    TooLarge,
}

impl Gcra {
    /// Time `units` units take to refill, rounded down (as the Lua version does).
    pub fn cost_us(&self, units: u64) -> u64 {
        if self.limit == 0 {
            return u64::MAX;
        }
        mul_div(units, self.period_us, self.limit)
    }

    /// Takes `cost` units at `now` from a bucket whose TAT is `tat`; the new TAT.
    pub fn take(&self, tat: u64, now: u64, cost: u64) -> Result<u64, Refusal> {
        let inc = self.cost_us(cost);
        if inc > self.period_us {
            return Err(Refusal::TooLarge);
        }
        let new_tat = tat.max(now).saturating_add(inc);
        let ahead = new_tat - now;
        if ahead > self.period_us {
            return Err(Refusal::RetryAfter(ahead - self.period_us));
        }
        Ok(new_tat)
    }

    /// Moves the TAT by `delta` units without a check; refunds stop at `now`.
    pub fn adjust(&self, tat: u64, now: u64, delta: i64) -> u64 {
        let base = tat.max(now);
        let inc = self.cost_us(delta.unsigned_abs());
        if delta >= 0 {
            base.saturating_add(inc)
        } else {
            base.saturating_sub(inc).max(now)
        }
    }

    /// Units left when the bucket is `until_full_us` away from full.
    pub fn remaining(&self, until_full_us: u64) -> u64 {
        if self.period_us == 0 || until_full_us >= self.period_us {
            return 0;
        }
        mul_div(self.period_us - until_full_us, self.limit, self.period_us)
    }
}

/// Whole microseconds of `d` in 64-bit arithmetic (`Duration::as_micros` is 128-bit).
pub fn micros(d: std::time::Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
}

/// `a × b / c` rounded down, saturating; 64-bit unless the product overflows
/// (128-bit division is several times slower and this runs on every admission).
fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    match a.checked_mul(b) {
        Some(p) => p / c,
        None => u64::try_from(a as u128 * b as u128 / c as u128).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000;

    #[test]
    fn burst_of_limit_then_one_per_interval() {
        let g = Gcra {
            limit: 60,
            period_us: MIN,
        };
        let mut tat = 0;
        let now = 1_000_000_000;
        for i in 0..60 {
            tat = g
                .take(tat, now, 1)
                .unwrap_or_else(|e| panic!("request {i} refused: {e:?}"));
        }
        assert_eq!(g.take(tat, now, 1), Err(Refusal::RetryAfter(1_000_000)));
        // One interval later exactly one more unit fits.
        let later = now + 1_000_000;
        let t2 = g.take(tat, later, 1).unwrap();
        assert_eq!(g.take(t2, later, 1), Err(Refusal::RetryAfter(1_000_000)));
    }

    #[test]
    fn cost_weighted_takes_and_remaining() {
        let g = Gcra {
            limit: 1000,
            period_us: MIN,
        };
        let now = 5 * MIN;
        let tat = g.take(0, now, 400).unwrap();
        assert_eq!(g.remaining(tat - now), 600);
        let tat = g.take(tat, now, 600).unwrap();
        assert_eq!(g.remaining(tat - now), 0);
        // 250 units need 250 × 60 ms of refill.
        assert_eq!(g.take(tat, now, 250), Err(Refusal::RetryAfter(15_000_000)));
        assert_eq!(
            g.take(tat, now + 15_000_000, 250).map(|t| t - now),
            Ok(MIN + 15_000_000)
        );
    }

    #[test]
    fn cost_above_capacity_is_too_large() {
        let g = Gcra {
            limit: 100,
            period_us: MIN,
        };
        assert_eq!(g.take(0, 10, 101), Err(Refusal::TooLarge));
        assert!(g.take(0, 10, 100).is_ok());
    }

    #[test]
    fn refund_stops_at_now_and_charge_creates_debt() {
        let g = Gcra {
            limit: 100,
            period_us: MIN,
        };
        let now = 10 * MIN;
        let tat = g.take(0, now, 50).unwrap();
        // Refund more than was taken: the bucket is full, not over-full.
        assert_eq!(g.adjust(tat, now, -80), now);
        // Charge past capacity: the next take waits for the debt.
        let debt = g.adjust(tat, now, 100);
        assert_eq!(debt - now, 90 * MIN / 60);
        assert_eq!(g.remaining(debt - now), 0);
        assert!(matches!(g.take(debt, now, 1), Err(Refusal::RetryAfter(_))));
        // A partial refund gives back exactly its share.
        let back = g.adjust(tat, now, -20);
        assert_eq!(g.remaining(back - now), 70);
    }

    #[test]
    fn idle_bucket_refills_to_the_limit_only() {
        let g = Gcra {
            limit: 10,
            period_us: MIN,
        };
        let tat = g.take(0, 0, 10).unwrap();
        let much_later = 100 * MIN;
        assert_eq!(g.remaining(tat.saturating_sub(much_later)), 10);
        let mut t = tat;
        for _ in 0..10 {
            t = g.take(t, much_later, 1).unwrap();
        }
        assert!(g.take(t, much_later, 1).is_err());
    }

    #[test]
    fn window_bound_holds_under_steady_pressure() {
        // Over a window w at most limit + w/T units pass.
        let g = Gcra {
            limit: 120,
            period_us: MIN,
        };
        let (mut tat, mut passed) = (0u64, 0u64);
        let start = MIN;
        let mut now = start;
        while now < start + 30_000_000 {
            if let Ok(t) = g.take(tat, now, 1) {
                tat = t;
                passed += 1;
            }
            now += 7_919; // arbitrary prime step
        }
        let bound = 120 + (now - start) / 500_000;
        assert!(passed <= bound, "{passed} > {bound}");
        assert!(passed >= bound - 2, "{passed} well under {bound}");
    }
}
