//! One upstream attempt, from the proxy's side: asks the route cursor
//! (`routing::cursor`) where to go, takes the endpoint lease, writes the body for the
//! target's wire format, builds the peer; and reports how the attempt ended, which
//! records passive health once and asks the cursor for the next step.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora::upstreams::peer::HttpPeer;

use crate::config::{ErrorClass, ModelRoute, Strategy, Target};
use crate::error::{ErrorKind, GatewayError};
use crate::formats::RequestShape;
use crate::formats::{self, WireFormat};
use crate::metrics;
use crate::providers::{self, Api};
use crate::routing::cursor::random_u64;
use crate::routing::{cost, EndpointPool, Signals};
use crate::routing::{Candidate, Failure, Outcome, Pick, RouteCursor, RoutePlan, Upstreams};
use crate::runtime::Runtime;

use super::ctx::{Attempt, Ctx};

pub use crate::routing::outcome::class_of_status;

/// The cursor's view of the runtime: pools, passive health, retry budgets, and
/// the request's shape for the strategies that price it.
struct World<'a> {
    runtime: &'a Runtime,
    shape: Option<&'a RequestShape>,
    /// `prefix_affinity` estimate mode: the prompt's block hashes.
    blocks: &'a [u64],
}

impl World<'_> {
    /// What the route's strategy looks at beyond health and load.
    fn signals(
        &self,
        route: &ModelRoute,
        target: &Target,
        pool: &EndpointPool,
        endpoint: usize,
    ) -> Signals {
        let mut s = Signals::default();
        if route.strategy == Strategy::PrefixAffinity {
            if let Some(loads) = self.runtime.prefix_loads.get(&route.name) {
                s.recent = loads.recent(&target.provider.name, endpoint);
                s.matched_blocks = loads.matched(&target.provider.name, endpoint, self.blocks);
            }
            s.load_factor = route.balance.load_factor;
            s.prompt_blocks = self.blocks.len();
            s.in_flight_factor = route.balance.in_flight_factor;
            s.min_match = route.balance.prefix_min_match;
            return s;
        }
        if !route.strategy.prices_requests() {
            return s;
        }
        if let (Some(price), Some(shape)) = (self.runtime.policy.price(&target.model), self.shape) {
            s.cost = cost::expected_cost(&price, shape, route.balance.expected_output_tokens);
        }
        if let Some(bound) = route.balance.max_ttft {
            if let Some(p50) = pool.ttft.p50(endpoint, &target.model) {
                s.ttft_p50_us = p50.as_micros() as u64;
                s.slow = p50 > bound;
            }
        }
        s
    }
}

impl Upstreams for World<'_> {
    fn candidates(&self, route: &ModelRoute) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (target_index, target) in route.targets.iter().enumerate() {
            let Some(pool) = self.runtime.pools.get(&target.provider.name) else {
                continue;
            };
            let now = pool.now_ms();
            for &(endpoint_index, addr) in pool.ready_endpoints().iter() {
                let stats = &pool.stats[endpoint_index];
                let endpoint_weight = pool
                    .endpoints
                    .get(endpoint_index)
                    .map_or(1, |e| e.weight.max(1));
                let health = pool.admit(endpoint_index, &target.model, now);
                out.push(Candidate {
                    target_index,
                    endpoint_index,
                    addr,
                    weight: (target.weight.max(1) * endpoint_weight) as u64,
                    in_flight: stats.in_flight.load(Ordering::Relaxed),
                    latency_us: stats.latency_ewma_us.load(Ordering::Relaxed),
                    admit: health.admit,
                    last_failure_ms: health.last_failure_ms,
                    signals: self.signals(route, target, pool, endpoint_index),
                });
            }
        }
        out
    }

    fn ticket(&self, route: &ModelRoute) -> u64 {
        self.runtime
            .counter_for(&route.name)
            .fetch_add(1, Ordering::Relaxed)
    }

    fn try_retry(&self, provider: &str) -> bool {
        let Some(pool) = self.runtime.pools.get(provider) else {
            return false;
        };
        let ok = pool.budget.try_acquire(pool.now_ms(), &pool.budget_policy);
        let counter = if ok {
            &metrics::RETRIES
        } else {
            &metrics::RETRY_BUDGET_EXHAUSTED
        };
        counter.with_label_values(&[provider]).inc();
        ok
    }
}

/// Where a request with this plan would go now, by the same cursor and strategy as a
/// real first attempt, but claiming nothing (no lease, no probe; with more than one
/// candidate it draws one ticket of the route's round robin): for
/// `POST /admin/route/explain`.
pub fn preview_pick(
    runtime: &Runtime,
    plan: &RoutePlan,
    shape: Option<&RequestShape>,
    key: Option<&[u8]>,
    blocks: &[u64],
) -> Result<Pick, GatewayError> {
    let world = World {
        runtime,
        shape,
        blocks,
    };
    RouteCursor::default().first(plan, &world, key)
}

/// The first attempt's destination.
pub fn first_pick(runtime: &Runtime, ctx: &mut Ctx) -> Result<Pick, GatewayError> {
    // Borrowed field by field (the cursor is written, the request only read): a
    // clone of the plan would write the shared counts of its routes.
    let req = &ctx.req;
    let plan = (req.plan.as_ref()).ok_or_else(|| GatewayError::internal("no route plan"))?;
    let world = World {
        runtime,
        shape: req.shape.as_ref(),
        blocks: &req.prefix_blocks,
    };
    let key = req.hash_key.as_deref().map(str::as_bytes);
    ctx.route.cursor.first(plan, &world, key)
}

/// The attempt for `pick`: its lease, body and path. A retry waits its backoff first.
pub async fn begin(runtime: &Runtime, ctx: &mut Ctx, pick: Pick) -> Result<Attempt, GatewayError> {
    if let Some(plan) = &ctx.req.plan {
        let pause = ctx.route.cursor.backoff(plan, &pick, random_u64());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let route = ctx
        .req
        .plan
        .as_ref()
        .and_then(|p| p.routes.get(pick.route_index))
        .cloned()
        .ok_or_else(|| GatewayError::internal("route index out of range"))?;
    let mut attempt = build_attempt(ctx, &route, pick.target_index, pick.endpoint_index)?;
    attempt.addr = Some(pick.addr);
    attempt.signals = pick.signals;
    if let Some(loads) = runtime.prefix_loads.get(&route.name) {
        loads.note(&attempt.provider.name, pick.endpoint_index);
        loads.learn(
            &attempt.provider.name,
            pick.endpoint_index,
            &ctx.req.prefix_blocks,
        );
    }
    if let Some(pool) = runtime.pools.get(&attempt.provider.name) {
        if !pick.retry {
            pool.budget.note_request(pool.now_ms(), &pool.budget_policy);
        }
        if pick.panic {
            metrics::PANIC_PICKS
                .with_label_values(&[attempt.provider.name.as_str()])
                .inc();
        }
        attempt.lease = Some(pool.lease(
            pick.endpoint_index,
            &attempt.upstream_model,
            pick.probe,
            pick.retry,
        ));
    }
    Ok(attempt)
}

/// The attempt's time to first token, for `cost_within_latency` routes (the only
/// readers, so the only ones that pay for it). Answers only: an error body's first
/// byte says nothing about how fast the model starts.
pub fn note_ttft(ctx: &Ctx) {
    let (Some(a), Some(first)) = (&ctx.attempt, ctx.resp.first_byte_at) else {
        return;
    };
    let answered = ctx
        .resp
        .upstream_status
        .is_some_and(|s| (200..300).contains(&s));
    if a.route.strategy != Strategy::CostWithinLatency || !answered {
        return;
    }
    if let (Some(lease), Some(sent)) = (&a.lease, a.upstream_sent_at) {
        let ttft = first.saturating_duration_since(sent);
        lease
            .pool()
            .ttft
            .record(a.endpoint_index, &a.upstream_model, ttft);
    }
}

/// The upstream's answer has fully arrived: its endpoint stops counting this attempt
/// in flight now, before the client has the answer and may send its next request
/// (routed on those counts), not when the request is logged.
pub fn upstream_done(ctx: &mut Ctx) {
    if let Some(lease) = ctx.attempt.as_mut().and_then(|a| a.lease.as_mut()) {
        lease.upstream_done();
    }
}

/// Record the current attempt's outcome in passive health: at most one success
/// and one failure per attempt (a stream can start well and fail later).
pub fn record(ctx: &mut Ctx, outcome: Outcome) {
    let Some(a) = ctx.attempt.as_mut() else {
        return;
    };
    let seen = match outcome {
        Outcome::Neutral => return,
        Outcome::Success { .. } => &mut a.recorded_success,
        _ => &mut a.recorded_failure,
    };
    if std::mem::replace(seen, true) {
        return;
    }
    let failed = a.recorded_failure;
    if let Some(lease) = &a.lease {
        lease
            .pool()
            .record(a.endpoint_index, &a.upstream_model, outcome);
    }
    match &ctx.req.runtime {
        Some(runtime) => runtime.metric_handles.attempt(&a.provider.name, failed),
        None => crate::metric_handles::MetricHandles::default().attempt(&a.provider.name, failed),
    }
}

/// The attempt failed with `outcome` before anything reached the client: record it
/// and ask the cursor for the next step. True when there is one (retry or fallback).
pub fn fail(ctx: &mut Ctx, outcome: Outcome, failure: Failure) -> bool {
    record(ctx, outcome);
    step(ctx, |cursor, plan, world, key| {
        cursor.after_failure(plan, world, key, failure)
    })
}

/// A pooled connection turned out stale: the same route again, attempt not counted.
pub fn retry_stale(ctx: &mut Ctx) -> bool {
    step(ctx, |cursor, plan, world, key| {
        cursor.after_stale_connection(plan, world, key)
    })
}

/// Ask the cursor for the next step and keep it for `upstream_peer`; true when
/// there is one.
fn step(
    ctx: &mut Ctx,
    ask: impl FnOnce(&mut RouteCursor, &RoutePlan, &World, Option<&[u8]>) -> Option<Pick>,
) -> bool {
    let Ctx { req, route, .. } = ctx;
    let (Some(plan), Some(runtime)) = (&req.plan, &req.runtime) else {
        return false;
    };
    let world = World {
        runtime,
        shape: req.shape.as_ref(),
        blocks: &req.prefix_blocks,
    };
    let key = req.hash_key.as_deref().map(str::as_bytes);
    route.next = ask(&mut route.cursor, plan, &world, key);
    route.next.is_some()
}

/// The failure of an upstream answer with `status`, and its health outcome.
pub fn judge_status(
    ctx: &Ctx,
    status: u16,
    hold_off: Option<Duration>,
) -> (Outcome, Option<Failure>) {
    let latency = ctx
        .attempt
        .as_ref()
        .map_or(Duration::ZERO, |a| a.started.elapsed());
    let outcome = crate::routing::outcome::of_status(status, latency, hold_off);
    let failure = class_of_status(status).map(|class| Failure {
        class,
        retry_after: hold_off,
    });
    (outcome, failure)
}

/// Whether a client-error answer could be a refusal (context window, content
/// policy) that this route's fallbacks are configured to take over.
pub fn fallback_takes_refusals(ctx: &Ctx) -> bool {
    let Some(plan) = &ctx.req.plan else {
        return false;
    };
    let index = ctx.route.cursor.route_index();
    let Some(route) = plan.routes.get(index) else {
        return false;
    };
    let has_fallback = index + 1 < plan.routes.len();
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
    let format = providers::provider_format(&provider);
    let api = ctx
        .req
        .api
        .ok_or_else(|| GatewayError::internal("no api"))?;
    let stream = ctx.stream_requested();
    let path =
        providers::upstream_path(&provider, api, &target.model, stream).ok_or_else(|| {
            GatewayError::invalid(format!(
                "Provider `{}` does not support this endpoint",
                provider.name
            ))
        })?;
    let mut body = attempt_body(ctx, api, format, &target.model)?;
    let openai = matches!(format, WireFormat::OpenAiChat | WireFormat::OpenAiResponses);
    if route.balance.prompt_cache_key && openai && !api.is_embeddings() {
        let chars = route.balance.prefix_chars;
        let (dialect, client_body) = (ctx.req.dialect, &ctx.req.body);
        if let Some(key) = crate::routing::prefix::key(dialect, client_body, chars) {
            body = Bytes::from(crate::routing::prefix::with_prompt_cache_key(
                body.to_vec(),
                &key,
            ));
        }
    }
    Ok(Attempt {
        route: route.clone(),
        target_index,
        provider,
        upstream_model: target.model.clone(),
        model_value: target.model_value.clone(),
        endpoint_index,
        format,
        body,
        path,
        started: Instant::now(),
        addr: None,
        lease: None,
        recorded_success: false,
        recorded_failure: false,
        upstream_sent_at: None,
        upstream_last_byte_at: None,
        signals: Signals::default(),
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
    // A continuation after a mid-stream failure sends the request with the partial
    // answer appended instead of the client's own.
    let (client_body, envelope) = match &ctx.route.resume {
        Some(r) => (&r.body, Some(&r.envelope)),
        None => (&ctx.req.body, ctx.req.envelope.as_ref()),
    };
    let envelope = envelope.ok_or_else(|| GatewayError::internal("no envelope"))?;
    let dialect = ctx.req.dialect;
    let body = if api.is_embeddings() && !formats::embeddings_pass_through(format, dialect) {
        formats::translate_embeddings_request(dialect, format, client_body, upstream_model)?
    } else if api.is_embeddings() || format.native_dialect() == Some(dialect) {
        // Ask OpenAI-format upstreams for usage on streams, to account tokens exactly.
        let force_usage = format == WireFormat::OpenAiChat && api == Api::ChatCompletions;
        formats::rewrite_same_format(client_body, envelope, upstream_model, force_usage)
    } else {
        // The envelope's stream flag: Gemini clients say it in the URL, not the body.
        formats::translate_request_streaming(
            dialect,
            format,
            client_body,
            upstream_model,
            envelope.stream,
        )?
    };
    Ok(Bytes::from(body))
}

/// Build the peer for an attempt: resolved address, TLS with SNI and verification,
/// the connect timeouts of the route and provider (the other clocks are the watch's).
pub fn build_peer(attempt: &Attempt) -> Result<Box<HttpPeer>, GatewayError> {
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
    // Boxed where it is made: Pingora takes it boxed, and moving a peer (with its
    // options) copies hundreds of bytes each time.
    let mut peer = Box::new(HttpPeer::new(addr, endpoint.tls, endpoint.host.clone()));
    peer.options.ca = attempt.provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    peer.options.connection_timeout = Some(timeouts.connect);
    peer.options.total_connection_timeout = Some(timeouts.connect);
    // No read or write timeout on the peer: the request's watch already enforces the
    // first-byte, idle and total clocks (`proxy::watch`, polled beside every upstream
    // read and write in `read_body_or_idle`) and classifies their expiry as the
    // upstream's timeout. Pingora's per-operation timeouts would be a second, later
    // clock on the same reads, and each one registers a timer: four or five a request.
    peer.options.read_timeout = None;
    peer.options.write_timeout = None;
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    Ok(peer)
}
