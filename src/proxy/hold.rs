//! Holding a whole response back until its end: the request context decides (output
//! guardrails, translated JSON, a completeness check), the session wrapper
//! (`preread`) writes — or writes the replacement — once the last byte was seen,
//! since Pingora writes the response header before the body filters see the body.
//!
//! The end of a response (held or not) can also be made to wait for a task the
//! client must be able to rely on once it has the whole answer: storing a Responses
//! conversation, so that its next turn finds it, on any replica.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LockResult, Mutex, MutexGuard};

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::protocols::http::HttpTask;
use tokio::task::JoinHandle;

/// A response held back until its end, and what replaces it, if anything.
#[derive(Default)]
pub struct Hold {
    pub(super) header: Option<Box<ResponseHeader>>,
    pub(super) body: HeldBody,
    pub(super) replacement: Option<Box<ResponseHeader>>,
    /// What the response's last write waits for.
    pub(super) barrier: Option<JoinHandle<()>>,
}

impl Hold {
    /// Take in one response task while holding; true when the response is complete.
    pub(super) fn take(&mut self, task: HttpTask) -> bool {
        match task {
            HttpTask::Header(header, end) => {
                // A retried attempt starts a new response.
                self.header = Some(header);
                self.body = HeldBody::Empty;
                end
            }
            HttpTask::Body(data, end) | HttpTask::UpgradedBody(data, end) => {
                if let Some(data) = data {
                    self.body.push(data);
                }
                end
            }
            HttpTask::Trailer(_) | HttpTask::Done => true,
            HttpTask::Failed(_) => false,
        }
    }
}

/// The body held so far. Most answers arrive in one chunk: that chunk is kept as it
/// came (no copy); chunks are copied together only once a second one arrives.
#[derive(Default)]
pub(super) enum HeldBody {
    #[default]
    Empty,
    One(Bytes),
    Many(Vec<u8>),
}

impl HeldBody {
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        *self = match std::mem::take(self) {
            HeldBody::Empty => HeldBody::One(data),
            HeldBody::One(first) => {
                let mut both = Vec::with_capacity(first.len() + data.len());
                both.extend_from_slice(&first);
                both.extend_from_slice(&data);
                HeldBody::Many(both)
            }
            HeldBody::Many(mut all) => {
                all.extend_from_slice(&data);
                HeldBody::Many(all)
            }
        };
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            HeldBody::Empty => &[],
            HeldBody::One(b) => b,
            HeldBody::Many(v) => v,
        }
    }

    pub(super) fn into_bytes(self) -> Bytes {
        match self {
            HeldBody::Empty => Bytes::new(),
            HeldBody::One(b) => b,
            HeldBody::Many(v) => Bytes::from(v),
        }
    }
}

/// Shared between the request context (which decides) and the wrapper (which writes).
#[derive(Default)]
pub struct HoldSlot {
    /// Whether the response is held back. The wrapper asks on every write and every
    /// poll for the client going away (each event of a stream): a load, not a lock.
    enabled: AtomicBool,
    hold: Mutex<Hold>,
}

impl HoldSlot {
    pub(super) fn lock(&self) -> LockResult<MutexGuard<'_, Hold>> {
        self.hold.lock()
    }

    pub(super) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Stop holding; true when it was on (exactly one caller sees it on).
    pub(super) fn disable(&self) -> bool {
        self.enabled.swap(false, Ordering::AcqRel)
    }

    /// Start over with nothing held, holding or not.
    fn restart(&self, enabled: bool) {
        if let Ok(mut h) = self.hold.lock() {
            *h = Hold::default();
        }
        self.enabled.store(enabled, Ordering::Release);
    }
}

/// Make the last write of this response wait for `task`.
pub fn finish_after(slot: &HoldSlot, task: JoinHandle<()>) {
    if let Ok(mut h) = slot.lock() {
        h.barrier = Some(task);
    }
}

/// Wait for what the last write waits for, if anything (the task bounds its time).
pub(super) async fn end_barrier(slot: &HoldSlot) {
    let task = slot.lock().ok().and_then(|mut h| h.barrier.take());
    if let Some(task) = task {
        let _ = task.await;
    }
}

/// Start holding the response of this request back until it is complete.
pub fn hold_response(slot: &HoldSlot) {
    slot.restart(true);
}

/// Stop holding (a new attempt starts); anything held is dropped.
pub fn reset_hold(slot: &HoldSlot) {
    slot.restart(false);
}

/// Run `f` on the body held so far, when holding.
pub fn with_held_body<R>(slot: &HoldSlot, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if !slot.is_enabled() {
        return None;
    }
    let h = slot.lock().ok()?;
    Some(f(h.body.as_slice()))
}

/// Replace the held response's header (e.g. with an error status); the body is
/// whatever the body filter emitted last.
pub fn replace_held_header(slot: &HoldSlot, header: ResponseHeader) {
    if let Ok(mut h) = slot.lock() {
        h.replacement = Some(Box::new(header));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(task: HttpTask, hold: &mut Hold) -> Vec<u8> {
        hold.take(task);
        hold.body.as_slice().to_vec()
    }

    #[test]
    fn holding_is_on_until_released_once_or_reset() {
        let slot = HoldSlot::default();
        assert!(!slot.is_enabled());
        assert_eq!(with_held_body(&slot, |_| ()), None);
        hold_response(&slot);
        assert!(slot.is_enabled());
        assert_eq!(with_held_body(&slot, <[u8]>::len), Some(0));
        assert!(slot.disable(), "the release sees it on");
        assert!(!slot.disable(), "only once");
        assert_eq!(with_held_body(&slot, |_| ()), None);
        hold_response(&slot);
        reset_hold(&slot);
        assert!(!slot.is_enabled(), "a new attempt stops holding");
    }

    #[test]
    fn held_chunks_join_in_order_and_a_new_header_starts_over() {
        let mut hold = Hold::default();
        let chunk = |s: &'static str| HttpTask::Body(Some(Bytes::from_static(s.as_bytes())), false);
        assert_eq!(body(chunk("{\"a\":"), &mut hold), b"{\"a\":");
        assert!(
            matches!(hold.body, HeldBody::One(_)),
            "one chunk is kept, not copied"
        );
        assert_eq!(body(chunk(""), &mut hold), b"{\"a\":");
        assert_eq!(body(chunk("1"), &mut hold), b"{\"a\":1");
        assert_eq!(body(chunk("}"), &mut hold), b"{\"a\":1}");
        let header = ResponseHeader::build(200, None).unwrap();
        assert_eq!(
            body(HttpTask::Header(Box::new(header), false), &mut hold),
            b""
        );
        assert_eq!(body(chunk("[]"), &mut hold), b"[]");
        assert_eq!(std::mem::take(&mut hold.body).into_bytes(), "[]");
        assert_eq!(HeldBody::default().into_bytes(), "");
    }
}
