//! `ProxyHttp` for [`Proxy`]: the Pingora phases, each delegating to a module.

use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType, Result};
use pingora_proxy::{FailToProxy, ProxyHttp, Session};

use crate::config::ErrorClass;
use crate::error::{ErrorKind, GatewayError};
use crate::metrics;

use super::accept::{accept, Accepted};
use super::ctx::{Attempt, Ctx};
use super::inbound;
use super::watch::{self, Expired};
use super::{attempt, finish, outbound, preread, respond, Proxy};

/// A Pingora error that carries a gateway error already stored in the context.
fn gateway_failure(ctx: &mut Ctx, err: GatewayError) -> Box<Error> {
    let status = err.status_for(ctx.dialect);
    ctx.error = Some(err);
    Error::explain(ErrorType::HTTPStatus(status), "gateway error")
}

/// Whether a response (not just a `100 Continue`) already went to the client.
fn response_started(session: &Session) -> bool {
    session
        .response_written()
        .is_some_and(|r| !r.status.is_informational())
}

/// Whether anything of an upstream's answer reached the client: from then on a retry
/// would splice a second answer into the first. A header committed by a keepalive,
/// and keepalive comments, do not count.
fn upstream_bytes_sent(session: &Session, ctx: &Ctx) -> bool {
    response_started(session)
        && ctx
            .watch
            .lock()
            .map_or(true, |w| !w.committed() || w.upstream_body_sent())
}

#[async_trait]
impl ProxyHttp for Proxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx::new()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        metrics::IN_FLIGHT.inc();
        ctx.in_flight_counted = true;
        ctx.request_id = inbound::request_id(session);
        ctx.runtime = Some(self.gateway.snapshot());
        crate::edge::clocks::keepalive(session, &self.gateway.snapshot().config.client);
        match accept(session, ctx).await? {
            Ok(Accepted::Proxy) => {
                preread::install(session, ctx.body.clone(), &ctx.slot, &ctx.hold, &ctx.watch);
                Ok(false)
            }
            Ok(Accepted::Answered) => Ok(true),
            Err(err) => {
                respond::send_error(session, ctx, err).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        ctx.begin_attempt();
        let runtime = match &ctx.runtime {
            Some(r) => r.clone(),
            None => return Err(gateway_failure(ctx, GatewayError::internal("no runtime"))),
        };
        if ctx.attempts > 0 {
            wait_before_retry(ctx).await;
        }
        ctx.attempts += 1;
        let chosen = attempt::next_attempt(&runtime, ctx).and_then(|a| {
            let peer = attempt::build_peer(&a, ctx.stream_requested())?;
            Ok((a, peer))
        });
        match chosen {
            Ok((a, peer)) => {
                watch_attempt(ctx, &a);
                ctx.tried.push((a.provider.name.clone(), a.endpoint_index));
                if let Some(pool) = runtime.pools.get(&a.provider.name) {
                    if let Some(s) = pool.stats.get(a.endpoint_index) {
                        s.in_flight
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                ctx.attempt = Some(a);
                Ok(Box::new(peer))
            }
            Err(err) => Err(gateway_failure(ctx, err)),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some(a) = &ctx.attempt else { return Ok(()) };
        let endpoint = a.provider.endpoints.get(a.endpoint_index);
        let path = format!(
            "{}{}",
            endpoint.map_or("", |e| e.path_prefix.as_str()),
            a.path
        );
        req.set_uri(
            path.parse()
                .map_err(|_| Error::explain(ErrorType::InternalError, "bad upstream path"))?,
        );
        req.set_method(http::Method::POST);
        for name in STRIPPED_HEADERS {
            req.remove_header(*name);
        }
        if a.format.native_dialect() != Some(ctx.dialect) {
            // Client dialect headers mean nothing to another format.
            req.remove_header("anthropic-version");
            req.remove_header("anthropic-beta");
            req.remove_header("openai-organization");
            req.remove_header("openai-project");
        }
        let host = endpoint.map(|ep| {
            let default_port = if ep.tls { 443 } else { 80 };
            if ep.port == default_port {
                ep.host.clone()
            } else {
                format!("{}:{}", ep.host, ep.port)
            }
        });
        if let Some(host) = &host {
            req.insert_header("host", host.as_str())?;
        }
        req.insert_header("content-type", "application/json")?;
        req.insert_header("content-length", a.body.len().to_string())?;
        req.insert_header("x-request-id", ctx.request_id.as_str())?;
        crate::providers::apply_auth(&a.provider, req)?;
        if a.provider.kind == crate::config::ProviderKind::Bedrock {
            let host = host.as_deref().unwrap_or("");
            crate::providers::sign_bedrock(&a.provider, req, host, &path, &a.body)?;
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        // Pingora hands us the pre-read body (the retry buffer) once per attempt;
        // replace it with the body written for this attempt's target.
        if body.is_some() {
            if let Some(a) = &ctx.attempt {
                *body = Some(a.body.clone());
            }
        }
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let status = resp.status.as_u16();
        ctx.upstream_status = Some(status);
        let class = attempt::class_of_status(status);
        record_outcome(ctx, class.is_none());
        if let Some(class) = class {
            ctx.last_failure = Some(class);
            ctx.retry_after = retry_after(resp);
            if let (Some(after), Some(a), Some(rt)) = (ctx.retry_after, &ctx.attempt, &ctx.runtime)
            {
                if let Some(pool) = rt.pools.get(&a.provider.name) {
                    pool.cool_down_for(a.endpoint_index, after);
                }
            }
            if !upstream_bytes_sent(session, ctx) && attempt::may_retry(ctx, class) {
                let mut e =
                    Error::explain(ErrorType::HTTPStatus(status), "upstream failed, retrying");
                e.esource = ErrorSource::Upstream;
                e.set_retry(true);
                return Err(e);
            }
        }
        outbound::prepare(ctx, resp)?;
        if outbound::is_client_event_stream(resp) {
            let err = GatewayError::new(
                ErrorKind::UpstreamProtocol,
                "The upstream connection failed in the middle of the stream",
            );
            let event = err.sse_event(ctx.dialect);
            if let Ok(mut w) = ctx.watch.lock() {
                w.set_stream_failure(err, event);
            }
        }
        resp.insert_header("x-request-id", ctx.request_id.as_str())?;
        if let Some(a) = &ctx.attempt {
            resp.insert_header("x-tollgate-provider", a.provider.name.as_str())?;
            resp.insert_header("x-tollgate-model", a.upstream_model.as_str())?;
        }
        resp.insert_header("x-tollgate-attempts", ctx.attempts.to_string())?;
        for (name, value) in ctx.rate_limit_headers() {
            resp.insert_header(*name, value.as_str())?;
        }
        ctx.status = status;
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<std::time::Duration>> {
        if body.as_ref().is_some_and(|b| !b.is_empty()) {
            let now = Instant::now();
            if ctx.first_byte_at.is_none() {
                ctx.first_byte_at = Some(now);
            }
            if let Ok(mut w) = ctx.watch.lock() {
                w.upstream_chunk(now);
            }
        }
        if let Err(err) = outbound::on_body(ctx, body, end_of_stream) {
            // An unusable answer held back from the client is the upstream's fault:
            // retried like one.
            let held = preread::with_held_body(&ctx.hold, |_| ()).is_some();
            let upstream = held && err.kind == ErrorKind::UpstreamProtocol;
            let mut e = gateway_failure(ctx, err);
            if upstream {
                e.esource = ErrorSource::Upstream;
            }
            return Err(e);
        }
        if ctx.retry_requested {
            // A held refusal that a fallback takes over: fail this attempt, retryably.
            let mut e = Error::explain(
                ErrorType::HTTPStatus(ctx.upstream_status.unwrap_or(400)),
                "refusal, falling back",
            );
            e.esource = ErrorSource::Upstream;
            e.set_retry(true);
            return Err(e);
        }
        if end_of_stream {
            finish::settle_early(ctx);
        }
        Ok(None)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        record_outcome(ctx, false);
        let class = if matches!(e.etype(), ErrorType::ConnectTimedout) {
            ErrorClass::Timeout
        } else {
            ErrorClass::Connect
        };
        ctx.last_failure = Some(class);
        // Nothing was sent yet: any request, POST included, can go elsewhere.
        e.set_retry(attempt::may_retry(ctx, class));
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("peer: {peer}"));
        // An error on a pooled connection the upstream had closed is "retry only if
        // reused": settle it now (asking `retry()` of an undecided error panics).
        e.retry.decide_reuse(client_reused);
        let expired = ctx.watch.lock().ok().and_then(|w| w.expired());
        if let Some(which) = expired {
            // The watch failed the downstream poll (which Pingora blames on the client):
            // it is the upstream that ran out of time.
            e.esource = ErrorSource::Upstream;
            record_outcome(ctx, false);
            ctx.last_failure = Some(ErrorClass::Timeout);
            let retry = which != Expired::Total
                && !upstream_bytes_sent(session, ctx)
                && attempt::may_retry(ctx, ErrorClass::Timeout);
            ctx.error = Some(GatewayError::new(
                ErrorKind::UpstreamTimeout,
                which.message(),
            ));
            e.set_retry(retry);
            return e;
        }
        if *e.esource() != ErrorSource::Upstream || upstream_bytes_sent(session, ctx) {
            // A client that went away is not retried; once bytes reached the client,
            // a retry would splice a second response into the first.
            e.set_retry(false);
            return e;
        }
        // Our own retryable errors (429/5xx) were already counted; a stale pooled
        // connection is no fault of the endpoint.
        if e.retry() {
            if client_reused && ctx.retry_after.is_none() && !ctx.retry_requested {
                // The pooled connection was stale: try again without using an attempt.
                ctx.stale_connection_retry = true;
            }
            return e;
        }
        record_outcome(ctx, false);
        let class = match e.etype() {
            ErrorType::ReadTimedout | ErrorType::WriteTimedout => ErrorClass::Timeout,
            _ => ErrorClass::ServerError,
        };
        ctx.last_failure = Some(class);
        e.set_retry(attempt::may_retry(ctx, class));
        e
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        preread::restore(session, &ctx.slot);
        if *e.esource() == ErrorSource::Downstream {
            metrics::CLIENT_DISCONNECTS.inc();
            ctx.status = 499;
            return FailToProxy {
                error_code: 0,
                can_reuse_downstream: false,
            };
        }
        let err = ctx
            .error
            .clone()
            .unwrap_or_else(|| map_pingora_error(e, ctx));
        ctx.error = Some(err.clone());
        if response_started(session) {
            // Too late for a status: end the stream with an error event and a properly
            // terminated body. Pingora then closes the connection (after a proxying
            // error it never reuses the downstream, whatever is returned here).
            let event = ctx
                .stream_tail
                .take()
                .unwrap_or_else(|| err.sse_event(ctx.dialect));
            let _ = session
                .write_response_body(Some(Bytes::from(event)), true)
                .await;
            return FailToProxy {
                error_code: ctx.status,
                can_reuse_downstream: false,
            };
        }
        let status = err.status_for(ctx.dialect);
        if respond::send_error(session, ctx, err).await.is_err() {
            return FailToProxy {
                error_code: 0,
                can_reuse_downstream: false,
            };
        }
        FailToProxy {
            error_code: status,
            can_reuse_downstream: true,
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        preread::restore(session, &ctx.slot);
        let ended_with = ctx.watch.lock().ok().and_then(|mut w| w.ended_with());
        if let Some(err) = ended_with {
            // The wrapper ended a stream whose upstream failed; Pingora saw no error.
            record_outcome(ctx, false);
            ctx.error = Some(err);
        }
        if ctx.in_flight_counted {
            metrics::IN_FLIGHT.dec();
        }
        if let (Some(a), Some(rt)) = (&ctx.attempt, &ctx.runtime) {
            if let Some(pool) = rt.pools.get(&a.provider.name) {
                if let Some(s) = pool.stats.get(a.endpoint_index) {
                    s.in_flight
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        finish::observe(session, ctx);
        finish::settle(ctx).await;
    }

    fn suppress_error_log(&self, _session: &Session, ctx: &Ctx, error: &Error) -> bool {
        // Errors answered to the client are in the access log already, and a client
        // that went away (a user stopping a stream) is counted in a metric, not an
        // ERROR line per occurrence.
        ctx.error.is_some() || *error.esource() == ErrorSource::Downstream
    }
}

/// Hop-by-hop and credential headers never forwarded upstream.
const STRIPPED_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "expect",
    "transfer-encoding",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "upgrade",
    // We read (and may translate) the response body: ask for it uncompressed.
    "accept-encoding",
];

async fn wait_before_retry(ctx: &mut Ctx) {
    let route = ctx
        .plan
        .as_ref()
        .and_then(|p| p.routes.get(ctx.route_index))
        .cloned();
    if let Some(route) = route {
        let pause = attempt::backoff(
            &route,
            ctx.route_attempts.saturating_add(1),
            ctx.retry_after.take(),
        );
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Passive health: feed the attempt's outcome to its endpoint's breaker.
fn record_outcome(ctx: &Ctx, ok: bool) {
    let (Some(a), Some(rt)) = (&ctx.attempt, &ctx.runtime) else {
        return;
    };
    if let Some(pool) = rt.pools.get(&a.provider.name) {
        pool.record(
            a.endpoint_index,
            ok,
            a.started.elapsed(),
            attempt::BREAKER_THRESHOLD,
            attempt::BREAKER_COOLDOWN,
        );
    }
    let outcome = if ok { "ok" } else { "failed" };
    metrics::UPSTREAM_ATTEMPTS
        .with_label_values(&[a.provider.name.as_str(), outcome])
        .inc();
}

fn retry_after(resp: &ResponseHeader) -> Option<std::time::Duration> {
    let header = |name: &str| {
        resp.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    if let Some(ms) = header("retry-after-ms") {
        return Some(std::time::Duration::from_secs_f64(
            (ms / 1000.0).clamp(0.0, 3600.0),
        ));
    }
    header("retry-after").map(|s| std::time::Duration::from_secs_f64(s.clamp(0.0, 3600.0)))
}

/// Start the watch's clocks for this attempt; streams with keepalives enabled get
/// the header a keepalive commits with.
fn watch_attempt(ctx: &Ctx, a: &Attempt) {
    let timeouts = a.provider.timeouts.with_override(&a.route.timeouts);
    let header = (ctx.stream_requested() && timeouts.sse_keepalive.is_some())
        .then(|| watch::commit_header(&ctx.request_id, ctx.rate_limit_headers()))
        .flatten();
    if let Ok(mut w) = ctx.watch.lock() {
        w.begin_attempt(Instant::now(), ctx.started, &timeouts, header);
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
        HTTPStatus(status) => match ctx.upstream_status {
            Some(s) => GatewayError::new(
                ErrorKind::UpstreamStatus(s),
                format!("The upstream answered {s}"),
            ),
            None => GatewayError::new(
                ErrorKind::UpstreamStatus(*status),
                format!("Upstream error {status}"),
            ),
        },
        _ if *e.esource() == ErrorSource::Upstream => GatewayError::new(
            ErrorKind::UpstreamProtocol,
            "The upstream connection failed",
        ),
        _ => GatewayError::internal("Internal gateway error"),
    }
}
