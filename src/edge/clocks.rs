//! Client-side clocks that live on the request: the keep-alive idle timeout (set on
//! Pingora's session for the wait after this response) and the end of the client's
//! upload, from which the upstream clocks run.

use std::time::Instant;

use pingora_proxy::Session;

use crate::config::client::ClientLimits;
use crate::proxy::ctx::Ctx;

/// Bound the idle wait for the next request on this connection. Pingora keeps an
/// HTTP/1.1 connection forever (or as long as the client's `Keep-Alive: timeout=`
/// asks); a client may ask for less, never for more. Must run before the session is
/// wrapped (the wrapper ignores keep-alive settings).
pub fn keepalive(session: &mut Session, limits: &ClientLimits) {
    let ours = limits.keepalive_timeout.as_secs().max(1);
    match session.get_keepalive() {
        None => {} // closing after this response anyway
        Some(0) => session.set_keepalive(Some(ours)),
        Some(theirs) => session.set_keepalive(Some(theirs.min(ours))),
    }
}

/// The request body is in: the upstream's `total` clock starts now.
pub fn body_received(ctx: &Ctx) {
    if let Ok(mut watch) = ctx.slots.watch.lock() {
        watch.request_received(Instant::now(), ctx.req.dialect);
    }
}
