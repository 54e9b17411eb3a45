//! JSON without building values: one validating byte scanner (`scan`) and, on top of
//! it, the walk over every user-text string value that guardrails and token estimates
//! use (`texts`). Knows nothing of LLM APIs beyond the keys `texts` skips.

pub(crate) mod scan;
pub mod texts;

pub use texts::{rewrite_texts, text_bytes, Malformed};
