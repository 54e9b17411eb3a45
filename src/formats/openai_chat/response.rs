//! OpenAI Chat Completions non-streaming responses ⇄ canonical [`ChatResponse`],
//! finish reasons and usage.

use std::borrow::Cow;

use serde::Deserialize;

use super::wire::*;
use crate::error::GatewayError;
use crate::formats::common::TextOrParts;
use crate::model::*;

/// OpenAI counts cached tokens inside `prompt_tokens`.
pub(crate) const ACCOUNTING: CacheAccounting = CacheAccounting::Inclusive;

/// Parse an upstream OpenAI response (first choice) into the canonical response.
pub(crate) fn read(body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    let w: ResponseIn<'_> = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            crate::error::ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid chat completion: {e}"),
        )
    })?;
    let mut resp = ChatResponse {
        id: w.id.0,
        model: w.model.0,
        created: w.created,
        usage: w.usage.map(usage_from_wire).unwrap_or_default(),
        ..ChatResponse::default()
    };
    if let Some(choice) = w.choices.into_iter().next() {
        resp.finish_reason = choice.finish_reason.map(|r| finish_reason(r.as_str()));
        let m = choice.message;
        if let Some(r) = m.reasoning_content {
            resp.content.push(ContentPart::Reasoning {
                text: r.0,
                signature: None,
            });
        }
        match m.content {
            Some(TextOrParts::Text(t)) if !t.is_empty() => resp.content.push(ContentPart::Text(t)),
            Some(TextOrParts::Parts(parts)) => resp.content.extend(
                parts
                    .into_iter()
                    .filter_map(|p| p.text.map(|t| ContentPart::Text(t.0))),
            ),
            _ => {}
        }
        if let Some(r) = m.refusal {
            resp.content.push(ContentPart::Refusal(r.0));
        }
        for c in m.tool_calls.into_iter().flatten() {
            resp.content.push(ContentPart::ToolCall(ToolCall {
                id: c.id.0,
                name: c.function.name.0,
                arguments: c.function.arguments.0,
            }));
        }
    }
    Ok(resp)
}

/// Write the canonical response as an OpenAI chat completion for `public_model`.
pub(crate) fn write(resp: &ChatResponse<'_>, public_model: &str) -> Result<Vec<u8>, GatewayError> {
    let mut text: Option<Cow<'_, str>> = None;
    let mut reasoning: Option<Cow<'_, str>> = None;
    let mut refusal: Option<Cow<'_, str>> = None;
    let mut tool_calls = Vec::new();
    for part in &resp.content {
        match part {
            ContentPart::Text(t) => append(&mut text, t),
            ContentPart::Reasoning { text: t, .. } => append(&mut reasoning, t),
            ContentPart::Refusal(t) => append(&mut refusal, t),
            ContentPart::ToolCall(c) => tool_calls.push(ToolCallOut {
                id: &c.id,
                kind: "function",
                function: FunctionCallOut {
                    name: &c.name,
                    arguments: &c.arguments,
                },
            }),
            _ => {}
        }
    }
    let out = ResponseOut {
        id: &resp.id,
        object: "chat.completion",
        created: resp.created.unwrap_or_else(now),
        model: public_model,
        choices: [ChoiceOut {
            index: 0,
            message: ResponseMessageOut {
                role: "assistant",
                content: text,
                reasoning_content: reasoning,
                tool_calls,
                refusal,
            },
            logprobs: None,
            finish_reason: finish_reason_str(
                resp.finish_reason.as_ref().unwrap_or(&FinishReason::Stop),
            ),
        }],
        usage: usage_to_wire(&resp.usage),
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising response: {e}")))
}

fn append<'a>(slot: &mut Option<Cow<'a, str>>, t: &'a str) {
    match slot {
        None => *slot = Some(Cow::Borrowed(t)),
        Some(s) => s.to_mut().push_str(t),
    }
}

/// Unix seconds now, for `created` when the upstream format has no timestamp.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `finish_reason` → canonical.
pub(crate) fn finish_reason(r: &str) -> FinishReason {
    match r {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Canonical → `finish_reason`.
pub(crate) fn finish_reason_str(r: &FinishReason) -> &str {
    match r {
        FinishReason::Stop | FinishReason::StopSequence | FinishReason::PauseTurn => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter | FinishReason::Refusal => "content_filter",
        FinishReason::Other(s) => s,
    }
}

/// Wire usage → canonical (exclusive) accounting.
pub(crate) fn usage_from_wire(u: UsageWire) -> Usage {
    ACCOUNTING.to_canonical(usage_reported(u))
}

/// Wire usage in OpenAI's own (inclusive) accounting.
pub(crate) fn usage_reported(u: UsageWire) -> Usage {
    Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
        cache_read_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
        cache_write_tokens: 0,
        reasoning_tokens: u
            .completion_tokens_details
            .map_or(0, |d| d.reasoning_tokens),
    }
}

/// Canonical usage → wire.
pub(crate) fn usage_to_wire(u: &Usage) -> UsageWire {
    let r = ACCOUNTING.from_canonical(*u);
    UsageWire {
        prompt_tokens: r.input_tokens,
        completion_tokens: r.output_tokens,
        total_tokens: r.input_tokens + r.output_tokens,
        prompt_tokens_details: Some(PromptDetails {
            cached_tokens: r.cache_read_tokens,
        }),
        completion_tokens_details: Some(CompletionDetails {
            reasoning_tokens: r.reasoning_tokens,
        }),
    }
}

/// `None` when the body is not one JSON document; else its usage (zero when it
/// has none). Usage of a same-format response body, in OpenAI's accounting, without reading
/// the content (serde skips it without allocating).
pub(crate) fn usage_probe(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct Probe {
        usage: Option<UsageWire>,
    }
    crate::json::from_body::<Probe>(body)
        .ok()
        .map(|p| p.usage.map(usage_reported).unwrap_or_default())
}

/// The usage at the start of `value` (the `usage` member's value, or `null`).
pub(crate) fn usage_value(value: &[u8]) -> Option<Usage> {
    crate::json::leading_value::<Option<UsageWire>>(value)
        .ok()
        .map(|u| u.map(usage_reported).unwrap_or_default())
}
