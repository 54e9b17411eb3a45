//! Configuration: one YAML file → a validated runtime [`Config`].
//!
//! Pipeline: the text is read as a YAML tree (`parse`), `${ENV}` references are
//! expanded in string values (`env`), each section and list item is deserialized on
//! its own into the `file` shapes so every shape error is reported, then `validate`
//! checks everything else and builds the runtime types (`runtime`). A config either
//! loads completely or yields [`ConfigErrors`] listing every problem with its key path;
//! nothing in here panics on any input.
//!
//! Secrets (provider keys, the admin token, AWS credentials, extra header values) are
//! [`Secret`]s from the moment they are read and never appear in an error message,
//! a `{:?}` or [`Config::redacted_yaml`].

pub mod balance;
pub mod cache;
pub mod capability;
mod capability_table;
pub mod client;
pub mod env;
mod errors;
pub mod file;
pub mod governance;
mod governance_check;
pub mod governance_spec;
pub mod logging;
mod parse;
pub(crate) mod pricing_file;
mod provider;
mod redact;
pub mod resilience;
pub mod responses;
mod route;
pub mod router;
pub mod router_semantic;
pub mod runtime;
pub mod secret;
pub mod tls;
pub mod traces;
mod url;
mod validate;

use std::path::Path;

pub use cache::{
    CacheBackend, CacheNamespace, CacheSettings, Replay, RouteCache, SemanticSettings,
};
pub use env::{expand_str, EnvError};
pub use errors::{ConfigError, ConfigErrors};
#[cfg(test)]
pub(crate) use governance_check::guardrail_spec;
pub use governance_spec::{
    AuthMode, Detector, Governance, GuardrailAction, GuardrailCheck, GuardrailSpec, KeySpec,
    OnError, StateBackend, StateSpec, UnpricedPolicy,
};
pub use provider::DEFAULT_ANTHROPIC_VERSION;
pub use resilience::{BreakerPolicy, RetryBudgetPolicy};
pub use responses::ResponsesSettings;
pub use route::MAX_ATTEMPTS;
pub use router::{ComplexityThresholds, Matcher, Range, Router, Rule, Tier, Variant};
pub use router_semantic::{RouterSemantic, SemanticMatch};
pub use runtime::*;
pub use secret::Secret;
pub use validate::{DEFAULT_ADMIN_LISTENER, DEFAULT_DATA_LISTENER, DEFAULT_MAX_BODY_BYTES};

/// Reads and validates a config file, expanding `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    load_file_with(path, &|name| std::env::var(name).ok())
}

/// [`load_file`] with `${VAR}` answered by `env` instead of the process environment.
pub fn load_file_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let mut errors = ConfigErrors::default();
        errors.push("", format!("cannot read {}: {e}", path.display()));
        errors
    })?;
    validate::validate(&text, env, path.parent())
}

/// Validates a config text; `env` answers `${VAR}` lookups (and the `AWS_*` fallbacks
/// of Bedrock providers), so tests need not touch the process environment.
pub fn load_str(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    validate::validate(yaml, env, None)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
