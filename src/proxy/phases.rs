//! `ProxyHttp` for [`Proxy`]: the Pingora phases, each a short delegate. Where an
//! attempt goes next is the route cursor's decision (`routing::cursor`, reached
//! through `attempt`); how a failure is classified is `failure`'s.

use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, Result};
use pingora_proxy::{FailToProxy, ProxyHttp, Session};

use crate::config::ErrorClass;
use crate::error::{ErrorKind, GatewayError};
use crate::metrics;
use crate::routing::Outcome;

use super::accept::{accept, Accepted};
use super::ctx::{Attempt, Ctx};
use super::failure::{self, gateway_failure, retry_error};
use super::watch;
use super::{
    attempt, end_user, finish, inbound, outbound, preread, respond, spans, upstream_request, Proxy,
};
use crate::edge::{header_value, heads};
use http::{HeaderMap, HeaderName, HeaderValue};

#[async_trait]
impl ProxyHttp for Proxy {
    /// Boxed: Pingora keeps the CTX inside its per-request future, which is moved
    /// (copied whole) into its own allocation for every request; a pointer there
    /// instead of the 2.7 KB context makes that copy smaller.
    type CTX = Box<Ctx>;

    fn new_ctx(&self) -> Box<Ctx> {
        Box::new(Ctx::new())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Box<Ctx>) -> Result<bool> {
        metrics::IN_FLIGHT.inc();
        super::idle::request_started();
        ctx.req.in_flight_counted = true;
        ctx.req.id = inbound::request_id(session);
        // One load of the configuration per request (each costs a few hundred
        // instructions): every later phase reads it from the context.
        let runtime = self.gateway.snapshot_here();
        crate::edge::clocks::keepalive(session, &runtime.config.client);
        ctx.req.runtime = Some(runtime);
        spans::start(session, ctx);
        match accept(session, ctx).await? {
            Ok(Accepted::Proxy) => {
                preread::install(session, ctx.req.body.clone(), &ctx.slots);
                Ok(false)
            }
            Ok(Accepted::Answered) => Ok(true),
            Err(err) => {
                Box::pin(respond::send_error(session, ctx, err)).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut Box<Ctx>,
    ) -> Result<Box<HttpPeer>> {
        spans::end_attempt(ctx);
        // Dropping the previous attempt gives its lease back.
        ctx.begin_attempt();
        match next_attempt(ctx).await {
            Ok((a, peer)) => {
                watch_attempt(ctx, &a);
                ctx.attempt = Some(a);
                Ok(peer)
            }
            Err(err) => Err(gateway_failure(ctx, err)),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut Box<Ctx>,
    ) -> Result<()> {
        upstream_request::prepare(ctx, req)?;
        spans::inject(ctx, req)?;
        // The upstream wait starts now: the header goes out right after this phase.
        if let Some(a) = &mut ctx.attempt {
            a.upstream_sent_at = Some(Instant::now());
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Box<Ctx>,
    ) -> Result<()> {
        // Pingora hands us the pre-read body (the retry buffer) once per attempt;
        // replace it with the body written for this attempt's target.
        if let (Some(_), Some(a)) = (body.as_ref(), &ctx.attempt) {
            *body = Some(a.body.clone());
        }
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Box<Ctx>,
    ) -> Result<()> {
        let status = resp.status.as_u16();
        ctx.resp.upstream_status = Some(status);
        if failure::on_status(session, ctx, resp) {
            return Err(retry_error(status, "upstream failed, retrying"));
        }
        let mut head = heads::take_response(resp);
        outbound::prepare(ctx, &mut head);
        crate::cache::on_response_start(ctx);
        crate::conversations::on_response_start(ctx);
        arm_stream_failure(ctx, &head.headers);
        ctx.route.explained = ctx.route_explanation().map(header_value::owned);
        add_response_headers(ctx, &mut head.headers);
        heads::put_response(resp, head);
        ctx.resp.status = status;
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Box<Ctx>,
    ) -> Result<Option<std::time::Duration>> {
        note_upstream_chunk(ctx, body, end_of_stream);
        spans::on_upstream_chunk(ctx, body.as_ref());
        crate::cache::record_chunk(ctx, body.as_ref());
        if let Err(err) = outbound::on_body(ctx, body, end_of_stream) {
            return Err(failure::body_error(ctx, err));
        }
        crate::conversations::on_client_bytes(ctx, body.as_ref(), end_of_stream);
        if ctx.resp.retry_requested {
            // A held refusal that a fallback takes over: fail this attempt, retryably.
            let status = ctx.resp.upstream_status.unwrap_or(400);
            return Err(retry_error(status, "refusal, falling back"));
        }
        if end_of_stream {
            attempt::upstream_done(ctx);
            crate::cache::record_end(ctx);
            finish::settle_early(ctx);
        }
        Ok(None)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Box<Ctx>,
        mut e: Box<Error>,
    ) -> Box<Error> {
        let retry = failure::on_connect_error(ctx, &e);
        e.set_retry(retry);
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut Box<Ctx>,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("peer: {peer}"));
        // An error on a pooled connection the upstream had closed is "retry only if
        // reused": settle it now (asking `retry()` of an undecided error panics).
        e.retry.decide_reuse(client_reused);
        let retry = failure::on_proxy_error(session, ctx, &mut e);
        e.set_retry(retry);
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut Box<Ctx>,
    ) -> FailToProxy {
        failure::answer(session, e, ctx).await
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Box<Ctx>) {
        preread::restore(session, &ctx.slots.slot);
        let ended_with = ctx.slots.watch.lock().ok().and_then(|mut w| w.ended_with());
        if let Some(err) = ended_with {
            // The wrapper ended a stream whose upstream failed; Pingora saw no error.
            attempt::record(ctx, Outcome::EndpointFault(ErrorClass::Timeout));
            ctx.resp.error = Some(err);
        }
        if ctx.req.in_flight_counted {
            metrics::IN_FLIGHT.dec();
        }
        end_user::resolve(session, ctx);
        finish::observe(session, ctx);
        spans::finish(session, ctx);
        finish::settle(ctx).await;
        // The endpoint lease goes back now, not whenever the context is dropped.
        ctx.attempt = None;
        if ctx.req.in_flight_counted {
            super::idle::request_ended();
        }
    }

    fn suppress_error_log(&self, _session: &Session, ctx: &Box<Ctx>, error: &Error) -> bool {
        // Errors answered to the client are in the access log already, and a client
        // that went away (a user stopping a stream) is counted in a metric, not an
        // ERROR line per occurrence.
        ctx.resp.error.is_some() || *error.esource() == pingora::ErrorSource::Downstream
    }
}

/// The next attempt (the cursor's pick, or the first) and its peer.
async fn next_attempt(ctx: &mut Ctx) -> Result<(Attempt, Box<HttpPeer>), GatewayError> {
    let runtime = ctx
        .req
        .runtime
        .clone()
        .ok_or_else(|| GatewayError::internal("no runtime"))?;
    let pick = match ctx.route.next.take() {
        Some(pick) => pick,
        None => attempt::first_pick(&runtime, ctx)?,
    };
    let a = attempt::begin(&runtime, ctx, pick).await?;
    let peer = attempt::build_peer(&a)?;
    Ok((a, peer))
}

/// Once the client's response is an event stream, a later upstream failure must end
/// it with one in-band error event in the client's dialect.
fn arm_stream_failure(ctx: &Ctx, headers: &HeaderMap) {
    if !outbound::is_client_event_stream(headers) {
        return;
    }
    let err = GatewayError::new(
        ErrorKind::UpstreamProtocol,
        "The upstream connection failed in the middle of the stream",
    );
    if let Ok(mut w) = ctx.slots.watch.lock() {
        w.set_stream_failure(err, ctx.req.dialect);
    }
}

const PROVIDER: HeaderName = HeaderName::from_static("x-tollgate-provider");
const MODEL: HeaderName = HeaderName::from_static("x-tollgate-model");
const ROUTE: HeaderName = HeaderName::from_static("x-tollgate-route");
const ATTEMPTS: HeaderName = HeaderName::from_static("x-tollgate-attempts");
const CACHE: HeaderName = HeaderName::from_static("x-tollgate-cache");

/// The gateway's own answer headers besides the rate-limit ones: request id,
/// provider, model, route, attempts, cache.
const ADDED_HEADERS_MAX: usize = 6;

/// The gateway's own headers on a proxied answer. Names are parsed at compile time
/// and values are shared or moved, never copied.
fn add_response_headers(ctx: &Ctx, headers: &mut HeaderMap) {
    // One growth of the map for all of them, not one per power of two passed.
    headers.reserve(ADDED_HEADERS_MAX + ctx.rate_limit_headers().len());
    headers.insert(heads::X_REQUEST_ID, ctx.req.id.value().clone());
    if let Some(a) = &ctx.attempt {
        headers.insert(PROVIDER, a.provider.name_value.clone());
        headers.insert(MODEL, a.model_value.clone());
    }
    if let Some(value) = &ctx.route.explained {
        headers.insert(ROUTE, value.clone());
    }
    let attempts = ctx.route.cursor.attempts() as u64;
    headers.insert(ATTEMPTS, header_value::count(attempts));
    for (name, value) in ctx.rate_limit_headers() {
        headers.insert((*name).clone(), value.clone());
    }
    if let Some(outcome) = crate::cache::response_header(ctx) {
        headers.insert(CACHE, HeaderValue::from_static(outcome));
    }
}

fn note_upstream_chunk(ctx: &mut Ctx, body: &Option<Bytes>, end_of_stream: bool) {
    let empty = body.as_ref().is_none_or(|b| b.is_empty());
    if empty && !end_of_stream {
        return;
    }
    let now = Instant::now();
    if let Some(a) = &mut ctx.attempt {
        a.upstream_last_byte_at = Some(now);
    }
    if empty {
        return;
    }
    if ctx.resp.first_byte_at.is_none() {
        ctx.resp.first_byte_at = Some(now);
        // Now, not in `logging`: the client may send its next request, to be routed
        // by this sample, before this one's logging has run.
        super::attempt::note_ttft(ctx);
    }
    if let Ok(mut w) = ctx.slots.watch.lock() {
        w.upstream_chunk(now);
    }
}

/// Start the watch's clocks for this attempt; streams with keepalives enabled get
/// the header a keepalive commits with.
fn watch_attempt(ctx: &Ctx, a: &Attempt) {
    let timeouts = a.provider.timeouts.with_override(&a.route.timeouts);
    // The google-genai SDK reads every line that is not `data:` as JSON and raises
    // on an SSE comment: Gemini streams get no keepalives.
    let keepalives = ctx.req.dialect != crate::error::Dialect::Gemini;
    let header = (keepalives && ctx.stream_requested() && timeouts.sse_keepalive.is_some())
        .then(|| watch::commit_header(ctx.req.id.value(), ctx.rate_limit_headers()))
        .flatten();
    if let Ok(mut w) = ctx.slots.watch.lock() {
        // The attempt began a moment ago in this phase: its instant, not another read
        // of the clock.
        w.begin_attempt(a.started, ctx.req.started, &timeouts, header);
    }
}
