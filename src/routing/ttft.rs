//! Recent time to first token per (endpoint, upstream model): the last
//! [`SAMPLES`] values in a lock-free ring, their median on demand. Kept in the
//! endpoint pool, so it survives config reloads like the rest of its health.
//!
//! Only routes with `cost_within_latency` record samples, so the models tracked are
//! the configured ones; the map is capped all the same.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::fx_hash::FxMap;

/// Samples kept per (endpoint, model).
pub const SAMPLES: usize = 32;
/// (endpoint, model) pairs kept per pool.
const MAX_KEYS: usize = 1024;

#[derive(Default)]
struct Ring {
    next: AtomicUsize,
    /// µs; 0 = empty slot.
    samples: [AtomicU64; SAMPLES],
}

/// The TTFT rings of one pool.
#[derive(Default)]
pub struct TtftBook {
    rings: RwLock<FxMap<(usize, String), Arc<Ring>>>,
}

impl TtftBook {
    pub fn record(&self, endpoint: usize, model: &str, ttft: Duration) {
        let us = (ttft.as_micros() as u64).max(1);
        let ring = self.ring(endpoint, model);
        if let Some(ring) = ring {
            let slot = ring.next.fetch_add(1, Ordering::Relaxed) % SAMPLES;
            ring.samples[slot].store(us, Ordering::Relaxed);
        }
    }

    /// The median of the recent samples; `None` before the first.
    pub fn p50(&self, endpoint: usize, model: &str) -> Option<Duration> {
        let rings = self.rings.read().ok()?;
        let ring = rings.get(&(endpoint, model.to_string()))?;
        let mut v: Vec<u64> = ring
            .samples
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&us| us > 0)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(Duration::from_micros(v[(v.len() - 1) / 2]))
    }

    fn ring(&self, endpoint: usize, model: &str) -> Option<Arc<Ring>> {
        let key = (endpoint, model.to_string());
        if let Some(r) = self.rings.read().ok()?.get(&key) {
            return Some(r.clone());
        }
        let mut rings = self.rings.write().ok()?;
        if rings.len() >= MAX_KEYS && !rings.contains_key(&key) {
            return None;
        }
        Some(rings.entry(key).or_default().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_the_most_recent_samples() {
        let book = TtftBook::default();
        assert_eq!(book.p50(0, "m"), None);
        for ms in [10, 30, 20] {
            book.record(0, "m", Duration::from_millis(ms));
        }
        assert_eq!(book.p50(0, "m"), Some(Duration::from_millis(20)));
        assert_eq!(book.p50(1, "m"), None, "per endpoint");
        for _ in 0..SAMPLES {
            book.record(0, "m", Duration::from_millis(500));
        }
        assert_eq!(
            book.p50(0, "m"),
            Some(Duration::from_millis(500)),
            "old samples age out"
        );
    }
}
