//! Canonical [`ChatResponse`] → Responses `response` object: output items (message,
//! function_call, reasoning), status from the finish reason, usage with its details.
//! The item and object builders are shared with the stream encoder, whose
//! `response.completed` event carries the same object.

use serde_json::{json, Value};

use crate::error::GatewayError;
use crate::formats::openai_chat;
use crate::model::*;

/// Write the Response object of a complete answer.
pub(crate) fn write(resp: &ChatResponse<'_>, public_model: &str) -> Result<Vec<u8>, GatewayError> {
    let id = response_id(&resp.id);
    let mut output = Vec::new();
    let mut text = String::new();
    let mut refusal: Option<String> = None;
    for part in &resp.content {
        match part {
            ContentPart::Text(t) => text.push_str(t),
            ContentPart::Refusal(r) => refusal.get_or_insert_with(String::new).push_str(r),
            ContentPart::Reasoning { text, signature } => output.push(reasoning_item(
                &format!("rs_{}_{}", id_tail(&id), output.len()),
                text,
                signature.as_deref(),
            )),
            ContentPart::ToolCall(c) => output.push(function_call_item(
                &c.id,
                &c.name,
                &c.arguments,
                "completed",
            )),
            _ => {}
        }
    }
    if !text.is_empty() || refusal.is_some() {
        // The message goes before the calls, as OpenAI orders them.
        let at = output
            .iter()
            .position(|i| i["type"] == "function_call")
            .unwrap_or(output.len());
        let item = message_item(&message_id(&id), &text, refusal.as_deref(), "completed");
        output.insert(at, item);
    }
    let status = Status::of(resp.finish_reason.as_ref());
    let created = resp.created.unwrap_or_else(openai_chat::response::now);
    let body = response_object(
        &id,
        public_model,
        created,
        status,
        output,
        Some(&resp.usage),
    );
    serde_json::to_vec(&body).map_err(|e| GatewayError::internal(format!("serialize: {e}")))
}

/// How the answer ended, in the Response's `status` and `incomplete_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    InProgress,
    Completed,
    /// Incomplete for this reason (`max_output_tokens`, `content_filter`).
    Incomplete(&'static str),
    Failed,
}

impl Status {
    pub(crate) fn of(reason: Option<&FinishReason>) -> Status {
        match reason {
            Some(FinishReason::Length) => Status::Incomplete("max_output_tokens"),
            Some(FinishReason::ContentFilter) => Status::Incomplete("content_filter"),
            _ => Status::Completed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete(_) => "incomplete",
            Status::Failed => "failed",
        }
    }
}

/// The Response object. Request parameters are not echoed (the translated route does
/// not keep them); the fields the SDKs read are all present.
pub(crate) fn response_object(
    id: &str,
    model: &str,
    created: u64,
    status: Status,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    let incomplete = match status {
        Status::Incomplete(reason) => json!({ "reason": reason }),
        _ => Value::Null,
    };
    // The reference sets `completed_at` only on a completed response.
    let completed_at = match status {
        Status::Completed => json!(created.max(openai_chat::response::now())),
        _ => Value::Null,
    };
    json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status.as_str(),
        "completed_at": completed_at,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage.map(usage_to_wire),
        "user": null,
        "metadata": {},
    })
}

/// Responses usage: input includes cached tokens (OpenAI's accounting).
pub(crate) fn usage_to_wire(u: &Usage) -> Value {
    let r = openai_chat::response::ACCOUNTING.from_canonical(*u);
    json!({
        "input_tokens": r.input_tokens,
        "input_tokens_details": {
            "cached_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
        },
        "output_tokens": r.output_tokens,
        "output_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
        "total_tokens": r.input_tokens + r.output_tokens,
    })
}

/// An assistant message item with its text (and refusal) part.
pub(crate) fn message_item(id: &str, text: &str, refusal: Option<&str>, status: &str) -> Value {
    let mut content = Vec::new();
    if !text.is_empty() || refusal.is_none() {
        content.push(output_text_part(text));
    }
    if let Some(r) = refusal {
        content.push(json!({"type": "refusal", "refusal": r}));
    }
    json!({"type": "message", "id": id, "status": status, "role": "assistant", "content": content})
}

/// An `output_text` content part.
pub(crate) fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// A function call item; its item id is derived from the call id.
pub(crate) fn function_call_item(
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "type": "function_call",
        "id": format!("fc_{}", id_tail(call_id)),
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

/// A reasoning item: the text as its summary; a signature (Anthropic) travels as
/// `encrypted_content` so it comes back on the next turn.
pub(crate) fn reasoning_item(id: &str, text: &str, signature: Option<&str>) -> Value {
    let summary: Vec<Value> = if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "summary_text", "text": text})]
    };
    let mut item = json!({"type": "reasoning", "id": id, "summary": summary});
    if let Some(s) = signature {
        item["encrypted_content"] = json!(s);
    }
    item
}

/// The Response id for an upstream id: `resp_` prefixed, as the SDKs and tools expect.
pub(crate) fn response_id(upstream: &str) -> String {
    if upstream.starts_with("resp_") {
        upstream.to_string()
    } else if upstream.is_empty() {
        format!("resp_{:x}", openai_chat::response::now())
    } else {
        format!("resp_{}", id_tail(upstream))
    }
}

/// The message item id of a response.
pub(crate) fn message_id(response_id: &str) -> String {
    format!("msg_{}", id_tail(response_id))
}

/// An id without its type prefix (`chatcmpl-`, `msg_`, `call_`, `resp_`, `toolu_`).
fn id_tail(id: &str) -> &str {
    id.split_once(['_', '-']).map_or(id, |(_, tail)| tail)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
