//! Anthropic Messages non-streaming responses ⇄ canonical [`ChatResponse`], stop
//! reasons and usage.

use std::borrow::Cow;

use serde::Deserialize;

use super::wire::*;
use super::JSON_TOOL;
use crate::error::{ErrorKind, GatewayError};
use crate::model::*;

/// Anthropic counts cache reads and writes apart from `input_tokens`.
pub(crate) const ACCOUNTING: CacheAccounting = CacheAccounting::Exclusive;

/// Parse an upstream Anthropic message into the canonical response. A call of the
/// JSON-mode tool becomes the text answer it stands for.
pub(crate) fn read(body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    let w: ResponseIn<'_> = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid message: {e}"),
        )
    })?;
    let mut content = Vec::with_capacity(w.content.len());
    let mut json_answer = false;
    for b in w.content {
        match b.kind.as_str() {
            "text" => content.extend(b.text.map(|t| ContentPart::Text(t.0))),
            "thinking" => content.push(ContentPart::Reasoning {
                text: b.thinking.map(|t| t.0).unwrap_or_default(),
                signature: b.signature.map(|s| s.0),
            }),
            "redacted_thinking" => {
                content.extend(b.data.map(|d| ContentPart::RedactedReasoning(d.0)))
            }
            "tool_use" if b.name.as_ref().is_some_and(|n| n.as_str() == JSON_TOOL) => {
                json_answer = true;
                content.push(ContentPart::Text(Cow::Owned(
                    b.input.unwrap_or_default().to_string(),
                )));
            }
            "tool_use" => content.push(ContentPart::ToolCall(ToolCall {
                id: b.id.map(|i| i.0).unwrap_or_default(),
                name: b.name.map(|n| n.0).unwrap_or_default(),
                arguments: Cow::Owned(b.input.unwrap_or_default().to_string()),
            })),
            // Server-tool blocks (web search and the like) have no equivalent elsewhere.
            _ => {}
        }
    }
    let mut finish_reason = w.stop_reason.map(|r| stop_reason(r.as_str()));
    let has_calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall(_)));
    if json_answer && !has_calls && finish_reason == Some(FinishReason::ToolCalls) {
        finish_reason = Some(FinishReason::Stop);
    }
    Ok(ChatResponse {
        id: w.id.0,
        model: w.model.0,
        created: None,
        content,
        finish_reason,
        stop_sequence: w.stop_sequence.map(|s| s.0),
        usage: usage_from_wire(&w.usage),
    })
}

/// Write the canonical response as an Anthropic message for `public_model`.
pub(crate) fn write(resp: &ChatResponse<'_>, public_model: &str) -> Result<Vec<u8>, GatewayError> {
    let mut content = Vec::with_capacity(resp.content.len());
    for part in &resp.content {
        content.push(match part {
            ContentPart::Text(t) | ContentPart::Refusal(t) => BlockOut::Text {
                text: t,
                cache_control: None,
            },
            ContentPart::Reasoning { text, signature } => BlockOut::Thinking {
                thinking: text,
                signature: signature.as_deref().unwrap_or(""),
            },
            ContentPart::RedactedReasoning(data) => BlockOut::RedactedThinking { data },
            ContentPart::ToolCall(c) => BlockOut::ToolUse {
                id: &c.id,
                name: &c.name,
                input: crate::formats::common::arguments_object(&c.arguments),
                cache_control: None,
            },
            _ => continue,
        });
    }
    let out = ResponseOut {
        id: &resp.id,
        kind: "message",
        role: "assistant",
        model: public_model,
        content,
        stop_reason: Some(stop_reason_str(
            resp.finish_reason.as_ref().unwrap_or(&FinishReason::Stop),
        )),
        stop_sequence: resp.stop_sequence.as_deref(),
        usage: usage_to_wire(&resp.usage),
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising response: {e}")))
}

/// `stop_reason` → canonical.
pub(crate) fn stop_reason(r: &str) -> FinishReason {
    match r {
        "end_turn" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "stop_sequence" => FinishReason::StopSequence,
        "tool_use" => FinishReason::ToolCalls,
        "pause_turn" => FinishReason::PauseTurn,
        "refusal" => FinishReason::Refusal,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Canonical → `stop_reason`.
pub(crate) fn stop_reason_str(r: &FinishReason) -> &'static str {
    match r {
        FinishReason::Stop | FinishReason::Other(_) => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::StopSequence => "stop_sequence",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::PauseTurn => "pause_turn",
        FinishReason::ContentFilter | FinishReason::Refusal => "refusal",
    }
}

/// Wire usage → canonical; Anthropic's accounting is the canonical one.
pub(crate) fn usage_from_wire(u: &UsageWire) -> Usage {
    Usage {
        input_tokens: u.input_tokens.unwrap_or(0),
        output_tokens: u.output_tokens.unwrap_or(0),
        cache_read_tokens: u.cache_read_input_tokens.unwrap_or(0),
        cache_write_tokens: u.cache_creation_input_tokens.unwrap_or(0),
        reasoning_tokens: 0,
    }
}

/// Canonical usage → wire (all four counts, as the API reports them).
pub(crate) fn usage_to_wire(u: &Usage) -> UsageWire {
    UsageWire {
        input_tokens: Some(u.input_tokens),
        output_tokens: Some(u.output_tokens),
        cache_creation_input_tokens: Some(u.cache_write_tokens),
        cache_read_input_tokens: Some(u.cache_read_tokens),
    }
}

/// `None` when the body is not one JSON document; else its usage (zero when it
/// has none). Usage of a same-format response body without reading the content.
pub(crate) fn usage_probe(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct Probe {
        usage: Option<UsageWire>,
    }
    crate::json::from_body::<Probe>(body)
        .ok()
        .map(|p| p.usage.map(|u| usage_from_wire(&u)).unwrap_or_default())
}

/// The usage at the start of `value` (the `usage` member's value, or `null`).
pub(crate) fn usage_value(value: &[u8]) -> Option<Usage> {
    crate::json::leading_value::<Option<UsageWire>>(value)
        .ok()
        .map(|u| u.map(|u| usage_from_wire(&u)).unwrap_or_default())
}
