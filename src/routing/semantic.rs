//! Semantic rule matching: a rule's `when.semantic` holds when the last user message's
//! embedding is within the rule's cosine `threshold` of one of its example
//! utterances. Embeddings come from the router's embeddings model through the
//! semantic cache's call (`cache::semantic::embed`), each under the router's
//! `semantic.timeout_ms`.
//!
//! Rules stay a pure function of what is known ([`Embedded`]): when a rule's other
//! conditions hold and its semantic one needs an embedding not yet made,
//! `rules::decide` says so ([`Need`]), [`decide`] makes it and asks again. So a request
//! decided by an earlier rule is never embedded, and the question is embedded at most
//! once. The examples' vectors are made on first use and kept for the configuration's
//! life (`Runtime::semantic_examples`). Any failure — timeout, error, an embeddings
//! model that answers nothing — means the condition does not hold: the request goes on
//! to the next rule, counted in `tollgate_route_semantic_failures_total{router,stage}`
//! and logged at most once per 10 s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{Router, SemanticMatch};
use crate::runtime::Runtime;

use super::rules::{self, Decision, Inputs};

/// Characters of the question embedded at most (a long prompt's start says enough).
const MAX_QUERY_CHARS: usize = 8000;

/// The vectors of one rule's examples, in order.
type Vectors = Arc<Vec<Vec<f32>>>;

/// What has been embedded for one request.
#[derive(Debug, Default)]
pub struct Embedded {
    query: Query,
    /// Per rule index: the examples' vectors, or `None` when they could not be made.
    examples: HashMap<usize, Option<Vectors>>,
}

#[derive(Debug, Default)]
enum Query {
    #[default]
    NotYet,
    Failed,
    Vector(Vec<f32>),
}

/// Rule `rule` needs an embedding that is not made yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub rule: usize,
}

/// The best example of a matching rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub similarity: f32,
    pub example: usize,
}

/// Whether rule `rule`'s semantic condition holds, as far as `known` tells.
pub fn check(m: &SemanticMatch, rule: usize, known: &Embedded) -> Result<Option<Hit>, Need> {
    let query = match &known.query {
        Query::NotYet => return Err(Need { rule }),
        Query::Failed => return Ok(None),
        Query::Vector(v) => v,
    };
    let Some(examples) = known.examples.get(&rule) else {
        return Err(Need { rule });
    };
    let Some(examples) = examples else {
        return Ok(None);
    };
    let best = examples
        .iter()
        .enumerate()
        .map(|(i, e)| Hit {
            similarity: cosine(query, e),
            example: i,
        })
        .max_by(|a, b| a.similarity.total_cmp(&b.similarity));
    Ok(best.filter(|h| h.similarity >= m.threshold))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// The router's decision, making the embeddings its semantic rules need on the way.
pub async fn decide(runtime: &Runtime, router: &Router, inputs: &Inputs<'_>) -> Option<Decision> {
    let mut known = Embedded::default();
    // Each round makes one missing embedding set: the question, or one rule's examples.
    for _ in 0..=router.rules.len() + 1 {
        match rules::decide(router, inputs, &known) {
            Ok(decision) => return decision,
            Err(Need { rule }) => {
                fill(runtime, router, rule, &inputs.body.last_user, &mut known).await
            }
        }
    }
    None
}

async fn fill(
    runtime: &Runtime,
    router: &Router,
    rule: usize,
    question: &str,
    known: &mut Embedded,
) {
    if router.semantic.is_none() {
        known.query = Query::Failed;
        return;
    }
    if matches!(known.query, Query::NotYet) {
        let text: String = question.chars().take(MAX_QUERY_CHARS).collect();
        known.query = match embed(runtime, router, &text, "query").await {
            Some(v) => Query::Vector(v),
            None => Query::Failed,
        };
        return;
    }
    let key = (router.name.clone(), rule);
    if let Some(cached) = runtime.semantic_examples.get(&key) {
        known.examples.insert(rule, Some(cached));
        return;
    }
    let Some(m) = router
        .rules
        .get(rule)
        .and_then(|r| r.when.semantic.as_ref())
    else {
        known.examples.insert(rule, None);
        return;
    };
    let mut vectors = Vec::with_capacity(m.examples.len());
    for example in &m.examples {
        match embed(runtime, router, example, "examples").await {
            Some(v) => vectors.push(v),
            None => {
                known.examples.insert(rule, None);
                return;
            }
        }
    }
    let vectors = Arc::new(vectors);
    runtime.semantic_examples.put(key, vectors.clone());
    known.examples.insert(rule, Some(vectors));
}

async fn embed(runtime: &Runtime, router: &Router, text: &str, stage: &str) -> Option<Vec<f32>> {
    let settings = router.semantic.as_ref()?;
    match crate::cache::semantic::embed::embed(
        runtime,
        &settings.embeddings,
        text,
        settings.timeout,
    )
    .await
    {
        Ok(v) => Some(v),
        Err(why) => {
            crate::metrics::ROUTE_SEMANTIC_FAILURES
                .with_label_values(&[&router.name, stage])
                .inc();
            warn_rarely(&router.name, &why);
            None
        }
    }
}

/// One warning per 10 s at most: an embeddings outage must not become a log line per
/// request (the metric counts each).
fn warn_rarely(router: &str, why: &str) {
    static GATE: crate::log_gate::LogGate = crate::log_gate::LogGate::every_secs(10);
    if GATE.open() {
        log::warn!("router {router}: semantic rules skipped, embedding failed: {why}");
    }
}

/// The examples' vectors per (router, rule), made once per configuration.
#[derive(Debug, Default)]
pub struct ExampleVectors {
    map: Mutex<HashMap<(String, usize), Vectors>>,
}

impl ExampleVectors {
    fn get(&self, key: &(String, usize)) -> Option<Vectors> {
        self.map.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (String, usize), vectors: Vectors) {
        if let Ok(mut map) = self.map.lock() {
            map.insert(key, vectors);
        }
    }
}

#[cfg(test)]
#[path = "semantic_tests.rs"]
mod tests;
