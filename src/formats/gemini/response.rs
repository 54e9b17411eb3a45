//! Gemini `GenerateContentResponse` → canonical [`ChatResponse`]; finish reasons and
//! usage, shared with the stream decoder.

use std::borrow::Cow;

use serde::Deserialize;

use super::call_id;
use super::wire::*;
use crate::error::{ErrorKind, GatewayError};
use crate::formats::bedrock_converse::ids;
use crate::model::*;

/// Gemini counts cached tokens inside `promptTokenCount`.
pub(crate) const ACCOUNTING: CacheAccounting = CacheAccounting::Inclusive;

/// Prefix of the ids made up when the upstream sends no `responseId`.
pub(crate) const ID_PREFIX: &str = "gen-";

/// Parse a non-streaming upstream answer (its first candidate).
pub(crate) fn read(body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    let w: ResponseIn<'_> = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid generateContent response: {e}"),
        )
    })?;
    if let Some(e) = &w.error {
        return Err(super::error::from_parts(0, Some(e), body));
    }
    let id = response_id(w.response_id);
    let mut content = Vec::new();
    let mut calls = 0;
    let mut finish_reason = None;
    if let Some(c) = first_candidate(w.candidates) {
        for p in c.content.and_then(|c| c.parts).into_iter().flatten() {
            content.extend(part_content(p, &id, &mut calls));
        }
        finish_reason = c.finish_reason.and_then(|r| finish_reason_of(r.as_str()));
    }
    if blocked(w.prompt_feedback.as_ref()) {
        finish_reason = Some(FinishReason::ContentFilter);
    }
    Ok(ChatResponse {
        id,
        model: w.model_version.map(|m| m.0).unwrap_or_default(),
        created: None,
        content,
        finish_reason: finish_reason.map(|r| with_calls(r, calls > 0)),
        stop_sequence: None,
        usage: w.usage_metadata.map(usage_from_wire).unwrap_or_default(),
    })
}

/// The upstream's `responseId`, or a generated one.
pub(crate) fn response_id(id: Option<crate::formats::common::Str<'_>>) -> Cow<'_, str> {
    match id.map(|i| i.0).filter(|i| !i.is_empty()) {
        Some(i) => i,
        None => Cow::Owned(ids::generate(ID_PREFIX)),
    }
}

/// The candidate the gateway answers with: index 0 (or unnumbered).
pub(crate) fn first_candidate<'a>(c: Option<Vec<CandidateIn<'a>>>) -> Option<CandidateIn<'a>> {
    c?.into_iter().find(|c| c.index.unwrap_or(0) == 0)
}

/// The prompt itself was blocked: no candidate comes, only `promptFeedback`.
pub(crate) fn blocked(f: Option<&PromptFeedbackIn<'_>>) -> bool {
    f.and_then(|f| f.block_reason.as_ref())
        .is_some_and(|r| r.as_str() != "BLOCK_REASON_UNSPECIFIED")
}

/// One part → canonical content. `calls` counts the function calls so far, which
/// name the next call's id.
pub(crate) fn part_content<'a>(
    p: PartIn<'a>,
    response_id: &str,
    calls: &mut u32,
) -> Option<ContentPart<'a>> {
    if let Some(fc) = p.function_call {
        let id = call_id::encode(
            response_id,
            *calls,
            fc.id.as_ref().map(|i| i.as_str()),
            p.thought_signature.as_ref().map(|s| s.as_str()),
        );
        *calls += 1;
        let arguments = match fc.args {
            Some(args) if !args.is_null() => args.to_string(),
            _ => "{}".to_owned(),
        };
        return Some(ContentPart::ToolCall(ToolCall {
            id: Cow::Owned(id),
            name: fc.name.0,
            arguments: Cow::Owned(arguments),
        }));
    }
    let text = p.text.filter(|t| !t.0.is_empty())?.0;
    Some(if p.thought == Some(true) {
        ContentPart::Reasoning {
            text,
            signature: None,
        }
    } else {
        ContentPart::Text(text)
    })
}

/// `finishReason` → canonical; `None` for the unspecified value.
pub(crate) fn finish_reason_of(r: &str) -> Option<FinishReason> {
    Some(match r {
        "" | "FINISH_REASON_UNSPECIFIED" => return None,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        // Output withheld by a filter: safety, copyright recitation, blocklists, PII.
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        // LANGUAGE, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, OTHER...
        other => FinishReason::Other(other.to_ascii_lowercase()),
    })
}

/// Gemini says `STOP` after function calls too; clients expect "tool calls" then.
pub(crate) fn with_calls(r: FinishReason, has_calls: bool) -> FinishReason {
    match r {
        FinishReason::Stop if has_calls => FinishReason::ToolCalls,
        r => r,
    }
}

/// Usage in Gemini's own accounting: input includes cached tokens (and the prompt
/// tokens of server-side tools); output includes the thinking tokens, which Gemini
/// bills as output but reports apart from `candidatesTokenCount`.
pub(crate) fn usage_reported(u: UsageIn) -> Usage {
    Usage {
        input_tokens: u.prompt_token_count + u.tool_use_prompt_token_count,
        output_tokens: u.candidates_token_count + u.thoughts_token_count,
        cache_read_tokens: u.cached_content_token_count,
        cache_write_tokens: 0,
        reasoning_tokens: u.thoughts_token_count,
    }
}

/// Wire usage → canonical (exclusive) accounting.
pub(crate) fn usage_from_wire(u: UsageIn) -> Usage {
    ACCOUNTING.to_canonical(usage_reported(u))
}

/// `None` when the body is not one JSON document; else its usage (zero when it
/// has none). Usage of a response body without reading its content, in Gemini's accounting.
pub(crate) fn usage_probe(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        usage_metadata: Option<UsageIn>,
    }
    crate::json::from_body::<Probe>(body)
        .ok()
        .map(|p| p.usage_metadata.map(usage_reported).unwrap_or_default())
}

/// The usage at the start of `value` (the `usageMetadata` member's value, or `null`).
pub(crate) fn usage_value(value: &[u8]) -> Option<Usage> {
    crate::json::leading_value::<Option<UsageIn>>(value)
        .ok()
        .map(|u| u.map(usage_reported).unwrap_or_default())
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
