//! At most one log line per period from one place, so that an outage (Redis down, an
//! embeddings model unreachable) logs once in a while instead of once per request.
//! What is gated is only the line: callers count every occurrence in a metric.

use std::sync::atomic::{AtomicU64, Ordering};

/// One gate per call site, in a `static`.
pub struct LogGate {
    last_s: AtomicU64,
    period_s: u64,
}

impl LogGate {
    pub const fn every_secs(period_s: u64) -> Self {
        LogGate {
            last_s: AtomicU64::new(0),
            period_s,
        }
    }

    /// Whether a line may be written now; true at most once per period, whatever
    /// the number of threads asking.
    pub fn open(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_s.load(Ordering::Relaxed);
        now >= last + self.period_s
            && self
                .last_s
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::LogGate;

    #[test]
    fn opens_once_per_period() {
        let gate = LogGate::every_secs(3600);
        assert!(gate.open());
        assert!(!gate.open());
        assert!(!gate.open());
    }
}
