//! Token usage of one request, as reported by the upstream.

use serde::{Deserialize, Serialize};

/// Token counts of one request. `input_tokens` excludes cached tokens when the
/// provider reports them separately (Anthropic); it includes them when the provider
/// does (OpenAI `prompt_tokens`), and `cache_read_tokens` then says how many of them were cached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}
