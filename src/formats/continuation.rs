//! Mid-stream failover, the wire side: what the client has seen of a stream
//! ([`Tap`]), the request that asks another upstream to continue it
//! ([`continuation_body`]), and the rewrite that makes the continuation the rest of the
//! same client stream ([`Splice`]).
//!
//! Everything here works in the client's dialect, on the bytes the client received,
//! so it does not matter which format the failed and the continuing upstreams speak.
//! A stream is resumable while all the client saw is the text of one open block (a
//! plain answer being written); a tool call, reasoning or a finished block is not
//! continued.
//!
//! - OpenAI clients: the continuation's chunks get the first stream's `id`, lose the
//!   repeated `role`, and the usage adds the partial output's estimated tokens.
//! - Anthropic clients: the continuation's `message_start` and the start of its first
//!   text block are dropped (the client's block 0 is still open), the rest passes, and
//!   `message_delta` usage adds the partial output's estimated tokens.
//!
//! The continuation request is the original one plus a trailing assistant message
//! holding the partial text: a prefill that Anthropic continues exactly; OpenAI-format
//! models read it as their own unfinished answer and write the rest.

use serde_json::{json, Value};

use crate::error::Dialect;
use crate::model::StreamEvent;
use crate::sse::{SseDecoder, SseError, SseEventRef};

use super::anthropic_messages::stream::AnthropicDecoder;
use super::openai_chat::stream::OpenAiDecoder;
use super::stream::Decoder;

/// Largest partial answer carried into a continuation request.
const MAX_PARTIAL_BYTES: usize = 1024 * 1024;

/// What the client has received of a stream so far.
pub struct Tap {
    sse: SseDecoder,
    decoder: ClientDecoder,
    id: Option<String>,
    text: String,
    resumable: bool,
}

enum ClientDecoder {
    OpenAi(OpenAiDecoder),
    Anthropic(AnthropicDecoder),
    None,
}

impl Tap {
    pub fn new(dialect: Dialect) -> Tap {
        let decoder = match dialect {
            Dialect::OpenAi => ClientDecoder::OpenAi(OpenAiDecoder::default()),
            Dialect::Anthropic => ClientDecoder::Anthropic(AnthropicDecoder::default()),
            // The Responses stream repeats the whole text in its closing events, which
            // a spliced continuation could not make right: never continued.
            Dialect::OpenAiResponses => ClientDecoder::None,
            // Gemini chunks carry no index to splice by; not continued either.
            Dialect::Gemini => ClientDecoder::None,
        };
        let resumable = !matches!(decoder, ClientDecoder::None);
        Tap {
            sse: SseDecoder::new(),
            decoder,
            id: None,
            text: String::new(),
            resumable,
        }
    }

    /// Bytes that went to the client.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.resumable {
            return;
        }
        let Self {
            sse,
            decoder,
            id,
            text,
            resumable,
        } = self;
        let result: Result<(), SseError> = sse.feed_with(bytes, |event| {
            decoder.decode(event, &mut |ev| note(ev, id, text, resumable));
            Ok(())
        });
        if result.is_err() || self.text.len() > MAX_PARTIAL_BYTES {
            self.resumable = false;
        }
    }

    /// The partial answer, when the stream can be continued from it.
    pub fn partial(&self) -> Option<&str> {
        (self.resumable && !self.text.is_empty()).then_some(self.text.as_str())
    }

    /// The stream's id as the client saw it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl ClientDecoder {
    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F) {
        match self {
            ClientDecoder::OpenAi(d) => d.decode(event, sink),
            ClientDecoder::Anthropic(d) => d.decode(event, sink),
            ClientDecoder::None => {}
        }
    }
}

fn note(ev: StreamEvent<'_>, id: &mut Option<String>, text: &mut String, resumable: &mut bool) {
    match ev {
        StreamEvent::MessageStart { id: start_id, .. } => {
            if id.is_none() && !start_id.is_empty() {
                *id = Some(start_id.into_owned());
            }
        }
        StreamEvent::TextDelta { index: 0, text: t } => text.push_str(&t),
        StreamEvent::Usage(_) => {}
        // Anything but the text of the first block: not continued.
        _ => *resumable = false,
    }
}

/// The client's request with the partial answer appended as a trailing assistant
/// message (Anthropic rejects trailing whitespace there, so it is trimmed).
pub fn continuation_body(dialect: Dialect, body: &[u8], partial: &str) -> Option<Vec<u8>> {
    let mut request: Value = serde_json::from_slice(body).ok()?;
    let messages = request.get_mut("messages")?.as_array_mut()?;
    let content = match dialect {
        Dialect::Anthropic => partial.trim_end(),
        Dialect::OpenAi => partial,
        Dialect::OpenAiResponses | Dialect::Gemini => return None,
    };
    messages.push(json!({"role": "assistant", "content": content}));
    serde_json::to_vec(&request).ok()
}

/// Rewrites a continuation's client-dialect stream into the rest of the first one.
pub struct Splice {
    dialect: Dialect,
    sse: SseDecoder,
    id: Option<String>,
    /// Estimated output tokens of the partial answer, added to the usage.
    partial_tokens: u64,
}

impl Splice {
    pub fn new(dialect: Dialect, id: Option<&str>, partial: &str) -> Splice {
        Splice {
            dialect,
            sse: SseDecoder::new(),
            id: id.map(str::to_string),
            partial_tokens: (partial.len() as u64).div_ceil(4),
        }
    }

    /// Rewrite `bytes` (complete or partial events) into `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let Self {
            dialect,
            sse,
            id,
            partial_tokens,
        } = self;
        let _: Result<(), SseError> = sse.feed_with(bytes, |event| {
            match dialect {
                Dialect::OpenAi => openai_event(event.data, id.as_deref(), *partial_tokens, out),
                Dialect::Anthropic => anthropic_event(event.data, *partial_tokens, out),
                Dialect::OpenAiResponses | Dialect::Gemini => write_event(out, None, event.data),
            }
            Ok(())
        });
    }
}

fn openai_event(data: &[u8], id: Option<&str>, partial_tokens: u64, out: &mut Vec<u8>) {
    let Ok(mut chunk) = serde_json::from_slice::<Value>(data) else {
        // `[DONE]` and anything that is not JSON pass as they are.
        write_event(out, None, data);
        return;
    };
    if let (Some(id), Some(obj)) = (id, chunk.as_object_mut()) {
        if obj.contains_key("id") {
            obj.insert("id".into(), json!(id));
        }
    }
    let mut meaningful = chunk.get("choices").is_none() || chunk["usage"].is_object();
    if let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) {
        for choice in choices {
            if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                delta.remove("role");
                meaningful |= delta.values().any(|v| !v.is_null() && v != "");
            }
            meaningful |= !choice["finish_reason"].is_null();
        }
    }
    if let Some(usage) = chunk.get_mut("usage").and_then(Value::as_object_mut) {
        add_tokens(usage, "completion_tokens", partial_tokens);
        add_tokens(usage, "total_tokens", partial_tokens);
    }
    if meaningful {
        write_json_event(out, None, &chunk);
    }
}

fn anthropic_event(data: &[u8], partial_tokens: u64, out: &mut Vec<u8>) {
    let Ok(mut event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let kind = event["type"].as_str().unwrap_or_default().to_string();
    match kind.as_str() {
        "message_start" => return,
        "content_block_start"
            if event["index"] == 0 && event["content_block"]["type"] == "text" =>
        {
            return
        }
        "message_delta" => {
            if let Some(usage) = event.get_mut("usage").and_then(Value::as_object_mut) {
                add_tokens(usage, "output_tokens", partial_tokens);
            }
        }
        _ => {}
    }
    write_json_event(out, Some(&kind), &event);
}

fn add_tokens(usage: &mut serde_json::Map<String, Value>, key: &str, n: u64) {
    if let Some(v) = usage.get(key).and_then(Value::as_u64) {
        usage.insert(key.into(), json!(v + n));
    }
}

fn write_json_event(out: &mut Vec<u8>, event: Option<&str>, value: &Value) {
    if let Ok(data) = serde_json::to_vec(value) {
        write_event(out, event, &data);
    }
}

fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI_FIRST: &str = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" wor\"},\"finish_reason\":null}]}\n\n",
    );

    #[test]
    fn the_tap_keeps_the_text_the_client_saw() {
        let mut tap = Tap::new(Dialect::OpenAi);
        for piece in OPENAI_FIRST.as_bytes().chunks(7) {
            tap.feed(piece);
        }
        assert_eq!(tap.partial(), Some("Hello wor"));
        assert_eq!(tap.id(), Some("chatcmpl-1"));
    }

    #[test]
    fn a_tool_call_is_not_resumable() {
        let mut tap = Tap::new(Dialect::OpenAi);
        tap.feed(OPENAI_FIRST.as_bytes());
        tap.feed(b"data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n");
        assert_eq!(tap.partial(), None);
    }

    #[test]
    fn openai_continuation_takes_the_first_id_and_sums_usage() {
        let mut splice = Splice::new(Dialect::OpenAi, Some("chatcmpl-1"), "Hello wor");
        let cont = concat!(
            "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ld\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n",
            "data: [DONE]\n\n",
        );
        let mut out = Vec::new();
        for piece in cont.as_bytes().chunks(5) {
            splice.feed(piece, &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("chatcmpl-2"), "{text}");
        assert!(!text.contains("role"), "{text}");
        assert_eq!(
            text.matches("data: ").count(),
            4,
            "the role-only chunk is dropped: {text}"
        );
        assert!(text.contains("\"completion_tokens\":4"), "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"));
        // Spliced after the first part, the client's text reads as one answer.
        let mut tap = Tap::new(Dialect::OpenAi);
        tap.feed(OPENAI_FIRST.as_bytes());
        let before_finish = text.split("data: ").nth(1).unwrap_or_default();
        tap.feed(format!("data: {before_finish}").as_bytes());
        assert_eq!(tap.partial(), Some("Hello world"));
        assert_eq!(tap.id(), Some("chatcmpl-1"));
    }

    #[test]
    fn anthropic_continuation_continues_block_zero() {
        let first = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"c\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello \"}}\n\n",
        );
        let mut tap = Tap::new(Dialect::Anthropic);
        tap.feed(first.as_bytes());
        assert_eq!(tap.partial(), Some("Hello "));
        assert_eq!(tap.id(), Some("msg_1"));
        let body = continuation_body(
            Dialect::Anthropic,
            br#"{"model":"x","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}"#,
            "Hello ",
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["messages"][1],
            json!({"role": "assistant", "content": "Hello"})
        );
        let cont = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"world\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let mut splice = Splice::new(Dialect::Anthropic, tap.id(), "Hello ");
        let mut out = Vec::new();
        splice.feed(cont.as_bytes(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("message_start") && !text.contains("content_block_start"));
        assert!(text.contains("\"output_tokens\":4"), "{text}");
        assert!(text.starts_with("event: content_block_delta\n"), "{text}");
    }
}
