//! Response cache settings: the top-level `cache:` section (backend and its size) and
//! each route's `models[].cache` (on/off, TTL, namespace), validated with key paths.
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

/// `cache:` — the store shared by every route.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// `memory` (default). Only the in-process store exists in this version.
    pub backend: Option<String>,
    /// Upper bound of the store, counting keys and stored answers (default 256 MiB).
    pub max_bytes: Option<u64>,
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
}

/// The validated top-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    pub max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCache {
    pub ttl: Duration,
    pub namespace: CacheNamespace,
    /// Hash of these settings and the route's targets; part of every key.
    pub version: u64,
}

pub(crate) fn build_settings(s: &CacheSection, cx: &mut Ctx) -> CacheSettings {
    match s.backend.as_deref() {
        None | Some("memory") => {}
        Some(other) => {
            let shown = cx.show("cache.backend", other);
            cx.err(
                "cache.backend",
                format!("unknown backend {shown}: this version supports only \"memory\""),
            );
        }
    }
    let max_bytes = s.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if max_bytes < 1 << 20 {
        cx.err("cache.max_bytes", "must be at least 1048576 (1 MiB)");
    }
    CacheSettings { max_bytes }
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
    if !s.enabled.unwrap_or(true) {
        return None;
    }
    let ttl = Duration::from_secs(ttl);
    let version = version(route_name, targets, ttl, namespace);
    Some(RouteCache {
        ttl,
        namespace,
        version,
    })
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
