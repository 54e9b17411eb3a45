//! Config sections of governance as written: auth mode, virtual keys, teams, prices,
//! guardrails, shared state. Shapes only: every enumerated value is kept as a string
//! here so that `governance_check` can report *all* bad values with their key paths at
//! once (serde would stop at the first) while it builds the typed
//! [`super::governance_spec::Governance`] the policy layer runs on.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `auth:` — how clients authenticate.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `keys` (default: a virtual key is required) or `open` (no key, local use only).
    pub mode: Option<String>,
}

/// Requests-, tokens- and concurrency limits of a key or a team. A missing field means
/// "no limit of that kind".
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests per minute (token bucket refilled continuously, burst = the limit).
    pub rpm: Option<u64>,
    /// Tokens per minute: prompt estimate + max output tokens at admission, corrected
    /// with the real usage when the request ends.
    pub tpm: Option<u64>,
    /// Requests in flight at once (streams count until they end).
    pub max_concurrent: Option<u64>,
}

/// Spend caps of a key or a team in USD, per UTC day and per UTC calendar month.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub daily_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
}

/// `keys: [...]` — one virtual key.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Human name; used in metrics labels, logs and `/admin/usage` (never the secret).
    pub name: String,
    /// `sha256:<64 hex>` of the key; plaintext keys are never stored.
    /// (`tollgate::policy::hash_key("sk-...")` computes it.)
    pub hash: String,
    /// Team whose limits and budgets also apply (must be listed under `teams`).
    pub team: Option<String>,
    /// Allowed model names as globs (`*` any run, `?` one character), matched against
    /// the name the client sent: `gpt-4o*`, `anthropic/*`. Empty = every model.
    #[serde(default)]
    pub models: Vec<String>,
    /// Free-form labels, shown in `/admin/usage`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub budget: BudgetConfig,
    /// Names of `guardrails` entries applied to this key's traffic.
    #[serde(default)]
    pub guardrails: Vec<String>,
    /// Whether clients of this key may bypass the response cache with
    /// `Cache-Control: no-cache|no-store` or shorten its TTL (default true).
    pub cache_bypass: Option<bool>,
}

/// `teams: [...]` — limits and budgets shared by every key of the team.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub budget: BudgetConfig,
}

/// `pricing: [...]` — USD per million tokens for a model name or glob; entries are
/// tried in order before the built-in table. Missing prices fall back to the built-in
/// entry for the same model when there is one, else to 0.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    /// Upstream model name or glob (`gpt-4o`, `my-finetune-*`, `*llama-3.3-70b*`).
    pub model: String,
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    /// Price of prompt tokens read from the provider's prompt cache.
    pub cached_input_per_mtok: Option<f64>,
    /// Price of prompt tokens written to the prompt cache (Anthropic charges 1.25× input).
    pub cache_write_per_mtok: Option<f64>,
}

/// `unpriced:` — what a request for a model with no price (no `pricing:` entry, not in
/// the built-in table) gets.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UnpricedConfig {
    /// `warn` (default: served, counted in `tollgate_unpriced_requests_total`, logged
    /// once per model; refused for keys with a budget), `block` (refused with 403) or
    /// `default_price` (served and charged at the prices below).
    pub action: Option<String>,
    /// `default_price` only: USD per million input tokens.
    pub input_per_mtok: Option<f64>,
    /// `default_price` only: USD per million output tokens.
    pub output_per_mtok: Option<f64>,
}

/// `guardrails: [...]` — a named content check referenced by keys.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardrailConfig {
    pub name: String,
    /// `pii` (built-in detectors), `deny_pattern` (operator regexes) or
    /// `max_prompt_tokens` (estimated prompt size).
    pub kind: String,
    /// `pii` only: `email`, `phone`, `credit_card`, `iban`, `us_ssn`, `secret`.
    /// Empty = all of them.
    #[serde(default)]
    pub detectors: Vec<String>,
    /// `deny_pattern` only: regular expressions (Rust `regex` syntax).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// `max_prompt_tokens` only: the largest estimated prompt accepted.
    pub max_tokens: Option<u64>,
    /// `block` (default), `redact` (replace with `[REDACTED:<kind>]`) or `log`.
    pub action: Option<String>,
    /// `input` (default), `output` or `both`.
    pub apply_to: Option<String>,
    /// Apply to every request, whatever the key (and in `auth.mode: open`).
    #[serde(default)]
    pub global: bool,
}

/// `state:` — where rate-limit, concurrency and spend counters live.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `memory` (default; per process, lost on restart), `redis` (shared by replicas,
    /// survives restarts) or `redis_cluster` (the same on a Redis Cluster).
    pub backend: Option<String>,
    /// `redis://[user:password@]host:port[/db]` (`rediss://` for TLS), normally given
    /// as `${REDIS_URL}`; with `redis_cluster`, one or more seed nodes, comma-separated.
    pub redis_url: Option<String>,
    /// `rediss://` only: PEM file of the CA(s) that sign the Redis server's
    /// certificate, trusted instead of the system roots (private CAs, managed Redis).
    pub tls_ca_file: Option<String>,
    /// What a request gets when the store fails or times out: `fail_open` (default:
    /// admit unmetered) or `fail_closed` (reject with 503).
    pub on_error: Option<String>,
    /// Bound on every store call in milliseconds (default 50).
    pub timeout_ms: Option<u64>,
    /// Prefix of every Redis key (default `tollgate:`), to share one Redis safely.
    pub key_prefix: Option<String>,
}
