//! Canonical [`ChatResponse`] → a `GenerateContentResponse` for a Gemini client: one
//! candidate whose `content.parts` hold the text, the reasoning (`thought: true`) and
//! `functionCall`s (with their ids, so a client echoing the call back pairs it
//! exactly), `finishReason`, `usageMetadata` in Gemini's accounting, `modelVersion`
//! (the model name the client used) and `responseId`. Shared with the stream encoder.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::ingress_wire::UsageOut;
use super::wire::{ContentOut, FunctionCallOut, PartOut};
use crate::error::GatewayError;
use crate::formats::common::arguments_object;
use crate::model::*;

/// A whole answer, or one chunk of a stream.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseOut<'a> {
    pub candidates: Vec<CandidateOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageOut>,
    pub model_version: &'a str,
    pub response_id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidateOut<'a> {
    pub content: ContentOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    pub index: u32,
}

/// Write a non-stream answer for a Gemini client.
pub(crate) fn write(resp: &ChatResponse<'_>, public_model: &str) -> Result<Vec<u8>, GatewayError> {
    let args: Vec<Value> = resp
        .content
        .iter()
        .map(|p| match p {
            ContentPart::ToolCall(c) => arguments_object(&c.arguments),
            _ => Value::Null,
        })
        .collect();
    let parts = resp
        .content
        .iter()
        .zip(args)
        .filter_map(|(p, args)| part(p, args))
        .collect();
    let out = ResponseOut {
        candidates: vec![candidate(parts, resp.finish_reason.as_ref())],
        usage_metadata: Some(usage(&resp.usage)),
        model_version: public_model,
        response_id: &resp.id,
    };
    serde_json::to_vec(&out).map_err(|e| GatewayError::internal(format!("serialising: {e}")))
}

/// One candidate, index 0, role `model`.
pub(crate) fn candidate<'a>(
    parts: Vec<PartOut<'a>>,
    finish: Option<&FinishReason>,
) -> CandidateOut<'a> {
    CandidateOut {
        content: ContentOut {
            role: Some("model"),
            parts,
        },
        finish_reason: finish.map(finish_reason),
        index: 0,
    }
}

/// A canonical part as a Gemini part; `args` is a call's arguments as an object.
fn part<'a>(p: &'a ContentPart<'a>, args: Value) -> Option<PartOut<'a>> {
    Some(match p {
        ContentPart::Text(t) | ContentPart::Refusal(t) => text(t),
        ContentPart::Reasoning { text: t, signature } => thought(t, signature.as_deref()),
        ContentPart::ToolCall(c) => call(&c.id, &c.name, args),
        _ => return None,
    })
}

pub(crate) fn text(t: &str) -> PartOut<'_> {
    PartOut {
        text: Some(t),
        ..PartOut::default()
    }
}

/// Reasoning text; a signature (Anthropic's, say) rides along as `thoughtSignature`,
/// which Gemini clients send back with the part.
pub(crate) fn thought<'a>(t: &'a str, signature: Option<&'a str>) -> PartOut<'a> {
    PartOut {
        text: Some(t),
        thought: Some(true),
        thought_signature: signature.map(Cow::Borrowed),
        ..PartOut::default()
    }
}

pub(crate) fn call<'a>(id: &'a str, name: &'a str, args: Value) -> PartOut<'a> {
    PartOut {
        function_call: Some(FunctionCallOut {
            id: Some(id),
            name,
            args,
        }),
        ..PartOut::default()
    }
}

/// Canonical finish reason → Gemini's `finishReason` (calls end with `STOP` there).
pub(crate) fn finish_reason(r: &FinishReason) -> &'static str {
    match r {
        FinishReason::Stop
        | FinishReason::ToolCalls
        | FinishReason::StopSequence
        | FinishReason::PauseTurn => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter | FinishReason::Refusal => "SAFETY",
        FinishReason::Other(other) => match other.to_ascii_uppercase().as_str() {
            "MALFORMED_FUNCTION_CALL" => "MALFORMED_FUNCTION_CALL",
            "RECITATION" => "RECITATION",
            "LANGUAGE" => "LANGUAGE",
            _ => "OTHER",
        },
    }
}

/// Canonical (exclusive) usage → `usageMetadata`: the prompt count includes cached
/// tokens, the candidates count excludes the thoughts.
pub(crate) fn usage(u: &Usage) -> UsageOut {
    let reported = super::response::ACCOUNTING.from_canonical(*u);
    let thoughts = reported.reasoning_tokens.min(reported.output_tokens);
    let candidates = reported.output_tokens - thoughts;
    UsageOut {
        prompt_token_count: reported.input_tokens,
        candidates_token_count: candidates,
        total_token_count: reported.input_tokens + reported.output_tokens,
        cached_content_token_count: reported.cache_read_tokens,
        thoughts_token_count: thoughts,
    }
}
