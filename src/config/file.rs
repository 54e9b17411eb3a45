//! The YAML file as written by operators: strict serde types, no validation beyond
//! shapes. `validate` turns a [`FileConfig`] into the runtime [`super::Config`].
//! Every struct denies unknown keys so a typo is an error with its key path. Fields that
//! hold secrets are [`Secret`]s, so `{:?}` of a `FileConfig` never shows one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::governance::{
    AuthConfig, GuardrailConfig, KeyConfig, PriceConfig, StateConfig, TeamConfig,
};
use super::secret::Secret;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Pingora server settings (threads, grace period, upgrade socket, ...).
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub listeners: ListenersSection,
    #[serde(default)]
    pub limits: LimitsSection,
    /// Client-side clocks and limits (`config::client`).
    #[serde(default)]
    pub client: super::client::ClientSection,
    #[serde(default)]
    pub providers: Vec<ProviderSection>,
    #[serde(default)]
    pub models: Vec<ModelSection>,
    /// Model names whose rules pick a model (`config::router`).
    #[serde(default)]
    pub routers: Vec<super::router::RouterSection>,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
    #[serde(default)]
    pub pricing: Vec<PriceConfig>,
    /// A YAML file of prices (`config::pricing_file`).
    pub pricing_file: Option<String>,
    #[serde(default)]
    pub unpriced: super::governance::UnpricedConfig,
    #[serde(default)]
    pub guardrails: Vec<GuardrailConfig>,
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub logging: LoggingSection,
    /// The response cache store.
    #[serde(default)]
    pub cache: super::cache::CacheSection,
    /// Model capabilities over the built-in table (`config::capability`).
    #[serde(default)]
    pub capabilities: Vec<super::capability::CapabilityEntry>,
    /// Stored OpenAI Responses conversations (`config::responses`).
    #[serde(default)]
    pub responses: super::responses::ResponsesSection,
    /// OpenTelemetry trace export (`config::traces`).
    pub traces: Option<super::traces::TracesSection>,
}

/// Pingora's own server settings; mapped onto `pingora::server::configuration::ServerConf`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Worker threads of the data plane, one single-threaded proxy service each
    /// (default: number of CPUs).
    pub threads: Option<usize>,
    /// How long an old process keeps serving in-flight requests after SIGTERM or an
    /// upgrade hand-over. Must cover the longest stream (default 600).
    pub grace_period_seconds: Option<u64>,
    pub graceful_shutdown_timeout_seconds: Option<u64>,
    pub upgrade_sock: Option<String>,
    pub pid_file: Option<String>,
    pub error_log: Option<String>,
    pub daemon: Option<bool>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub upstream_keepalive_pool_size: Option<usize>,
    /// How many times Pingora retries a failed connection to a peer (default 16).
    pub max_retries: Option<usize>,
    /// PEM bundle of CAs for upstream TLS; default is the OS trust store.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListenersSection {
    /// Data-plane addresses, `host:port` (default `0.0.0.0:8080`).
    #[serde(default)]
    pub data: Vec<String>,
    /// Admin address (default `127.0.0.1:9090`); `/metrics`, `/healthz`, `/admin/*`.
    pub admin: Option<String>,
    /// Bearer token required on `/admin/*` (usually `${ENV}`); none = open admin.
    pub admin_token: Option<Secret>,
    /// Require the admin token on `/metrics` too (default false).
    pub metrics_auth: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Largest accepted request body in bytes (default 32 MiB).
    pub max_body_bytes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LoggingSection {
    /// One JSON access-log line per request (default true).
    pub access_log: Option<bool>,
    /// Where the line's `user` comes from: `body_user` (default), `header:<name>` or
    /// `metadata:<field>` (`config::logging`).
    pub user_from: Option<String>,
}

/// An upstream provider: where it is, how to authenticate, which wire format it speaks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    pub name: String,
    /// `openai` (and any OpenAI-compatible server), `azure`, `anthropic`, `gemini`, `bedrock`.
    pub format: String,
    /// One base URL, `scheme://host[:port][/prefix]`; the format appends its path.
    pub base_url: Option<String>,
    /// Several base URLs of equivalent endpoints, balanced and health-checked as a pool.
    #[serde(default)]
    pub base_urls: Vec<BaseUrlEntry>,
    /// The provider key, normally `${ENV_VAR}`. Optional for keyless local servers.
    pub api_key: Option<Secret>,
    /// Extra headers sent upstream on every request (values may use `${ENV}`); a header
    /// whose value is empty after expansion is not sent (optional `${VAR:-}`).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    #[serde(default)]
    pub health_check: Option<HealthCheckSection>,
    /// PEM file of CA certificates trusted for this provider's `https` endpoints
    /// (a private CA); default: the OS trust store.
    pub tls_ca_file: Option<String>,
    /// Azure: `api-version` query parameter.
    pub api_version: Option<String>,
    /// OpenAI: which API the server offers, `chat_completions` (default) or
    /// `responses` (Responses clients pass through; others cannot use it).
    pub api: Option<String>,
    /// Anthropic: `anthropic-version` header (default `2023-06-01`).
    pub anthropic_version: Option<String>,
    /// Bedrock: AWS region (default from the host name).
    pub region: Option<String>,
    /// Bedrock: credentials (normally `${AWS_ACCESS_KEY_ID}` etc.).
    pub aws_access_key_id: Option<Secret>,
    pub aws_secret_access_key: Option<Secret>,
    pub aws_session_token: Option<Secret>,
    /// Passive health (outlier detection) of the endpoints and of (endpoint, model).
    #[serde(default)]
    pub breaker: Option<BreakerSection>,
    /// The share of requests that retries may add on top (load amplification cap).
    #[serde(default)]
    pub retry_budget: Option<RetryBudgetSection>,
}

/// A base URL, either a plain string or `{url, weight}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BaseUrlEntry {
    Plain(String),
    Weighted { url: String, weight: Option<usize> },
}

impl BaseUrlEntry {
    pub fn url(&self) -> &str {
        match self {
            BaseUrlEntry::Plain(u) => u,
            BaseUrlEntry::Weighted { url, .. } => url,
        }
    }
    pub fn weight(&self) -> usize {
        match self {
            BaseUrlEntry::Plain(_) => 1,
            BaseUrlEntry::Weighted { weight, .. } => weight.unwrap_or(1),
        }
    }
}

/// Timeouts in milliseconds. Per provider, overridable per model route.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSection {
    /// TCP + TLS connect (default 5 000).
    pub connect_ms: Option<u64>,
    /// Until the response header (time to first byte / first token) (default 120 000).
    pub first_byte_ms: Option<u64>,
    /// Between two body chunks of a response (default 120 000).
    pub idle_ms: Option<u64>,
    /// Whole request, stream included (default none).
    pub total_ms: Option<u64>,
    /// Write an SSE comment (`: keepalive`) to a stream client after this long without
    /// output, also before the upstream answered (default off). Keeps load balancers
    /// with idle timeouts from cutting streams of long-thinking models.
    pub sse_keepalive_ms: Option<u64>,
}

/// Passive health: when an endpoint (or one model on it) is taken out of rotation.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreakerSection {
    pub consecutive_failures: Option<u32>,
    pub failure_ratio: Option<f64>,
    pub window_ms: Option<u64>,
    pub min_requests: Option<u32>,
    pub cooldown_ms: Option<u64>,
    pub max_cooldown_ms: Option<u64>,
    pub half_open_probes: Option<u32>,
    pub max_ejection_percent: Option<u32>,
}

/// Retries may add at most `percent` of the provider's requests (Envoy `retry_budget`).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetSection {
    pub percent: Option<f64>,
    pub min_concurrency: Option<u32>,
    pub window_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSection {
    /// `http` (GET `path`, 2xx is healthy), `tcp` (connect) or `none`.
    pub kind: String,
    pub path: Option<String>,
    pub interval_ms: Option<u64>,
}

/// A public model name and where it goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub name: String,
    pub targets: Vec<TargetSection>,
    /// `weighted` (default), `least_inflight`, `latency`, `consistent_hash`.
    pub strategy: Option<String>,
    /// Header whose value is the consistent-hash key (default: the `user` field).
    pub hash_header: Option<String>,
    /// Other public model names tried in order when all targets failed.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Error classes that trigger the fallbacks (default: all retryable classes).
    #[serde(default)]
    pub fallback_on: Vec<String>,
    #[serde(default)]
    pub retry: Option<RetrySection>,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    /// Continue a stream that died after text reached the client on another endpoint
    /// or fallback (default off).
    pub failover_mid_stream: Option<bool>,
    /// Response caching for this route (`config::cache`).
    pub cache: Option<super::cache::RouteCacheSection>,
    /// Settings of the cost-aware and prefix-aware strategies (`config::balance`).
    pub balance: Option<super::balance::BalanceSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    pub provider: String,
    /// The provider's own model name (for Azure: the deployment name).
    pub model: String,
    pub weight: Option<usize>,
    /// This target's model capabilities, over `capabilities:` and the built-in table.
    pub capabilities: Option<super::capability::CapsSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Total attempts including the first (default 3).
    pub attempts: Option<u32>,
    pub backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    /// Error classes retried: `connect`, `rate_limit`, `server_error`, `timeout`, `overloaded`.
    #[serde(default)]
    pub on: Vec<String>,
}
