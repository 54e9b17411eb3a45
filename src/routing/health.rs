//! Passive health: one circuit breaker per endpoint and per (endpoint, upstream model).
//!
//! Faults are kept where they are: connect, TLS, reset and timeout failures count
//! against the endpoint; 429 and model overload (Anthropic 529) against the
//! (endpoint, model) pair, so one model's rate limit never takes the provider's other
//! models with it; client errors count against nothing. A breaker trips after
//! `consecutive_failures` or when `failure_ratio` of a sliding window failed; it stays
//! open for a cool-down that doubles on every repeated trip (capped), then lets
//! `half_open_probes` requests through: a success closes it, a failure opens it again.
//! An upstream's own `retry-after` opens it for exactly that long.
//!
//! A breaker only steers: the route cursor prefers closed candidates, but when every
//! candidate of a request is open it still sends to one (panic mode), so the breaker
//! never refuses a request that the provider would answer.
//!
//! Time is passed in as milliseconds since the owner's epoch, so the state machine is
//! tested without a clock.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::config::{BreakerPolicy, ErrorClass};
use crate::fx_hash::FxMap;

/// Buckets of the sliding outcome window.
const BUCKETS: usize = 10;

/// How a breaker lets a request through right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Admit {
    /// Closed: normal traffic.
    #[default]
    Closed,
    /// The cool-down is over and a probe slot is free.
    Probe,
    /// Cooling down (or the probe slots are taken).
    Open,
}

/// The breaker's view for `/admin/upstreams` and the route cursor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerView {
    pub open_until_ms: u64,
    pub last_failure_ms: u64,
    pub reason: Option<ErrorClass>,
    pub trips: u32,
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Nothing,
    /// The breaker opened (or re-opened after a failed probe).
    Tripped,
}

/// One circuit breaker.
#[derive(Debug, Default)]
pub struct Breaker {
    /// Fast path for the request path: 0 while closed, else the end of the cool-down.
    open_until_ms: AtomicU64,
    /// Half-open probes in flight (returned by the endpoint lease).
    probes: AtomicU32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    trips: u32,
    last_failure_ms: u64,
    reason: Option<ErrorClass>,
    window: Window,
}

impl Breaker {
    /// Whether a request may use this candidate now.
    pub fn admit(&self, now_ms: u64, policy: &BreakerPolicy) -> Admit {
        let until = self.open_until_ms.load(Ordering::Relaxed);
        if until == 0 {
            Admit::Closed
        } else if now_ms < until {
            Admit::Open
        } else if self.probes.load(Ordering::Relaxed) < policy.half_open_probes {
            Admit::Probe
        } else {
            Admit::Open
        }
    }

    /// Whether the breaker is open or half-open (out of normal rotation).
    pub fn is_open(&self) -> bool {
        self.open_until_ms.load(Ordering::Relaxed) != 0
    }

    /// A probe starts on this breaker (the lease gives it back).
    pub fn take_probe(&self) {
        self.probes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn return_probe(&self) {
        let _ = self
            .probes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| p.checked_sub(1));
    }

    /// A success: resets the failure run and closes the breaker (a half-open probe,
    /// or a panic-mode attempt that found the upstream answering again).
    pub fn record_success(&self, now_ms: u64, policy: &BreakerPolicy) {
        let Ok(mut s) = self.state.lock() else { return };
        s.window.add(now_ms, policy, false);
        s.consecutive = 0;
        if self.open_until_ms.load(Ordering::Relaxed) != 0 {
            s.trips = 0;
            s.reason = None;
            s.window = Window::default();
            self.open_until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// A failure of `class`. `may_trip` is false when the pool may not eject another
    /// endpoint (its ejection cap is reached); the failure is still counted.
    pub fn record_failure(
        &self,
        now_ms: u64,
        policy: &BreakerPolicy,
        class: ErrorClass,
        may_trip: bool,
    ) -> Recorded {
        let Ok(mut s) = self.state.lock() else {
            return Recorded::Nothing;
        };
        s.window.add(now_ms, policy, true);
        s.consecutive = s.consecutive.saturating_add(1);
        s.last_failure_ms = now_ms;
        let until = self.open_until_ms.load(Ordering::Relaxed);
        let half_open = until != 0 && now_ms >= until;
        if until != 0 && !half_open {
            return Recorded::Nothing;
        }
        let over =
            s.consecutive >= policy.consecutive_failures || s.window.ratio_exceeded(now_ms, policy);
        if !(half_open || (over && may_trip)) {
            return Recorded::Nothing;
        }
        s.trips = s.trips.saturating_add(1);
        s.reason = Some(class);
        s.consecutive = 0;
        let cooldown = cooldown_for(s.trips, policy);
        self.open_until_ms
            .store(now_ms.saturating_add(cooldown).max(1), Ordering::Relaxed);
        Recorded::Tripped
    }

    /// The upstream said when to come back (`retry-after` and the like): open for
    /// exactly that long (capped by `max_cooldown`), never shortening a longer one.
    pub fn hold_off(&self, now_ms: u64, ms: u64, policy: &BreakerPolicy, class: ErrorClass) {
        let ms = ms.min(policy.max_cooldown.as_millis() as u64);
        if ms == 0 {
            return;
        }
        if let Ok(mut s) = self.state.lock() {
            s.reason = Some(class);
            s.last_failure_ms = now_ms;
        }
        let until = now_ms.saturating_add(ms);
        self.open_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    pub fn view(&self) -> BreakerView {
        let s = self.state.lock();
        let (last_failure_ms, reason, trips) = s
            .map(|s| (s.last_failure_ms, s.reason, s.trips))
            .unwrap_or_default();
        BreakerView {
            open_until_ms: self.open_until_ms.load(Ordering::Relaxed),
            last_failure_ms,
            reason,
            trips,
        }
    }

    /// Whether nothing is left to remember (a map entry may be dropped).
    pub fn is_idle(&self, now_ms: u64, policy: &BreakerPolicy) -> bool {
        !self.is_open()
            && self.probes.load(Ordering::Relaxed) == 0
            && self.state.lock().is_ok_and(|s| {
                s.consecutive == 0
                    || now_ms.saturating_sub(s.last_failure_ms) > policy.window.as_millis() as u64
            })
    }
}

/// Cool-down of the `trips`-th consecutive trip: `cooldown × 2^(trips-1)`, capped.
fn cooldown_for(trips: u32, policy: &BreakerPolicy) -> u64 {
    let base = policy.cooldown.as_millis() as u64;
    let grown = base.saturating_mul(1u64 << trips.saturating_sub(1).min(20));
    grown.min(policy.max_cooldown.as_millis() as u64)
}

/// Outcomes over the last `policy.window`, in `BUCKETS` buckets.
#[derive(Debug, Default)]
struct Window {
    /// `(bucket number, successes, failures)`.
    buckets: [(u64, u32, u32); BUCKETS],
}

impl Window {
    fn bucket_ms(policy: &BreakerPolicy) -> u64 {
        (policy.window.as_millis() as u64 / BUCKETS as u64).max(1)
    }

    fn add(&mut self, now_ms: u64, policy: &BreakerPolicy, failed: bool) {
        let n = now_ms / Self::bucket_ms(policy);
        let slot = &mut self.buckets[(n % BUCKETS as u64) as usize];
        if slot.0 != n {
            *slot = (n, 0, 0);
        }
        if failed {
            slot.2 = slot.2.saturating_add(1);
        } else {
            slot.1 = slot.1.saturating_add(1);
        }
    }

    fn ratio_exceeded(&self, now_ms: u64, policy: &BreakerPolicy) -> bool {
        if policy.failure_ratio <= 0.0 {
            return false;
        }
        let n = now_ms / Self::bucket_ms(policy);
        let (ok, failed) = self
            .buckets
            .iter()
            .filter(|b| n.saturating_sub(b.0) < BUCKETS as u64 && b.0 <= n)
            .fold((0u64, 0u64), |(o, f), b| (o + b.1 as u64, f + b.2 as u64));
        let total = ok + failed;
        total >= policy.min_requests as u64 && failed as f64 >= policy.failure_ratio * total as f64
    }
}

/// Largest number of (endpoint, model) breakers one pool keeps: `provider/model`
/// names come from clients, so the map must not grow with them.
const MAX_MODEL_BREAKERS: usize = 256;

/// The (endpoint, model) breakers of a pool. Read on every request only while it
/// is not empty.
#[derive(Debug, Default)]
pub struct ModelBreakers {
    len: AtomicUsize,
    map: RwLock<FxMap<(usize, String), Arc<Breaker>>>,
}

impl ModelBreakers {
    pub fn get(&self, i: usize, model: &str) -> Option<Arc<Breaker>> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let map = self.map.read().ok()?;
        map.get(&(i, model.to_string())).cloned()
    }

    pub fn get_or_insert(
        &self,
        i: usize,
        model: &str,
        now_ms: u64,
        policy: &BreakerPolicy,
    ) -> Option<Arc<Breaker>> {
        if let Some(b) = self.get(i, model) {
            return Some(b);
        }
        let mut map = self.map.write().ok()?;
        if map.len() >= MAX_MODEL_BREAKERS {
            map.retain(|_, b| !b.is_idle(now_ms, policy));
        }
        if map.len() >= MAX_MODEL_BREAKERS {
            return None;
        }
        let b = map.entry((i, model.to_string())).or_default().clone();
        self.len.store(map.len(), Ordering::Relaxed);
        Some(b)
    }

    pub fn open(&self) -> Vec<(usize, String, BreakerView)> {
        let Ok(map) = self.map.read() else {
            return Vec::new();
        };
        let mut out: Vec<_> = map
            .iter()
            .filter(|(_, b)| b.is_open())
            .map(|((i, m), b)| (*i, m.clone(), b.view()))
            .collect();
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            consecutive_failures: 3,
            failure_ratio: 0.0,
            cooldown: Duration::from_millis(100),
            max_cooldown: Duration::from_millis(350),
            ..BreakerPolicy::default()
        }
    }

    fn fail(b: &Breaker, now: u64, p: &BreakerPolicy) -> Recorded {
        b.record_failure(now, p, ErrorClass::Timeout, true)
    }

    #[test]
    fn trips_after_consecutive_failures_and_a_success_resets_the_run() {
        let (b, p) = (Breaker::default(), policy());
        fail(&b, 1, &p);
        fail(&b, 2, &p);
        b.record_success(3, &p);
        fail(&b, 4, &p);
        assert_eq!(fail(&b, 5, &p), Recorded::Nothing);
        assert_eq!(b.admit(5, &p), Admit::Closed);
        assert_eq!(fail(&b, 6, &p), Recorded::Tripped);
        assert_eq!(b.admit(7, &p), Admit::Open);
        assert_eq!(b.view().reason, Some(ErrorClass::Timeout));
    }

    #[test]
    fn half_open_probe_closes_on_success_and_doubles_on_failure() {
        let (b, p) = (Breaker::default(), policy());
        for t in 0..3 {
            fail(&b, t, &p);
        }
        let until = b.view().open_until_ms;
        assert_eq!(until, 102);
        assert_eq!(b.admit(until, &p), Admit::Probe);
        b.take_probe();
        assert_eq!(b.admit(until, &p), Admit::Open, "one probe at a time");
        // The probe fails: open again, twice as long.
        assert_eq!(fail(&b, until, &p), Recorded::Tripped);
        b.return_probe();
        assert_eq!(b.view().open_until_ms, until + 200);
        // Third trip is capped at max_cooldown.
        let until = b.view().open_until_ms;
        fail(&b, until, &p);
        assert_eq!(b.view().open_until_ms, until + 350);
        let until = b.view().open_until_ms;
        b.record_success(until, &p);
        assert_eq!(b.admit(until, &p), Admit::Closed);
        assert_eq!(b.view().trips, 0);
    }

    #[test]
    fn failure_ratio_over_the_window() {
        let p = BreakerPolicy {
            consecutive_failures: 100,
            failure_ratio: 0.5,
            min_requests: 10,
            ..policy()
        };
        let b = Breaker::default();
        for t in 0..4 {
            b.record_success(t, &p);
            assert_eq!(fail(&b, t, &p), Recorded::Nothing, "{t}");
        }
        b.record_success(4, &p);
        // 5 ok + 5 failed = 10 requests, half failed: trips on the tenth.
        assert_eq!(fail(&b, 4, &p), Recorded::Tripped);
        // Old outcomes leave the window.
        let b = Breaker::default();
        for t in 0..6 {
            fail(&b, t, &p);
        }
        for t in 0..4 {
            b.record_success(20_000 + t, &p);
        }
        assert_eq!(fail(&b, 20_005, &p), Recorded::Nothing);
    }

    #[test]
    fn ejection_cap_counts_but_does_not_trip() {
        let (b, p) = (Breaker::default(), policy());
        for t in 0..5 {
            assert_eq!(
                b.record_failure(t, &p, ErrorClass::Connect, false),
                Recorded::Nothing
            );
        }
        assert!(!b.is_open());
        assert_eq!(fail(&b, 6, &p), Recorded::Tripped);
    }

    #[test]
    fn retry_after_holds_off_exactly_and_is_capped() {
        let (b, p) = (Breaker::default(), policy());
        b.hold_off(1000, 40, &p, ErrorClass::RateLimit);
        assert_eq!(b.admit(1039, &p), Admit::Open);
        assert_eq!(b.admit(1040, &p), Admit::Probe);
        b.hold_off(2000, 10_000, &p, ErrorClass::RateLimit);
        assert_eq!(b.view().open_until_ms, 2350);
        b.record_success(2350, &p);
        assert_eq!(b.admit(2351, &p), Admit::Closed);
    }
}
