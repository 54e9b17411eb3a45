//! Memory given back when a worker goes idle.
//!
//! The allocator keeps the pages a burst freed, ready for the next burst, and gives
//! them back to the system only while its thread keeps allocating: after 1,000
//! streams ended, an idle worker kept ~150 MiB resident indefinitely. Giving pages
//! back on every free instead cost 5 µs of CPU per request under load. So each worker
//! counts its own requests in flight; when the count is zero at the end of a request
//! or of a connection, it schedules the collection hook the binary installed
//! ([`QUIET`] later, one pending per thread), which runs if the worker is still
//! idle then. A busy worker never pays for it; an idle one returns what the burst
//! left, including what its last connections freed as they closed.

use std::cell::Cell;
use std::time::Duration;

use once_cell::sync::OnceCell;

/// How long a worker stays without a request before its memory is collected.
const QUIET: Duration = Duration::from_secs(1);

static HOOK: OnceCell<fn()> = OnceCell::new();

thread_local! {
    static IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// What to run when a worker goes idle (the allocator's collection); set once.
pub fn set_hook(hook: fn()) {
    let _ = HOOK.set(hook);
}

/// A request started on this thread.
pub fn request_started() {
    IN_FLIGHT.with(|n| n.set(n.get().saturating_add(1)));
}

/// A request ended on this thread.
pub fn request_ended() {
    IN_FLIGHT.with(|n| n.set(n.get().saturating_sub(1)));
    schedule_if_idle();
}

/// A client connection of this thread closed (its buffers are free now).
pub fn connection_closed() {
    schedule_if_idle();
}

fn idle() -> bool {
    IN_FLIGHT.with(|n| n.get() == 0)
}

/// Arm this thread's one pending collection, if it is idle and none is pending.
fn schedule_if_idle() {
    let Some(&hook) = HOOK.get() else { return };
    if !idle() || PENDING.with(|p| p.replace(true)) {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        PENDING.with(|p| p.set(false));
        return;
    };
    // The worker's runtime has one thread: the task runs here, on this heap.
    runtime.spawn(async move {
        tokio::time::sleep(QUIET).await;
        PENDING.with(|p| p.set(false));
        if idle() {
            hook();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn collects_once_a_quiet_second_after_the_last_request() {
        set_hook(|| {
            RUNS.fetch_add(1, Ordering::SeqCst);
        });
        request_started();
        request_started();
        request_ended();
        tokio::time::sleep(QUIET * 2).await;
        assert_eq!(RUNS.load(Ordering::SeqCst), 0, "one still in flight");
        request_ended();
        connection_closed(); // already pending: not a second one
        tokio::time::sleep(QUIET / 2).await;
        request_started(); // busy again before the quiet second is over
        tokio::time::sleep(QUIET).await;
        assert_eq!(RUNS.load(Ordering::SeqCst), 0, "busy when it came due");
        request_ended();
        tokio::time::sleep(QUIET * 2).await;
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    }
}
