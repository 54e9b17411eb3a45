//! Canonical non-streaming chat response and finish reasons.

use std::borrow::Cow;

use super::request::ContentPart;
use super::Usage;

/// A complete model answer (the first choice, for formats with several).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse<'a> {
    /// The upstream's response id, passed on as is.
    pub id: Cow<'a, str>,
    pub model: Cow<'a, str>,
    /// Unix seconds, when the upstream said.
    pub created: Option<u64>,
    /// Text, reasoning, refusal and tool-call parts in the order produced.
    pub content: Vec<ContentPart<'a>>,
    pub finish_reason: Option<FinishReason>,
    /// The stop sequence that ended generation, when the upstream says which.
    pub stop_sequence: Option<Cow<'a, str>>,
    /// Usage in canonical accounting (see [`super::CacheAccounting`]).
    pub usage: Usage,
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end of turn.
    Stop,
    /// Hit `max_tokens` (or the context window).
    Length,
    ToolCalls,
    ContentFilter,
    /// A client stop sequence matched.
    StopSequence,
    /// Anthropic `pause_turn`: a long server-tool turn to be continued.
    PauseTurn,
    /// The model refused (Anthropic `refusal`).
    Refusal,
    /// A reason this model does not know, kept verbatim.
    Other(String),
}
