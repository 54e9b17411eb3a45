//! Bedrock `Converse` answers → canonical [`ChatResponse`]; stop reasons and usage,
//! shared with the stream decoder.
//!
//! Converse answers carry no id and no model name. The model is the one the client
//! asked for (the encoders write `public_model`); the id is made up once per answer
//! (see `ids`).

use std::borrow::Cow;

use serde::Deserialize;

use super::ids;
use super::wire::*;
use crate::error::{ErrorKind, GatewayError};
use crate::formats::anthropic_messages::JSON_TOOL;
use crate::model::*;

/// Bedrock counts cache reads and writes apart from `inputTokens`.
pub(crate) const ACCOUNTING: CacheAccounting = CacheAccounting::Exclusive;

/// Prefix of the made-up response ids.
pub(crate) const ID_PREFIX: &str = "bedrock-";

/// Parse a `Converse` answer. A call of the JSON-mode tool becomes the text answer
/// it stands for.
pub(crate) fn read(body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    let w: ResponseIn<'_> = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid Converse response: {e}"),
        )
    })?;
    let blocks = w.output.and_then(|o| o.message).map(|m| m.content);
    let mut content = Vec::new();
    let mut json_answer = false;
    for b in blocks.into_iter().flatten() {
        if let Some(t) = b.text {
            content.push(ContentPart::Text(t.0));
        } else if let Some(u) = b.tool_use {
            let input = Cow::Owned(u.input.unwrap_or_default().to_string());
            if u.name.as_str() == JSON_TOOL {
                json_answer = true;
                content.push(ContentPart::Text(input));
            } else {
                content.push(ContentPart::ToolCall(ToolCall {
                    id: u.tool_use_id.0,
                    name: u.name.0,
                    arguments: input,
                }));
            }
        } else if let Some(r) = b.reasoning_content {
            content.extend(reasoning(r));
        }
    }
    let has_calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall(_)));
    let finish_reason = w
        .stop_reason
        .map(|r| json_stop(stop_reason(r.as_str()), json_answer, has_calls));
    Ok(ChatResponse {
        id: Cow::Owned(ids::generate(ID_PREFIX)),
        model: Cow::Borrowed(""),
        created: None,
        content,
        finish_reason,
        stop_sequence: w
            .additional_model_response_fields
            .and_then(|f| f.stop_sequence)
            .map(|s| s.0),
        usage: w.usage.map(usage_from_wire).unwrap_or_default(),
    })
}

fn reasoning(r: ReasoningIn<'_>) -> Option<ContentPart<'_>> {
    if let Some(t) = r.reasoning_text {
        return Some(ContentPart::Reasoning {
            text: t.text.0,
            signature: t.signature.map(|s| s.0),
        });
    }
    r.redacted_content
        .map(|d| ContentPart::RedactedReasoning(d.0))
}

/// A forced JSON-tool call ends with `tool_use`, but the client asked for an answer.
pub(crate) fn json_stop(r: FinishReason, json_answer: bool, has_calls: bool) -> FinishReason {
    match r {
        FinishReason::ToolCalls if json_answer && !has_calls => FinishReason::Stop,
        r => r,
    }
}

/// `stopReason` → canonical.
pub(crate) fn stop_reason(r: &str) -> FinishReason {
    match r {
        "end_turn" => FinishReason::Stop,
        "tool_use" => FinishReason::ToolCalls,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "stop_sequence" => FinishReason::StopSequence,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Wire usage → canonical; Bedrock's accounting is the canonical one.
pub(crate) fn usage_from_wire(u: UsageIn) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens: u.cache_read_input_tokens,
        cache_write_tokens: u.cache_write_input_tokens,
        reasoning_tokens: 0,
    }
}

/// `None` when the body is not one JSON document; else its usage (zero when it
/// has none). Usage of a response body without reading its content.
pub(crate) fn usage_probe(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct Probe {
        usage: Option<UsageIn>,
    }
    crate::json::from_body::<Probe>(body)
        .ok()
        .map(|p| p.usage.map(usage_from_wire).unwrap_or_default())
}

/// The usage at the start of `value` (the `usage` member's value, or `null`).
pub(crate) fn usage_value(value: &[u8]) -> Option<Usage> {
    crate::json::leading_value::<Option<UsageIn>>(value)
        .ok()
        .map(|u| u.map(usage_from_wire).unwrap_or_default())
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
