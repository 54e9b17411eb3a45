//! Governance as the policy layer runs it: auth mode, virtual keys (as digests), teams,
//! prices, guardrails and the state backend, every enumerated value parsed and every
//! `${ENV}` reference expanded. Built only by `governance_check` from a file that
//! passed every check, so `policy` needs no parsing and no validation of its own and
//! never looks at the file shapes.
//!
//! The accepted spellings of every enumerated value live here, once: the checker uses
//! them to report bad values, and their `as_str` gives metric labels and messages.

use std::collections::BTreeMap;
use std::time::Duration;

use super::governance::{BudgetConfig, LimitsConfig, PriceConfig, TeamConfig};
use super::secret::Secret;

/// The validated governance sections of one config.
#[derive(Debug, Clone, PartialEq)]
pub struct Governance {
    pub auth: AuthMode,
    /// Virtual keys in file order.
    pub keys: Vec<KeySpec>,
    /// Teams in file order; every `KeySpec::team` names one of them.
    pub teams: Vec<TeamConfig>,
    /// Operator prices, tried in order before the built-in table.
    pub pricing: Vec<PriceConfig>,
    /// Whether the built-in table prices what `pricing` does not (`pricing_file`'s
    /// `builtin: replace` turns it off).
    pub builtin_prices: bool,
    /// `unpriced:` — models without a price.
    pub unpriced: UnpricedPolicy,
    /// Guardrails in file order; every `KeySpec::guardrails` entry names one of them.
    pub guardrails: Vec<GuardrailSpec>,
    pub state: StateSpec,
}

impl Default for Governance {
    fn default() -> Self {
        Governance {
            auth: AuthMode::default(),
            keys: Vec::new(),
            teams: Vec::new(),
            pricing: Vec::new(),
            builtin_prices: true,
            unpriced: UnpricedPolicy::default(),
            guardrails: Vec::new(),
            state: StateSpec::default(),
        }
    }
}

/// `auth.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// A virtual key is required (the default).
    #[default]
    Keys,
    /// No key needed (local use only).
    Open,
}

impl AuthMode {
    /// Parses `auth.mode` (default `keys`).
    pub fn parse(s: Option<&str>) -> Result<AuthMode, String> {
        match s {
            None | Some("keys") => Ok(AuthMode::Keys),
            Some("open") => Ok(AuthMode::Open),
            Some(other) => Err(format!(
                "unknown auth mode `{other}` (expected keys or open)"
            )),
        }
    }
}

/// One virtual key: its digest instead of the `sha256:` text.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpec {
    pub name: String,
    /// SHA-256 of the key (plaintext keys are never configured).
    pub digest: [u8; 32],
    pub team: Option<String>,
    /// Allowed model globs; empty = every model.
    pub models: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub limits: LimitsConfig,
    pub budget: BudgetConfig,
    /// Guardrail names, in the key's order.
    pub guardrails: Vec<String>,
    /// Clients may bypass the response cache (default true).
    pub cache_bypass: bool,
}

/// Parses `sha256:<64 hex>` (either case) into the digest bytes.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex_part = text.strip_prefix("sha256:")?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// One guardrail.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailSpec {
    pub name: String,
    pub check: GuardrailCheck,
    pub action: GuardrailAction,
    /// Applies to request text.
    pub input: bool,
    /// Applies to answer text.
    pub output: bool,
    /// Applies to every key (and to anonymous requests).
    pub global: bool,
}

/// What a guardrail looks for.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardrailCheck {
    /// Built-in detectors (all of them when the file lists none).
    Pii(Vec<Detector>),
    /// Operator regexes, each known to compile and not to match the empty string.
    DenyPatterns(Vec<String>),
    /// The largest estimated prompt accepted (at least 1).
    MaxPromptTokens(u64),
}

/// What to do with a guardrail match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardrailAction {
    Block,
    Redact,
    Log,
}

impl GuardrailAction {
    /// Parses `action` (default `block`).
    pub fn parse(s: Option<&str>) -> Result<GuardrailAction, String> {
        match s {
            None | Some("block") => Ok(GuardrailAction::Block),
            Some("redact") => Ok(GuardrailAction::Redact),
            Some("log") => Ok(GuardrailAction::Log),
            Some(o) => Err(format!(
                "unknown action `{o}` (expected block, redact or log)"
            )),
        }
    }

    /// The config and metric-label spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailAction::Block => "block",
            GuardrailAction::Redact => "redact",
            GuardrailAction::Log => "log",
        }
    }
}

/// Parses `apply_to` (default `input`) into (input, output).
pub fn parse_apply_to(s: Option<&str>) -> Result<(bool, bool), String> {
    match s {
        None | Some("input") => Ok((true, false)),
        Some("output") => Ok((false, true)),
        Some("both") => Ok((true, true)),
        Some(o) => Err(format!(
            "unknown apply_to `{o}` (expected input, output or both)"
        )),
    }
}

/// A built-in PII or secret detector (the detection itself is `policy::detectors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detector {
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    Secret,
}

impl Detector {
    /// Every detector, in config spelling order.
    pub const ALL: [Detector; 6] = [
        Detector::Email,
        Detector::Phone,
        Detector::CreditCard,
        Detector::Iban,
        Detector::UsSsn,
        Detector::Secret,
    ];

    /// The config spelling, also the `<kind>` of `[REDACTED:<kind>]` and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CreditCard => "credit_card",
            Detector::Iban => "iban",
            Detector::UsSsn => "us_ssn",
            Detector::Secret => "secret",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Position in [`Detector::ALL`] (detectors index their compiled patterns by it).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// `state:` — where rate-limit, concurrency and spend counters live.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSpec {
    pub backend: StateBackend,
    pub on_error: OnError,
    /// Bound on every store call.
    pub timeout: Duration,
    /// Prefix of every Redis key.
    pub key_prefix: String,
}

impl Default for StateSpec {
    fn default() -> Self {
        StateSpec {
            backend: StateBackend::Memory,
            on_error: OnError::FailOpen,
            timeout: Duration::from_millis(DEFAULT_STATE_TIMEOUT_MS),
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
        }
    }
}

/// `state.backend`. `Debug` shows the CA file's size, not its bytes.
#[derive(Clone, PartialEq)]
pub enum StateBackend {
    /// Per process, lost on restart.
    Memory,
    /// Shared by replicas; the URL (expanded, it may carry a password) is a [`Secret`].
    /// `ca_pem`: the contents of `state.tls_ca_file`, read when the config is loaded,
    /// to verify a `rediss://` server instead of the system roots.
    Redis {
        url: Secret,
        ca_pem: Option<Vec<u8>>,
    },
    /// A Redis Cluster known by one or more seed nodes (`state.redis_url`, comma
    /// separated); `ca_pem` as for `Redis`.
    RedisCluster {
        seeds: Vec<Secret>,
        ca_pem: Option<Vec<u8>>,
    },
}

impl std::fmt::Debug for StateBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ca = |pem: &Option<Vec<u8>>| pem.as_ref().map(|p| format!("{} bytes", p.len()));
        match self {
            StateBackend::Memory => f.write_str("Memory"),
            StateBackend::Redis { url, ca_pem } => f
                .debug_struct("Redis")
                .field("url", url)
                .field("ca_pem", &ca(ca_pem))
                .finish(),
            StateBackend::RedisCluster { seeds, ca_pem } => f
                .debug_struct("RedisCluster")
                .field("seeds", seeds)
                .field("ca_pem", &ca(ca_pem))
                .finish(),
        }
    }
}

impl StateBackend {
    /// The spelling of `state.backend`, for messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            StateBackend::Memory => "memory",
            StateBackend::Redis { .. } => "redis",
            StateBackend::RedisCluster { .. } => "redis_cluster",
        }
    }
}

/// `state.on_error`: what a request gets when the store fails or times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Admit unmetered (the default).
    FailOpen,
    /// Reject with 503.
    FailClosed,
}

impl OnError {
    /// Parses `state.on_error` (default `fail_open`).
    pub fn parse(s: Option<&str>) -> Result<OnError, String> {
        match s {
            None | Some("fail_open") => Ok(OnError::FailOpen),
            Some("fail_closed") => Ok(OnError::FailClosed),
            Some(other) => Err(format!(
                "unknown on_error `{other}` (expected fail_open or fail_closed)"
            )),
        }
    }
}

/// Default bound on a state-store call.
pub const DEFAULT_STATE_TIMEOUT_MS: u64 = 50;
/// Default Redis key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "tollgate:";

/// `unpriced.action`: what a request for a model without a price gets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum UnpricedPolicy {
    /// Served, counted and logged once per model; refused for keys with a budget,
    /// whose spend it would otherwise pass at $0.
    #[default]
    Warn,
    /// Refused with 403 before anything is sent upstream.
    Block,
    /// Served and charged at these USD-per-million-token prices.
    DefaultPrice { input: f64, output: f64 },
}

impl UnpricedPolicy {
    /// The metric label of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            UnpricedPolicy::Warn => "warn",
            UnpricedPolicy::Block => "block",
            UnpricedPolicy::DefaultPrice { .. } => "default_price",
        }
    }
}
