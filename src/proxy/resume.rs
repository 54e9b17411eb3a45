//! Mid-stream failover, the proxy side (`models[].failover_mid_stream`): taps what a
//! stream client received, arms the session wrapper to hand an upstream failure back
//! for a continuation, and prepares the continuation request and the splice of its
//! answer. The wire work is `formats::continuation`'s; where the continuation goes is
//! the route cursor's.

use bytes::Bytes;

use crate::formats::continuation::{continuation_body, Splice, Tap};
use crate::formats::{self, Envelope};
use crate::metrics;

use super::ctx::Ctx;

/// The continuation request of a stream that failed: the client-dialect body with
/// the partial answer appended, its envelope, and the partial answer.
pub struct Resume {
    pub body: Bytes,
    pub envelope: Envelope,
    pub partial: String,
}

/// A stream answer begins on this attempt: start tapping it if its route fails over
/// mid-stream (a continuation keeps the tap of the first answer).
pub fn on_stream_start(ctx: &mut Ctx) {
    let failover = ctx
        .attempt
        .as_ref()
        .is_some_and(|a| a.route.failover_mid_stream);
    if failover && ctx.route.tap.is_none() {
        ctx.route.tap = Some(Box::new(Tap::new(ctx.req.dialect)));
    }
    if let (Some(resume), Some(tap)) = (&ctx.route.resume, &ctx.route.tap) {
        ctx.resp.splice = Some(Splice::new(ctx.req.dialect, tap.id(), &resume.partial));
    }
}

/// Bytes that go to the client: tapped, and the wrapper told whether a failure from
/// here on may be continued elsewhere.
pub fn on_client_bytes(ctx: &mut Ctx, bytes: &[u8]) {
    let Some(tap) = &mut ctx.route.tap else {
        return;
    };
    tap.feed(bytes);
    let may = tap.partial().is_some() && has_alternative(ctx);
    if let Ok(mut w) = ctx.slots.watch.lock() {
        w.set_may_continue(may);
    }
}

/// The wrapper handed back a mid-stream failure: prepare the continuation request.
/// True when there is one (the failure is then retried like any other).
pub fn on_failure(ctx: &mut Ctx) -> bool {
    let continuing = ctx
        .slots
        .watch
        .lock()
        .is_ok_and(|mut w| w.take_continuing());
    if !continuing {
        return false;
    }
    let Some(partial) = ctx
        .route
        .tap
        .as_ref()
        .and_then(|t| t.partial())
        .map(str::to_string)
    else {
        return false;
    };
    let Some(body) = continuation_body(ctx.req.dialect, &ctx.req.body, &partial) else {
        return false;
    };
    let Ok(envelope) = formats::parse_envelope(ctx.req.dialect, &body) else {
        return false;
    };
    if let Some(a) = &ctx.attempt {
        metrics::MID_STREAM_FAILOVERS
            .with_label_values(&[a.provider.name.as_str()])
            .inc();
    }
    ctx.route.resume = Some(Box::new(Resume {
        body: Bytes::from(body),
        envelope,
        partial,
    }));
    true
}

/// Whether the request has somewhere else to go: another endpoint or target of its
/// route, or a fallback.
fn has_alternative(ctx: &Ctx) -> bool {
    let Some(plan) = &ctx.req.plan else {
        return false;
    };
    let index = ctx.route.cursor.route_index();
    let places = |i: usize| {
        plan.routes.get(i).map_or(0, |r| {
            r.targets
                .iter()
                .map(|t| t.provider.endpoints.len())
                .sum::<usize>()
        })
    };
    places(index) > 1 || index + 1 < plan.routes.len()
}
