//! The watch's timer, moved late rather than on every chunk, on Pingora's shared
//! coarse timer.
//!
//! Pingora polls the downstream side (where the watch's clocks run) beside every
//! upstream read and drops that future whenever a chunk arrives first: a fresh timer
//! per chunk would be registered and cancelled once per chunk of every stream. The
//! alarm outlives those polls, and while its deadline is no later than the one asked
//! for it is left alone: it may then ring early (the idle deadline moved on with the
//! last chunk), the caller recomputes its clocks and asks again. So a steady stream
//! moves the timer about once per idle period, not once per chunk.
//!
//! Why not a tokio timer: arming one whose deadline is the earliest of its thread
//! wakes the runtime's driver through its eventfd, a system call on every request
//! (the one timer of an idle worker is always the earliest). Pingora's own timeouts
//! use its shared timer instead: deadlines rounded up to the next 10 ms tick, one
//! timer per tick shared by every request of the thread, no system call to arm it.
//! A timeout may so fire up to 10 ms late. Deadlines further out than
//! [`FAR_SECS`] stay on tokio: a shared timer lives until its tick comes, armed or
//! not, and hours-long deadlines would keep one per tick for hours.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Beyond this, a tokio timer (Pingora's own threshold for the same reason).
const FAR_SECS: u64 = 15 * 60;

type Timer = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

#[derive(Default)]
pub struct Alarm {
    armed: Option<(Instant, Timer)>,
}

impl Alarm {
    /// Ring at `at` (up to a tick later) or earlier, never much later. Cancel-safe:
    /// dropped before it rings, the timer stays armed for the next call.
    pub async fn ring_by(&mut self, at: Instant) {
        let keep = matches!(&self.armed, Some((due, _)) if *due <= at);
        if !keep {
            let wait = at.saturating_duration_since(Instant::now());
            self.armed = Some((at, timer(wait)));
        }
        if let Some((_, timer)) = &mut self.armed {
            timer.as_mut().await;
        }
        // Rung: the next call arms a new one instead of ringing at once forever.
        self.armed = None;
    }
}

fn timer(wait: Duration) -> Timer {
    if wait.as_secs() > FAR_SECS {
        Box::pin(tokio::time::sleep(wait))
    } else {
        Box::pin(pingora::time::fast_timeout::fast_sleep(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_later_deadline_keeps_the_timer_an_earlier_one_moves_it() {
        let start = Instant::now();
        let mut alarm = Alarm::default();
        // Armed at 300 ms, then asked for 10 s: rings at 300 ms (early; the caller
        // would ask again).
        let first = tokio::time::timeout(Duration::from_millis(1), async {
            alarm.ring_by(start + Duration::from_millis(300)).await
        })
        .await;
        assert!(first.is_err(), "not yet");
        alarm.ring_by(start + Duration::from_secs(10)).await;
        let rang = start.elapsed();
        assert!(rang >= Duration::from_millis(300), "{rang:?}");
        assert!(rang < Duration::from_secs(5), "{rang:?}");
        // Rung: the next deadline re-arms it instead of ringing at once forever.
        let again = Instant::now();
        alarm.ring_by(again + Duration::from_millis(50)).await;
        assert!(again.elapsed() >= Duration::from_millis(50));
        // Earlier than the armed one: moved.
        let moved = Instant::now();
        let _ = tokio::time::timeout(Duration::from_millis(1), async {
            alarm.ring_by(moved + Duration::from_secs(10)).await
        })
        .await;
        alarm.ring_by(moved + Duration::from_millis(50)).await;
        assert!(moved.elapsed() < Duration::from_secs(5));
    }
}
