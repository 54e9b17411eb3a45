//! Bodies tollgate answers by itself, in the client's dialect: errors (whole bodies and
//! in-band stream events) and the model list. The shapes belong to the format modules
//! (`openai_chat::render`, `anthropic_messages::render`); this only picks the dialect,
//! so `error.rs` knows no wire shape. The error methods are defined here, on
//! [`GatewayError`] itself, so every caller renders through `err.body(dialect)`.

use serde_json::Value;

use super::{anthropic_messages, gemini, openai_chat, openai_responses};
use crate::error::{Dialect, GatewayError};

impl GatewayError {
    /// The JSON value of the error body in the given dialect.
    pub fn to_json(&self, dialect: Dialect) -> Value {
        match dialect {
            Dialect::OpenAi => openai_chat::render::render_error(self),
            Dialect::Anthropic => anthropic_messages::render::render_error(self),
            Dialect::OpenAiResponses => openai_responses::render::render_error(self),
            Dialect::Gemini => gemini::render::render_error(self),
        }
    }

    /// The whole error response body in the given dialect.
    pub fn body(&self, dialect: Dialect) -> Vec<u8> {
        self.to_json(dialect).to_string().into_bytes()
    }

    /// An in-band SSE error event for a stream that already started, in the given
    /// dialect. OpenAI SDKs raise on a `data:` chunk carrying an `error` object;
    /// Anthropic SDKs on an `event: error`.
    pub fn sse_event(&self, dialect: Dialect) -> Vec<u8> {
        match dialect {
            Dialect::OpenAi => format!("data: {}\n\n", self.to_json(dialect)).into_bytes(),
            Dialect::Anthropic => {
                format!("event: error\ndata: {}\n\n", self.to_json(dialect)).into_bytes()
            }
            Dialect::OpenAiResponses => openai_responses::render::error_event(self),
            // Gemini streams are bare `data:` chunks; the SDKs raise on an `error` one.
            Dialect::Gemini => gemini::stream_write::error_chunk(self),
        }
    }
}

/// The `GET /v1/models` body listing `names` in the given dialect.
pub fn render_model_list<'a>(dialect: Dialect, names: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let value = match dialect {
        Dialect::OpenAi | Dialect::OpenAiResponses => openai_chat::render::render_model_list(names),
        Dialect::Anthropic => anthropic_messages::render::render_model_list(names),
        Dialect::Gemini => gemini::render::render_model_list(names),
    };
    value.to_string().into_bytes()
}

/// The `GET /v1/models/{id}` (Gemini: `/v1beta/models/{model}`) body: the model's
/// entry of the list, in the same dialect.
pub fn render_model(dialect: Dialect, name: &str) -> Vec<u8> {
    let list = match dialect {
        Dialect::OpenAi | Dialect::OpenAiResponses => {
            openai_chat::render::render_model_list(std::iter::once(name))
        }
        Dialect::Anthropic => anthropic_messages::render::render_model_list(std::iter::once(name)),
        Dialect::Gemini => gemini::render::render_model_list(std::iter::once(name)),
    };
    let entry = list
        .get("data")
        .or_else(|| list.get("models"))
        .and_then(|items| items.get(0))
        .cloned()
        .unwrap_or_default();
    entry.to_string().into_bytes()
}

/// Google's `status` name (`google.rpc.Code`) for an HTTP status, for the answers
/// written before a request is parsed (`edge::refusal`).
pub fn google_status_name(code: u16) -> &'static str {
    gemini::render::status_name(code)
}

/// The answer to a token count tollgate makes itself (see `estimate_prompt_tokens`),
/// in the shape of the dialect's count endpoint.
pub fn render_token_count(dialect: Dialect, tokens: u64) -> Vec<u8> {
    let value = match dialect {
        Dialect::Gemini => gemini::render::render_token_count(tokens),
        Dialect::OpenAi | Dialect::Anthropic | Dialect::OpenAiResponses => {
            serde_json::json!({ "input_tokens": tokens })
        }
    };
    value.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn sse_event_is_framed() {
        let e = GatewayError::new(ErrorKind::UpstreamTimeout, "stalled");
        let ev = String::from_utf8(e.sse_event(Dialect::Anthropic)).unwrap_or_default();
        assert!(ev.starts_with("event: error\ndata: {"));
        assert!(ev.ends_with("\n\n"));
        let ev = String::from_utf8(e.sse_event(Dialect::OpenAi)).unwrap_or_default();
        assert!(ev.starts_with("data: {\"error\":"));
    }

    #[test]
    fn body_is_the_json_value() {
        let e = GatewayError::new(ErrorKind::Forbidden, "no");
        assert_eq!(
            e.body(Dialect::OpenAi),
            e.to_json(Dialect::OpenAi).to_string().into_bytes()
        );
    }
}
