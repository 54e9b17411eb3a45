//! Response ids for upstreams that send none (Bedrock Converse never does; Gemini
//! omits `responseId` on some deployments).
//!
//! Clients key logs, caches and UI state on the response id, so a fixed placeholder
//! would merge unrelated answers. An id here is a per-process seed (start time mixed
//! with the process id, so restarts and replicas differ) plus a counter: unique, cheap,
//! and the same for every event of one response because it is drawn once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;

static SEED: Lazy<u64> = Lazy::new(|| {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Spread the bits so that two processes started in the same tick still differ.
    (nanos ^ (u64::from(std::process::id()) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
});

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new id: `prefix` followed by 24 lowercase hex digits.
pub(crate) fn generate(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{:016x}{:08x}", *SEED, n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_shaped() {
        let a = generate("msg_");
        let b = generate("msg_");
        assert_ne!(a, b);
        assert!(a.starts_with("msg_") && a.len() == 4 + 24);
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
