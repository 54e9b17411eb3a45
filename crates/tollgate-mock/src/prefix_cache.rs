//! An optional simulated prefix cache (vLLM / SGLang automatic prefix caching): the
//! prompt's text, in canonical order (Anthropic `system`, then every message's role
//! and text), is cut into fixed blocks whose hashes chain (a block's hash covers every
//! block before it, so equal hashes mean equal prefixes). A request's cached part is
//! the leading run of blocks already in the instance's LRU; then all its full blocks
//! are inserted (or refreshed). The caller reports the cached part as
//! `cached_tokens` and delays the first token in proportion to the uncached part.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

/// Knobs of the simulated cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixCacheConfig {
    /// Characters per block (about 4 characters a token: 64 ≈ vLLM's 16-token blocks).
    pub block_chars: u32,
    /// Blocks kept (least recently used evicted first).
    pub capacity_blocks: u32,
    /// Time to first token added per uncached prompt token, in µs (prefill cost).
    pub us_per_uncached_token: u32,
}

impl Default for PrefixCacheConfig {
    fn default() -> Self {
        PrefixCacheConfig {
            block_chars: 64,
            capacity_blocks: 1 << 16,
            us_per_uncached_token: 10,
        }
    }
}

/// What one lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub cached_tokens: usize,
    pub prompt_tokens: usize,
    /// Extra time to first token for the uncached part.
    pub prefill: Duration,
}

/// The cache of one mock instance, with its hit counters.
#[derive(Debug, Default)]
pub(crate) struct PrefixCache {
    lru: Mutex<Lru>,
    cached_chars: AtomicU64,
    prompt_chars: AtomicU64,
}

#[derive(Debug, Default)]
struct Lru {
    tick: u64,
    /// Block hash → last use.
    used: HashMap<u64, u64>,
    /// Last use → block hash (the oldest first).
    order: BTreeMap<u64, u64>,
}

impl PrefixCache {
    /// Looks the prompt of `body` up and inserts its blocks.
    pub fn lookup(&self, cfg: &PrefixCacheConfig, body: &[u8]) -> Lookup {
        let text = canonical_prompt(body);
        let block = cfg.block_chars.max(1) as usize;
        let blocks: Vec<u64> = chain(text.as_bytes(), block);
        let mut lru = match self.lru.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        let hits = blocks
            .iter()
            .take_while(|h| lru.used.contains_key(h))
            .count();
        for h in &blocks {
            lru.touch(*h, cfg.capacity_blocks as usize);
        }
        drop(lru);
        let cached = hits * block;
        self.cached_chars
            .fetch_add(cached as u64, Ordering::Relaxed);
        self.prompt_chars
            .fetch_add(text.len() as u64, Ordering::Relaxed);
        let uncached_tokens = (text.len() - cached).div_ceil(4);
        Lookup {
            cached_tokens: cached / 4,
            prompt_tokens: text.len().div_ceil(4),
            prefill: Duration::from_micros(
                uncached_tokens as u64 * u64::from(cfg.us_per_uncached_token),
            ),
        }
    }

    /// `(cached prompt characters, all prompt characters)` since the last reset.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.cached_chars.load(Ordering::Relaxed),
            self.prompt_chars.load(Ordering::Relaxed),
        )
    }

    /// Empties the cache and its counters.
    pub fn reset(&self) {
        if let Ok(mut l) = self.lru.lock() {
            *l = Lru::default();
        }
        self.cached_chars.store(0, Ordering::Relaxed);
        self.prompt_chars.store(0, Ordering::Relaxed);
    }
}

impl Lru {
    fn touch(&mut self, h: u64, capacity: usize) {
        self.tick += 1;
        if let Some(old) = self.used.insert(h, self.tick) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, h);
        while self.used.len() > capacity.max(1) {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.used.remove(&oldest);
        }
    }
}

/// Chained FNV-1a hashes of the full blocks of `text` (a partial last block is not
/// cached, as in vLLM).
fn chain(text: &[u8], block: usize) -> Vec<u64> {
    let mut prev = 0xcbf2_9ce4_8422_2325u64;
    text.chunks_exact(block)
        .map(|b| {
            let mut h = prev;
            for byte in b {
                h ^= *byte as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            prev = h;
            h
        })
        .collect()
}

/// The prompt as a server would tokenize it: system, then each message's role and text.
fn canonical_prompt(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(system) = v.get("system") {
        push_turn(&mut out, "system", system);
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        if let Some(content) = m.get("content") {
            push_turn(&mut out, role, content);
        }
    }
    out
}

fn push_turn(out: &mut String, role: &str, content: &Value) {
    out.push_str("<|");
    out.push_str(role);
    out.push_str("|>");
    match content {
        Value::String(s) => out.push_str(s),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                }
            }
        }
        _ => {}
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(system: &str, turns: &[&str]) -> Vec<u8> {
        let mut messages = vec![serde_json::json!({"role": "system", "content": system})];
        for (i, t) in turns.iter().enumerate() {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            messages.push(serde_json::json!({"role": role, "content": t}));
        }
        serde_json::to_vec(&serde_json::json!({"model": "m", "messages": messages})).unwrap()
    }

    #[test]
    fn a_shared_prefix_is_cached_and_a_different_one_is_not() {
        let cfg = PrefixCacheConfig {
            block_chars: 16,
            capacity_blocks: 1000,
            us_per_uncached_token: 1,
        };
        let cache = PrefixCache::default();
        let system = "You are a careful assistant for the ACME support desk. ".repeat(4);
        let first = cache.lookup(&cfg, &body(&system, &["hello"]));
        assert_eq!(first.cached_tokens, 0);
        let second = cache.lookup(&cfg, &body(&system, &["hello", "hi!", "more"]));
        assert!(second.cached_tokens * 4 >= system.len(), "{second:?}");
        assert!(second.prefill < first.prefill + Duration::from_micros(20));
        let other = cache.lookup(&cfg, &body("Another tenant entirely.", &["hello"]));
        assert_eq!(other.cached_tokens, 0);
        let (hit, all) = cache.stats();
        assert!(hit > 0 && hit < all);
    }

    #[test]
    fn the_least_recently_used_blocks_are_evicted() {
        let cfg = PrefixCacheConfig {
            block_chars: 8,
            capacity_blocks: 4,
            us_per_uncached_token: 0,
        };
        let cache = PrefixCache::default();
        let a = body(&"a".repeat(64), &[]);
        cache.lookup(&cfg, &a);
        cache.lookup(&cfg, &body(&"b".repeat(64), &[]));
        assert_eq!(cache.lookup(&cfg, &a).cached_tokens, 0, "evicted");
    }
}
