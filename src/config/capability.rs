//! What a target's model can do: context window, output limit, tools, vision, JSON
//! mode, reasoning. Three layers, most specific first: a target's own
//! `capabilities:`, the top-level `capabilities:` list (by model name or glob, in
//! order), then the built-in table ([`super::capability_table`]). Each layer fills
//! only the fields it sets; a model none of them knows has no entry and is taken to
//! be capable of everything (tollgate cannot know better than the operator).
//!
//! Resolved once per config load for configured targets, so the request path only
//! reads `Target::caps`; direct `provider/model` calls resolve on use.

use once_cell::sync::Lazy;
use serde::Deserialize;

use super::capability_table::BUILTIN;
use super::errors::{index_path, key_path};
use super::validate::Ctx;
use crate::policy::glob::Glob;
use crate::policy::pricing::normalize;

/// What a model can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Prompt tokens the model accepts.
    pub context_window: u64,
    /// Largest output (`max_tokens`) it accepts.
    pub max_output: u64,
    pub tools: bool,
    pub vision: bool,
    /// `response_format` JSON object / schema (or an equivalent).
    pub json: bool,
    /// Reasoning settings (`reasoning_effort`, `thinking`).
    pub reasoning: bool,
}

/// The fields an operator sets; the rest come from the next layer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapsSection {
    pub context_window: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub tools: Option<bool>,
    pub vision: Option<bool>,
    pub json_mode: Option<bool>,
    pub reasoning: Option<bool>,
}

/// `capabilities: [...]` — one entry per model name or glob.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapabilityEntry {
    /// Upstream model name or glob (`my-finetune-*`), matched as written and normalized.
    pub model: String,
    #[serde(flatten)]
    pub caps: CapsSection,
}

/// A validated top-level entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CapabilityOverride {
    glob: Glob,
    caps: CapsSection,
}

/// The built-in table, compiled once.
static COMPILED: Lazy<Vec<(Glob, Caps)>> =
    Lazy::new(|| BUILTIN.iter().map(|(g, c)| (Glob::new(g), *c)).collect());

/// Largest window accepted in config (well above any model's).
const MAX_TOKENS: u64 = 100_000_000;

/// Checks the top-level list; each bad field is reported with its key path.
pub(crate) fn build_all(entries: &[CapabilityEntry], cx: &mut Ctx) -> Vec<CapabilityOverride> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let path = index_path("capabilities", i);
        if e.model.trim().is_empty() {
            cx.err(key_path(&path, "model"), "is empty");
            continue;
        }
        if check(&e.caps, &path, cx) {
            out.push(CapabilityOverride {
                glob: Glob::new(&e.model),
                caps: e.caps.clone(),
            });
        }
    }
    out
}

/// Checks one set of fields (a list entry or a target's own); true when valid.
pub(crate) fn check(c: &CapsSection, path: &str, cx: &mut Ctx) -> bool {
    let before = cx.count();
    for (key, v) in [
        ("context_window", c.context_window),
        ("max_output_tokens", c.max_output_tokens),
    ] {
        if let Some(v) = v {
            if !(1..=MAX_TOKENS).contains(&v) {
                cx.err(
                    key_path(path, key),
                    format!("{v} is out of range: 1 to {MAX_TOKENS}"),
                );
            }
        }
    }
    cx.count() == before
}

/// A configured target's capabilities, its own fields checked at `path`.
pub(crate) fn for_target(
    model: &str,
    own: Option<&CapsSection>,
    path: &str,
    overrides: &[CapabilityOverride],
    cx: &mut Ctx,
) -> Option<Caps> {
    let own = own.filter(|c| check(c, path, cx));
    resolve(model, own, overrides)
}

/// The capabilities of `model`: the target's own fields, then the first matching
/// override, then the first matching built-in entry. `None` when no layer knows the
/// model and the target sets no window (unknown models are assumed capable).
pub fn resolve(
    model: &str,
    own: Option<&CapsSection>,
    overrides: &[CapabilityOverride],
) -> Option<Caps> {
    let normalized = normalize(model);
    let builtin = COMPILED
        .iter()
        .find(|(g, _)| g.matches(&normalized))
        .map(|(_, c)| *c);
    let over = overrides
        .iter()
        .find(|o| o.glob.matches(model) || o.glob.matches(&normalized))
        .map(|o| &o.caps);
    if builtin.is_none() && over.is_none() && own.is_none() {
        return None;
    }
    let base = builtin.unwrap_or(Caps::ANY);
    let layered = over.map_or(base, |o| o.apply(base));
    Some(own.map_or(layered, |o| o.apply(layered)))
}

impl Caps {
    /// No limit, every feature: what an unknown model is taken to be.
    pub const ANY: Caps = Caps {
        context_window: u64::MAX,
        max_output: u64::MAX,
        tools: true,
        vision: true,
        json: true,
        reasoning: true,
    };
}

impl CapsSection {
    fn apply(&self, base: Caps) -> Caps {
        Caps {
            context_window: self.context_window.unwrap_or(base.context_window),
            max_output: self.max_output_tokens.unwrap_or(base.max_output),
            tools: self.tools.unwrap_or(base.tools),
            vision: self.vision.unwrap_or(base.vision),
            json: self.json_mode.unwrap_or(base.json),
            reasoning: self.reasoning.unwrap_or(base.reasoning),
        }
    }
}

#[cfg(test)]
#[path = "capability_tests.rs"]
mod tests;
