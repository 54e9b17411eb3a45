//! Validation of the governance sections (`auth`, `keys`, `teams`, `pricing`,
//! `guardrails`, `state`): every problem is reported with its key path, nothing stops
//! at the first error, and no message repeats a secret (a `hash` that is not a hash
//! may be a pasted plaintext key; a Redis URL may hold a password).

use std::collections::HashMap;

use regex::Regex;

use super::detectors::Detector;
use super::guardrails::{parse_apply_to, Action};
use super::keys::parse_hash;
use crate::config::file::FileConfig;
use crate::config::governance::{
    Backend, BudgetConfig, GuardrailConfig, LimitsConfig, StateConfig,
};

type Push<'a> = &'a mut dyn FnMut(String, String);

/// Expands `${VAR}` references from the environment (for `state.redis_url`).
pub fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unterminated `${` reference")?;
        let var = &after[..end];
        let value =
            std::env::var(var).map_err(|_| format!("environment variable `{var}` is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Validates every governance section of `file`.
pub fn validate(file: &FileConfig, push: Push<'_>) {
    // `keys` mode without keys is valid (every request gets a 401, which is safe);
    // the policy logs a warning when it is built that way.
    if let Err(e) = file.auth.parse_mode() {
        push("auth.mode".into(), e);
    }
    let teams = names("teams", file.teams.iter().map(|t| t.name.as_str()), push);
    for (i, t) in file.teams.iter().enumerate() {
        limits(&format!("teams[{i}].limits"), &t.limits, push);
        budget(&format!("teams[{i}].budget"), &t.budget, push);
    }
    let guardrails = names(
        "guardrails",
        file.guardrails.iter().map(|g| g.name.as_str()),
        push,
    );
    keys(file, &teams, &guardrails, push);
    for (i, p) in file.pricing.iter().enumerate() {
        let at = format!("pricing[{i}]");
        if p.model.trim().is_empty() {
            push(format!("{at}.model"), "must not be empty".into());
        }
        let prices = [
            ("input_per_mtok", p.input_per_mtok),
            ("output_per_mtok", p.output_per_mtok),
            ("cached_input_per_mtok", p.cached_input_per_mtok),
            ("cache_write_per_mtok", p.cache_write_per_mtok),
        ];
        if prices.iter().all(|(_, v)| v.is_none()) {
            push(at.clone(), "sets no price".into());
        }
        for (field, v) in prices {
            money(&format!("{at}.{field}"), v, push);
        }
    }
    for (i, g) in file.guardrails.iter().enumerate() {
        guardrail(&format!("guardrails[{i}]"), g, push);
    }
    state(&file.state, push);
}

/// Checks names (non-empty, no whitespace or control characters, unique); returns them.
fn names<'a>(
    section: &str,
    all: impl Iterator<Item = &'a str>,
    push: Push<'_>,
) -> HashMap<&'a str, usize> {
    let mut seen = HashMap::new();
    for (i, name) in all.enumerate() {
        let at = format!("{section}[{i}].name");
        if name.is_empty()
            || name.len() > 128
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            push(
                at,
                "must be 1-128 characters without spaces or control characters".into(),
            );
        } else if let Some(first) = seen.insert(name, i) {
            push(
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
    push: Push<'_>,
) {
    names("keys", file.keys.iter().map(|k| k.name.as_str()), push);
    let mut hashes: HashMap<[u8; 32], usize> = HashMap::new();
    for (i, k) in file.keys.iter().enumerate() {
        let at = format!("keys[{i}]");
        match parse_hash(&k.hash) {
            // The value is never echoed: it may be a plaintext key pasted by mistake.
            None => push(
                format!("{at}.hash"),
                "must be `sha256:<64 hex digits>` (the hash of the key, never the key itself)"
                    .into(),
            ),
            Some(h) => {
                if let Some(first) = hashes.insert(h, i) {
                    push(
                        format!("{at}.hash"),
                        format!("same key hash as keys[{first}]"),
                    );
                }
            }
        }
        if let Some(team) = &k.team {
            if !teams.contains_key(team.as_str()) {
                push(format!("{at}.team"), format!("unknown team `{team}`"));
            }
        }
        for (j, m) in k.models.iter().enumerate() {
            if m.trim().is_empty() {
                push(format!("{at}.models[{j}]"), "must not be empty".into());
            }
        }
        for (j, g) in k.guardrails.iter().enumerate() {
            if !guardrails.contains_key(g.as_str()) {
                push(
                    format!("{at}.guardrails[{j}]"),
                    format!("unknown guardrail `{g}`"),
                );
            }
        }
        limits(&format!("{at}.limits"), &k.limits, push);
        budget(&format!("{at}.budget"), &k.budget, push);
    }
}

fn limits(at: &str, l: &LimitsConfig, push: Push<'_>) {
    for (field, v) in [
        ("rpm", l.rpm),
        ("tpm", l.tpm),
        ("max_concurrent", l.max_concurrent),
    ] {
        if v == Some(0) {
            push(
                format!("{at}.{field}"),
                "must be at least 1 (omit it for no limit)".into(),
            );
        }
    }
}

fn budget(at: &str, b: &BudgetConfig, push: Push<'_>) {
    money(&format!("{at}.daily_usd"), b.daily_usd, push);
    money(&format!("{at}.monthly_usd"), b.monthly_usd, push);
}

fn money(at: &str, v: Option<f64>, push: Push<'_>) {
    if let Some(v) = v {
        if !v.is_finite() || v < 0.0 {
            push(
                at.to_string(),
                format!("must be a non-negative amount, got {v}"),
            );
        }
    }
}

fn guardrail(at: &str, g: &GuardrailConfig, push: Push<'_>) {
    let action = Action::parse(g.action.as_deref());
    if let Err(e) = &action {
        push(format!("{at}.action"), e.clone());
    }
    let apply = parse_apply_to(g.apply_to.as_deref());
    if let Err(e) = &apply {
        push(format!("{at}.apply_to"), e.clone());
    }
    let not_for = |field: &str, set: bool, push: Push<'_>| {
        if set {
            push(
                format!("{at}.{field}"),
                format!("does not apply to kind `{}`", g.kind),
            );
        }
    };
    match g.kind.as_str() {
        "pii" => {
            for (j, d) in g.detectors.iter().enumerate() {
                if Detector::parse(d).is_none() {
                    push(
                        format!("{at}.detectors[{j}]"),
                        format!("unknown detector `{d}` (expected email, phone, credit_card, iban, us_ssn or secret)"),
                    );
                }
            }
            not_for("patterns", !g.patterns.is_empty(), push);
            not_for("max_tokens", g.max_tokens.is_some(), push);
        }
        "deny_pattern" => {
            if g.patterns.is_empty() {
                push(
                    format!("{at}.patterns"),
                    "needs at least one pattern".into(),
                );
            }
            for (j, p) in g.patterns.iter().enumerate() {
                match Regex::new(p) {
                    Err(e) => push(format!("{at}.patterns[{j}]"), format!("invalid regex: {e}")),
                    Ok(r) if r.is_match("") => push(
                        format!("{at}.patterns[{j}]"),
                        "matches the empty string".into(),
                    ),
                    Ok(_) => {}
                }
            }
            not_for("detectors", !g.detectors.is_empty(), push);
            not_for("max_tokens", g.max_tokens.is_some(), push);
        }
        "max_prompt_tokens" => {
            if g.max_tokens.unwrap_or(0) == 0 {
                push(
                    format!("{at}.max_tokens"),
                    "must be set and at least 1".into(),
                );
            }
            if action == Ok(Action::Redact) {
                push(
                    format!("{at}.action"),
                    "a prompt cannot be redacted to a size: use block or log".into(),
                );
            }
            if matches!(apply, Ok((_, true))) {
                push(
                    format!("{at}.apply_to"),
                    "max_prompt_tokens applies to input only".into(),
                );
            }
            not_for("detectors", !g.detectors.is_empty(), push);
            not_for("patterns", !g.patterns.is_empty(), push);
        }
        other => push(
            format!("{at}.kind"),
            format!("unknown kind `{other}` (expected pii, deny_pattern or max_prompt_tokens)"),
        ),
    }
}

fn state(s: &StateConfig, push: Push<'_>) {
    let backend = s.parse_backend();
    if let Err(e) = &backend {
        push("state.backend".into(), e.clone());
    }
    if let Err(e) = s.parse_on_error() {
        push("state.on_error".into(), e);
    }
    if let Some(t) = s.timeout_ms {
        if t == 0 || t > 60_000 {
            push(
                "state.timeout_ms".into(),
                format!("must be between 1 and 60000, got {t}"),
            );
        }
    }
    match (&backend, &s.redis_url) {
        (Ok(Backend::Redis), None) => push("state.redis_url".into(), "required with backend redis".into()),
        (_, Some(url)) => match expand_env(url) {
            Err(e) => push("state.redis_url".into(), e),
            // The URL is not echoed: it may carry a password.
            Ok(u) if redis::Client::open(u.as_str()).is_err() || !u.starts_with("redis") => push(
                "state.redis_url".into(),
                "not a valid Redis URL (expected redis://[user:password@]host:port[/db] or redis+unix:///path)"
                    .into(),
            ),
            Ok(_) => {}
        },
        _ => {}
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
