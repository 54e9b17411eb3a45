//! Holding a whole response back until its end: the request context decides (output
//! guardrails, translated JSON, a completeness check), the session wrapper
//! (`preread`) writes — or writes the replacement — once the last byte was seen,
//! since Pingora writes the response header before the body filters see the body.

use std::sync::{Arc, Mutex};

use pingora::http::ResponseHeader;

/// A response held back until its end, and what replaces it, if anything.
#[derive(Default)]
pub struct Hold {
    pub(super) enabled: bool,
    pub(super) header: Option<Box<ResponseHeader>>,
    pub(super) body: Vec<u8>,
    pub(super) replacement: Option<Box<ResponseHeader>>,
}

/// Shared between the request context (which decides) and the wrapper (which writes).
pub type HoldSlot = Arc<Mutex<Hold>>;

/// Start holding the response of this request back until it is complete.
pub fn hold_response(slot: &HoldSlot) {
    if let Ok(mut h) = slot.lock() {
        *h = Hold {
            enabled: true,
            ..Hold::default()
        };
    }
}

/// Stop holding (a new attempt starts); anything held is dropped.
pub fn reset_hold(slot: &HoldSlot) {
    if let Ok(mut h) = slot.lock() {
        *h = Hold::default();
    }
}

/// Run `f` on the body held so far, when holding.
pub fn with_held_body<R>(slot: &HoldSlot, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let h = slot.lock().ok()?;
    h.enabled.then(|| f(&h.body))
}

/// Replace the held response's header (e.g. with an error status); the body is
/// whatever the body filter emitted last.
pub fn replace_held_header(slot: &HoldSlot, header: ResponseHeader) {
    if let Ok(mut h) = slot.lock() {
        h.replacement = Some(Box::new(header));
    }
}
