//! The end of a request: metrics, the access-log line, and settling the admission
//! with the real usage.

use std::time::Instant;

use pingora_proxy::Session;

use crate::genai_metrics;
use crate::metric_handles::{Labels, MetricHandles, Series};
use crate::metrics;

use super::access_log;
use super::ctx::Ctx;

/// Settle the admission with the real usage: corrects the token estimate, frees
/// the concurrency slot, records spend. For requests not settled early.
pub async fn settle(ctx: &mut Ctx) {
    if let Some(settlement) = settle_now(ctx) {
        settlement.run().await;
    }
}

/// Settle as soon as the answer is complete, before its last bytes reach the client:
/// a client that sends its next request at once must find its concurrency slot free
/// (settling in `logging`, after the write, lost that race now and then). The memory
/// store settles without waiting, right here; Redis needs a round trip, finished on a
/// task of its own.
pub fn settle_early(ctx: &mut Ctx) {
    if let Some(settlement) = settle_now(ctx) {
        tokio::spawn(settlement.run());
    }
}

/// Everything a settlement the store could not make at once needs, owned (it may
/// finish on a task of its own).
struct Settlement {
    admission: crate::policy::Admission,
    provider: String,
    model: String,
    usage: crate::model::Usage,
    cost: f64,
}

/// Takes the admission out of the context (a request settles once), prices the
/// request once (the spend counters and the access log's `cost_usd` share the
/// figure) and settles it if the store answers at once: what is left to await, if
/// anything.
fn settle_now(ctx: &mut Ctx) -> Option<Settlement> {
    let (Some(mut admission), Some(runtime)) = (ctx.req.admission.take(), ctx.req.runtime.as_ref())
    else {
        return None;
    };
    if model_label(ctx) == "other" {
        admission.record_model_as_other();
    }
    let (provider, model) = match &ctx.attempt {
        Some(a) => (a.provider.name.as_str(), a.upstream_model.as_str()),
        None => ("", ""),
    };
    let usage = ctx.resp.usage;
    let cost = runtime.policy.priced_cost(model, &usage);
    let left = admission.settle_now(provider, model, &usage, cost.unwrap_or(0.0));
    let settlement = left.map(|admission| Settlement {
        admission,
        provider: provider.to_string(),
        model: model.to_string(),
        usage,
        cost: cost.unwrap_or(0.0),
    });
    ctx.resp.cost_usd = cost;
    settlement
}

impl Settlement {
    async fn run(self) {
        let Settlement {
            admission,
            provider,
            model,
            usage,
            cost,
        } = self;
        admission.settle(&provider, &model, &usage, cost).await;
    }
}

pub fn observe(session: &Session, ctx: &Ctx) {
    // One reading of the clock for the metrics and the log line: the same latency in
    // both, and fewer clock reads (each ~25 ns in a VM).
    let now = Instant::now();
    let model = model_label(ctx);
    let status = if ctx.resp.status == 0 {
        502
    } else {
        ctx.resp.status
    };
    with_request_series(ctx, model, |series| {
        series.requests(status).inc();
        series
            .seconds()
            .observe(now.duration_since(ctx.req.started).as_secs_f64());
        if let Some(first) = ctx.resp.first_byte_at {
            series
                .ttfb()
                .observe(first.duration_since(ctx.req.started).as_secs_f64());
        }
        observe_genai(ctx, series, model, status, now);
    });
    observe_variant(ctx);
    if let Some(err) = &ctx.resp.error {
        metrics::ERRORS
            .with_label_values(&[err.metric_label()])
            .inc();
    }
    let log_enabled = ctx.req.runtime.as_ref().is_none_or(|r| r.config.access_log);
    if log_enabled {
        let req = session.req_header();
        let client = session.client_addr();
        access_log::write(ctx, req.method.as_str(), req.uri.path(), client, now);
    }
}

/// Runs `f` on the metric children of this request's labels, kept by the runtime
/// snapshot.
fn with_request_series(ctx: &Ctx, model: &str, f: impl FnOnce(&Series)) {
    let labels = Labels {
        route: metrics::route_label(ctx.req.api),
        model,
        provider: ctx.provider_name(),
        variant: variant_label(ctx),
        operation: ctx.req.api.and_then(genai_metrics::operation_name),
        system: ctx
            .attempt
            .as_ref()
            .map(|a| genai_metrics::system_name(a.provider.kind)),
    };
    match &ctx.req.runtime {
        Some(runtime) => runtime.metric_handles.with_series(&labels, f),
        None => f(&MetricHandles::default().series(&labels)),
    }
}

/// The gateway overhead, and the GenAI convention metrics of a request that reached
/// an upstream.
fn observe_genai(ctx: &Ctx, series: &Series, model: &str, status: u16, now: Instant) {
    let total = now.duration_since(ctx.req.started);
    series
        .overhead()
        .observe(genai_metrics::overhead(total, ctx.upstream_wait(now)).as_secs_f64());
    let (Some(api), Some(attempt)) = (ctx.req.api, &ctx.attempt) else {
        return;
    };
    let Some(operation) = genai_metrics::operation_name(api) else {
        return;
    };
    let first_byte = ctx.resp.first_byte_at;
    series.record_genai(&genai_metrics::Operation {
        operation,
        system: genai_metrics::system_name(attempt.provider.kind),
        model,
        duration: total,
        succeeded: (200..300).contains(&status) && ctx.resp.error.is_none(),
        streamed: ctx.stream_requested(),
        input_tokens: ctx.resp.usage.input_tokens,
        output_tokens: ctx.resp.usage.output_tokens,
        time_to_first_byte: first_byte.map(|f| f.duration_since(ctx.req.started)),
        decode: first_byte
            .zip(attempt.upstream_last_byte_at)
            .map(|(first, last)| last.saturating_duration_since(first)),
    });
}

/// The `model` label of a request: its configured route name, or `other` for a direct
/// `provider/model` call, whose name comes from the client (a label per name would
/// let any caller grow the metric series without bound).
/// The A/B variant a router's split chose (a configured name), else empty.
fn variant_label(ctx: &Ctx) -> &str {
    ctx.route
        .decision
        .as_ref()
        .and_then(|d| d.variant.as_deref())
        .unwrap_or("")
}

/// Tokens and spend per A/B variant, so variants compare on them as on latency and
/// errors (labels: the router's, rule's and variant's configured names).
fn observe_variant(ctx: &Ctx) {
    let Some(d) = ctx.route.decision.as_ref() else {
        return;
    };
    let Some(variant) = d.variant.as_deref() else {
        return;
    };
    let usage = &ctx.resp.usage;
    for (kind, n) in [
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
    ] {
        metrics::VARIANT_TOKENS
            .with_label_values(&[&d.router, &d.rule, variant, kind])
            .inc_by(n);
    }
    let usd = match (&ctx.req.runtime, &ctx.attempt) {
        (Some(runtime), Some(a)) => runtime.policy.cost(&a.upstream_model, usage),
        _ => 0.0,
    };
    metrics::VARIANT_SPEND
        .with_label_values(&[&d.router, &d.rule, variant])
        .inc_by(usd);
}

fn model_label(ctx: &Ctx) -> &str {
    let Some(route) = ctx.req.plan.as_ref().and_then(|p| p.routes.first()) else {
        return "";
    };
    let configured = ctx
        .req
        .runtime
        .as_ref()
        .is_some_and(|r| r.config.model(&route.name).is_some());
    if configured {
        route.name.as_str()
    } else {
        "other"
    }
}
