//! `models[].balance`: the settings of the strategies that need more than the
//! targets — the cost-aware ones (`cheapest`, `cost_within_latency`), `prefix_affinity`
//! — and `prompt_cache_key` (any strategy). Each strategy key is refused for a
//! strategy that would ignore it, so a typo in `strategy` does not leave a setting
//! silently unused.

use std::time::Duration;

use serde::Deserialize;

use super::errors::key_path;
use super::runtime::Strategy;
use super::validate::Ctx;

/// Output tokens a request is expected to produce when it sets no `max_tokens`.
pub const DEFAULT_EXPECTED_OUTPUT: u64 = 256;
const MAX_EXPECTED_OUTPUT: u64 = 1_000_000;
const MAX_TTFT_MS: u64 = 600_000;
/// Leading tokens hashed by `prefix_affinity`: a long system prompt and the start of
/// the conversation, so a tenant's conversations meet on one replica.
pub const DEFAULT_PREFIX_TOKENS: u64 = 1024;
const PREFIX_TOKENS: std::ops::RangeInclusive<u64> = 16..=1_000_000;
/// The bound of consistent hashing with bounded loads (Mirrokni et al.).
pub const DEFAULT_LOAD_FACTOR: f64 = 1.25;
/// Estimation mode: prompt tokens per hashed block (4 characters each), like a
/// prefix-caching server's KV block, a few times larger to keep the sets small.
pub const DEFAULT_BLOCK_TOKENS: u64 = 64;
const BLOCK_TOKENS: std::ops::RangeInclusive<u64> = 4..=4096;
/// Estimation mode: block hashes remembered per endpoint.
pub const DEFAULT_LRU_BLOCKS: u64 = 16_384;
const LRU_BLOCKS: std::ops::RangeInclusive<u64> = 64..=4_194_304;
/// Estimation mode: the prefix holder is passed over when it has more than this ×
/// (the least loaded's in-flight + 1) requests in flight.
pub const DEFAULT_IN_FLIGHT_FACTOR: f64 = 4.0;
/// Estimation mode: the share of a prompt's blocks an endpoint must hold to draw it.
pub const DEFAULT_MIN_MATCH: f64 = 0.5;

/// How `prefix_affinity` places a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrefixMode {
    /// The endpoint that was sent the longest prefix of this prompt, else the hash.
    #[default]
    Estimate,
    /// The bounded-load hash of the leading window only.
    Hash,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BalanceSection {
    /// Output tokens expected of a request without `max_tokens` (cost strategies).
    pub expected_output_tokens: Option<u64>,
    /// The p50 time-to-first-token bound of `cost_within_latency` (required there).
    pub max_ttft_ms: Option<u64>,
    /// `prefix_affinity`: leading prompt tokens hashed (estimated, 4 characters each).
    pub prefix_tokens: Option<u64>,
    /// `prefix_affinity`: no replica takes more than this × its fair share of the
    /// route's recent requests.
    pub load_factor: Option<f64>,
    /// Set OpenAI's `prompt_cache_key` from the prompt's prefix hash when the client
    /// sent none (targets in the OpenAI chat or Responses format only).
    pub prompt_cache_key: Option<bool>,
    /// `prefix_affinity`: `estimate` (default) or `hash`.
    pub prefix_mode: Option<String>,
    /// `prefix_affinity`, estimate mode: prompt tokens per hashed block.
    pub prefix_block_tokens: Option<u64>,
    /// `prefix_affinity`, estimate mode: block hashes remembered per endpoint.
    pub prefix_lru_blocks: Option<u64>,
    /// `prefix_affinity`, estimate mode: in-flight bound of the prefix holder.
    pub in_flight_factor: Option<f64>,
    /// `prefix_affinity`, estimate mode: share of the prompt's blocks a holder needs.
    pub prefix_min_match: Option<f64>,
}

/// The validated settings, with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub expected_output_tokens: u64,
    pub max_ttft: Option<Duration>,
    /// Characters of the canonical prompt hashed by `prefix_affinity`.
    pub prefix_chars: usize,
    pub load_factor: f64,
    pub prompt_cache_key: bool,
    pub prefix_mode: PrefixMode,
    /// Characters per hashed block (estimate mode).
    pub prefix_block_chars: usize,
    pub prefix_lru_blocks: usize,
    pub in_flight_factor: f64,
    pub prefix_min_match: f64,
}

impl Default for Balance {
    fn default() -> Self {
        Balance {
            expected_output_tokens: DEFAULT_EXPECTED_OUTPUT,
            max_ttft: None,
            prefix_chars: DEFAULT_PREFIX_TOKENS as usize * 4,
            load_factor: DEFAULT_LOAD_FACTOR,
            prompt_cache_key: false,
            prefix_mode: PrefixMode::Estimate,
            prefix_block_chars: DEFAULT_BLOCK_TOKENS as usize * 4,
            prefix_lru_blocks: DEFAULT_LRU_BLOCKS as usize,
            in_flight_factor: DEFAULT_IN_FLIGHT_FACTOR,
            prefix_min_match: DEFAULT_MIN_MATCH,
        }
    }
}

pub(crate) fn build(
    section: Option<&BalanceSection>,
    strategy: Strategy,
    path: &str,
    cx: &mut Ctx,
) -> Balance {
    let bpath = key_path(path, "balance");
    let empty = BalanceSection::default();
    let s = section.unwrap_or(&empty);
    let mut out = Balance::default();
    if let Some(n) = s.expected_output_tokens {
        let at = key_path(&bpath, "expected_output_tokens");
        if !strategy.prices_requests() {
            cx.err(
                at,
                "only used with strategy cheapest or cost_within_latency",
            );
        } else if !(1..=MAX_EXPECTED_OUTPUT).contains(&n) {
            cx.err(
                at,
                format!("{n} is out of range: 1 to {MAX_EXPECTED_OUTPUT}"),
            );
        } else {
            out.expected_output_tokens = n;
        }
    }
    match (s.max_ttft_ms, strategy) {
        (Some(ms), Strategy::CostWithinLatency) if (1..=MAX_TTFT_MS).contains(&ms) => {
            out.max_ttft = Some(Duration::from_millis(ms));
        }
        (Some(ms), Strategy::CostWithinLatency) => cx.err(
            key_path(&bpath, "max_ttft_ms"),
            format!("{ms} is out of range: 1 to {MAX_TTFT_MS}"),
        ),
        (Some(_), _) => cx.err(
            key_path(&bpath, "max_ttft_ms"),
            "only used with strategy cost_within_latency",
        ),
        (None, Strategy::CostWithinLatency) => cx.err(
            key_path(&bpath, "max_ttft_ms"),
            "is required by strategy cost_within_latency",
        ),
        (None, _) => {}
    }
    prefix(s, strategy, &bpath, &mut out, cx);
    out.prompt_cache_key = s.prompt_cache_key.unwrap_or(false);
    out
}

fn prefix(s: &BalanceSection, strategy: Strategy, bpath: &str, out: &mut Balance, cx: &mut Ctx) {
    let only = "only used with strategy prefix_affinity";
    if let Some(n) = s.prefix_tokens {
        let at = key_path(bpath, "prefix_tokens");
        if strategy != Strategy::PrefixAffinity {
            cx.err(at, only);
        } else if !PREFIX_TOKENS.contains(&n) {
            cx.err(
                at,
                format!(
                    "{n} is out of range: {} to {}",
                    PREFIX_TOKENS.start(),
                    PREFIX_TOKENS.end()
                ),
            );
        } else {
            out.prefix_chars = n as usize * 4;
        }
    }
    if let Some(f) = s.load_factor {
        let at = key_path(bpath, "load_factor");
        if strategy != Strategy::PrefixAffinity {
            cx.err(at, only);
        } else if !(f > 1.0 && f <= 10.0) {
            cx.err(at, format!("{f} is out of range: above 1 and at most 10"));
        } else {
            out.load_factor = f;
        }
    }
    estimate(s, strategy, bpath, out, cx);
}

/// The estimation-mode keys.
fn estimate(s: &BalanceSection, strategy: Strategy, bpath: &str, out: &mut Balance, cx: &mut Ctx) {
    let only = "only used with strategy prefix_affinity";
    let mut check = |name: &str, given: bool| {
        let wrong = given && strategy != Strategy::PrefixAffinity;
        if wrong {
            cx.err(key_path(bpath, name), only);
        }
        given && !wrong
    };
    let mode = check("prefix_mode", s.prefix_mode.is_some());
    let block = check("prefix_block_tokens", s.prefix_block_tokens.is_some());
    let lru = check("prefix_lru_blocks", s.prefix_lru_blocks.is_some());
    let factor = check("in_flight_factor", s.in_flight_factor.is_some());
    let min_match = check("prefix_min_match", s.prefix_min_match.is_some());
    match s.prefix_mode.as_deref() {
        Some("estimate") | None => {}
        Some("hash") if mode => out.prefix_mode = PrefixMode::Hash,
        Some(other) if mode => cx.err(
            key_path(bpath, "prefix_mode"),
            format!("unknown mode {other:?}: expected estimate or hash"),
        ),
        Some(_) => {}
    }
    let range = |cx: &mut Ctx, name: &str, n: u64, r: &std::ops::RangeInclusive<u64>| {
        let ok = r.contains(&n);
        if !ok {
            let msg = format!("{n} is out of range: {} to {}", r.start(), r.end());
            cx.err(key_path(bpath, name), msg);
        }
        ok
    };
    if let (true, Some(n)) = (block, s.prefix_block_tokens) {
        if range(cx, "prefix_block_tokens", n, &BLOCK_TOKENS) {
            out.prefix_block_chars = n as usize * 4;
        }
    }
    if let (true, Some(n)) = (lru, s.prefix_lru_blocks) {
        if range(cx, "prefix_lru_blocks", n, &LRU_BLOCKS) {
            out.prefix_lru_blocks = n as usize;
        }
    }
    if let (true, Some(m)) = (min_match, s.prefix_min_match) {
        if (0.0..=1.0).contains(&m) {
            out.prefix_min_match = m;
        } else {
            let msg = format!("{m} is out of range: 0 to 1");
            cx.err(key_path(bpath, "prefix_min_match"), msg);
        }
    }
    if let (true, Some(f)) = (factor, s.in_flight_factor) {
        if (1.0..=100.0).contains(&f) {
            out.in_flight_factor = f;
        } else {
            let msg = format!("{f} is out of range: 1 to 100");
            cx.err(key_path(bpath, "in_flight_factor"), msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    fn load(models: &str) -> Result<crate::config::Config, String> {
        let base = "auth: { mode: open }\nproviders:\n  - { name: a, format: openai, base_url: \"http://127.0.0.1:1\" }\nmodels:\n";
        load_str(&format!("{base}{models}"), &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_belong_to_their_strategy() {
        let ok = load("  - { name: m, strategy: cost_within_latency, balance: { max_ttft_ms: 800, expected_output_tokens: 50 }, targets: [{ provider: a, model: x }] }").expect("valid");
        let b = &ok.model("m").expect("m").balance;
        assert_eq!(b.max_ttft, Some(std::time::Duration::from_millis(800)));
        assert_eq!(b.expected_output_tokens, 50);
        let err = load(
            "  - { name: m, strategy: cost_within_latency, targets: [{ provider: a, model: x }] }
  - { name: n, strategy: weighted, balance: { max_ttft_ms: 5, expected_output_tokens: 9 }, targets: [{ provider: a, model: x }] }
  - { name: o, strategy: cheapest, balance: { expected_output_tokens: 0, colour: 1 }, targets: [{ provider: a, model: x }] }",
        )
        .unwrap_err();
        for needle in [
            "models[0].balance.max_ttft_ms: is required by strategy cost_within_latency",
            "models[1].balance.max_ttft_ms: only used with strategy cost_within_latency",
            "models[1].balance.expected_output_tokens: only used with strategy cheapest",
            "models[2]",
        ] {
            assert!(err.contains(needle), "{needle} in {err}");
        }
    }

    #[test]
    fn estimate_mode_keys_are_checked_with_their_paths() {
        use super::PrefixMode;
        let ok = load("  - { name: m, strategy: prefix_affinity, balance: { prefix_block_tokens: 32, prefix_lru_blocks: 4096, in_flight_factor: 3, prefix_min_match: 0.25 }, targets: [{ provider: a, model: x }] }\n  - { name: h, strategy: prefix_affinity, balance: { prefix_mode: hash }, targets: [{ provider: a, model: x }] }").expect("valid");
        let b = &ok.model("m").expect("m").balance;
        assert_eq!(b.prefix_mode, PrefixMode::Estimate);
        assert_eq!((b.prefix_block_chars, b.prefix_lru_blocks), (128, 4096));
        assert_eq!((b.in_flight_factor, b.prefix_min_match), (3.0, 0.25));
        assert_eq!(
            ok.model("h").expect("h").balance.prefix_mode,
            PrefixMode::Hash
        );
        let err = load(
            "  - { name: m, strategy: prefix_affinity, balance: { prefix_mode: exact, prefix_block_tokens: 1, prefix_lru_blocks: 10, in_flight_factor: 0.5, prefix_min_match: 2 }, targets: [{ provider: a, model: x }] }
  - { name: n, strategy: weighted, balance: { prefix_mode: hash, in_flight_factor: 2 }, targets: [{ provider: a, model: x }] }",
        )
        .unwrap_err();
        for needle in [
            "models[0].balance.prefix_mode: unknown mode \"exact\": expected estimate or hash",
            "models[0].balance.prefix_block_tokens: 1 is out of range: 4 to 4096",
            "models[0].balance.prefix_lru_blocks: 10 is out of range: 64 to 4194304",
            "models[0].balance.in_flight_factor: 0.5 is out of range: 1 to 100",
            "models[0].balance.prefix_min_match: 2 is out of range: 0 to 1",
            "models[1].balance.prefix_mode: only used with strategy prefix_affinity",
            "models[1].balance.in_flight_factor: only used with strategy prefix_affinity",
        ] {
            assert!(err.contains(needle), "{needle} in {err}");
        }
    }
}
