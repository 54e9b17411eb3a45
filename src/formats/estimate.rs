//! Rough prompt-token estimate of a request body: a quarter of the characters of its
//! text content (messages, tool calls and results, tool definitions), plus a flat
//! amount per image. Good enough for `count_tokens` and limit admission, which need a
//! fast upper-ish bound, not the provider's tokenizer.

use super::{anthropic_messages, gemini, openai_chat, openai_responses, Dialect};
use crate::model::{ChatRequest, ContentPart, ResponseFormat};

/// Tokens counted per image: about what Anthropic bills a 1.15-megapixel image.
const IMAGE_TOKENS: u64 = 1600;

/// Estimate the prompt tokens of a request body in `dialect`. A body that does not
/// parse is estimated from its length.
pub fn estimate_prompt_tokens(dialect: Dialect, body: &[u8]) -> u64 {
    match read(dialect, body) {
        Ok(req) => estimate(&req),
        Err(_) => (body.len() as u64).div_ceil(4),
    }
}

fn read(dialect: Dialect, body: &[u8]) -> Result<ChatRequest<'_>, crate::error::GatewayError> {
    match dialect {
        Dialect::OpenAi => openai_chat::request::read(body),
        Dialect::Anthropic => anthropic_messages::request::read(body),
        Dialect::OpenAiResponses => openai_responses::request::read(body),
        Dialect::Gemini => gemini::request_read::read(body),
    }
}

/// What a request asks of a model, read in the same single parse as the estimate:
/// what capability-aware and cost-aware routing look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestShape {
    pub prompt_tokens: u64,
    pub max_tokens: Option<u64>,
    pub images: bool,
    pub tools: bool,
    /// `response_format` JSON object or schema.
    pub json_output: bool,
    /// Reasoning asked for (`reasoning_effort`, `thinking` enabled).
    pub reasoning: bool,
}

/// The shape of a request body in `dialect`; a body that does not parse has only its
/// length-based estimate.
pub fn request_shape(dialect: Dialect, body: &[u8]) -> RequestShape {
    let Ok(req) = read(dialect, body) else {
        return RequestShape {
            prompt_tokens: (body.len() as u64).div_ceil(4),
            ..RequestShape::default()
        };
    };
    let (mut chars, mut images) = (0, 0);
    for m in &req.messages {
        count_parts(&m.content, &mut chars, &mut images);
    }
    RequestShape {
        prompt_tokens: estimate(&req),
        max_tokens: req.max_tokens,
        images: images > 0,
        tools: !req.tools.is_empty(),
        json_output: matches!(
            req.response_format,
            Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
        ),
        reasoning: req
            .reasoning
            .as_ref()
            .is_some_and(|r| r.enabled && (r.effort.is_some() || r.budget_tokens.is_some())),
    }
}

fn estimate(req: &ChatRequest<'_>) -> u64 {
    let mut chars = 0u64;
    let mut images = 0u64;
    for m in &req.messages {
        count_parts(&m.content, &mut chars, &mut images);
    }
    for t in &req.tools {
        chars += char_len(&t.name) + t.description.as_deref().map_or(0, char_len);
        if !t.parameters.is_null() {
            chars += char_len(&t.parameters.to_string());
        }
    }
    chars.div_ceil(4) + images * IMAGE_TOKENS
}

fn count_parts(parts: &[ContentPart<'_>], chars: &mut u64, images: &mut u64) {
    for p in parts {
        match p {
            ContentPart::Text(t) | ContentPart::Refusal(t) => *chars += char_len(t),
            ContentPart::Reasoning { text, .. } => *chars += char_len(text),
            ContentPart::ToolCall(c) => *chars += char_len(&c.name) + char_len(&c.arguments),
            ContentPart::ToolResult(r) => count_parts(&r.content, chars, images),
            ContentPart::Image(_) => *images += 1,
            ContentPart::RedactedReasoning(_) | ContentPart::CacheBreakpoint(_) => {}
        }
    }
}

fn char_len(s: &str) -> u64 {
    s.chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_text_tools_and_images() {
        let body = br#"{"model":"m","messages":[
            {"role":"system","content":"12345678"},
            {"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c","content":"ok"}]}"#;
        // 8 + 4 + (1 + 2) + 2 = 17 chars -> 5 tokens, plus one image.
        assert_eq!(
            estimate_prompt_tokens(Dialect::OpenAi, body),
            5 + IMAGE_TOKENS
        );
        let anthropic = r#"{"model":"m","max_tokens":1,"system":"ééé","messages":[{"role":"user","content":"héllo"}]}"#;
        assert_eq!(
            estimate_prompt_tokens(Dialect::Anthropic, anthropic.as_bytes()),
            2
        );
        assert_eq!(
            estimate_prompt_tokens(Dialect::OpenAi, b"not json at all!"),
            4
        );
    }
}
