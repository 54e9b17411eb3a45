//! Prometheus metrics, registered in the default registry (served on the admin
//! listener). Label values come from enums and config names only, never from request
//! data, so cardinality stays bounded.

use once_cell::sync::Lazy;
use prometheus::{
    register_int_counter, register_int_counter_vec, register_int_gauge, register_int_gauge_vec,
    IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
};

use crate::thread_metrics::{ThreadCounterVec, ThreadGauge, ThreadHistogramVec};

// Registration fails only on a duplicate name, which is a programming error caught
// by the tests; fall back to an unregistered metric rather than panic.
macro_rules! or_unregistered {
    ($reg:expr, $fallback:expr) => {
        $reg.unwrap_or_else(|e| {
            log::error!("metric registration failed: {e}");
            $fallback
        })
    };
}

/// `metric`, registered in the default registry; on failure (a duplicate name, a
/// programming error the tests catch) logged and returned unregistered. Every module's
/// metrics register through this.
pub fn registered<C: prometheus::core::Collector + Clone + 'static>(metric: C) -> C {
    if let Err(e) = prometheus::register(Box::new(metric.clone())) {
        log::error!("metric registration failed: {e}");
    }
    metric
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0,
];

/// Written by every request: per-thread slots (see `thread_metrics`).
pub static REQUESTS: Lazy<ThreadCounterVec> = Lazy::new(|| {
    registered(
        ThreadCounterVec::new(
            "tollgate_requests_total",
            "Requests by route, model, provider, status class and A/B variant",
            &["route", "model", "provider", "status", "variant"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static REQUEST_SECONDS: Lazy<ThreadHistogramVec> =
    Lazy::new(|| latency_histogram("tollgate_request_duration_seconds", "Whole request latency"));

pub static TTFB_SECONDS: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    latency_histogram(
        "tollgate_time_to_first_byte_seconds",
        "Time until the first response body byte from the upstream",
    )
});

/// A request-latency histogram by route, model and variant.
fn latency_histogram(name: &str, help: &str) -> ThreadHistogramVec {
    let labels = &["route", "model", "variant"];
    registered(
        ThreadHistogramVec::new(name, help, LATENCY_BUCKETS, labels)
            .unwrap_or_else(|_| unreachable_metric()),
    )
}

/// Raised and lowered by every request: per-thread slots (see `thread_metrics`).
pub static IN_FLIGHT: Lazy<ThreadGauge> = Lazy::new(|| {
    registered(
        ThreadGauge::new("tollgate_requests_in_flight", "Requests being served")
            .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static UPSTREAM_HEALTHY: Lazy<IntGaugeVec> = Lazy::new(|| {
    let opts = prometheus::opts!(
        "tollgate_upstream_healthy",
        "1 if the endpoint passes its health check"
    );
    let labels = &["provider", "endpoint"];
    or_unregistered!(
        register_int_gauge_vec!(opts.clone(), labels),
        IntGaugeVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

/// Written by every attempt: per-thread slots (see `thread_metrics`).
pub static UPSTREAM_ATTEMPTS: Lazy<ThreadCounterVec> = Lazy::new(|| {
    registered(
        ThreadCounterVec::new(
            "tollgate_upstream_attempts_total",
            "Upstream attempts by provider and outcome",
            &["provider", "outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static ERRORS: Lazy<IntCounterVec> = Lazy::new(|| {
    let opts = prometheus::opts!(
        "tollgate_errors_total",
        "Errors answered by the gateway, by kind"
    );
    let labels = &["kind"];
    or_unregistered!(
        register_int_counter_vec!(opts.clone(), labels),
        IntCounterVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

/// A counter vector registered in the default registry (label values come from
/// the config or from enums, never from clients).
fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let opts = prometheus::opts!(name, help);
    or_unregistered!(
        register_int_counter_vec!(opts.clone(), labels),
        IntCounterVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
}

/// Requests per router rule (`rule` is a configured rule name or `default`;
/// `variant` the A/B variant's configured name, empty without a split).
pub static ROUTE_RULES: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_route_rule_total",
        "Requests routed by each router rule",
        &["router", "rule", "variant"],
    )
});

pub static ROUTE_SEMANTIC_FAILURES: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_route_semantic_failures_total",
        "Embeddings for semantic router rules that failed (the rule then did not match), by stage: query or examples",
        &["router", "stage"],
    )
});

pub static VARIANT_TOKENS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_route_variant_tokens_total",
        "Tokens of requests routed by an A/B split, by variant and kind (input, output)",
        &["router", "rule", "variant", "kind"],
    )
});

pub static VARIANT_SPEND: Lazy<prometheus::CounterVec> = Lazy::new(|| {
    let opts = prometheus::opts!(
        "tollgate_route_variant_spend_usd_total",
        "Spend in USD of requests routed by an A/B split, by variant"
    );
    let labels = &["router", "rule", "variant"];
    or_unregistered!(
        prometheus::register_counter_vec!(opts.clone(), labels),
        prometheus::CounterVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

pub static CAPABILITY_SKIPS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_capability_skips_total",
        "Targets skipped before any call because their model lacks a capability the request needs",
        &["provider", "capability"],
    )
});

pub static BREAKER_TRIPS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_breaker_trips_total",
        "Passive-health breakers opened, by provider and scope (endpoint or model)",
        &["provider", "scope"],
    )
});

pub static BREAKER_PROBES: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_breaker_probes_total",
        "Half-open probe attempts, by provider",
        &["provider"],
    )
});

pub static PANIC_PICKS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_panic_routing_total",
        "Attempts sent to a cooling-down candidate because every candidate was cooling down",
        &["provider"],
    )
});

pub static RETRIES: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_retries_total",
        "Retries on the same route and provider, by provider",
        &["provider"],
    )
});

pub static RETRY_BUDGET_EXHAUSTED: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_retry_budget_exhausted_total",
        "Retries refused because the provider's retry budget was spent",
        &["provider"],
    )
});

pub static MID_STREAM_FAILOVERS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "tollgate_mid_stream_failovers_total",
        "Streams continued on another upstream after theirs failed mid-way, by failed provider",
        &["provider"],
    )
});

pub static CLIENT_DISCONNECTS: Lazy<IntCounter> = Lazy::new(|| {
    or_unregistered!(
        register_int_counter!(
            "tollgate_client_disconnects_total",
            "Requests whose client went away before the response ended"
        ),
        IntCounter::new("tollgate_client_disconnects_total", "x")
            .unwrap_or_else(|_| unreachable_metric())
    )
});

pub static CONFIG_RELOADS: Lazy<IntCounterVec> = Lazy::new(|| {
    let opts = prometheus::opts!("tollgate_config_reloads_total", "Config reloads by result");
    let labels = &["result"];
    or_unregistered!(
        register_int_counter_vec!(opts.clone(), labels),
        IntCounterVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

pub static CONFIG_LAST_RELOAD_OK: Lazy<IntGauge> = Lazy::new(|| {
    or_unregistered!(
        register_int_gauge!(
            "tollgate_config_last_reload_successful",
            "1 if the last reload succeeded"
        ),
        IntGauge::new("tollgate_config_last_reload_successful", "x")
            .unwrap_or_else(|_| unreachable_metric())
    )
});

/// Metric constructors only fail on invalid names or labels, which are constants here.
pub static CONNECTIONS_REFUSED: Lazy<IntCounter> = Lazy::new(|| {
    or_unregistered!(
        register_int_counter!(
            "tollgate_client_connections_refused_total",
            "Client connections refused at a connection cap"
        ),
        IntCounter::new("tollgate_client_connections_refused_total", "x")
            .unwrap_or_else(|_| unreachable_metric())
    )
});

pub static CLIENT_CONNECTIONS: Lazy<IntGauge> = Lazy::new(|| {
    or_unregistered!(
        register_int_gauge!("tollgate_client_connections", "Open client connections"),
        IntGauge::new("tollgate_client_connections", "x").unwrap_or_else(|_| unreachable_metric())
    )
});

/// Clients cut short on the client side, by reason: `header_timeout`,
/// `header_too_large`, `idle_connection`, `body_timeout`, `body_framing`,
/// `body_memory`. Never counted against an upstream.
pub static CLIENT_REJECTS: Lazy<IntCounterVec> = Lazy::new(|| {
    let opts = prometheus::opts!(
        "tollgate_client_rejects_total",
        "Requests ended on the client side (slow, oversized or broken), by reason"
    );
    let labels = &["reason"];
    or_unregistered!(
        prometheus::register_int_counter_vec!(opts.clone(), labels),
        IntCounterVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

fn unreachable_metric<T>() -> T {
    unreachable!("metric definitions are constant and valid")
}

/// The `route` label: which API the client called.
pub fn route_label(api: Option<crate::providers::Api>) -> &'static str {
    match api {
        Some(crate::providers::Api::ChatCompletions) => "chat_completions",
        Some(crate::providers::Api::Embeddings) => "embeddings",
        Some(crate::providers::Api::Messages) => "messages",
        Some(crate::providers::Api::CountTokens) => "count_tokens",
        Some(crate::providers::Api::Responses) => "responses",
        Some(crate::providers::Api::GenerateContent) => "generate_content",
        Some(crate::providers::Api::EmbedContent) => "embed_content",
        None => "other",
    }
}

/// Every value of the `route` label.
pub const ROUTE_LABELS: [&str; 8] = [
    "chat_completions",
    "embeddings",
    "messages",
    "count_tokens",
    "responses",
    "generate_content",
    "embed_content",
    "other",
];

/// `2xx`, `4xx`, ... for the status label.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

pub static BUILD_INFO: Lazy<IntGaugeVec> = Lazy::new(|| {
    let opts = prometheus::opts!(
        "tollgate_build_info",
        "Always 1; the labels say which build is running"
    );
    let labels = &["version", "commit", "pingora"];
    or_unregistered!(
        register_int_gauge_vec!(opts.clone(), labels),
        IntGaugeVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric())
    )
});

/// The pingora version this build links (from Cargo.lock, by build.rs).
const PINGORA_VERSION: &str = env!("TOLLGATE_PINGORA_VERSION");

/// Register every metric now, and create the zero-valued series of each configured
/// provider, so a scrape right after start shows the whole set (a series that only
/// appears after its first event breaks `rate()` and dashboards).
pub fn init(providers: &[&str]) {
    BUILD_INFO
        .with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            env!("TOLLGATE_GIT_COMMIT"),
            PINGORA_VERSION,
        ])
        .set(1);
    Lazy::force(&IN_FLIGHT);
    Lazy::force(&CLIENT_DISCONNECTS);
    Lazy::force(&CONFIG_LAST_RELOAD_OK);
    Lazy::force(&REQUESTS);
    Lazy::force(&REQUEST_SECONDS);
    Lazy::force(&TTFB_SECONDS);
    Lazy::force(&ERRORS);
    Lazy::force(&crate::policy::metrics::UNPRICED);
    crate::process_metrics::refresh();
    for result in ["success", "failure"] {
        CONFIG_RELOADS.with_label_values(&[result]);
    }
    for p in providers {
        if let Some(unpriced) = crate::policy::metrics::UNPRICED.as_ref() {
            for action in ["warn", "block", "default_price"] {
                for outcome in ["served", "refused"] {
                    unpriced.with_label_values(&[p, action, outcome]);
                }
            }
        }
        for outcome in ["ok", "failed"] {
            UPSTREAM_ATTEMPTS.with_label_values(&[p, outcome]);
        }
        for scope in ["endpoint", "model"] {
            BREAKER_TRIPS.with_label_values(&[p, scope]);
        }
        for counter in [
            &BREAKER_PROBES,
            &PANIC_PICKS,
            &RETRIES,
            &RETRY_BUDGET_EXHAUSTED,
            &MID_STREAM_FAILOVERS,
        ] {
            counter.with_label_values(&[p]);
        }
    }
}

/// Text exposition of every registered metric.
pub fn render() -> Vec<u8> {
    use prometheus::Encoder;
    crate::process_metrics::refresh();
    let mut out = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if let Err(e) = encoder.encode(&prometheus::gather(), &mut out) {
        log::error!("metrics encoding failed: {e}");
    }
    out
}
