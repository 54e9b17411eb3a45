//! Semantic rule matching: a router's `semantic` (the embeddings model and the time
//! an embedding may take) and a rule's `when.semantic` (example utterances and the
//! cosine similarity the last user message must reach with one of them).
//!
//! ```yaml
//! routers:
//!   - name: auto
//!     semantic: { embeddings: text-embedding-3-small, timeout_ms: 300 }
//!     rules:
//!       - name: billing
//!         route: billing-bot
//!         when: { semantic: { examples: ["Why was I charged twice?"], threshold: 0.8 } }
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::errors::{index_path, key_path};
use super::parse::Parsed;
use super::validate::Ctx;

const DEFAULT_TIMEOUT_MS: u64 = 300;
const MAX_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_THRESHOLD: f32 = 0.8;
/// Examples per rule, and characters per example: each is embedded once per
/// configuration, and compared with every request that reaches the rule.
const MAX_EXAMPLES: usize = 64;
const MAX_EXAMPLE_CHARS: usize = 2000;

/// `routers[i].semantic` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSemanticSection {
    /// The embeddings model (`models[].name`) the texts are embedded with.
    pub embeddings: String,
    pub timeout_ms: Option<u64>,
}

/// `routers[i].rules[k].when.semantic` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticMatchSection {
    pub examples: Vec<String>,
    pub threshold: Option<f32>,
}

/// A router's embeddings settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterSemantic {
    pub embeddings: String,
    /// For each embedding call (the question, or the examples on first use).
    pub timeout: Duration,
}

/// A rule's semantic condition.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticMatch {
    pub examples: Vec<String>,
    pub threshold: f32,
}

pub(crate) fn router(
    s: Option<&RouterSemanticSection>,
    path: &str,
    parsed: &Parsed,
    cx: &mut Ctx,
) -> Option<RouterSemantic> {
    let s = s?;
    let spath = key_path(path, "semantic");
    if !parsed.model_names.contains(&s.embeddings) {
        let at = key_path(&spath, "embeddings");
        let shown = cx.show(&at, &s.embeddings);
        cx.err(at, format!("{shown} is not a model (models[].name)"));
    }
    let ms = s.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
        cx.err(
            key_path(&spath, "timeout_ms"),
            format!("{ms} is out of range: 1 to {MAX_TIMEOUT_MS}"),
        );
    }
    Some(RouterSemantic {
        embeddings: s.embeddings.clone(),
        timeout: Duration::from_millis(ms),
    })
}

/// A rule's condition; `has_router` says whether its router names an embeddings
/// model (required).
pub(crate) fn matcher(
    s: Option<&SemanticMatchSection>,
    path: &str,
    has_router: bool,
    cx: &mut Ctx,
) -> Option<SemanticMatch> {
    let s = s?;
    let spath = key_path(path, "semantic");
    if !has_router {
        cx.err(
            &*spath,
            "needs the router's semantic.embeddings (the model to embed with)",
        );
    }
    if s.examples.is_empty() || s.examples.len() > MAX_EXAMPLES {
        cx.err(
            key_path(&spath, "examples"),
            format!("give 1 to {MAX_EXAMPLES} examples"),
        );
    }
    for (k, e) in s.examples.iter().enumerate() {
        if e.trim().is_empty() || e.chars().count() > MAX_EXAMPLE_CHARS {
            cx.err(
                index_path(&key_path(&spath, "examples"), k),
                format!("an example is 1 to {MAX_EXAMPLE_CHARS} characters of text"),
            );
        }
    }
    let threshold = s.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(threshold > 0.0 && threshold <= 1.0) {
        cx.err(
            key_path(&spath, "threshold"),
            format!("{threshold} is out of range: above 0 and at most 1"),
        );
    }
    Some(SemanticMatch {
        examples: s.examples.clone(),
        threshold,
    })
}
