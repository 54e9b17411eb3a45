//! Validation of the governance sections (`auth`, `keys`, `teams`, `pricing`,
//! `guardrails`, `state`) into the typed [`Governance`]: every problem is reported with
//! its key path, nothing stops at the first error, and no message repeats a secret (a
//! `hash` that is not a hash may be a pasted plaintext key; a Redis URL may hold a
//! password). `${ENV}` references were expanded by `env` before this runs.

use std::collections::HashMap;
use std::time::Duration;

use regex::Regex;

use super::errors::ConfigErrors;
use super::file::FileConfig;
use super::governance::{
    BudgetConfig, GuardrailConfig, LimitsConfig, PriceConfig, StateConfig, UnpricedConfig,
};
use super::governance_spec::{
    parse_apply_to, parse_hash, AuthMode, Detector, Governance, GuardrailAction, GuardrailCheck,
    GuardrailSpec, KeySpec, OnError, StateBackend, StateSpec, UnpricedPolicy, DEFAULT_KEY_PREFIX,
    DEFAULT_STATE_TIMEOUT_MS,
};
use super::secret::Secret;

/// Checks every governance section of the (expanded) `file` and builds what passed.
/// The result is only meaningful when no error was pushed.
pub(crate) fn build(file: &FileConfig, errors: &mut ConfigErrors) -> Governance {
    // `keys` mode without keys is valid (every request gets a 401, which is safe);
    // the policy logs a warning when it is built that way.
    let auth = AuthMode::parse(file.auth.mode.as_deref()).unwrap_or_else(|e| {
        errors.push("auth.mode", e);
        AuthMode::Keys
    });
    let teams = names("teams", file.teams.iter().map(|t| t.name.as_str()), errors);
    for (i, t) in file.teams.iter().enumerate() {
        limits(&format!("teams[{i}].limits"), &t.limits, errors);
        budget(&format!("teams[{i}].budget"), &t.budget, errors);
    }
    let guardrail_names = names(
        "guardrails",
        file.guardrails.iter().map(|g| g.name.as_str()),
        errors,
    );
    let keys = keys(file, &teams, &guardrail_names, errors);
    for (i, p) in file.pricing.iter().enumerate() {
        price(&format!("pricing[{i}]"), p, errors);
    }
    let guardrails = file
        .guardrails
        .iter()
        .enumerate()
        .filter_map(|(i, g)| guardrail(&format!("guardrails[{i}]"), g, errors))
        .collect();
    Governance {
        auth,
        keys,
        teams: file.teams.clone(),
        pricing: file.pricing.clone(),
        builtin_prices: true,
        unpriced: unpriced(&file.unpriced, errors),
        guardrails,
        state: state(&file.state, errors),
    }
}

/// Checks names (non-empty, no whitespace or control characters, unique); returns them.
fn names<'a>(
    section: &str,
    all: impl Iterator<Item = &'a str>,
    errors: &mut ConfigErrors,
) -> HashMap<&'a str, usize> {
    let mut seen = HashMap::new();
    for (i, name) in all.enumerate() {
        let at = format!("{section}[{i}].name");
        if name.is_empty()
            || name.len() > 128
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            errors.push(
                at,
                "must be 1-128 characters without spaces or control characters",
            );
        } else if let Some(first) = seen.insert(name, i) {
            errors.push(
                at,
                format!("duplicate name `{name}` (also {section}[{first}])"),
            );
        }
    }
    seen
}

fn keys(
    file: &FileConfig,
    teams: &HashMap<&str, usize>,
    guardrails: &HashMap<&str, usize>,
    errors: &mut ConfigErrors,
) -> Vec<KeySpec> {
    names("keys", file.keys.iter().map(|k| k.name.as_str()), errors);
    let mut hashes: HashMap<[u8; 32], usize> = HashMap::new();
    let mut out = Vec::with_capacity(file.keys.len());
    for (i, k) in file.keys.iter().enumerate() {
        let at = format!("keys[{i}]");
        let digest = parse_hash(&k.hash);
        match digest {
            // The value is never echoed: it may be a plaintext key pasted by mistake.
            None => errors.push(
                format!("{at}.hash"),
                "must be `sha256:<64 hex digits>` (the hash of the key, never the key itself)",
            ),
            Some(h) => {
                if let Some(first) = hashes.insert(h, i) {
                    errors.push(
                        format!("{at}.hash"),
                        format!("same key hash as keys[{first}]"),
                    );
                }
            }
        }
        if let Some(team) = &k.team {
            if !teams.contains_key(team.as_str()) {
                errors.push(format!("{at}.team"), format!("unknown team `{team}`"));
            }
        }
        for (j, m) in k.models.iter().enumerate() {
            if m.trim().is_empty() {
                errors.push(format!("{at}.models[{j}]"), "must not be empty");
            }
        }
        for (j, g) in k.guardrails.iter().enumerate() {
            if !guardrails.contains_key(g.as_str()) {
                errors.push(
                    format!("{at}.guardrails[{j}]"),
                    format!("unknown guardrail `{g}`"),
                );
            }
        }
        limits(&format!("{at}.limits"), &k.limits, errors);
        budget(&format!("{at}.budget"), &k.budget, errors);
        out.push(KeySpec {
            name: k.name.clone(),
            digest: digest.unwrap_or_default(),
            team: k.team.clone(),
            models: k.models.clone(),
            metadata: k.metadata.clone(),
            limits: k.limits.clone(),
            budget: k.budget.clone(),
            guardrails: k.guardrails.clone(),
            cache_bypass: k.cache_bypass.unwrap_or(true),
        });
    }
    out
}

fn limits(at: &str, l: &LimitsConfig, errors: &mut ConfigErrors) {
    for (field, v) in [
        ("rpm", l.rpm),
        ("tpm", l.tpm),
        ("max_concurrent", l.max_concurrent),
    ] {
        if v == Some(0) {
            errors.push(
                format!("{at}.{field}"),
                "must be at least 1 (omit it for no limit)",
            );
        }
    }
}

fn budget(at: &str, b: &BudgetConfig, errors: &mut ConfigErrors) {
    money(&format!("{at}.daily_usd"), b.daily_usd, errors);
    money(&format!("{at}.monthly_usd"), b.monthly_usd, errors);
}

pub(crate) fn price(at: &str, p: &PriceConfig, errors: &mut ConfigErrors) {
    if p.model.trim().is_empty() {
        errors.push(format!("{at}.model"), "must not be empty");
    }
    let prices = [
        ("input_per_mtok", p.input_per_mtok),
        ("output_per_mtok", p.output_per_mtok),
        ("cached_input_per_mtok", p.cached_input_per_mtok),
        ("cache_write_per_mtok", p.cache_write_per_mtok),
    ];
    if prices.iter().all(|(_, v)| v.is_none()) {
        errors.push(at, "sets no price");
    }
    for (field, v) in prices {
        money(&format!("{at}.{field}"), v, errors);
    }
}

fn money(at: &str, v: Option<f64>, errors: &mut ConfigErrors) {
    if let Some(v) = v {
        if !v.is_finite() || v < 0.0 {
            errors.push(at, format!("must be a non-negative amount, got {v}"));
        }
    }
}

/// Checks one guardrail; `None` when it has an error (the config is rejected anyway).
fn guardrail(at: &str, g: &GuardrailConfig, errors: &mut ConfigErrors) -> Option<GuardrailSpec> {
    let before = errors.len();
    let action = GuardrailAction::parse(g.action.as_deref());
    if let Err(e) = &action {
        errors.push(format!("{at}.action"), e.clone());
    }
    let apply = parse_apply_to(g.apply_to.as_deref());
    if let Err(e) = &apply {
        errors.push(format!("{at}.apply_to"), e.clone());
    }
    let check = match g.kind.as_str() {
        "pii" => pii(at, g, errors),
        "deny_pattern" => deny_pattern(at, g, errors),
        "max_prompt_tokens" => max_prompt_tokens(at, g, &action, &apply, errors),
        other => {
            errors.push(
                format!("{at}.kind"),
                format!("unknown kind `{other}` (expected pii, deny_pattern or max_prompt_tokens)"),
            );
            None
        }
    };
    let ((input, output), action, check) = (apply.ok()?, action.ok()?, check?);
    (errors.len() == before).then(|| GuardrailSpec {
        name: g.name.clone(),
        check,
        action,
        input,
        output,
        global: g.global,
    })
}

/// Reports a field that the guardrail's kind does not use.
fn not_for(at: &str, g: &GuardrailConfig, field: &str, set: bool, errors: &mut ConfigErrors) {
    if set {
        errors.push(
            format!("{at}.{field}"),
            format!("does not apply to kind `{}`", g.kind),
        );
    }
}

fn pii(at: &str, g: &GuardrailConfig, errors: &mut ConfigErrors) -> Option<GuardrailCheck> {
    let mut detectors = Vec::new();
    for (j, d) in g.detectors.iter().enumerate() {
        match Detector::parse(d) {
            Some(d) => detectors.push(d),
            None => errors.push(
                format!("{at}.detectors[{j}]"),
                format!("unknown detector `{d}` (expected email, phone, credit_card, iban, us_ssn or secret)"),
            ),
        }
    }
    not_for(at, g, "patterns", !g.patterns.is_empty(), errors);
    not_for(at, g, "max_tokens", g.max_tokens.is_some(), errors);
    if detectors.is_empty() {
        detectors = Detector::ALL.to_vec();
    }
    Some(GuardrailCheck::Pii(detectors))
}

fn deny_pattern(
    at: &str,
    g: &GuardrailConfig,
    errors: &mut ConfigErrors,
) -> Option<GuardrailCheck> {
    if g.patterns.is_empty() {
        errors.push(format!("{at}.patterns"), "needs at least one pattern");
    }
    for (j, p) in g.patterns.iter().enumerate() {
        match Regex::new(p) {
            Err(e) => errors.push(format!("{at}.patterns[{j}]"), format!("invalid regex: {e}")),
            Ok(r) if r.is_match("") => {
                errors.push(format!("{at}.patterns[{j}]"), "matches the empty string")
            }
            Ok(_) => {}
        }
    }
    not_for(at, g, "detectors", !g.detectors.is_empty(), errors);
    not_for(at, g, "max_tokens", g.max_tokens.is_some(), errors);
    Some(GuardrailCheck::DenyPatterns(g.patterns.clone()))
}

fn max_prompt_tokens(
    at: &str,
    g: &GuardrailConfig,
    action: &Result<GuardrailAction, String>,
    apply: &Result<(bool, bool), String>,
    errors: &mut ConfigErrors,
) -> Option<GuardrailCheck> {
    let max = g.max_tokens.unwrap_or(0);
    if max == 0 {
        errors.push(format!("{at}.max_tokens"), "must be set and at least 1");
    }
    if *action == Ok(GuardrailAction::Redact) {
        errors.push(
            format!("{at}.action"),
            "a prompt cannot be redacted to a size: use block or log",
        );
    }
    if matches!(apply, Ok((_, true))) {
        errors.push(
            format!("{at}.apply_to"),
            "max_prompt_tokens applies to input only",
        );
    }
    not_for(at, g, "detectors", !g.detectors.is_empty(), errors);
    not_for(at, g, "patterns", !g.patterns.is_empty(), errors);
    Some(GuardrailCheck::MaxPromptTokens(max))
}

fn state(s: &StateConfig, errors: &mut ConfigErrors) -> StateSpec {
    let on_error = OnError::parse(s.on_error.as_deref()).unwrap_or_else(|e| {
        errors.push("state.on_error", e);
        OnError::FailOpen
    });
    let timeout_ms = s.timeout_ms.unwrap_or(DEFAULT_STATE_TIMEOUT_MS);
    if timeout_ms == 0 || timeout_ms > 60_000 {
        errors.push(
            "state.timeout_ms",
            format!("must be between 1 and 60000, got {timeout_ms}"),
        );
    }
    StateSpec {
        backend: backend(s, errors),
        on_error,
        timeout: Duration::from_millis(timeout_ms),
        key_prefix: s
            .key_prefix
            .clone()
            .unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_string()),
    }
}

/// Which kind of Redis `state.backend` asks for, if any.
#[derive(PartialEq)]
enum RedisKind {
    None,
    Single,
    Cluster,
}

fn backend(s: &StateConfig, errors: &mut ConfigErrors) -> StateBackend {
    let kind = match s.backend.as_deref() {
        None | Some("memory") => RedisKind::None,
        Some("redis") => RedisKind::Single,
        Some("redis_cluster") => RedisKind::Cluster,
        Some(other) => {
            errors.push(
                "state.backend",
                format!(
                    "unknown state backend `{other}` (expected memory, redis or redis_cluster)"
                ),
            );
            RedisKind::None
        }
    };
    let urls: Vec<&str> = match (&s.redis_url, &kind) {
        (Some(u), RedisKind::Cluster) => u.split(',').map(str::trim).collect(),
        (Some(u), _) => vec![u.as_str()],
        (None, _) => Vec::new(),
    };
    if urls.is_empty() && kind != RedisKind::None {
        errors.push("state.redis_url", "required with a redis backend");
    }
    // The URL is not echoed: it may carry a password.
    if !urls.iter().all(|u| valid_redis_url(u)) {
        errors.push(
            "state.redis_url",
            "not a valid Redis URL (expected redis[s]://[user:password@]host:port[/db] or redis+unix:///path; \
             for redis_cluster one or more, comma-separated)",
        );
    }
    let ca_pem = tls_ca(s, &urls, errors);
    let secrets = || urls.iter().map(|u| Secret::new(*u)).collect::<Vec<_>>();
    match kind {
        RedisKind::Single if !urls.is_empty() => StateBackend::Redis {
            url: secrets().remove(0),
            ca_pem,
        },
        RedisKind::Cluster => StateBackend::RedisCluster {
            seeds: secrets(),
            ca_pem,
        },
        _ => StateBackend::Memory,
    }
}

/// `state.tls_ca_file`: read now, so `tollgate -t` reports a missing or empty file.
fn tls_ca(s: &StateConfig, urls: &[&str], errors: &mut ConfigErrors) -> Option<Vec<u8>> {
    let path = s.tls_ca_file.as_deref()?;
    if urls.is_empty() || !urls.iter().all(|u| u.starts_with("rediss://")) {
        errors.push("state.tls_ca_file", "only applies to a rediss:// redis_url");
        return None;
    }
    match std::fs::read(path) {
        Ok(pem) if pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => Some(pem),
        Ok(_) => {
            errors.push(
                "state.tls_ca_file",
                format!("{path} holds no PEM certificate"),
            );
            None
        }
        Err(e) => {
            errors.push("state.tls_ca_file", format!("cannot read {path}: {e}"));
            None
        }
    }
}

/// One guardrail section checked and typed on its own, as [`build`] does (tests of the
/// policy layer build their guardrails this way).
#[cfg(test)]
pub(crate) fn guardrail_spec(g: &GuardrailConfig) -> Result<GuardrailSpec, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    match guardrail("guardrails[0]", g, &mut errors) {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => Err(errors),
    }
}

fn valid_redis_url(u: &str) -> bool {
    u.starts_with("redis") && redis::Client::open(u).is_ok()
}

#[cfg(test)]
#[path = "governance_tests.rs"]
mod tests;

/// `unpriced:`: the action, and both prices exactly when the action is `default_price`.
fn unpriced(c: &UnpricedConfig, errors: &mut ConfigErrors) -> UnpricedPolicy {
    let prices = [
        ("input_per_mtok", c.input_per_mtok),
        ("output_per_mtok", c.output_per_mtok),
    ];
    let policy = match c.action.as_deref().unwrap_or("warn") {
        "warn" => UnpricedPolicy::Warn,
        "block" => UnpricedPolicy::Block,
        "default_price" => {
            for (name, value) in prices {
                match value {
                    None => errors.push(
                        format!("unpriced.{name}"),
                        "required when unpriced.action is default_price",
                    ),
                    Some(v) if !v.is_finite() || v < 0.0 => errors.push(
                        format!("unpriced.{name}"),
                        "must be a finite number >= 0 (USD per million tokens)",
                    ),
                    Some(_) => {}
                }
            }
            return UnpricedPolicy::DefaultPrice {
                input: c.input_per_mtok.unwrap_or(0.0),
                output: c.output_per_mtok.unwrap_or(0.0),
            };
        }
        other => {
            errors.push(
                "unpriced.action",
                format!("unknown action `{other}`; expected warn, block or default_price"),
            );
            UnpricedPolicy::Warn
        }
    };
    for (name, value) in prices {
        if value.is_some() {
            errors.push(
                format!("unpriced.{name}"),
                "only used with unpriced.action: default_price",
            );
        }
    }
    policy
}
