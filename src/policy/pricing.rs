//! What a request cost: a price per model (operator overrides, then the built-in
//! table of [`super::pricing_table`]) applied to the upstream's [`Usage`].
//!
//! Providers disagree on whether "input tokens" include cached tokens: OpenAI,
//! Gemini and OpenAI-compatible servers count cached tokens inside `prompt_tokens`;
//! Anthropic (direct, Bedrock, Vertex) reports `input_tokens` *next to*
//! `cache_read_input_tokens` and `cache_creation_input_tokens`. [`Usage`] keeps the
//! provider's convention, so [`split_prompt`] decides by model family: Claude models
//! are exclusive, everything else inclusive; a cache read larger than the input can
//! only be exclusive. Reasoning tokens are taken to be part of `output_tokens` (as
//! OpenAI reports them) and are not charged twice.
//!
//! Lookups are cached per model name in a copy-on-write map (lock-free reads).

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::glob::Glob;
use super::pricing_table::BUILTIN;
use crate::config::governance::PriceConfig;
use crate::fx_hash::FxMap;
use crate::model::Usage;

const CACHE_CAP: usize = 1024;

/// Prompts above `above_tokens` are billed at `input_x` × input prices and `output_x` × output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongContext {
    pub above_tokens: u64,
    pub input_x: f64,
    pub output_x: f64,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cache reads; None = the input price.
    pub cached_input: Option<f64>,
    /// Cache writes; None = the input price.
    pub cache_write: Option<f64>,
    pub long_context: Option<LongContext>,
}

/// Prompt tokens by how they are billed, plus output tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenSplit {
    pub uncached: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
}

impl TokenSplit {
    /// All prompt tokens.
    pub fn prompt(&self) -> u64 {
        self.uncached + self.cache_read + self.cache_write
    }

    /// Prompt + output: what a tokens-per-minute limit counts.
    pub fn total(&self) -> u64 {
        self.prompt() + self.output
    }
}

/// Lower case, without `provider/`, `org/` paths, Bedrock region and vendor prefixes,
/// and with Vertex's `@version` turned into `-version`.
pub fn normalize(model: &str) -> String {
    let base = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let mut s = base.as_str();
    for region in ["us.", "eu.", "apac.", "global.", "us-gov."] {
        if let Some(rest) = s.strip_prefix(region) {
            s = rest;
            break;
        }
    }
    for vendor in [
        "anthropic.",
        "meta.",
        "mistral.",
        "amazon.",
        "cohere.",
        "deepseek.",
    ] {
        if let Some(rest) = s.strip_prefix(vendor) {
            s = rest;
            break;
        }
    }
    s.replace('@', "-")
}

/// Splits usage into billable parts for `model` (see the module docs for why by family).
pub fn split_prompt(model: &str, usage: &Usage) -> TokenSplit {
    let exclusive =
        usage.cache_read_tokens > usage.input_tokens || contains_ignore_case(model, "claude");
    let uncached = if exclusive {
        usage.input_tokens
    } else {
        usage
            .input_tokens
            .saturating_sub(usage.cache_read_tokens + usage.cache_write_tokens)
    };
    TokenSplit {
        uncached,
        cache_read: usage.cache_read_tokens,
        cache_write: usage.cache_write_tokens,
        output: usage.output_tokens,
    }
}

/// A case-insensitive substring test that allocates nothing (runs per request).
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

impl Price {
    /// USD for these tokens.
    pub fn cost(&self, t: &TokenSplit) -> f64 {
        let (ix, ox) = match self.long_context {
            Some(lc) if t.prompt() > lc.above_tokens => (lc.input_x, lc.output_x),
            _ => (1.0, 1.0),
        };
        let prompt = t.uncached as f64 * self.input
            + t.cache_read as f64 * self.cached_input.unwrap_or(self.input)
            + t.cache_write as f64 * self.cache_write.unwrap_or(self.input);
        (prompt * ix + t.output as f64 * self.output * ox) / 1_000_000.0
    }
}

/// The price book.
pub struct Pricing {
    overrides: Vec<(Glob, PriceConfig)>,
    builtin: Vec<(Glob, Price)>,
    cache: ArcSwap<FxMap<String, Option<Price>>>,
    /// `unpriced.action: default_price`: the price of every model not listed.
    fallback: Option<Price>,
}

impl Pricing {
    /// Overrides from config (tried in order), then the built-in table.
    pub fn new(overrides: &[PriceConfig]) -> Pricing {
        Pricing {
            overrides: overrides
                .iter()
                .map(|c| (Glob::new(&c.model), c.clone()))
                .collect(),
            builtin: BUILTIN.iter().map(|(g, p)| (Glob::new(g), *p)).collect(),
            cache: ArcSwap::from_pointee(FxMap::default()),
            fallback: None,
        }
    }

    /// Without the built-in table (`pricing_file` with `builtin: replace`): only the
    /// configured prices count.
    pub fn with_builtin(mut self, keep: bool) -> Pricing {
        if !keep {
            self.builtin.clear();
        }
        self
    }

    /// With `unpriced.action: default_price`, unlisted models cost the default price.
    pub fn with_fallback(mut self, policy: crate::config::UnpricedPolicy) -> Pricing {
        if let crate::config::UnpricedPolicy::DefaultPrice { input, output } = policy {
            self.fallback = Some(Price {
                input,
                output,
                cached_input: None,
                cache_write: None,
                long_context: None,
            });
        }
        self
    }

    /// Whether `model` has a price of its own (configured or built in), not the fallback.
    pub fn listed(&self, model: &str) -> bool {
        self.lookup(model).is_some()
    }

    fn builtin_price(&self, normalized: &str) -> Option<Price> {
        self.builtin
            .iter()
            .find(|(g, _)| g.matches(normalized))
            .map(|(_, p)| *p)
    }

    fn resolve(&self, model: &str) -> Option<Price> {
        let normalized = normalize(model);
        let builtin = self.builtin_price(&normalized);
        let over = self
            .overrides
            .iter()
            .find(|(g, _)| g.matches(model) || g.matches(&normalized))
            .map(|(_, c)| c);
        match over {
            None => builtin,
            Some(c) => {
                let base = builtin.unwrap_or(Price {
                    input: 0.0,
                    output: 0.0,
                    cached_input: None,
                    cache_write: None,
                    long_context: None,
                });
                Some(Price {
                    input: c.input_per_mtok.unwrap_or(base.input),
                    output: c.output_per_mtok.unwrap_or(base.output),
                    cached_input: c.cached_input_per_mtok.or(base.cached_input),
                    cache_write: c.cache_write_per_mtok.or(base.cache_write),
                    // An operator's price is the price: no hidden tier on top of it.
                    long_context: if c.input_per_mtok.is_some() {
                        None
                    } else {
                        base.long_context
                    },
                })
            }
        }
    }

    /// The price of `model` (an upstream model name): its own, else the
    /// `default_price` fallback; None when neither.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.lookup(model).or(self.fallback)
    }

    /// The model's own price (configured or built in), cached.
    fn lookup(&self, model: &str) -> Option<Price> {
        if let Some(hit) = self.cache.load().get(model) {
            return *hit;
        }
        let price = self.resolve(model);
        if self.cache.load().len() < CACHE_CAP {
            self.cache.rcu(|m| {
                let mut m = FxMap::clone(m);
                m.insert(model.to_string(), price);
                Arc::new(m)
            });
        }
        price
    }

    /// USD for `usage` on `model`; 0 for models without a price.
    pub fn cost(&self, model: &str, usage: &Usage) -> f64 {
        self.priced_cost(model, usage).unwrap_or(0.0)
    }

    /// The cost, or `None` when the model has no price.
    pub fn priced_cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.price(model)
            .map(|p| p.cost(&split_prompt(model, usage)))
    }
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;
