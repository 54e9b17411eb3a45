//! The watch's timer, moved late rather than on every chunk.
//!
//! Pingora polls the downstream side (where the watch's clocks run) beside every
//! upstream read and drops that future whenever a chunk arrives first: a fresh timer
//! per chunk would be registered and cancelled in the runtime's timer wheel once per
//! chunk of every stream. The alarm outlives those polls, and while its deadline is
//! no later than the one asked for it is left alone: it may then ring early (the idle
//! deadline moved on with the last chunk), the caller recomputes its clocks and asks
//! again. So a steady stream moves the timer about once per idle period, not once
//! per chunk.

use std::pin::Pin;

use tokio::time::{Instant, Sleep};

#[derive(Default)]
pub struct Alarm {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Alarm {
    /// A timer that rings at `at` or earlier, never later.
    pub fn no_later_than(&mut self, at: Instant) -> Pin<&mut Sleep> {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.is_elapsed() || sleep.deadline() > at {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_later_deadline_keeps_the_timer_an_earlier_one_moves_it() {
        let start = Instant::now();
        let mut alarm = Alarm::default();
        alarm.no_later_than(start + Duration::from_secs(10));
        // Later: the timer stays at 10 s (it rings early; the caller asks again).
        assert_eq!(
            alarm
                .no_later_than(start + Duration::from_secs(30))
                .deadline(),
            start + Duration::from_secs(10)
        );
        // Earlier: moved.
        assert_eq!(
            alarm
                .no_later_than(start + Duration::from_secs(5))
                .deadline(),
            start + Duration::from_secs(5)
        );
        alarm.no_later_than(start + Duration::from_secs(5)).await;
        assert!(Instant::now() >= start + Duration::from_secs(5));
        // Rung: the next deadline re-arms it instead of ringing at once forever.
        let next = alarm.no_later_than(start + Duration::from_secs(8));
        assert_eq!(next.deadline(), start + Duration::from_secs(8));
        next.await;
        assert!(Instant::now() >= start + Duration::from_secs(8));
    }
}
