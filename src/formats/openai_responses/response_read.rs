//! Responses answer → canonical [`ChatResponse`], for chat-completions and Messages
//! clients of a Responses-only target: message text and refusals, function calls,
//! reasoning (summary text, `encrypted_content` as the signature), the finish reason
//! from `status` / `incomplete_details`, and usage in canonical accounting.

use std::borrow::Cow;

use super::answer_wire::{OutputItemIn, ResponseIn};
use super::usage::{reported, ACCOUNTING};
use crate::error::{ErrorKind, GatewayError};
use crate::model::*;

/// Parse a Response object. A `failed` one is the upstream's error.
pub(crate) fn read(body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    let r: ResponseIn<'_> = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("invalid Responses body from upstream: {e}"),
        )
    })?;
    if let Some(err) = failure(&r) {
        return Err(err);
    }
    let mut content = Vec::new();
    for item in r.output.iter() {
        read_item(item, &mut content);
    }
    let finish = finish_reason(
        &r,
        content
            .iter()
            .any(|p| matches!(p, ContentPart::ToolCall(_))),
    );
    Ok(ChatResponse {
        id: r.id.map(|i| i.0).unwrap_or_default(),
        model: r.model.map(|m| m.0).unwrap_or_default(),
        created: r.created_at,
        content,
        finish_reason: Some(finish),
        stop_sequence: None,
        usage: r
            .usage
            .map(|u| ACCOUNTING.to_canonical(reported(u)))
            .unwrap_or_default(),
    })
}

/// The error of a `failed` response.
pub(crate) fn failure(r: &ResponseIn<'_>) -> Option<GatewayError> {
    if r.status.as_ref().map(|s| s.as_str()) != Some("failed") {
        return None;
    }
    let message = r
        .error
        .as_ref()
        .and_then(|e| e.message.as_ref())
        .map_or("the upstream response failed", |m| m.as_str());
    Some(GatewayError::new(ErrorKind::UpstreamStatus(500), message))
}

fn read_item<'a>(item: &OutputItemIn<'a>, content: &mut Vec<ContentPart<'a>>) {
    match item.kind.as_str() {
        "message" => {
            for part in &item.content {
                match (part.kind.as_str(), &part.text, &part.refusal) {
                    ("output_text", Some(t), _) => content.push(ContentPart::Text(t.0.clone())),
                    ("refusal", _, Some(r)) => content.push(ContentPart::Refusal(r.0.clone())),
                    _ => {}
                }
            }
        }
        "function_call" => content.push(ContentPart::ToolCall(ToolCall {
            id: item
                .call_id
                .as_ref()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            name: item.name.as_ref().map(|n| n.0.clone()).unwrap_or_default(),
            arguments: item
                .arguments
                .as_ref()
                .map_or(Cow::Borrowed("{}"), |a| a.0.clone()),
        })),
        "reasoning" => {
            let text = summary_text(item);
            let signature = item.encrypted_content.as_ref().map(|e| e.0.clone());
            if !text.is_empty() || signature.is_some() {
                content.push(ContentPart::Reasoning {
                    text: Cow::Owned(text),
                    signature,
                });
            }
        }
        // Built-in tool items (web search, file search, ...) have no canonical form.
        _ => {}
    }
}

/// A reasoning item's summary parts, joined.
pub(crate) fn summary_text(item: &OutputItemIn<'_>) -> String {
    item.summary
        .iter()
        .filter_map(|p| p.text.as_ref().map(|t| t.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The finish reason of a finished response.
pub(crate) fn finish_reason(r: &ResponseIn<'_>, called_tools: bool) -> FinishReason {
    let reason = r
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_ref())
        .map(|s| s.as_str());
    match (r.status.as_ref().map(|s| s.as_str()), reason) {
        (Some("incomplete"), Some("content_filter")) => FinishReason::ContentFilter,
        (Some("incomplete"), _) => FinishReason::Length,
        _ if called_tools => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenAI's Response object example, as in `tests/fixtures/openai_responses`.
    const FIXTURE: &str = include_str!("../../../tests/fixtures/openai_responses/response.json");

    #[test]
    fn the_reference_response_reads_with_text_and_usage() {
        let r = read(FIXTURE.as_bytes()).unwrap();
        assert!(r.id.starts_with("resp_"));
        assert!(matches!(&r.content[0], ContentPart::Text(t) if !t.is_empty()));
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        assert!(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    }

    #[test]
    fn calls_reasoning_incomplete_and_failed() {
        let body = br#"{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},
            "output":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"hm"}],"encrypted_content":"gA"},
                      {"type":"web_search_call","id":"ws_1"},
                      {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}],
            "usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":3}}"#;
        let r = read(body).unwrap();
        assert_eq!(r.finish_reason, Some(FinishReason::Length));
        assert_eq!(r.content.len(), 2);
        assert!(
            matches!(&r.content[0], ContentPart::Reasoning { text, signature: Some(s) } if text == "hm" && s == "gA")
        );
        assert!(
            matches!(&r.content[1], ContentPart::ToolCall(c) if c.id == "call_1" && c.arguments == "{\"a\":1}")
        );
        // Canonical input excludes the cached tokens.
        assert_eq!((r.usage.input_tokens, r.usage.cache_read_tokens), (6, 4));
        let failed = br#"{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}"#;
        assert_eq!(read(failed).unwrap_err().message, "boom");
        assert!(read(b"nope").is_err());
    }
}
