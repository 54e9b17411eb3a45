//! The runtime [`Config`]: what the proxy, the router and the admin plane read, one
//! `Arc<Config>` snapshot per request. Built only by `validate` from a file that passed
//! every check, so its values need no further checking.

use std::sync::Arc;
use std::time::Duration;

use pingora::server::configuration::ServerConf;

use super::file::{self, TimeoutsSection};
use super::secret::Secret;
use crate::fx_hash::FxMap;

/// A validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Pingora server settings as written (after env expansion); see [`Config::server_conf`].
    pub server: file::ServerSection,
    /// Data-plane listen addresses (default `["0.0.0.0:8080"]`).
    pub data_listeners: Vec<String>,
    /// Admin listen address (default `127.0.0.1:9090`).
    pub admin_listener: String,
    /// Bearer token required on the admin plane; `None` = open admin.
    pub admin_token: Option<Secret>,
    /// `/metrics` requires the admin token too.
    pub metrics_auth: bool,
    /// Largest accepted request body (default 32 MiB).
    pub max_body_bytes: usize,
    /// Client-side clocks and limits.
    pub client: super::client::ClientLimits,
    /// One access-log line per request (default true).
    pub access_log: bool,
    /// Where the access log's end user comes from (`logging.user_from`).
    pub user_from: super::logging::UserSource,
    /// Providers in file order.
    pub providers: Vec<Arc<Provider>>,
    /// Model routes in file order (the order of `/v1/models`).
    pub models: Vec<Arc<ModelRoute>>,
    /// Routers in file order (model names whose rules pick a model).
    pub routers: Vec<Arc<super::router::Router>>,
    /// Keys, teams, prices, guardrails and the state backend, for the policy layer.
    pub governance: super::governance_spec::Governance,
    /// The response cache store (`cache:`).
    pub cache: super::cache::CacheSettings,
    /// `capabilities:` overrides, for direct `provider/model` calls (configured
    /// targets have theirs resolved in `Target::caps`).
    pub capabilities: Vec<super::capability::CapabilityOverride>,
    /// Stored Responses conversations (`responses:`).
    pub responses: super::responses::ResponsesSettings,
    /// OTLP trace export (`traces:`); `None` = no spans.
    pub traces: Option<Arc<super::traces::TraceSettings>>,
    /// The price file read with this config (`pricing_file:`), for the file watch.
    pub pricing_file: Option<std::path::PathBuf>,
    pub(crate) provider_index: FxMap<String, usize>,
    pub(crate) model_index: FxMap<String, usize>,
    /// The YAML tree as written, secrets already replaced (see `redact`).
    pub(crate) redacted: serde_yaml::Value,
}

/// Default Pingora grace period: long enough for a long LLM stream to finish during a
/// graceful upgrade or shutdown (Pingora's own default, 300 s, cuts some).
pub const DEFAULT_GRACE_PERIOD_SECONDS: u64 = 600;

impl Config {
    /// A provider by name.
    pub fn provider(&self, name: &str) -> Option<&Arc<Provider>> {
        self.provider_index
            .get(name)
            .and_then(|&i| self.providers.get(i))
    }

    /// A model route by its public name (O(1)).
    pub fn model(&self, name: &str) -> Option<&Arc<ModelRoute>> {
        self.model_index.get(name).and_then(|&i| self.models.get(i))
    }

    /// A router by its public name (a handful per config: a scan is cheapest).
    pub fn router(&self, name: &str) -> Option<&Arc<super::router::Router>> {
        self.routers.iter().find(|r| r.name == name)
    }

    /// Pingora's server configuration: `ServerConf::default()` with the `server`
    /// section applied. Defaults differ from Pingora's where LLM traffic needs it:
    /// threads = available cores (Pingora: 1), grace period 600 s (Pingora: 300 s),
    /// graceful shutdown timeout 10 s, our own upgrade socket and pid file names.
    pub fn server_conf(&self) -> ServerConf {
        let s = &self.server;
        let base = ServerConf::default();
        ServerConf {
            threads: s.threads.unwrap_or_else(available_cores),
            grace_period_seconds: Some(
                s.grace_period_seconds
                    .unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS),
            ),
            graceful_shutdown_timeout_seconds: Some(
                s.graceful_shutdown_timeout_seconds.unwrap_or(10),
            ),
            upgrade_sock: s
                .upgrade_sock
                .clone()
                .unwrap_or_else(|| "/tmp/tollgate_upgrade.sock".to_string()),
            pid_file: s
                .pid_file
                .clone()
                .unwrap_or_else(|| "/tmp/tollgate.pid".to_string()),
            max_retries: s.max_retries.unwrap_or(16),
            error_log: s.error_log.clone().or(base.error_log.clone()),
            daemon: s.daemon.unwrap_or(base.daemon),
            user: s.user.clone().or(base.user.clone()),
            group: s.group.clone().or(base.group.clone()),
            upstream_keepalive_pool_size: s
                .upstream_keepalive_pool_size
                .unwrap_or(base.upstream_keepalive_pool_size),
            ca_file: s.ca_file.clone().or(base.ca_file.clone()),
            ..base
        }
    }

    /// What `scripts/upgrade.sh` needs to know, as `key: value` lines printed by
    /// `tollgate -t`: the effective pid file, upgrade socket, shutdown timings and
    /// admin listener (defaults applied and `${VAR}` expanded, which a shell script
    /// reading the YAML could not do). None of them is a secret.
    pub fn upgrade_facts(&self) -> String {
        let s = self.server_conf();
        format!(
            "server.pid_file: {}\nserver.upgrade_sock: {}\nserver.grace_period_seconds: {}\nserver.graceful_shutdown_timeout_seconds: {}\nlisteners.admin: {}\n",
            s.pid_file,
            s.upgrade_sock,
            s.grace_period_seconds.unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS),
            s.graceful_shutdown_timeout_seconds.unwrap_or(10),
            self.admin_listener,
        )
    }

    /// The file as written, `${VAR}` references kept, literal secrets (keys, tokens,
    /// AWS credentials, header values, passwords in URLs) replaced by `"***"`.
    /// Comments are not kept.
    pub fn redacted_yaml(&self) -> String {
        serde_yaml::to_string(&self.redacted)
            .unwrap_or_else(|e| format!("# the config could not be rendered: {e}\n"))
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// An upstream provider: endpoints, credentials, wire format.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    /// `name` as the `x-tollgate-provider` header value, made once.
    pub name_value: http::HeaderValue,
    pub kind: ProviderKind,
    /// Equivalent endpoints (at least one), balanced by weight and health.
    pub endpoints: Vec<Endpoint>,
    /// The provider key; `None` for keyless servers (a local vLLM or Ollama).
    pub api_key: Option<Secret>,
    /// The header that carries `api_key` in this provider's format, made once (and
    /// marked sensitive, so no debug output shows it).
    pub auth: Option<(&'static str, http::HeaderValue)>,
    /// Extra headers for every upstream request; names lower-case.
    pub headers: Vec<(String, Secret)>,
    pub timeouts: Timeouts,
    pub health: HealthCheck,
    /// Azure `api-version` (required for Azure, `None` otherwise).
    pub api_version: Option<String>,
    /// OpenAI format: the server offers the Responses API (`api: responses`), which
    /// Responses clients reach by pass-through.
    pub responses_api: bool,
    /// Anthropic `anthropic-version` header value (default `2023-06-01`).
    pub anthropic_version: String,
    /// Bedrock region (from `region`, the host name, or `AWS_REGION`).
    pub region: Option<String>,
    /// Bedrock credentials (from the file or the `AWS_*` environment).
    pub aws: Option<AwsKeys>,
    /// CAs trusted for the `https` endpoints instead of the OS store (`tls_ca_file`).
    pub tls_ca: Option<super::tls::TrustedCa>,
    /// Passive health: when an endpoint or (endpoint, model) leaves rotation.
    pub breaker: super::resilience::BreakerPolicy,
    /// How much load retries may add to this provider.
    pub retry_budget: super::resilience::RetryBudgetPolicy,
}

impl Provider {
    /// The header a provider of `kind` reads its key from, with the key in it.
    /// Bedrock signs instead; a key that is no valid header value sends none.
    pub fn auth_header(
        kind: ProviderKind,
        key: &Secret,
    ) -> Option<(&'static str, http::HeaderValue)> {
        let key = key.expose();
        let (name, value) = match kind {
            ProviderKind::OpenAi => ("authorization", format!("Bearer {key}")),
            ProviderKind::Azure => ("api-key", key.to_string()),
            ProviderKind::Anthropic => ("x-api-key", key.to_string()),
            ProviderKind::Gemini => ("x-goog-api-key", key.to_string()),
            ProviderKind::Bedrock => return None,
        };
        let mut value = http::HeaderValue::try_from(value).ok()?;
        value.set_sensitive(true);
        Some((name, value))
    }
}

/// Static AWS credentials for SigV4 signing.
#[derive(Debug, Clone)]
pub struct AwsKeys {
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, Groq, ...).
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    Bedrock,
}

impl ProviderKind {
    /// The names accepted in `format:`.
    pub const NAMES: [&'static str; 5] = ["openai", "azure", "anthropic", "gemini", "bedrock"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "openai" => ProviderKind::OpenAi,
            "azure" => ProviderKind::Azure,
            "anthropic" => ProviderKind::Anthropic,
            "gemini" => ProviderKind::Gemini,
            "bedrock" => ProviderKind::Bedrock,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Bedrock => "bedrock",
        }
    }
}

/// One base URL of a provider, split for building a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Normalized `scheme://host[:port][/prefix]`, no trailing slash.
    pub url: String,
    pub tls: bool,
    /// Host name or IP; an IPv6 literal without brackets. Also the TLS SNI.
    pub host: String,
    /// Explicit port, else 443 (https) or 80 (http).
    pub port: u16,
    /// The `Host` header of requests to it (`host`, with `:port` unless default).
    pub host_value: http::HeaderValue,
    /// `""` or `/x` (no trailing slash); the format's path is appended to it.
    pub path_prefix: String,
    /// Relative share of traffic (>= 1).
    pub weight: usize,
}

/// Upstream timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect (default 5 s).
    pub connect: Duration,
    /// Until the response header (default 120 s).
    pub first_byte: Duration,
    /// Between two body chunks (default 120 s).
    pub idle: Duration,
    /// Whole request, stream included (default none).
    pub total: Option<Duration>,
    /// SSE comment keepalive interval for streams (default off).
    pub sse_keepalive: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(120),
            total: None,
            sse_keepalive: None,
        }
    }
}

impl Timeouts {
    /// These timeouts with every value set in `o` (a model route's override) replacing ours.
    pub fn with_override(&self, o: &TimeoutsSection) -> Timeouts {
        Timeouts {
            connect: o.connect_ms.map_or(self.connect, Duration::from_millis),
            first_byte: o
                .first_byte_ms
                .map_or(self.first_byte, Duration::from_millis),
            idle: o.idle_ms.map_or(self.idle, Duration::from_millis),
            total: o.total_ms.map(Duration::from_millis).or(self.total),
            sse_keepalive: o
                .sse_keepalive_ms
                .map(Duration::from_millis)
                .or(self.sse_keepalive),
        }
    }
}

/// Active health check of a provider's endpoints.
///
/// Default: `Tcp` every 5 s: a connect is cheap for any provider (TLS or not, no key
/// needed, no billable request) and is what takes a dead endpoint out of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    None,
    Tcp {
        interval: Duration,
    },
    /// `GET path`; a 2xx answer is healthy.
    Http {
        path: String,
        interval: Duration,
    },
}

/// Default interval of health checks.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(5);

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck::Tcp {
            interval: DEFAULT_HEALTH_INTERVAL,
        }
    }
}

/// A public model name and where its requests go.
#[derive(Debug, Clone)]
pub struct ModelRoute {
    pub name: String,
    /// At least one.
    pub targets: Vec<Target>,
    pub strategy: Strategy,
    /// Consistent-hash key header (only with `Strategy::ConsistentHash`; `None` = the
    /// request's `user` field).
    pub hash_header: Option<String>,
    /// Other routes tried in order when every target failed (no cycles).
    pub fallbacks: Vec<String>,
    /// Error classes that trigger the fallbacks (default: the retry defaults).
    pub fallback_on: Vec<ErrorClass>,
    pub retry: RetryPolicy,
    /// Per-route timeout overrides; apply with `provider.timeouts.with_override(&route.timeouts)`.
    pub timeouts: TimeoutsSection,
    /// A stream that dies after text reached the client continues on another
    /// endpoint or fallback, as the rest of the same client stream.
    pub failover_mid_stream: bool,
    /// Response caching (`models[].cache`); `None` = not cached.
    pub cache: Option<super::cache::RouteCache>,
    /// Settings of the cost-aware and prefix-aware strategies (`models[].balance`).
    pub balance: super::balance::Balance,
}

/// One target of a route: a provider and its model name there.
#[derive(Debug, Clone)]
pub struct Target {
    pub provider: Arc<Provider>,
    /// The provider's model name (Azure: the deployment name).
    pub model: String,
    /// `model` as the `x-tollgate-model` header value, made once.
    pub model_value: http::HeaderValue,
    /// Relative share of traffic (>= 1).
    pub weight: usize,
    /// What the model can do; `None` = unknown, taken to be capable of everything.
    pub caps: Option<super::capability::Caps>,
}

/// How a route picks among its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    #[default]
    Weighted,
    LeastInflight,
    Latency,
    ConsistentHash,
    /// Lowest expected cost of this request (`routing::select`).
    Cheapest,
    /// Cheapest whose recent p50 time to first token is within `balance.max_ttft`.
    CostWithinLatency,
    /// Consistent hashing of the prompt's leading blocks with bounded loads
    /// (`routing::prefix`): shared prefixes meet the replica that cached them.
    PrefixAffinity,
}

impl Strategy {
    pub const NAMES: [&'static str; 7] = [
        "weighted",
        "least_inflight",
        "latency",
        "consistent_hash",
        "cheapest",
        "cost_within_latency",
        "prefix_affinity",
    ];

    /// Whether the strategy needs the expected cost of each request.
    pub fn prices_requests(self) -> bool {
        matches!(self, Strategy::Cheapest | Strategy::CostWithinLatency)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "weighted" => Strategy::Weighted,
            "least_inflight" => Strategy::LeastInflight,
            "latency" => Strategy::Latency,
            "consistent_hash" => Strategy::ConsistentHash,
            "cheapest" => Strategy::Cheapest,
            "cost_within_latency" => Strategy::CostWithinLatency,
            "prefix_affinity" => Strategy::PrefixAffinity,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::LeastInflight => "least_inflight",
            Strategy::Latency => "latency",
            Strategy::ConsistentHash => "consistent_hash",
            Strategy::Cheapest => "cheapest",
            Strategy::CostWithinLatency => "cost_within_latency",
            Strategy::PrefixAffinity => "prefix_affinity",
        }
    }
}

/// Retries within a route (same or other target) before its fallbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first, 1..=10 (default 3).
    pub attempts: u32,
    /// First backoff, doubled per retry (default 100 ms).
    pub backoff: Duration,
    /// Backoff cap (default 2 s).
    pub max_backoff: Duration,
    /// Error classes retried (default connect, rate_limit, server_error, timeout, overloaded).
    pub on: Vec<ErrorClass>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            on: ErrorClass::RETRYABLE.to_vec(),
        }
    }
}

/// A class of upstream failure, as named in `retry.on` and `fallback_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    Connect,
    RateLimit,
    ServerError,
    Timeout,
    Overloaded,
    ContextWindowExceeded,
    ContentPolicy,
}

impl ErrorClass {
    /// The default of `retry.on` and `fallback_on`: failures another attempt may cure.
    pub const RETRYABLE: [ErrorClass; 5] = [
        ErrorClass::Connect,
        ErrorClass::RateLimit,
        ErrorClass::ServerError,
        ErrorClass::Timeout,
        ErrorClass::Overloaded,
    ];

    pub const NAMES: [&'static str; 7] = [
        "connect",
        "rate_limit",
        "server_error",
        "timeout",
        "overloaded",
        "context_window_exceeded",
        "content_policy",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "connect" => ErrorClass::Connect,
            "rate_limit" => ErrorClass::RateLimit,
            "server_error" => ErrorClass::ServerError,
            "timeout" => ErrorClass::Timeout,
            "overloaded" => ErrorClass::Overloaded,
            "context_window_exceeded" => ErrorClass::ContextWindowExceeded,
            "content_policy" => ErrorClass::ContentPolicy,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::RateLimit => "rate_limit",
            ErrorClass::ServerError => "server_error",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::ContextWindowExceeded => "context_window_exceeded",
            ErrorClass::ContentPolicy => "content_policy",
        }
    }
}
