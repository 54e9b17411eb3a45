//! How formats count cached prompt tokens, and conversion to and from the canonical
//! accounting.
//!
//! Canonical accounting keeps disjoint buckets: `input_tokens` counts only uncached
//! input, `cache_read_tokens` and `cache_write_tokens` the rest (Anthropic's way).
//! OpenAI's `prompt_tokens` instead includes the cached tokens. [`Usage`] values
//! handed to the rest of the gateway follow the upstream format's own convention,
//! as `usage.rs` documents; this module converts at those edges.

use super::Usage;

/// Whether a format's input count includes cached tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAccounting {
    /// Input count includes cache reads and writes (OpenAI `prompt_tokens`).
    Inclusive,
    /// Input count excludes them (Anthropic `input_tokens`); also the canonical form.
    Exclusive,
}

impl CacheAccounting {
    /// Convert a usage in this accounting to canonical (exclusive) accounting.
    pub fn to_canonical(self, u: Usage) -> Usage {
        match self {
            CacheAccounting::Exclusive => u,
            CacheAccounting::Inclusive => Usage {
                input_tokens: u
                    .input_tokens
                    .saturating_sub(u.cache_read_tokens + u.cache_write_tokens),
                ..u
            },
        }
    }

    /// Convert a canonical usage to this accounting.
    pub fn from_canonical(self, u: Usage) -> Usage {
        match self {
            CacheAccounting::Exclusive => u,
            CacheAccounting::Inclusive => Usage {
                input_tokens: u.input_tokens + u.cache_read_tokens + u.cache_write_tokens,
                ..u
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_round_trip() {
        let openai = Usage {
            input_tokens: 1000,
            output_tokens: 10,
            cache_read_tokens: 800,
            ..Usage::default()
        };
        let canonical = CacheAccounting::Inclusive.to_canonical(openai);
        assert_eq!(canonical.input_tokens, 200);
        assert_eq!(CacheAccounting::Inclusive.from_canonical(canonical), openai);
        assert_eq!(
            CacheAccounting::Exclusive.from_canonical(canonical),
            canonical
        );
    }
}
