//! Response cache settings: the top-level `cache:` section (backend, size, Redis
//! timeout, semantic index bound) and each route's `models[].cache` (on/off, TTL,
//! namespace, replay pacing, semantic lookup), validated with key paths.
//!
//! A route's cache settings and its targets make up its *cache version*, part of every
//! cache key: a reload that changes either makes the route's old entries unreachable
//! (they then age out of the bounded store), so no stale answer from another model or
//! another setting is ever served.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde::Deserialize;

use super::errors::key_path;
use super::runtime::Target;
use super::validate::Ctx;

/// Default memory bound of the cache store: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;
/// Default lifetime of an entry.
pub const DEFAULT_TTL_SECONDS: u64 = 300;
/// Longest TTL accepted: a week. Answers older than that are rarely wanted.
const MAX_TTL_SECONDS: u64 = 7 * 24 * 3600;
/// Default bound on one Redis cache call (lookup or store), connecting included.
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 100;
/// Default bound of the semantic index (entries, all routes together). Exact search
/// over this many 1536-float vectors stays in the low milliseconds (README figures).
pub const DEFAULT_SEMANTIC_MAX_ENTRIES: u64 = 10_000;
const MAX_SEMANTIC_ENTRIES: u64 = 1_000_000;
/// Default similarity a semantic hit needs.
pub const DEFAULT_THRESHOLD: f64 = 0.95;
/// Default bound on the embedding call.
pub const DEFAULT_EMBED_TIMEOUT_MS: u64 = 1_000;

/// `cache:` — the store shared by every route.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// `memory` (default; per process) or `redis` (shared by replicas, on the Redis
    /// of the `state:` section: server or cluster, TLS and key prefix alike).
    pub backend: Option<String>,
    /// Upper bound of the in-memory store, counting keys and stored answers (default
    /// 256 MiB).
    pub max_bytes: Option<u64>,
    /// `redis` only: bound on every cache call in milliseconds (default 100).
    pub timeout_ms: Option<u64>,
    /// `redis` only: what a failed or timed-out cache call does. Only `fail_open`
    /// (the default: a miss, the request goes upstream) exists: a cache is never a
    /// reason to refuse a request.
    pub on_error: Option<String>,
    /// Bound of the semantic index in entries (default 10000).
    pub semantic_max_entries: Option<u64>,
}

/// `models[].cache` — whether and how this route's answers are cached.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RouteCacheSection {
    /// Default true once the section is present.
    pub enabled: Option<bool>,
    /// Lifetime of an entry in seconds (default 300).
    pub ttl_seconds: Option<u64>,
    /// Who shares entries: `key`, `team` (default) or `global`.
    pub namespace: Option<String>,
    /// How a stored stream is replayed to a streaming client: `fast` (default: at
    /// once) or `paced` (with the recorded gaps between its chunks).
    pub replay: Option<String>,
    /// Semantic lookup (off unless present): similar questions share an answer.
    pub semantic: Option<SemanticSection>,
    /// Whether a hit's tokens count against the key's TPM limits (default false: a
    /// hit counts as a request only).
    pub tpm_on_hits: Option<bool>,
}

/// `models[].cache.semantic`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SemanticSection {
    /// The model route that embeds (its providers serve `/v1/embeddings`). Required.
    pub embeddings_route: Option<String>,
    /// Cosine similarity a hit needs, in 0..1 (default 0.95).
    pub threshold: Option<f64>,
    /// Turns before the last user turn that are embedded with it (default 0). Longer
    /// conversations are looked up exactly only.
    pub context_messages: Option<u32>,
    /// Bound on the embedding call in milliseconds (default 1000).
    pub timeout_ms: Option<u64>,
}

/// The validated top-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    pub backend: CacheBackend,
    pub max_bytes: u64,
    /// Bound on every Redis cache call.
    pub timeout: Duration,
    pub semantic_max_entries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            backend: CacheBackend::Memory,
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: Duration::from_millis(DEFAULT_REDIS_TIMEOUT_MS),
            semantic_max_entries: DEFAULT_SEMANTIC_MAX_ENTRIES as usize,
        }
    }
}

/// Where entries live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheBackend {
    Memory,
    /// The Redis (server or cluster) of the `state:` section.
    Redis,
}

/// How a stored stream goes to a streaming client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Replay {
    #[default]
    Fast,
    /// With the recorded inter-chunk gaps.
    Paced,
}

/// A route's validated semantic lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticSettings {
    pub embeddings_route: String,
    pub threshold: f32,
    pub context_messages: usize,
    pub timeout: Duration,
}

/// Who may see an entry another caller created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheNamespace {
    /// Only the same virtual key.
    Key,
    /// Every key of the same team (a key without a team is its own namespace).
    Team,
    /// Every caller of the route.
    Global,
}

impl CacheNamespace {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheNamespace::Key => "key",
            CacheNamespace::Team => "team",
            CacheNamespace::Global => "global",
        }
    }
}

/// A route's validated cache settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCache {
    pub ttl: Duration,
    pub namespace: CacheNamespace,
    pub replay: Replay,
    pub semantic: Option<SemanticSettings>,
    pub tpm_on_hits: bool,
    /// Hash of these settings and the route's targets; part of every key.
    pub version: u64,
}

/// `cache:`; `state_backend` is `state.backend` as written (a Redis cache uses the
/// state store's Redis).
pub(crate) fn build_settings(
    s: &CacheSection,
    state_backend: Option<&str>,
    cx: &mut Ctx,
) -> CacheSettings {
    let backend = match s.backend.as_deref() {
        None | Some("memory") => CacheBackend::Memory,
        Some("redis") => {
            if !matches!(state_backend, Some("redis" | "redis_cluster")) {
                cx.err(
                    "cache.backend",
                    "redis uses the Redis of the state section: set state.backend to redis or redis_cluster",
                );
            }
            CacheBackend::Redis
        }
        Some(other) => {
            let shown = cx.show("cache.backend", other);
            cx.err(
                "cache.backend",
                format!("unknown backend {shown} (expected memory or redis)"),
            );
            CacheBackend::Memory
        }
    };
    let max_bytes = s.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if max_bytes < 1 << 20 {
        cx.err("cache.max_bytes", "must be at least 1048576 (1 MiB)");
    }
    let timeout_ms = s.timeout_ms.unwrap_or(DEFAULT_REDIS_TIMEOUT_MS);
    if !(1..=10_000).contains(&timeout_ms) {
        cx.err("cache.timeout_ms", "must be between 1 and 10000");
    }
    if let Some(other) = s.on_error.as_deref().filter(|v| *v != "fail_open") {
        let shown = cx.show("cache.on_error", other);
        cx.err(
            "cache.on_error",
            format!("unknown value {shown}: a failed cache call is a miss (fail_open)"),
        );
    }
    let semantic_max = s
        .semantic_max_entries
        .unwrap_or(DEFAULT_SEMANTIC_MAX_ENTRIES);
    if !(1..=MAX_SEMANTIC_ENTRIES).contains(&semantic_max) {
        cx.err(
            "cache.semantic_max_entries",
            format!("must be between 1 and {MAX_SEMANTIC_ENTRIES}"),
        );
    }
    CacheSettings {
        backend,
        max_bytes,
        timeout: Duration::from_millis(timeout_ms),
        semantic_max_entries: semantic_max as usize,
    }
}

/// `models[i].cache` → the route's settings; `None` when absent or disabled.
pub(crate) fn build_route(
    s: Option<&RouteCacheSection>,
    route_name: &str,
    targets: &[Target],
    path: &str,
    cx: &mut Ctx,
) -> Option<RouteCache> {
    let s = s?;
    let path = key_path(path, "cache");
    let ttl = s.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if ttl == 0 || ttl > MAX_TTL_SECONDS {
        cx.err(
            key_path(&path, "ttl_seconds"),
            format!("must be between 1 and {MAX_TTL_SECONDS}"),
        );
    }
    let namespace = match s.namespace.as_deref() {
        None | Some("team") => CacheNamespace::Team,
        Some("key") => CacheNamespace::Key,
        Some("global") => CacheNamespace::Global,
        Some(other) => {
            let npath = key_path(&path, "namespace");
            let shown = cx.show(&npath, other);
            cx.err(
                npath,
                format!("unknown namespace {shown} (expected key, team or global)"),
            );
            CacheNamespace::Team
        }
    };
    let replay = match s.replay.as_deref() {
        None | Some("fast") => Replay::Fast,
        Some("paced") => Replay::Paced,
        Some(other) => {
            let rpath = key_path(&path, "replay");
            let shown = cx.show(&rpath, other);
            cx.err(
                rpath,
                format!("unknown replay {shown} (expected fast or paced)"),
            );
            Replay::Fast
        }
    };
    let semantic = s
        .semantic
        .as_ref()
        .map(|sem| semantic(sem, &key_path(&path, "semantic"), cx));
    if !s.enabled.unwrap_or(true) {
        return None;
    }
    let ttl = Duration::from_secs(ttl);
    let version = version(route_name, targets, ttl, namespace);
    Some(RouteCache {
        ttl,
        namespace,
        replay,
        semantic,
        tpm_on_hits: s.tpm_on_hits.unwrap_or(false),
        version,
    })
}

fn semantic(s: &SemanticSection, path: &str, cx: &mut Ctx) -> SemanticSettings {
    let embeddings_route = match s.embeddings_route.as_deref() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => {
            cx.err(
                key_path(path, "embeddings_route"),
                "is required: the model route that embeds the questions",
            );
            String::new()
        }
    };
    let threshold = s.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(threshold > 0.0 && threshold <= 1.0) {
        cx.err(
            key_path(path, "threshold"),
            "must be a cosine similarity above 0 and at most 1",
        );
    }
    let timeout_ms = s.timeout_ms.unwrap_or(DEFAULT_EMBED_TIMEOUT_MS);
    if !(1..=60_000).contains(&timeout_ms) {
        cx.err(key_path(path, "timeout_ms"), "must be between 1 and 60000");
    }
    let context = s.context_messages.unwrap_or(0);
    if context > 64 {
        cx.err(key_path(path, "context_messages"), "must be at most 64");
    }
    SemanticSettings {
        embeddings_route,
        threshold: threshold as f32,
        context_messages: context as usize,
        timeout: Duration::from_millis(timeout_ms),
    }
}

/// Every semantic route's `embeddings_route` names a route whose every target can
/// embed (an OpenAI-format or Azure provider, not a Responses-only server).
pub(crate) fn check_embeddings_routes(
    parsed: &super::parse::Parsed,
    models: &[std::sync::Arc<super::ModelRoute>],
    cx: &mut Ctx,
) {
    for (m, &i) in parsed.file.models.iter().zip(&parsed.model_idx) {
        let wanted = m.cache.as_ref().filter(|c| c.enabled.unwrap_or(true));
        let Some(name) = wanted
            .and_then(|c| c.semantic.as_ref())
            .and_then(|s| s.embeddings_route.as_deref())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let path = format!("models[{i}].cache.semantic.embeddings_route");
        let Some(target) = models.iter().find(|r| r.name == name) else {
            let shown = cx.show(&path, name);
            cx.err(path, format!("no model route named {shown}"));
            continue;
        };
        let cannot = target.targets.iter().find(|t| {
            t.provider.responses_api
                || !matches!(
                    t.provider.kind,
                    super::ProviderKind::OpenAi | super::ProviderKind::Azure
                )
        });
        if let Some(t) = cannot {
            cx.err(
                path,
                format!(
                    "route {:?} cannot embed: its provider {:?} does not serve /v1/embeddings",
                    target.name, t.provider.name
                ),
            );
        }
    }
}

/// A stable hash of what makes a route's answers what they are.
fn version(route: &str, targets: &[Target], ttl: Duration, ns: CacheNamespace) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    route.hash(&mut h);
    for t in targets {
        t.provider.name.hash(&mut h);
        format!("{:?}", t.provider.kind).hash(&mut h);
        t.model.hash(&mut h);
    }
    ttl.hash(&mut h);
    ns.hash(&mut h);
    h.finish()
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
