//! OpenTelemetry GenAI semantic-convention metrics in Prometheus naming
//! (`gen_ai.client.token.usage` → `gen_ai_client_token_usage`, ...), recorded beside
//! tollgate's own, and the gateway-overhead histogram. Buckets are the ones the
//! conventions recommend. Label values come from enums and configured names only:
//! `gen_ai_request_model` is the configured route name or `other`, exactly like the
//! `model` label of `tollgate_requests_total`.

use std::time::Duration;

use once_cell::sync::Lazy;

use crate::config::ProviderKind;
use crate::metrics::registered;
use crate::providers::Api;
use crate::thread_metrics::ThreadHistogramVec;

const TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
const DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const PER_TOKEN_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// The gateway's own time is small: finer than the request-latency buckets.
const OVERHEAD_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

const OPERATION_LABELS: &[&str] = &[
    "gen_ai_operation_name",
    "gen_ai_system",
    "gen_ai_request_model",
];

/// Written by every request: per-thread slots (see `thread_metrics`).
fn histogram(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> ThreadHistogramVec {
    registered(
        ThreadHistogramVec::new(name, help, buckets, labels)
            .unwrap_or_else(|_| unreachable!("metric definitions are constant and valid")),
    )
}

pub static TOKEN_USAGE: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    let labels = [&["gen_ai_token_type"], OPERATION_LABELS].concat();
    histogram(
        "gen_ai_client_token_usage",
        "Input and output tokens per request (OpenTelemetry gen_ai.client.token.usage)",
        TOKEN_BUCKETS,
        &labels,
    )
});

pub static OPERATION_DURATION: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    histogram(
        "gen_ai_client_operation_duration_seconds",
        "Duration of GenAI operations (OpenTelemetry gen_ai.client.operation.duration)",
        DURATION_BUCKETS,
        OPERATION_LABELS,
    )
});

pub static TIME_TO_FIRST_TOKEN: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    histogram(
        "gen_ai_server_time_to_first_token_seconds",
        "Time to the first streamed token of successful answers (OpenTelemetry gen_ai.server.time_to_first_token)",
        TTFT_BUCKETS,
        OPERATION_LABELS,
    )
});

pub static TIME_PER_OUTPUT_TOKEN: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    histogram(
        "gen_ai_server_time_per_output_token_seconds",
        "Time per output token after the first, of successful streamed answers (OpenTelemetry gen_ai.server.time_per_output_token)",
        PER_TOKEN_BUCKETS,
        OPERATION_LABELS,
    )
});

pub static GATEWAY_OVERHEAD: Lazy<ThreadHistogramVec> = Lazy::new(|| {
    histogram(
        "tollgate_gateway_overhead_seconds",
        "Request time minus the time spent waiting for upstreams (from sending each attempt's request to its last body byte)",
        OVERHEAD_BUCKETS,
        &["route"],
    )
});

/// The `gen_ai.operation.name` of an API; `None` for calls that generate nothing
/// (token counting).
pub fn operation_name(api: Api) -> Option<&'static str> {
    match api {
        Api::ChatCompletions | Api::Messages | Api::Responses | Api::GenerateContent => {
            Some("chat")
        }
        Api::Embeddings | Api::EmbedContent => Some("embeddings"),
        Api::CountTokens => None,
    }
}

/// The `gen_ai.system` of a configured provider format (the conventions' well-known values).
pub fn system_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => "openai",
        ProviderKind::Azure => "az.ai.openai",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::Gemini => "gcp.gemini",
        ProviderKind::Bedrock => "aws.bedrock",
    }
}

/// What one finished request contributes to the GenAI histograms.
pub struct Operation<'a> {
    pub operation: &'static str,
    pub system: &'static str,
    /// The bounded model label: a configured route name or `other`.
    pub model: &'a str,
    pub duration: Duration,
    /// Success: the only answers whose tokens and token timing are recorded.
    pub succeeded: bool,
    pub streamed: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// From the start of the request to the first upstream body byte.
    pub time_to_first_byte: Option<Duration>,
    /// From the first to the last upstream body byte.
    pub decode: Option<Duration>,
}

impl Operation<'_> {
    /// Time per output token after the first: the decode time spread over the tokens
    /// it produced. Only for streams (a buffered answer arrives at once) with more
    /// than one output token.
    pub fn time_per_output_token(&self) -> Option<f64> {
        if !(self.succeeded && self.streamed) || self.output_tokens <= 1 {
            return None;
        }
        let decode = self.decode?;
        Some(decode.as_secs_f64() / (self.output_tokens - 1) as f64)
    }

    /// Time to first token: for successful streams only.
    pub fn time_to_first_token(&self) -> Option<f64> {
        (self.succeeded && self.streamed)
            .then_some(self.time_to_first_byte)
            .flatten()
            .map(|d| d.as_secs_f64())
    }
}

pub fn record(op: &Operation) {
    let labels = [op.operation, op.system, op.model];
    OPERATION_DURATION
        .with_label_values(&labels)
        .observe(op.duration.as_secs_f64());
    if op.succeeded {
        for (kind, tokens) in [("input", op.input_tokens), ("output", op.output_tokens)] {
            TOKEN_USAGE
                .with_label_values(&[kind, op.operation, op.system, op.model])
                .observe(tokens as f64);
        }
    }
    if let Some(ttft) = op.time_to_first_token() {
        TIME_TO_FIRST_TOKEN.with_label_values(&labels).observe(ttft);
    }
    if let Some(per_token) = op.time_per_output_token() {
        TIME_PER_OUTPUT_TOKEN
            .with_label_values(&labels)
            .observe(per_token);
    }
}

/// The gateway's own share of a request: its whole time minus the upstream wait
/// (never negative: clocks are read at different points).
pub fn overhead(total: Duration, upstream_wait: Duration) -> Duration {
    total.saturating_sub(upstream_wait)
}

/// Register every series at start: each operation, for each configured model label
/// (and `other`), for each configured provider format (a route's fallbacks may reach
/// any of them). Bounded by the configuration.
pub fn init(models: &[&str], kinds: &[ProviderKind], routes: &[&str]) {
    for route in routes {
        GATEWAY_OVERHEAD.with_label_values(&[route]);
    }
    let mut systems: Vec<&str> = kinds.iter().map(|k| system_name(*k)).collect();
    systems.sort_unstable();
    systems.dedup();
    for model in models.iter().copied().chain(["other"]) {
        for system in &systems {
            for operation in ["chat", "embeddings"] {
                let labels = [operation, system, model];
                OPERATION_DURATION.with_label_values(&labels);
                TIME_TO_FIRST_TOKEN.with_label_values(&labels);
                TIME_PER_OUTPUT_TOKEN.with_label_values(&labels);
                for kind in ["input", "output"] {
                    TOKEN_USAGE.with_label_values(&[kind, operation, system, model]);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "genai_metrics_tests.rs"]
mod tests;
