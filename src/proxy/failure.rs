//! How an attempt's failure becomes the next step or the client's answer: the
//! decisions behind `fail_to_connect`, `error_while_proxy`, a failed status in
//! `upstream_response_filter`, and `fail_to_proxy`. Passive health and the next
//! step are the route cursor's (through `attempt`); this module only classifies.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::{Error, ErrorSource, ErrorType};
use pingora_proxy::{FailToProxy, Session};

use crate::config::ErrorClass;
use crate::edge::header_value;
use crate::error::{ErrorKind, GatewayError};
use crate::metrics;
use crate::routing::{outcome, Failure, Outcome};

use super::ctx::Ctx;
use super::watch::Expired;
use super::{attempt, preread, respond, resume};

/// A Pingora error that carries a gateway error already stored in the context.
#[cold]
pub fn gateway_failure(ctx: &mut Ctx, err: GatewayError) -> Box<Error> {
    let status = err.status_for(ctx.req.dialect);
    ctx.resp.error = Some(err);
    Error::explain(ErrorType::HTTPStatus(status), "gateway error")
}

/// The body filter failed. An unusable answer held back from the client (cut
/// mid-way, not JSON) is the upstream's fault: retried like one.
pub fn body_error(ctx: &mut Ctx, err: GatewayError) -> Box<Error> {
    let held = preread::with_held_body(&ctx.slots.hold, |_| ()).is_some();
    let upstream = held && err.kind == ErrorKind::UpstreamProtocol;
    let mut e = gateway_failure(ctx, err);
    if upstream {
        e.esource = ErrorSource::Upstream;
    }
    e
}

/// A retryable upstream error: Pingora calls `upstream_peer` again.
pub fn retry_error(status: u16, why: &'static str) -> Box<Error> {
    let mut e = Error::explain(ErrorType::HTTPStatus(status), why);
    e.esource = ErrorSource::Upstream;
    e.set_retry(true);
    e
}

/// Whether a response (not just a `100 Continue`) already went to the client.
pub fn response_started(session: &Session) -> bool {
    session
        .response_written()
        .is_some_and(|r| !r.status.is_informational())
}

/// Whether anything of an upstream's answer reached the client: from then on a retry
/// would splice a second answer into the first. A header committed by a keepalive,
/// and keepalive comments, do not count.
pub fn upstream_bytes_sent(session: &Session, ctx: &Ctx) -> bool {
    response_started(session)
        && ctx
            .slots
            .watch
            .lock()
            .map_or(true, |w| !w.committed() || w.upstream_body_sent())
}

/// An upstream status arrived: record it; true when it failed retryably before
/// anything reached the client and the cursor has a next step.
pub fn on_status(session: &Session, ctx: &mut Ctx, resp: &ResponseHeader) -> bool {
    let status = resp.status.as_u16();
    // Only a failure is held off; a success's headers need no look.
    let failed = !resp.status.is_success();
    let hold_off = failed
        .then(|| {
            outcome::hold_off(|name| {
                resp.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
        })
        .flatten();
    let (outcome, failure) = attempt::judge_status(ctx, status, hold_off);
    match failure {
        Some(failure) if !upstream_bytes_sent(session, ctx) => attempt::fail(ctx, outcome, failure),
        _ => {
            attempt::record(ctx, outcome);
            false
        }
    }
}

/// `fail_to_connect`: nothing was sent, so any request, POST included, may go on.
pub fn on_connect_error(ctx: &mut Ctx, e: &Error) -> bool {
    let class = if matches!(e.etype(), ErrorType::ConnectTimedout) {
        ErrorClass::Timeout
    } else {
        ErrorClass::Connect
    };
    fail_endpoint(ctx, class)
}

/// `error_while_proxy`: whether to retry, after recording whose fault it was.
pub fn on_proxy_error(session: &Session, ctx: &mut Ctx, e: &mut Error) -> bool {
    // A stream that failed mid-way and is continued elsewhere: from here on it is
    // retried like a failure before anything was sent (the wrapper reset that).
    resume::on_failure(ctx);
    let expired = ctx.slots.watch.lock().ok().and_then(|w| w.expired());
    if let Some(which) = expired {
        // The watch failed the downstream poll (which Pingora blames on the client):
        // it is the upstream that ran out of time.
        e.esource = ErrorSource::Upstream;
        ctx.resp.error = Some(GatewayError::new(
            ErrorKind::UpstreamTimeout,
            which.message(),
        ));
        if which == Expired::Total || upstream_bytes_sent(session, ctx) {
            attempt::record(ctx, Outcome::EndpointFault(ErrorClass::Timeout));
            return false;
        }
        return fail_endpoint(ctx, ErrorClass::Timeout);
    }
    let class = match e.etype() {
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => ErrorClass::Timeout,
        _ => ErrorClass::ServerError,
    };
    if *e.esource() != ErrorSource::Upstream {
        // A client that went away: nobody's fault upstream, never retried.
        return false;
    }
    if upstream_bytes_sent(session, ctx) {
        attempt::record(ctx, Outcome::EndpointFault(class));
        return false;
    }
    if ctx.route.next.is_some() {
        // Our own retry, decided when the status or a held refusal arrived.
        return true;
    }
    if e.retry() && ctx.resp.first_byte_at.is_none() {
        // Pingora's verdict on a reused pooled connection the upstream had closed
        // (before it answered anything: a failure mid-answer is no stale connection).
        return attempt::retry_stale(ctx);
    }
    fail_endpoint(ctx, class)
}

fn fail_endpoint(ctx: &mut Ctx, class: ErrorClass) -> bool {
    let failure = Failure {
        class,
        retry_after: None,
    };
    attempt::fail(ctx, Outcome::EndpointFault(class), failure)
}

/// A held refusal (context window, content policy) that a fallback may take over.
pub fn on_refusal(ctx: &mut Ctx, class: ErrorClass) -> bool {
    let failure = Failure {
        class,
        retry_after: None,
    };
    attempt::fail(ctx, Outcome::Neutral, failure)
}

/// `fail_to_proxy`: the error in the client's dialect, or an in-band event when the
/// stream already started.
pub async fn answer(session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
    preread::restore(session, &ctx.slots.slot);
    if *e.esource() == ErrorSource::Downstream {
        metrics::CLIENT_DISCONNECTS.inc();
        ctx.resp.status = 499;
        return done(0, false);
    }
    let err = ctx
        .resp
        .error
        .clone()
        .unwrap_or_else(|| map_pingora_error(e, ctx));
    ctx.resp.error = Some(err.clone());
    if response_started(session) {
        // Too late for a status: end the stream with an error event and a properly
        // terminated body. Pingora then closes the connection (after a proxying
        // error it never reuses the downstream, whatever is returned here).
        let event = ctx
            .resp
            .stream_tail
            .take()
            .unwrap_or_else(|| err.sse_event(ctx.req.dialect));
        let _ = session
            .write_response_body(Some(Bytes::from(event)), true)
            .await;
        return done(ctx.resp.status, false);
    }
    // After a proxying error Pingora never reuses the client's connection, whatever
    // this returns: say so in the answer, so a client does not send its next request
    // on a connection that is about to close.
    session.set_keepalive(None);
    let status = err.status_for(ctx.req.dialect);
    let extra = attempt_headers(ctx);
    match respond::send_error_with(session, ctx, err, extra).await {
        Ok(()) => done(status, false),
        Err(_) => done(0, false),
    }
}

/// `x-tollgate-*` headers of an error answered after attempts were made.
fn attempt_headers(ctx: &Ctx) -> Vec<respond::ExtraHeader> {
    let mut out = Vec::new();
    let attempts = ctx.route.cursor.attempts() as u64;
    if attempts > 0 {
        out.push(("x-tollgate-attempts", header_value::count(attempts)));
    }
    if let Some(a) = &ctx.attempt {
        out.push(("x-tollgate-provider", a.provider.name_value.clone()));
        out.push(("x-tollgate-model", a.model_value.clone()));
    }
    out
}

fn done(error_code: u16, can_reuse_downstream: bool) -> FailToProxy {
    FailToProxy {
        error_code,
        can_reuse_downstream,
    }
}

/// A Pingora error without a gateway error attached → the gateway error it means.
fn map_pingora_error(e: &Error, ctx: &Ctx) -> GatewayError {
    use ErrorType::*;
    match e.etype() {
        ConnectTimedout | ReadTimedout | WriteTimedout => GatewayError::new(
            ErrorKind::UpstreamTimeout,
            "The upstream did not answer in time",
        ),
        ConnectRefused | ConnectNoRoute | ConnectError | TLSHandshakeFailure
        | TLSHandshakeTimedout | InvalidCert | ConnectProxyFailure | SocketError | BindError => {
            GatewayError::new(
                ErrorKind::UpstreamUnreachable,
                "The upstream could not be reached",
            )
        }
        HTTPStatus(status) => {
            let s = ctx.resp.upstream_status.unwrap_or(*status);
            GatewayError::new(
                ErrorKind::UpstreamStatus(s),
                format!("The upstream answered {s}"),
            )
        }
        _ if *e.esource() == ErrorSource::Upstream => GatewayError::new(
            ErrorKind::UpstreamProtocol,
            "The upstream connection failed",
        ),
        _ => GatewayError::internal("Internal gateway error"),
    }
}
