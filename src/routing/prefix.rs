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
//!
//! That hash is the whole placement in `balance.prefix_mode: hash`; in the default
//! `estimate` mode it places only prompts no endpoint has seen a prefix of
//! (`prefix_index`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::config::balance::{Balance, PrefixMode};
use crate::config::ModelRoute;
use crate::formats::{self, Dialect};
use crate::model::{ContentPart, Role};

use super::prefix_index::{BlockSet, Blocks};
use super::select::{self, Candidate};

/// Picks after which every count of a route is halved.
pub const HALF_LIFE: u64 = 4096;

/// The prefix key of a request body: FNV-1a over the leading `chars` characters of
/// its canonical prompt, as hex. `None` for a body the readers cannot parse.
pub fn key(dialect: Dialect, body: &[u8], chars: usize) -> Option<String> {
    let mut window = Window::new(chars);
    walk(dialect, body, &mut window)?;
    Some(window.key())
}

/// The placement keys of a `prefix_affinity` request: the hash of the leading
/// window and, in estimate mode, the prompt's chained block hashes — one walk over
/// the prompt for both. No key for a body the readers cannot parse.
pub fn placement(dialect: Dialect, body: &[u8], balance: &Balance) -> (Option<String>, Vec<u64>) {
    let window = Window::new(balance.prefix_chars);
    match balance.prefix_mode {
        PrefixMode::Hash => {
            let mut window = window;
            let key = walk(dialect, body, &mut window).map(|_| window.key());
            (key, Vec::new())
        }
        PrefixMode::Estimate => {
            let mut both = (window, Blocks::new(balance.prefix_block_chars));
            match walk(dialect, body, &mut both) {
                Some(()) => (Some(both.0.key()), both.1.hashes),
                None => (None, Vec::new()),
            }
        }
    }
}

/// What a walk over the canonical prompt feeds: role markers (outside any budget)
/// and the text itself.
pub(super) trait PromptSink {
    fn marker(&mut self, bytes: &[u8]);
    fn text(&mut self, bytes: &[u8]);
    /// Nothing more is wanted.
    fn done(&self) -> bool;
}

/// Feed `sink` the canonical prompt of `body`: each message's role, then its text,
/// tool calls and tool results, in order. `None` for a body the readers cannot parse.
pub(super) fn walk(dialect: Dialect, body: &[u8], sink: &mut impl PromptSink) -> Option<()> {
    let req = formats::read_request(dialect, body).ok()?;
    for m in &req.messages {
        if sink.done() {
            break;
        }
        sink.marker(role(m.role).as_bytes());
        for part in &m.content {
            feed_part(sink, part);
        }
    }
    Some(())
}

/// Both sinks fed by one walk.
impl<A: PromptSink, B: PromptSink> PromptSink for (A, B) {
    fn marker(&mut self, bytes: &[u8]) {
        self.0.marker(bytes);
        self.1.marker(bytes);
    }
    fn text(&mut self, bytes: &[u8]) {
        self.0.text(bytes);
        self.1.text(bytes);
    }
    fn done(&self) -> bool {
        self.0.done() && self.1.done()
    }
}

fn role(r: Role) -> &'static str {
    match r {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn feed_part(sink: &mut impl PromptSink, part: &ContentPart<'_>) {
    match part {
        ContentPart::Text(t) | ContentPart::Refusal(t) => sink.text(t.as_bytes()),
        ContentPart::ToolCall(c) => {
            sink.text(c.name.as_bytes());
            sink.text(c.arguments.as_bytes());
        }
        ContentPart::ToolResult(r) => {
            for p in &r.content {
                feed_part(sink, p);
            }
        }
        ContentPart::Image(_)
        | ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning(_)
        | ContentPart::CacheBreakpoint(_) => {}
    }
}

/// The hash of a leading window of the prompt: markers always, text up to a budget.
pub(super) struct Window {
    h: Fnv,
    left: usize,
}

impl Window {
    pub(super) fn new(chars: usize) -> Self {
        Window {
            h: Fnv::default(),
            left: chars,
        }
    }

    pub(super) fn key(&self) -> String {
        format!("{:016x}", self.h.0)
    }
}

impl PromptSink for Window {
    fn marker(&mut self, bytes: &[u8]) {
        if self.left > 0 {
            self.h.feed_all(bytes);
        }
    }
    fn text(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(self.left);
        self.h.feed_all(&bytes[..take]);
        self.left -= take;
    }
    fn done(&self) -> bool {
        self.left == 0
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

/// FNV-1a 64.
pub(super) struct Fnv(pub(super) u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(super) fn feed_all(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Recent picks of one `prefix_affinity` route per (provider, endpoint), and in
/// estimate mode the block hashes each endpoint was sent.
pub struct RouteLoads {
    slots: Vec<(String, usize, AtomicU64)>,
    total: AtomicU64,
    /// One set per slot (estimate mode), each behind its own short-held lock.
    sent: Vec<Mutex<BlockSet>>,
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
        let sent = match route.balance.prefix_mode {
            PrefixMode::Estimate => slots
                .iter()
                .map(|_| Mutex::new(BlockSet::new(route.balance.prefix_lru_blocks)))
                .collect(),
            PrefixMode::Hash => Vec::new(),
        };
        RouteLoads {
            slots,
            total: AtomicU64::new(0),
            sent,
        }
    }

    /// How many leading `blocks` `endpoint` of `provider` was sent before.
    pub fn matched(&self, provider: &str, endpoint: usize, blocks: &[u64]) -> usize {
        self.sent_to(provider, endpoint)
            .and_then(|s| s.lock().ok().map(|set| set.matched(blocks)))
            .unwrap_or(0)
    }

    /// `endpoint` of `provider` was just sent `blocks`.
    pub fn learn(&self, provider: &str, endpoint: usize, blocks: &[u64]) {
        if blocks.is_empty() {
            return;
        }
        if let Some(Ok(mut set)) = self.sent_to(provider, endpoint).map(|s| s.lock()) {
            set.insert(blocks);
        }
    }

    fn sent_to(&self, provider: &str, endpoint: usize) -> Option<&Mutex<BlockSet>> {
        let i = self
            .slots
            .iter()
            .position(|(p, e, _)| p == provider && *e == endpoint)?;
        self.sent.get(i)
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
