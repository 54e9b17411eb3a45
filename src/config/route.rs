//! Model routes: `models[i]` → [`ModelRoute`] (targets, strategy, retry, fallbacks),
//! plus the fallback graph check (no unknown model, no self-reference, no cycle).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::balance::Balance;
use super::capability::{self, CapabilityOverride};
use super::errors::{index_path, key_path};
use super::file::{ModelSection, RetrySection};
use super::parse::Parsed;
use super::provider::check_timeouts;
use super::runtime::{
    ErrorClass, ModelRoute, Provider, ProviderKind, RetryPolicy, Strategy, Target,
};
use super::validate::Ctx;
use crate::fx_hash::FxMap;

/// Largest `retry.attempts`: more only multiplies cost and latency of a failing call.
pub const MAX_ATTEMPTS: u32 = 10;

/// Builds every route in file order and the name → position index.
pub(crate) fn build_all(
    parsed: &Parsed,
    providers: &[Arc<Provider>],
    provider_index: &FxMap<String, usize>,
    capabilities: &[CapabilityOverride],
    cx: &mut Ctx,
) -> (Vec<Arc<ModelRoute>>, FxMap<String, usize>) {
    let mut out = Vec::new();
    let mut index = FxMap::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let lookup = Lookup {
        parsed,
        providers,
        provider_index,
        capabilities,
    };
    for (m, &i) in parsed.file.models.iter().zip(&parsed.model_idx) {
        let path = index_path("models", i);
        let before = cx.count();
        check_name(&m.name, &path, cx);
        if let Some(&first) = seen.get(m.name.as_str()) {
            cx.err(
                key_path(&path, "name"),
                format!(
                    "duplicate model name {:?} (first at models[{first}])",
                    m.name
                ),
            );
        } else {
            seen.insert(&m.name, i);
        }
        let route = build(m, &path, &lookup, cx);
        if cx.count() == before {
            index.insert(route.name.clone(), out.len());
            out.push(Arc::new(route));
        }
    }
    check_cycles(parsed, cx);
    (out, index)
}

struct Lookup<'a> {
    parsed: &'a Parsed,
    providers: &'a [Arc<Provider>],
    provider_index: &'a FxMap<String, usize>,
    capabilities: &'a [CapabilityOverride],
}

fn check_name(name: &str, path: &str, cx: &mut Ctx) {
    if name.is_empty()
        || name.len() > 256
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        cx.err(
            key_path(path, "name"),
            format!("invalid model name {name:?}: 1 to 256 characters, no spaces"),
        );
    }
}

fn build(m: &ModelSection, path: &str, lookup: &Lookup, cx: &mut Ctx) -> ModelRoute {
    let targets = targets(m, path, lookup, cx);
    let strategy = strategy(m, path, cx);
    let hash_header = hash_header(m, strategy, path, cx);
    check_fallbacks(m, path, lookup.parsed, cx);
    let fallback_on = classes(&m.fallback_on, &key_path(path, "fallback_on"), cx);
    if !m.fallback_on.is_empty() && m.fallbacks.is_empty() {
        cx.err(
            key_path(path, "fallback_on"),
            "has no effect without fallbacks",
        );
    }
    check_timeouts(&m.timeouts, &key_path(path, "timeouts"), cx);
    let cache = super::cache::build_route(m.cache.as_ref(), &m.name, &targets, path, cx);
    let balance = super::balance::build(m.balance.as_ref(), strategy, path, cx);
    check_prompt_cache_key(&balance, &targets, path, cx);
    ModelRoute {
        name: m.name.clone(),
        targets,
        strategy,
        hash_header,
        fallbacks: m.fallbacks.clone(),
        fallback_on,
        retry: retry(m.retry.as_ref(), &key_path(path, "retry"), cx),
        timeouts: m.timeouts.clone(),
        failover_mid_stream: m.failover_mid_stream.unwrap_or(false),
        cache,
        balance,
    }
}

/// `balance.prompt_cache_key` changes only bodies sent in the OpenAI formats: on a
/// model with no such target it would silently do nothing, so it is refused.
fn check_prompt_cache_key(balance: &Balance, targets: &[Target], path: &str, cx: &mut Ctx) {
    let openai = |t: &Target| matches!(t.provider.kind, ProviderKind::OpenAi | ProviderKind::Azure);
    if balance.prompt_cache_key && !targets.is_empty() && !targets.iter().any(openai) {
        cx.err(
            key_path(&key_path(path, "balance"), "prompt_cache_key"),
            "no target of this model is an openai or azure provider, the only ones it is sent to",
        );
    }
}

fn targets(m: &ModelSection, path: &str, lookup: &Lookup, cx: &mut Ctx) -> Vec<Target> {
    if m.targets.is_empty() {
        cx.err(key_path(path, "targets"), "at least one target is required");
    }
    let mut out = Vec::new();
    for (j, t) in m.targets.iter().enumerate() {
        let tpath = index_path(&key_path(path, "targets"), j);
        if t.model.trim().is_empty() {
            cx.err(key_path(&tpath, "model"), "is empty");
        }
        if t.weight == Some(0) {
            cx.err(key_path(&tpath, "weight"), "must be at least 1");
        }
        match lookup
            .provider_index
            .get(&t.provider)
            .and_then(|&k| lookup.providers.get(k))
        {
            Some(p) => out.push(Target {
                provider: p.clone(),
                model: t.model.clone(),
                model_value: crate::edge::header_value::configured(&t.model),
                weight: t.weight.unwrap_or(1).max(1),
                caps: capability::for_target(
                    &t.model,
                    t.capabilities.as_ref(),
                    &key_path(&tpath, "capabilities"),
                    lookup.capabilities,
                    cx,
                ),
            }),
            // A provider with errors of its own is not reported again here.
            None if lookup.parsed.provider_names.contains(&t.provider) => {}
            None => {
                let ppath = key_path(&tpath, "provider");
                let shown = cx.show(&ppath, &t.provider);
                let hint = suggest(&t.provider, lookup.parsed.provider_names.iter());
                cx.err(ppath, format!("unknown provider {shown}{hint}"));
            }
        }
    }
    out
}

fn strategy(m: &ModelSection, path: &str, cx: &mut Ctx) -> Strategy {
    let Some(s) = &m.strategy else {
        return Strategy::default();
    };
    Strategy::parse(s).unwrap_or_else(|| {
        let spath = key_path(path, "strategy");
        let shown = cx.show(&spath, s);
        cx.err(
            spath,
            format!(
                "unknown strategy {shown}; expected one of: {}",
                Strategy::NAMES.join(", ")
            ),
        );
        Strategy::default()
    })
}

fn hash_header(m: &ModelSection, strategy: Strategy, path: &str, cx: &mut Ctx) -> Option<String> {
    let h = m.hash_header.as_ref()?;
    let hpath = key_path(path, "hash_header");
    if strategy != Strategy::ConsistentHash {
        cx.err(&*hpath, "only used with strategy consistent_hash");
    }
    match http::HeaderName::from_bytes(h.as_bytes()) {
        Ok(name) => Some(name.as_str().to_string()),
        Err(_) => {
            let shown = cx.show(&hpath, h);
            cx.err(hpath, format!("invalid header name {shown}"));
            None
        }
    }
}

/// Each fallback names another existing model, once.
fn check_fallbacks(m: &ModelSection, path: &str, parsed: &Parsed, cx: &mut Ctx) {
    let mut seen = HashSet::new();
    for (k, f) in m.fallbacks.iter().enumerate() {
        let fpath = index_path(&key_path(path, "fallbacks"), k);
        if *f == m.name {
            cx.err(
                fpath,
                format!("model {:?} cannot fall back to itself", m.name),
            );
        } else if !parsed.model_names.contains(f) {
            let shown = cx.show(&fpath, f);
            let hint = suggest(f, parsed.model_names.iter());
            cx.err(fpath, format!("unknown model {shown}{hint}"));
        } else if !seen.insert(f.as_str()) {
            cx.err(fpath, format!("model {f:?} is listed twice"));
        }
    }
}

/// Error class names of `retry.on` / `fallback_on`; empty means the retryable default.
fn classes(names: &[String], path: &str, cx: &mut Ctx) -> Vec<ErrorClass> {
    if names.is_empty() {
        return ErrorClass::RETRYABLE.to_vec();
    }
    let mut out = Vec::new();
    for (k, n) in names.iter().enumerate() {
        match ErrorClass::parse(n) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => {
                let cpath = index_path(path, k);
                let shown = cx.show(&cpath, n);
                cx.err(
                    cpath,
                    format!(
                        "unknown error class {shown}; expected one of: {}",
                        ErrorClass::NAMES.join(", ")
                    ),
                );
            }
        }
    }
    out
}

fn retry(r: Option<&RetrySection>, path: &str, cx: &mut Ctx) -> RetryPolicy {
    let d = RetryPolicy::default();
    let Some(r) = r else {
        return d;
    };
    let attempts = r.attempts.unwrap_or(d.attempts);
    if !(1..=MAX_ATTEMPTS).contains(&attempts) {
        cx.err(key_path(path, "attempts"), format!("{attempts} is out of range: 1 to {MAX_ATTEMPTS} (total attempts, the first included)"));
    }
    let backoff = r.backoff_ms.map_or(d.backoff, Duration::from_millis);
    let max_backoff = r
        .max_backoff_ms
        .map_or(d.max_backoff, Duration::from_millis);
    if max_backoff < backoff {
        cx.err(
            key_path(path, "max_backoff_ms"),
            "must not be less than backoff_ms",
        );
    }
    RetryPolicy {
        attempts,
        backoff,
        max_backoff,
        on: classes(&r.on, &key_path(path, "on"), cx),
    }
}

/// `, did you mean "x"?` when a known name is within two edits of `name`.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> String {
    known
        .map(|k| (edit_distance(name, k), k))
        // Two edits on a short name suggest anything; require most of it to match.
        .filter(|(d, k)| *d <= 2 && 2 * d < k.chars().count())
        .min()
        .map(|(_, k)| format!(", did you mean {k:?}?"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reports each fallback cycle once, at the first model of the cycle in file order:
/// `models[0].fallbacks: fallback cycle: a -> b -> a`. Iterative, so a long chain of
/// fallbacks cannot overflow the stack.
fn check_cycles(parsed: &Parsed, cx: &mut Ctx) {
    let models = &parsed.file.models;
    let mut node: HashMap<&str, usize> = HashMap::new();
    for (n, m) in models.iter().enumerate() {
        node.entry(m.name.as_str()).or_insert(n);
    }
    let edges: Vec<Vec<usize>> = models
        .iter()
        .enumerate()
        .map(|(n, m)| {
            m.fallbacks
                .iter()
                .filter_map(|f| node.get(f.as_str()).copied())
                .filter(|&t| t != n)
                .collect()
        })
        .collect();
    let mut reported: HashSet<Vec<usize>> = HashSet::new();
    for cycle in find_cycles(&edges) {
        let Some(start) = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, &n)| n)
            .map(|(k, _)| k)
        else {
            continue;
        };
        let mut canon = cycle[start..].to_vec();
        canon.extend_from_slice(&cycle[..start]);
        if !reported.insert(canon.clone()) {
            continue;
        }
        let names: Vec<&str> = canon
            .iter()
            .chain(canon.first())
            .map(|&n| models[n].name.as_str())
            .collect();
        let file_index = parsed.model_idx.get(canon[0]).copied().unwrap_or(canon[0]);
        cx.err(
            key_path(&index_path("models", file_index), "fallbacks"),
            format!("fallback cycle: {}", names.join(" -> ")),
        );
    }
}

/// Cycles closed by the back edges of a depth-first search (each as its node list).
fn find_cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut cycles = Vec::new();
    for root in 0..edges.len() {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::Open;
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (u, next) = *top;
            let Some(&v) = edges[u].get(next) else {
                mark[u] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match mark[v] {
                Mark::New => {
                    mark[v] = Mark::Open;
                    stack.push((v, 0));
                }
                Mark::Open => {
                    if let Some(pos) = stack.iter().position(|&(n, _)| n == v) {
                        cycles.push(stack[pos..].iter().map(|&(n, _)| n).collect());
                    }
                }
                Mark::Done => {}
            }
        }
    }
    cycles
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
