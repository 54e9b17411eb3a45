//! The proxy's tracing hooks: one SERVER span per request, one CLIENT span per
//! upstream attempt, with the GenAI and HTTP semantic-convention attributes, and the
//! W3C `traceparent` sent upstream (a new span id per attempt). Each phase calls one
//! of these functions; with `traces:` off they return at once.
//!
//! Unsampled requests still get a trace context, so the upstream sees a consistent
//! `traceparent` (flag `00`) and the access log a trace id, but no span is built.
//! Spans are finished in `logging` and handed to the bounded export queue
//! (`trace::export`), never exported from the request.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pingora::http::RequestHeader;
use pingora_proxy::Session;

use crate::config::traces::TraceSettings;
use crate::genai_metrics;
use crate::trace::context::new_span_id;
use crate::trace::scan::ResponseScan;
use crate::trace::{export, AttrValue, SpanId, SpanKind, SpanRecord, SpanStatus, TraceContext};

use super::ctx::Ctx;

/// Longest client-chosen string (model name, path) put on a span.
const MAX_ATTR_CHARS: usize = 256;

/// A request's trace: its context, its span id, and the attempt spans so far.
pub struct RequestTrace {
    pub context: TraceContext,
    pub span_id: SpanId,
    settings: Arc<TraceSettings>,
    /// Wall-clock time of `ctx.req.started`.
    start_unix_nanos: u64,
    /// The current attempt's span id, made when its request goes upstream.
    attempt_span: Option<SpanId>,
    /// The current attempt's response model and finish reasons (sampled only).
    scan: ResponseScan,
    /// Attempt spans already closed.
    attempts: Vec<SpanRecord>,
}

/// `request_filter`: continue the client's trace or start one.
pub fn start(session: &Session, ctx: &mut Ctx) {
    let Some(settings) = ctx
        .req
        .runtime
        .as_ref()
        .and_then(|r| r.config.traces.clone())
    else {
        return;
    };
    let header = session
        .req_header()
        .headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    let context = TraceContext::continue_or_start(header, settings.sample_ratio);
    ctx.req.trace = Some(Box::new(RequestTrace {
        context,
        span_id: new_span_id(),
        start_unix_nanos: unix_nanos(ctx.req.started),
        settings,
        attempt_span: None,
        scan: ResponseScan::default(),
        attempts: Vec::new(),
    }));
}

/// The trace id for the access log.
pub fn trace_id(ctx: &Ctx) -> Option<String> {
    ctx.req.trace.as_ref().map(|t| t.context.trace_id_hex())
}

/// `upstream_request_filter`: this attempt's `traceparent` (our attempt span as the
/// upstream's parent). The client's `tracestate` is forwarded as it came.
pub fn inject(ctx: &mut Ctx, req: &mut RequestHeader) -> pingora::Result<()> {
    let Some(t) = ctx.req.trace.as_mut() else {
        return Ok(());
    };
    let span = *t.attempt_span.get_or_insert_with(new_span_id);
    req.insert_header("traceparent", t.context.traceparent(&span))?;
    Ok(())
}

/// `response_body_filter`: watch the upstream's bytes for the response model and
/// finish reasons.
pub fn on_upstream_chunk(ctx: &mut Ctx, body: Option<&Bytes>) {
    if let (Some(t), Some(chunk)) = (ctx.req.trace.as_mut(), body) {
        if t.context.sampled {
            t.scan.feed(chunk);
        }
    }
}

/// `upstream_peer`, before the next attempt replaces the current one: the current
/// one failed (or its pooled connection was stale); close its span.
pub fn end_attempt(ctx: &mut Ctx) {
    close_attempt(ctx, true);
}

/// `logging`: close the last attempt and the request span, and queue them.
pub fn finish(session: &Session, ctx: &mut Ctx) {
    let final_scan = close_attempt(ctx, false);
    let Some(t) = ctx.req.trace.as_mut() else {
        return;
    };
    if !t.context.sampled {
        return;
    }
    let mut spans = std::mem::take(&mut t.attempts);
    let span = request_span(session, ctx, final_scan);
    spans.push(span);
    if let Some(t) = &ctx.req.trace {
        export::enqueue(spans, &t.settings);
    }
}

/// Close the current attempt's span; returns what its scan found.
fn close_attempt(ctx: &mut Ctx, superseded: bool) -> ResponseScan {
    let Some(t) = ctx.req.trace.as_mut() else {
        return ResponseScan::default();
    };
    let span_id = t.attempt_span.take();
    let scan = std::mem::take(&mut t.scan);
    let (trace_id, parent, start, sampled) = (
        t.context.trace_id,
        t.span_id,
        t.start_unix_nanos,
        t.context.sampled,
    );
    let (Some(a), true) = (ctx.attempt.as_ref(), sampled) else {
        return scan;
    };
    let mut span = SpanRecord {
        trace_id,
        span_id: span_id.unwrap_or_else(new_span_id),
        parent: Some(parent),
        name: format!("{} {}", operation(ctx), a.upstream_model),
        kind: SpanKind::Client,
        start_unix_nanos: start + nanos_between(ctx.req.started, a.started),
        end_unix_nanos: unix_nanos(Instant::now()),
        attributes: Vec::with_capacity(12),
        status: SpanStatus::Unset,
    };
    span.attr("gen_ai.operation.name", operation(ctx));
    span.attr("gen_ai.system", genai_metrics::system_name(a.provider.kind));
    span.attr("gen_ai.request.model", a.upstream_model.as_str());
    add_response_facts(&mut span, &scan);
    span.attr("tollgate.provider", a.provider.name.as_str());
    if let Some(ep) = a.provider.endpoints.get(a.endpoint_index) {
        span.attr("server.address", ep.host.as_str());
        span.attr("server.port", u64::from(ep.port));
    }
    if let Some(status) = ctx.resp.upstream_status {
        span.attr("http.response.status_code", u64::from(status));
    }
    let failure = ctx
        .route
        .cursor
        .last_failure()
        .filter(|_| a.recorded_failure);
    if let Some(f) = failure {
        span.attr("error.type", f.class.as_str());
        span.status = SpanStatus::Error;
    } else if !superseded {
        if let Some(err) = &ctx.resp.error {
            span.attr("error.type", err.metric_label());
            span.status = SpanStatus::Error;
        }
        add_usage(&mut span, ctx);
    }
    // The span is pushed after reading everything it needs from `ctx`.
    if let Some(t) = ctx.req.trace.as_mut() {
        t.attempts.push(span);
    }
    scan
}

fn request_span(session: &Session, ctx: &Ctx, scan: ResponseScan) -> SpanRecord {
    let t = ctx.req.trace.as_deref();
    let (trace_id, span_id, parent, start) = t.map_or(([0; 16], [0; 8], None, 0), |t| {
        (
            t.context.trace_id,
            t.span_id,
            t.context.parent,
            t.start_unix_nanos,
        )
    });
    let req = session.req_header();
    let api = crate::metrics::route_label(ctx.req.api);
    let status = if ctx.resp.status == 0 {
        502
    } else {
        ctx.resp.status
    };
    let mut span = SpanRecord {
        trace_id,
        span_id,
        parent,
        name: format!("{} {api}", req.method.as_str()),
        kind: SpanKind::Server,
        start_unix_nanos: start,
        end_unix_nanos: unix_nanos(Instant::now()),
        attributes: Vec::with_capacity(16),
        status: if status >= 500 {
            SpanStatus::Error
        } else {
            SpanStatus::Unset
        },
    };
    span.attr("http.request.method", req.method.as_str());
    span.attr("url.path", truncate(req.uri.path()));
    span.attr("http.response.status_code", u64::from(status));
    span.attr("tollgate.api", api);
    span.attr("tollgate.request_id", ctx.req.id.as_str());
    span.attr("tollgate.attempts", u64::from(ctx.route.cursor.attempts()));
    if let Some(user) = &ctx.req.end_user {
        span.attr("user.id", user.as_str());
    }
    if let Some(key) = &ctx.req.key {
        span.attr("tollgate.key", key.name.as_str());
        if let Some(team) = &key.team {
            span.attr("tollgate.team", team.name.as_str());
        }
    }
    if !ctx.model_name().is_empty() {
        span.attr("gen_ai.operation.name", operation(ctx));
        span.attr("gen_ai.request.model", truncate(ctx.model_name()));
    }
    if let Some(a) = &ctx.attempt {
        span.attr("gen_ai.system", genai_metrics::system_name(a.provider.kind));
        span.attr("tollgate.route", a.route.name.as_str());
        span.attr("tollgate.provider", a.provider.name.as_str());
    }
    add_response_facts(&mut span, &scan);
    add_usage(&mut span, ctx);
    if let Some(err) = &ctx.resp.error {
        span.attr("error.type", err.metric_label());
    }
    span
}

fn add_response_facts(span: &mut SpanRecord, scan: &ResponseScan) {
    if let Some(model) = &scan.model {
        span.attr("gen_ai.response.model", model.as_str());
    }
    if !scan.finish_reasons.is_empty() {
        span.attr(
            "gen_ai.response.finish_reasons",
            AttrValue::StrArray(scan.finish_reasons.clone()),
        );
    }
}

fn add_usage(span: &mut SpanRecord, ctx: &Ctx) {
    let usage = &ctx.resp.usage;
    if !usage.is_empty() {
        span.attr("gen_ai.usage.input_tokens", usage.input_tokens);
        span.attr("gen_ai.usage.output_tokens", usage.output_tokens);
    }
}

fn operation(ctx: &Ctx) -> &'static str {
    ctx.req.api.map_or("other", |api| {
        genai_metrics::operation_name(api).unwrap_or("count_tokens")
    })
}

fn truncate(s: &str) -> String {
    s.char_indices()
        .nth(MAX_ATTR_CHARS)
        .map_or(s, |(i, _)| &s[..i])
        .to_string()
}

fn nanos_between(earlier: Instant, later: Instant) -> u64 {
    u64::try_from(later.saturating_duration_since(earlier).as_nanos()).unwrap_or(u64::MAX)
}

/// Wall-clock nanoseconds of a monotonic instant (now minus its age).
fn unix_nanos(at: Instant) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    now.saturating_sub(nanos_between(at, Instant::now()))
}
