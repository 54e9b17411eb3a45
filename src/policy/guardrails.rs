//! Guardrails: named content checks on request text (input) and answer text (output).
//!
//! Kinds: `pii` (built-in [`Detector`]s), `deny_pattern` (operator regexes) and
//! `max_prompt_tokens` (an estimate of the prompt's size, ~4 bytes per token, input
//! only). Actions: `block` (the request fails with `GuardrailBlocked`, naming the
//! guardrail and detector, never the matched text), `redact` (each match becomes
//! `[REDACTED:<kind>]`) and `log` (a warning with the key name, guardrail and detector,
//! again without the text). When several guardrails match, block wins over redact.
//!
//! A key gets the guardrails it lists plus every `global: true` one. Input bodies are
//! scanned through [`crate::json::texts`] so only string values are looked at and an unchanged
//! body stays byte-identical; outputs are scanned as a whole text or as a stream by
//! [`super::scanner::OutputScanner`].

use std::collections::HashMap;
use std::sync::Arc;

use regex::{Regex, RegexSet};

use super::detectors::{self, Detector, Hit};
use super::keys::KeyInfo;
use super::metrics;
use crate::config::{GuardrailCheck, GuardrailSpec};
use crate::error::{ErrorKind, GatewayError};
use crate::json::texts::{self as json_text, Malformed};

/// What to do with a match (parsed by the config).
pub use crate::config::GuardrailAction as Action;

/// Which side of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    /// The metric-label spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// What a guardrail looks for.
#[derive(Debug)]
pub enum Check {
    Pii(Vec<Detector>),
    Deny { set: RegexSet, each: Vec<Regex> },
    MaxTokens(u64),
}

/// One configured guardrail.
#[derive(Debug)]
pub struct Guardrail {
    pub name: String,
    pub check: Check,
    pub action: Action,
    pub input: bool,
    pub output: bool,
    pub global: bool,
}

/// Rough prompt tokens of a text: ~4 bytes per token for English and code.
pub fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

/// Prompt-token estimate of a JSON request body from its text values only, so base64
/// images, ids and JSON syntax do not inflate a tokens-per-minute admission. A body
/// that is not JSON falls back to [`estimate_tokens`] of its length.
pub fn estimate_body_tokens(body: &[u8]) -> u64 {
    let Ok(text) = std::str::from_utf8(body) else {
        return estimate_tokens(body.len());
    };
    match json_text::text_bytes(text) {
        Ok(bytes) => estimate_tokens(bytes),
        Err(_) => estimate_tokens(body.len()),
    }
}

impl Guardrail {
    /// Compiles one guardrail (its patterns were checked by the config, so an error
    /// here is a regex size limit at most).
    pub fn from_config(c: &GuardrailSpec) -> Result<Guardrail, String> {
        let check = match &c.check {
            GuardrailCheck::Pii(ds) => Check::Pii(ds.clone()),
            GuardrailCheck::DenyPatterns(patterns) => Check::Deny {
                set: RegexSet::new(patterns).map_err(|e| e.to_string())?,
                each: patterns
                    .iter()
                    .map(|p| Regex::new(p))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?,
            },
            GuardrailCheck::MaxPromptTokens(max) => Check::MaxTokens(*max),
        };
        Ok(Guardrail {
            name: c.name.clone(),
            check,
            action: c.action,
            input: c.input,
            output: c.output,
            global: c.global,
        })
    }

    /// Appends this guardrail's matches in `text`.
    pub fn find(&self, text: &str, out: &mut Vec<Hit>) {
        match &self.check {
            Check::Pii(ds) => detectors::find(ds, text, out),
            Check::Deny { set, each } => {
                for i in set.matches(text).iter() {
                    out.extend(each[i].find_iter(text).map(|m| Hit {
                        start: m.start(),
                        end: m.end(),
                        kind: "deny_pattern",
                    }));
                }
            }
            Check::MaxTokens(_) => {}
        }
    }

    /// The error of a blocking match.
    pub fn blocked(&self, kind: &str, dir: Direction) -> GatewayError {
        let what = match dir {
            Direction::Input => "request",
            Direction::Output => "response",
        };
        GatewayError::new(
            ErrorKind::GuardrailBlocked,
            format!(
                "{what} blocked by guardrail `{}`: {kind} detected",
                self.name
            ),
        )
    }

    /// Counts `count` hits of `kind` and logs them when the action is `log`.
    pub(crate) fn record(&self, kind: &str, dir: Direction, count: usize, key: &str) {
        metrics::inc(
            &metrics::GUARDRAIL_HITS,
            &[&self.name, kind, self.action.as_str(), dir.as_str()],
            count as u64,
        );
        if self.action == Action::Log {
            log::warn!(
                "guardrail `{}` matched {kind} {count} time(s) in the {} of key `{key}`",
                self.name,
                dir.as_str()
            );
        }
    }
}

/// Replaces each hit by `[REDACTED:<kind>]`; overlapping hits merge into the first.
pub fn redact(text: &str, hits: &mut [Hit]) -> String {
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for h in hits.iter() {
        if h.start < pos {
            // Overlaps a replaced hit: extend over its tail, if any.
            pos = pos.max(h.end);
            continue;
        }
        out.push_str(&text[pos..h.start]);
        out.push_str("[REDACTED:");
        out.push_str(h.kind);
        out.push(']');
        pos = h.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Scans `text` with `guards`: Err on a blocking match, Some(redacted) when a redaction
/// applied, None when the text may pass as it is. Counts and logs hits.
pub fn scan_text(
    guards: &[Arc<Guardrail>],
    text: &str,
    dir: Direction,
    key: &str,
) -> Result<Option<String>, GatewayError> {
    let mut redactions = Vec::new();
    let mut hits = Vec::new();
    for g in guards {
        hits.clear();
        g.find(text, &mut hits);
        let Some(first) = hits.first() else { continue };
        g.record(first.kind, dir, hits.len(), key);
        match g.action {
            Action::Block => return Err(g.blocked(first.kind, dir)),
            Action::Redact => redactions.extend_from_slice(&hits),
            Action::Log => {}
        }
    }
    Ok((!redactions.is_empty()).then(|| redact(text, &mut redactions)))
}

/// All configured guardrails, by name, and the sets that apply to each key.
#[derive(Debug, Default)]
pub struct Guardrails {
    by_name: HashMap<String, Arc<Guardrail>>,
    global: Vec<Arc<Guardrail>>,
}

/// The guardrails of one key, split by direction.
#[derive(Debug, Default, Clone)]
pub struct GuardSet {
    pub input: Vec<Arc<Guardrail>>,
    pub output: Vec<Arc<Guardrail>>,
}

impl Guardrails {
    /// Builds every configured guardrail; errors name the entry.
    pub fn from_config(cfgs: &[GuardrailSpec]) -> Result<Guardrails, String> {
        let mut g = Guardrails::default();
        for (i, c) in cfgs.iter().enumerate() {
            let built =
                Arc::new(Guardrail::from_config(c).map_err(|e| format!("guardrails[{i}]: {e}"))?);
            if built.global {
                g.global.push(built.clone());
            }
            g.by_name.insert(c.name.clone(), built);
        }
        Ok(g)
    }

    /// Key's own guardrails (in its order) then the global ones, each once.
    pub fn for_key(&self, key: &KeyInfo) -> GuardSet {
        let mut all: Vec<Arc<Guardrail>> = key
            .guardrails
            .iter()
            .filter_map(|n| self.by_name.get(n).cloned())
            .collect();
        for g in &self.global {
            if !all.iter().any(|a| Arc::ptr_eq(a, g)) {
                all.push(g.clone());
            }
        }
        GuardSet {
            input: all.iter().filter(|g| g.input).cloned().collect(),
            output: all.iter().filter(|g| g.output).cloned().collect(),
        }
    }
}

/// A body that cannot be scanned: a client error for requests, an upstream one for responses.
fn malformed(dir: Direction, what: &str) -> GatewayError {
    match dir {
        Direction::Input => GatewayError::invalid(format!("request body is not {what}")),
        Direction::Output => GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream response body is not {what}"),
        ),
    }
}

/// Checks a JSON body: every text value through `guards`, then the prompt-size limits.
/// `Some(body)` when a redaction rewrote it.
pub fn check_body(
    guards: &[Arc<Guardrail>],
    body: &[u8],
    dir: Direction,
    key: &str,
) -> Result<Option<Vec<u8>>, GatewayError> {
    if guards.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed(dir, "valid UTF-8"))?;
    let (scanning, sizing): (Vec<_>, Vec<_>) = guards
        .iter()
        .cloned()
        .partition(|g| !matches!(g.check, Check::MaxTokens(_)));
    let mut text_bytes = 0usize;
    let rewritten = json_text::rewrite_texts(text, |t| {
        text_bytes += t.len();
        if scanning.is_empty() {
            return Ok(None);
        }
        scan_text(&scanning, t, dir, key)
    })
    .map_err(|e| match e {
        Ok(blocked) => blocked,
        Err(Malformed) => malformed(dir, "valid JSON"),
    })?;
    let tokens = estimate_tokens(text_bytes);
    for g in &sizing {
        if let Check::MaxTokens(max) = g.check {
            if tokens > max {
                g.record("max_prompt_tokens", dir, 1, key);
                if g.action == Action::Block {
                    return Err(GatewayError::new(
                        ErrorKind::GuardrailBlocked,
                        format!(
                            "request blocked by guardrail `{}`: prompt is about {tokens} tokens, more than {max}",
                            g.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(rewritten.map(String::into_bytes))
}

#[cfg(test)]
#[path = "guardrails_tests.rs"]
mod tests;
