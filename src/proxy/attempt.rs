//! One upstream attempt: choose the route, target and endpoint (honouring health,
//! cool-downs and what was already tried), write the body for the target's wire
//! format, build the peer; and decide whether a failed attempt may be retried.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora::upstreams::peer::HttpPeer;

use crate::config::{ErrorClass, ModelRoute};
use crate::error::{ErrorKind, GatewayError};
use crate::formats::{self, WireFormat};
use crate::providers::{self, Api};
use crate::routing::{select, Candidate};
use crate::runtime::Runtime;

use super::ctx::{Attempt, Ctx};

/// Consecutive failures that open an endpoint's breaker, and for how long.
pub const BREAKER_THRESHOLD: u64 = 3;
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(10);

/// Choose the next attempt and prepare its body. Moves to the next fallback route
/// when the current one has no attempts left (or failed in a way its retry policy
/// does not cover).
pub fn next_attempt(runtime: &Runtime, ctx: &mut Ctx) -> Result<Attempt, GatewayError> {
    let plan = ctx
        .plan
        .clone()
        .ok_or_else(|| GatewayError::internal("no route plan"))?;
    let mut last_err = None;
    if std::mem::take(&mut ctx.stale_connection_retry) {
        // Not the endpoint's fault: the same route goes again, attempt not counted.
        ctx.route_attempts = ctx.route_attempts.saturating_sub(1);
        if let Some(route) = plan.routes.get(ctx.route_index).cloned() {
            if let Ok(attempt) = pick(runtime, &route, ctx) {
                ctx.route_attempts += 1;
                return Ok(attempt);
            }
        }
    }
    while let Some(route) = plan.routes.get(ctx.route_index).cloned() {
        if !route_may_continue(&route, ctx) {
            advance_route(ctx);
            continue;
        }
        match pick(runtime, &route, ctx) {
            Ok(attempt) => {
                ctx.route_attempts += 1;
                return Ok(attempt);
            }
            Err(e) => {
                last_err = Some(e);
                advance_route(ctx);
            }
        }
    }
    Err(last_err.unwrap_or_else(no_healthy))
}

fn no_healthy() -> GatewayError {
    GatewayError::new(
        ErrorKind::NoHealthyUpstream,
        "No healthy upstream is available for this model",
    )
}

fn advance_route(ctx: &mut Ctx) {
    ctx.route_index += 1;
    ctx.route_attempts = 0;
}

/// Whether the current route may take another attempt after the last failure.
fn route_may_continue(route: &ModelRoute, ctx: &Ctx) -> bool {
    if ctx.route_attempts == 0 {
        return true;
    }
    let Some(class) = ctx.last_failure else {
        return false;
    };
    ctx.route_attempts < route.retry.attempts && route.retry.on.contains(&class)
}

/// Whether a failure of this class may be followed by another attempt, on this route
/// or a fallback. Called before anything was sent to the client.
pub fn may_retry(ctx: &Ctx, class: ErrorClass) -> bool {
    let Some(plan) = &ctx.plan else { return false };
    let Some(route) = plan.routes.get(ctx.route_index) else {
        return false;
    };
    if ctx.route_attempts < route.retry.attempts && route.retry.on.contains(&class) {
        return true;
    }
    let has_fallback = ctx.route_index + 1 < plan.routes.len();
    has_fallback && (route.fallback_on.is_empty() || route.fallback_on.contains(&class))
}

/// Whether a client-error answer could be a refusal (context window, content
/// policy) that this route's fallbacks are configured to take over.
pub fn fallback_takes_refusals(ctx: &Ctx) -> bool {
    let Some(plan) = &ctx.plan else { return false };
    let Some(route) = plan.routes.get(ctx.route_index) else {
        return false;
    };
    let has_fallback = ctx.route_index + 1 < plan.routes.len();
    has_fallback
        && (route.fallback_on.is_empty()
            || route
                .fallback_on
                .contains(&ErrorClass::ContextWindowExceeded)
            || route.fallback_on.contains(&ErrorClass::ContentPolicy))
}

/// The failure class of a translated upstream error, for refusals only.
pub fn class_of_refusal(err: &GatewayError) -> Option<ErrorClass> {
    match err.kind {
        ErrorKind::ContextWindowExceeded => Some(ErrorClass::ContextWindowExceeded),
        ErrorKind::ContentPolicy => Some(ErrorClass::ContentPolicy),
        _ => None,
    }
}

/// Exponential backoff with jitter before attempt `n` on the same route (n >= 2),
/// or the upstream's `retry-after` when it said so (bounded by the max backoff).
pub fn backoff(route: &ModelRoute, n: u32, retry_after: Option<Duration>) -> Duration {
    let max = route.retry.max_backoff;
    if let Some(after) = retry_after {
        return after.min(max);
    }
    let base = route.retry.backoff.as_millis() as u64;
    let exp = base.saturating_mul(1u64 << (n.saturating_sub(2)).min(16));
    let capped = exp.min(max.as_millis() as u64);
    // Full jitter in [capped/2, capped], from the clock's low bits (no RNG needed).
    let nanos = Instant::now().elapsed().as_nanos() as u64 ^ std::process::id() as u64;
    let jitter = if capped > 1 {
        nanos % (capped / 2 + 1)
    } else {
        0
    };
    Duration::from_millis(capped / 2 + jitter)
}

fn pick(runtime: &Runtime, route: &Arc<ModelRoute>, ctx: &Ctx) -> Result<Attempt, GatewayError> {
    let counter = runtime.counter_for(&route.name);
    // First prefer endpoints not tried yet; then allow a second try of the same one
    // (a single endpoint that answered 429 is worth retrying after the backoff).
    for allow_tried in [false, true] {
        let candidates = candidates(runtime, route, ctx, allow_tried);
        let ticket = counter.fetch_add(1, Ordering::Relaxed);
        let key = ctx.hash_key.as_deref().map(str::as_bytes);
        if let Some(c) = select::choose(route.strategy, &candidates, ticket, key) {
            let mut attempt = build_attempt(ctx, route, c.target_index, c.endpoint_index)?;
            attempt.addr = Some(c.addr);
            return Ok(attempt);
        }
    }
    Err(no_healthy())
}

/// Every healthy `(target, endpoint)` of the route this attempt may use.
fn candidates(
    runtime: &Runtime,
    route: &ModelRoute,
    ctx: &Ctx,
    allow_tried: bool,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (target_index, target) in route.targets.iter().enumerate() {
        let name = &target.provider.name;
        let Some(pool) = runtime.pools.get(name) else {
            continue;
        };
        let untried =
            |i: usize| allow_tried || !ctx.tried.iter().any(|(p, e)| p == name && *e == i);
        for (endpoint_index, addr) in pool.candidates(untried) {
            let stats = &pool.stats[endpoint_index];
            let endpoint_weight = pool
                .endpoints
                .get(endpoint_index)
                .map_or(1, |e| e.weight.max(1));
            out.push(Candidate {
                target_index,
                endpoint_index,
                addr,
                weight: (target.weight.max(1) * endpoint_weight) as u64,
                in_flight: stats.in_flight.load(Ordering::Relaxed),
                latency_us: stats.latency_ewma_us.load(Ordering::Relaxed),
            });
        }
    }
    out
}

fn build_attempt(
    ctx: &Ctx,
    route: &Arc<ModelRoute>,
    target_index: usize,
    endpoint_index: usize,
) -> Result<Attempt, GatewayError> {
    let target = route
        .targets
        .get(target_index)
        .ok_or_else(|| GatewayError::internal("target index out of range"))?;
    let provider = target.provider.clone();
    let format = providers::wire_format(provider.kind);
    let api = ctx.api.ok_or_else(|| GatewayError::internal("no api"))?;
    let stream = ctx.stream_requested();
    let path =
        providers::upstream_path(&provider, api, &target.model, stream).ok_or_else(|| {
            GatewayError::invalid(format!(
                "Provider `{}` does not support this endpoint",
                provider.name
            ))
        })?;
    let body = attempt_body(ctx, api, format, &target.model)?;
    Ok(Attempt {
        route: route.clone(),
        target_index,
        provider,
        upstream_model: target.model.clone(),
        endpoint_index,
        format,
        body,
        path,
        started: Instant::now(),
        addr: None,
    })
}

/// The request body for this attempt's target: the client's own bytes with only
/// `model` replaced when the target speaks the client's dialect, else a translation.
fn attempt_body(
    ctx: &Ctx,
    api: Api,
    format: WireFormat,
    upstream_model: &str,
) -> Result<Bytes, GatewayError> {
    let envelope = ctx
        .envelope
        .as_ref()
        .ok_or_else(|| GatewayError::internal("no envelope"))?;
    let same = format.native_dialect() == Some(ctx.dialect) || api == Api::Embeddings;
    let body = if same {
        // Ask OpenAI-format upstreams for usage on streams, to account tokens exactly.
        let force_usage = format == WireFormat::OpenAiChat && api == Api::ChatCompletions;
        formats::rewrite_same_format(&ctx.body, envelope, upstream_model, force_usage)
    } else {
        formats::translate_request(ctx.dialect, format, &ctx.body, upstream_model)?
    };
    Ok(Bytes::from(body))
}

/// Build the peer for an attempt: resolved address, TLS with SNI and verification,
/// the route's and provider's timeouts.
pub fn build_peer(attempt: &Attempt, stream: bool) -> Result<HttpPeer, GatewayError> {
    let addr = attempt
        .addr
        .ok_or_else(|| GatewayError::internal("endpoint not resolved"))?;
    let endpoint = attempt
        .provider
        .endpoints
        .get(attempt.endpoint_index)
        .ok_or_else(|| GatewayError::internal("endpoint index out of range"))?;
    let timeouts = attempt
        .provider
        .timeouts
        .with_override(&attempt.route.timeouts);
    let mut peer = HttpPeer::new(addr, endpoint.tls, endpoint.host.clone());
    peer.options.ca = attempt.provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    peer.options.connection_timeout = Some(timeouts.connect);
    peer.options.total_connection_timeout = Some(timeouts.connect);
    // Pingora has one timeout per read, for the response header and every body chunk
    // alike. A non-streaming answer arrives in one piece after the whole generation,
    // so the first-byte timeout is the one that matters; a stream's header comes at
    // once and then tokens, so both the first token and the gaps must fit.
    peer.options.read_timeout = Some(if stream {
        timeouts.first_byte.max(timeouts.idle)
    } else {
        timeouts.first_byte
    });
    peer.options.write_timeout = Some(timeouts.connect.max(Duration::from_secs(30)));
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    Ok(peer)
}

/// The failure class of an upstream status, if it is one retry policies know.
pub fn class_of_status(status: u16) -> Option<ErrorClass> {
    match status {
        429 => Some(ErrorClass::RateLimit),
        529 => Some(ErrorClass::Overloaded),
        500 | 502 | 503 => Some(ErrorClass::ServerError),
        504 => Some(ErrorClass::Timeout),
        _ => None,
    }
}
