//! Reading a request body on the client's clock, within a memory budget shared by
//! every request of the process.
//!
//! - Each read of the body must arrive within `client.body_timeout_ms` of the last one
//!   (nginx `client_body_timeout`): a client that stalls gets a `408` in its dialect,
//!   counted under `tollgate_client_rejects_total{reason="body_timeout"}`, and no
//!   upstream is contacted.
//! - A body that cannot be read (bad chunk size, client gone mid-body) is the client's
//!   fault: `400`, never a `5xx`.
//! - Every buffered body holds a [`Reservation`] of the budget
//!   (`client.body_memory_bytes`) for as long as its bytes live — the reservation is
//!   the owner of the final `Bytes`, so it is released when the last clone (the
//!   request context's, an attempt's, the retry buffer's) is dropped. When the budget
//!   is spent, a new body gets `503 overloaded` with `retry-after: 1`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::error::{ErrorKind, GatewayError};
use crate::metrics;

/// Bytes of request bodies buffered now, process-wide.
static BUFFERED: AtomicUsize = AtomicUsize::new(0);

/// A share of the body-memory budget; returned when dropped.
#[derive(Debug)]
pub struct Reservation {
    pool: &'static AtomicUsize,
    bytes: usize,
}

impl Default for Reservation {
    fn default() -> Self {
        Reservation {
            pool: &BUFFERED,
            bytes: 0,
        }
    }
}

impl Reservation {
    /// Grow to `total` bytes, unless that would spend more than `budget` (0 = none).
    pub fn grow_to(&mut self, total: usize, budget: usize) -> bool {
        let Some(more) = total.checked_sub(self.bytes).filter(|m| *m > 0) else {
            return true;
        };
        let before = self.pool.fetch_add(more, Ordering::AcqRel);
        if budget > 0 && before + more > budget {
            self.pool.fetch_sub(more, Ordering::AcqRel);
            return false;
        }
        self.bytes = total;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pool.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Body bytes that hold their reservation.
struct Budgeted {
    bytes: Bytes,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The finished body: its memory stays reserved until the last clone is dropped.
pub fn seal(buf: BytesMut, reservation: Reservation) -> Bytes {
    Bytes::from_owner(Budgeted {
        bytes: buf.freeze(),
        _reservation: reservation,
    })
}

/// Bytes of request bodies buffered now.
pub fn buffered() -> usize {
    BUFFERED.load(Ordering::Acquire)
}

/// The answer when the budget is spent.
pub fn over_budget() -> GatewayError {
    metrics::CLIENT_REJECTS
        .with_label_values(&["body_memory"])
        .inc();
    GatewayError::new(
        ErrorKind::Overloaded,
        "the gateway is buffering too many request bodies; retry shortly",
    )
    .with_retry_after(Duration::from_secs(1))
}

/// The answer when the client stalled mid-body.
pub fn stalled(after: Duration) -> GatewayError {
    metrics::CLIENT_REJECTS
        .with_label_values(&["body_timeout"])
        .inc();
    GatewayError::new(
        ErrorKind::ClientTimeout,
        format!(
            "the request body stalled: nothing arrived for {} ms",
            after.as_millis()
        ),
    )
}

/// The answer when the body's framing is broken or the client went away mid-body.
pub fn unreadable(e: &pingora::Error) -> GatewayError {
    metrics::CLIENT_REJECTS
        .with_label_values(&["body_framing"])
        .inc();
    let why = match e.etype() {
        pingora::ErrorType::ConnectionClosed => "the client closed the connection mid-body",
        _ => "the request body is not valid HTTP/1.1 framing",
    };
    GatewayError::invalid(format!("the request body could not be read: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of its own, so that parallel tests do not interfere.
    static POOL: AtomicUsize = AtomicUsize::new(0);

    fn reservation() -> Reservation {
        Reservation {
            pool: &POOL,
            bytes: 0,
        }
    }

    fn buffered() -> usize {
        POOL.load(Ordering::Acquire)
    }

    #[test]
    fn reservations_respect_the_budget_and_are_returned() {
        let base = buffered();
        let budget = base + 1000;
        let mut a = reservation();
        assert!(a.grow_to(600, budget));
        let mut b = reservation();
        assert!(!b.grow_to(600, budget), "over the budget");
        assert!(b.grow_to(300, budget));
        let sealed = seal(BytesMut::from(&b"hello"[..]), a);
        let clone = sealed.clone();
        drop(sealed);
        assert!(
            buffered() >= base + 900,
            "a clone still holds the body: {} {base}",
            buffered()
        );
        drop(clone);
        assert!(b.grow_to(700, budget), "released with the last clone");
    }

    #[test]
    fn no_budget_means_no_cap() {
        static OWN: AtomicUsize = AtomicUsize::new(0);
        let mut r = Reservation {
            pool: &OWN,
            bytes: 0,
        };
        assert!(r.grow_to(1 << 40, 0));
        drop(r);
        assert_eq!(OWN.load(Ordering::Acquire), 0);
    }
}
