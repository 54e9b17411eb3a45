//! Wire formats: reading request envelopes, rewriting same-format bodies, and
//! translating requests, responses, streams and errors between formats.

mod envelope;
mod json_scan;

pub use crate::error::Dialect;
pub use envelope::{parse_envelope, parse_envelope_with, rewrite_same_format, Envelope};

/// Upstream wire formats. Providers are a base URL, auth and one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Chat Completions (OpenAI, Azure, vLLM, Ollama, Groq, Mistral, ...).
    OpenAiChat,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Google Gemini `generateContent` (not implemented yet).
    Gemini,
    /// AWS Bedrock Converse (not implemented yet).
    BedrockConverse,
}

impl WireFormat {
    /// The client dialect that speaks this format natively, if any: a request in that
    /// dialect goes through [`rewrite_same_format`] instead of a translation.
    pub fn native_dialect(self) -> Option<Dialect> {
        match self {
            WireFormat::OpenAiChat => Some(Dialect::OpenAi),
            WireFormat::AnthropicMessages => Some(Dialect::Anthropic),
            WireFormat::Gemini | WireFormat::BedrockConverse => None,
        }
    }
}
