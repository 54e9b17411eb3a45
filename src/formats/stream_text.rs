//! The answer text inside client-dialect stream events, for output guardrails that
//! scan what the client is about to receive (after any translation). Each client
//! dialect says where the text of a content delta sits in its event and which events
//! end the answer's text (`openai_chat::stream_text`, `anthropic_messages::stream_text`);
//! a replacement is spliced into the event's bytes, every other byte stays as it was.
//! No `serde_json::Value` is built: the events are walked with the JSON scanner.

use std::borrow::Cow;

use super::{anthropic_messages, gemini, openai_chat, openai_responses, Dialect};
use crate::json::scan::Span;

/// What one event means for the answer's text.
#[derive(Debug, PartialEq, Eq)]
pub enum EventText<'a> {
    /// A content delta carrying this text.
    Delta(TextDelta<'a>),
    /// The answer's text is over (finish, block stop, `[DONE]`, anything not JSON):
    /// held-back text must go out before this event.
    End,
    /// Nothing to do with the text.
    Other,
}

/// The text of a content delta and where it sits in its event.
#[derive(Debug, PartialEq, Eq)]
pub struct TextDelta<'a> {
    pub text: Cow<'a, str>,
    pub slot: TextSlot,
}

/// Where a delta's text (a JSON string literal, quotes included) sits in its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSlot(pub(crate) Span);

impl TextSlot {
    /// The event `data` with its text replaced by `text`.
    pub fn fill(self, data: &[u8], text: &str) -> Vec<u8> {
        // Serializing a &str cannot fail; an empty literal keeps the event valid.
        let literal = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string());
        let mut out = Vec::with_capacity(data.len() + literal.len());
        out.extend_from_slice(&data[..self.0.start]);
        out.extend_from_slice(literal.as_bytes());
        out.extend_from_slice(&data[self.0.end..]);
        out
    }
}

/// What the event `data` of a stream in `dialect` means for the answer's text.
pub fn classify(dialect: Dialect, data: &[u8]) -> EventText<'_> {
    match dialect {
        Dialect::OpenAi => openai_chat::stream_text::classify(data),
        Dialect::Anthropic => anthropic_messages::stream_text::classify(data),
        Dialect::OpenAiResponses => openai_responses::stream_text::classify(data),
        Dialect::Gemini => gemini::stream_text::classify(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(dialect: Dialect, data: &str) -> (String, TextSlot) {
        match classify(dialect, data.as_bytes()) {
            EventText::Delta(d) => (d.text.into_owned(), d.slot),
            other => panic!("{data}: {other:?}"),
        }
    }

    #[test]
    fn openai_deltas_and_ends() {
        let data = r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"a\"b"},"finish_reason":null}]}"#;
        let (text, slot) = delta(Dialect::OpenAi, data);
        assert_eq!(text, "a\"b");
        assert_eq!(
            String::from_utf8(slot.fill(data.as_bytes(), "x\ny")).unwrap(),
            r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"x\ny"},"finish_reason":null}]}"#
        );
        let end = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(classify(Dialect::OpenAi, end.as_bytes()), EventText::End);
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(classify(Dialect::OpenAi, usage.as_bytes()), EventText::End);
        assert_eq!(classify(Dialect::OpenAi, b"[DONE]"), EventText::End);
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
        assert_eq!(classify(Dialect::OpenAi, role.as_bytes()), EventText::Other);
        let null = r#"{"choices":[{"delta":{"content":null,"tool_calls":[]}}]}"#;
        assert_eq!(classify(Dialect::OpenAi, null.as_bytes()), EventText::Other);
    }

    #[test]
    fn anthropic_deltas_and_ends() {
        let data =
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#;
        assert_eq!(delta(Dialect::Anthropic, data).0, "hi");
        let json = r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"}}"#;
        assert_eq!(
            classify(Dialect::Anthropic, json.as_bytes()),
            EventText::Other
        );
        for t in ["content_block_stop", "message_delta", "message_stop"] {
            let data = format!(r#"{{"type":"{t}","index":0}}"#);
            assert_eq!(
                classify(Dialect::Anthropic, data.as_bytes()),
                EventText::End
            );
        }
        let ping = r#"{"type":"ping"}"#;
        assert_eq!(
            classify(Dialect::Anthropic, ping.as_bytes()),
            EventText::Other
        );
    }
}
