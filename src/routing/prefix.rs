//! Prefix-cache-aware affinity for self-hosted replicas (vLLM / SGLang with prefix
//! caching), with no client header: the `prefix_affinity` strategy.
//!
//! The key is a hash of the first `balance.prefix_tokens` of the prompt in canonical
//! order (system, then each turn's role and text, whatever the client's dialect), so
//! requests that share a long system prompt and early turns — a tenant's
//! conversations, a conversation's later turns — map to the same replica, whose KV
//! cache already holds those blocks.
//!
//! Placement is consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam
//! 2018): candidates in rendezvous order for the key; the first whose recent share
//! of the route's requests stays within `load_factor` × its fair (weighted) share
//! takes it. A hot prefix thus spills to its second choice instead of overloading one
//! replica, and no replica gets more than `load_factor` × the mean. "Recent" is a
//! per-route count of picks per (provider, endpoint), halved every [`HALF_LIFE`]
//! picks, so old traffic fades; it restarts on a config reload.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::ModelRoute;
use crate::formats::{self, Dialect};
use crate::model::{ContentPart, Role};

use super::select::{self, Candidate};

/// Picks after which every count of a route is halved.
pub const HALF_LIFE: u64 = 4096;

/// The prefix key of a request body: FNV-1a over the leading `chars` characters of
/// its canonical prompt, as hex. `None` for a body the readers cannot parse.
pub fn key(dialect: Dialect, body: &[u8], chars: usize) -> Option<String> {
    let req = formats::read_request(dialect, body).ok()?;
    let mut h = Fnv::default();
    let mut left = chars;
    for m in &req.messages {
        if left == 0 {
            break;
        }
        h.feed_all(role(m.role).as_bytes());
        for part in &m.content {
            feed_part(&mut h, part, &mut left);
        }
    }
    Some(format!("{:016x}", h.0))
}

fn role(r: Role) -> &'static str {
    match r {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn feed_part(h: &mut Fnv, part: &ContentPart<'_>, left: &mut usize) {
    match part {
        ContentPart::Text(t) | ContentPart::Refusal(t) => h.feed(t.as_bytes(), left),
        ContentPart::ToolCall(c) => {
            h.feed(c.name.as_bytes(), left);
            h.feed(c.arguments.as_bytes(), left);
        }
        ContentPart::ToolResult(r) => {
            for p in &r.content {
                feed_part(h, p, left);
            }
        }
        ContentPart::Image(_)
        | ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning(_)
        | ContentPart::CacheBreakpoint(_) => {}
    }
}

/// `body` (a JSON object) with `"prompt_cache_key": "tg-<key>"` put first, unless
/// the client already set one: OpenAI routes requests with the same key and prefix
/// to the same cache, so conversations sharing a prefix reuse it with no client
/// change. The key is a hash, never prompt text. Other bodies are returned as is.
pub fn with_prompt_cache_key(body: Vec<u8>, key: &str) -> Vec<u8> {
    type Fields = std::collections::HashMap<String, serde::de::IgnoredAny>;
    let Ok(fields) = serde_json::from_slice::<Fields>(&body) else {
        return body;
    };
    if fields.contains_key("prompt_cache_key") {
        return body;
    }
    let Some(open) = body.iter().position(|b| *b == b'{') else {
        return body;
    };
    let rest = &body[open + 1..];
    let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
    let mut out = Vec::with_capacity(body.len() + 48);
    out.extend_from_slice(b"{\"prompt_cache_key\":\"tg-");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(if empty { b"\"" } else { b"\"," });
    out.extend_from_slice(rest);
    out
}

/// FNV-1a 64 fed up to a character budget.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Up to `left` bytes of `bytes`, taken from the budget.
    fn feed(&mut self, bytes: &[u8], left: &mut usize) {
        let take = bytes.len().min(*left);
        self.feed_all(&bytes[..take]);
        *left -= take;
    }

    /// Markers outside the budget (role names).
    fn feed_all(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Recent picks of one `prefix_affinity` route per (provider, endpoint).
pub struct RouteLoads {
    slots: Vec<(String, usize, AtomicU64)>,
    total: AtomicU64,
}

impl RouteLoads {
    /// One slot per endpoint of each of the route's providers.
    pub fn for_route(route: &ModelRoute) -> RouteLoads {
        let mut slots: Vec<(String, usize, AtomicU64)> = Vec::new();
        for t in &route.targets {
            for e in 0..t.provider.endpoints.len() {
                if !slots
                    .iter()
                    .any(|(p, i, _)| *p == t.provider.name && *i == e)
                {
                    slots.push((t.provider.name.clone(), e, AtomicU64::new(0)));
                }
            }
        }
        RouteLoads {
            slots,
            total: AtomicU64::new(0),
        }
    }

    /// The recent picks of `endpoint` of `provider`.
    pub fn recent(&self, provider: &str, endpoint: usize) -> u64 {
        self.slot(provider, endpoint)
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// Count a pick; every [`HALF_LIFE`] picks, halve them all.
    pub fn note(&self, provider: &str, endpoint: usize) {
        if let Some(s) = self.slot(provider, endpoint) {
            s.fetch_add(1, Ordering::Relaxed);
        }
        if (self.total.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(HALF_LIFE) {
            for (_, _, s) in &self.slots {
                let v = s.load(Ordering::Relaxed);
                s.store(v / 2, Ordering::Relaxed);
            }
        }
    }

    fn slot(&self, provider: &str, endpoint: usize) -> Option<&AtomicU64> {
        self.slots
            .iter()
            .find(|(p, e, _)| p == provider && *e == endpoint)
            .map(|(_, _, s)| s)
    }
}

/// Consistent hashing with bounded loads: the first candidate in the key's
/// rendezvous order whose recent picks, this one included, stay within
/// `load_factor` × its weighted share of all of them.
pub fn bounded_rendezvous(candidates: &[Candidate], key: &[u8]) -> Option<Candidate> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    let key_hash = select::fnv1a(key);
    order.sort_by(|a, b| select::score(key_hash, b).total_cmp(&select::score(key_hash, a)));
    let total: u64 = candidates.iter().map(|c| c.signals.recent).sum();
    let weights: u64 = candidates.iter().map(|c| c.weight.max(1)).sum();
    let within = |c: &Candidate| {
        let factor = c.signals.load_factor.max(1.0);
        let share = c.weight.max(1) as f64 / weights.max(1) as f64;
        let bound = (factor * share * (total + 1) as f64).ceil();
        (c.signals.recent + 1) as f64 <= bound
    };
    order
        .iter()
        .find(|c| within(c))
        .or_else(|| order.iter().min_by_key(|c| c.signals.recent))
        .map(|c| **c)
}

#[cfg(test)]
#[path = "prefix_tests.rs"]
mod tests;
