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
}

impl Default for Balance {
    fn default() -> Self {
        Balance {
            expected_output_tokens: DEFAULT_EXPECTED_OUTPUT,
            max_ttft: None,
            prefix_chars: DEFAULT_PREFIX_TOKENS as usize * 4,
            load_factor: DEFAULT_LOAD_FACTOR,
            prompt_cache_key: false,
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
}
