//! Responses request body → canonical [`ChatRequest`].
//!
//! `instructions` becomes a leading system message; input items become messages in
//! order, with consecutive assistant items (text, function calls, reasoning) merged
//! into one assistant turn, as the chat formats want them.

use std::borrow::Cow;

use serde_json::Value;

use super::wire::*;
use crate::error::GatewayError;
use crate::formats::common::{parse_data_url, TextOrParts};
use crate::model::*;

/// Parse a Responses body into the canonical request.
pub(crate) fn read(body: &[u8]) -> Result<ChatRequest<'_>, GatewayError> {
    let w: RequestIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("invalid request body: {e}")))?;
    // tollgate puts the conversations it stores in front of the input and removes
    // the id (`crate::conversations`); one left here is held by a Responses provider
    // this model's targets do not include.
    if w.previous_response_id.is_some() {
        return Err(GatewayError::invalid(
            "previous_response_id names a conversation held by a provider this model does not use: continue it on the model that started it, or send the whole conversation in 'input'",
        )
        .with_param("previous_response_id"));
    }
    let mut messages = Vec::new();
    if let Some(i) = w.instructions.filter(|i| !i.0.is_empty()) {
        messages.push(Message::new(Role::System, vec![ContentPart::Text(i.0)]));
    }
    match w.input {
        Some(TextOrParts::Text(t)) => {
            messages.push(Message::new(Role::User, vec![ContentPart::Text(t)]))
        }
        Some(TextOrParts::Parts(items)) => {
            for item in items {
                read_item(item, &mut messages)?;
            }
        }
        None => {}
    }
    if messages.is_empty() {
        return Err(
            GatewayError::invalid("missing required parameter: 'input'").with_param("input")
        );
    }
    Ok(ChatRequest {
        model: w.model.0,
        messages,
        tools: read_tools(w.tools.unwrap_or_default())?,
        tool_choice: w.tool_choice.map(read_tool_choice).transpose()?,
        parallel_tool_calls: w.parallel_tool_calls,
        response_format: w.text.and_then(|t| t.format).map(read_format).transpose()?,
        sampling: Sampling {
            temperature: w.temperature,
            top_p: w.top_p,
            ..Sampling::default()
        },
        max_tokens: w.max_output_tokens,
        n: None,
        user: w.safety_identifier.or(w.user).map(|u| u.0),
        metadata: w.metadata,
        stream: w.stream.unwrap_or(false),
        // A Responses stream always ends with the usage.
        include_usage: true,
        reasoning: w.reasoning.and_then(|r| r.effort).map(|e| Reasoning {
            enabled: !matches!(e.as_str(), "none"),
            budget_tokens: None,
            effort: Some(e.0),
        }),
    })
}

/// One input item appended to `messages`.
fn read_item<'a>(item: ItemIn<'a>, messages: &mut Vec<Message<'a>>) -> Result<(), GatewayError> {
    let kind = item.kind.as_ref().map_or("message", |k| k.as_str());
    match kind {
        "message" => {
            let role = match item.role.as_ref().map(|r| r.as_str()) {
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                Some("system") => Role::System,
                Some("developer") => Role::Developer,
                Some(other) => {
                    return Err(GatewayError::invalid(format!(
                        "unknown message role '{other}'"
                    )))
                }
                None => return Err(GatewayError::invalid("an input message needs a 'role'")),
            };
            let content = match item.content {
                Some(TextOrParts::Text(t)) => vec![ContentPart::Text(t)],
                Some(TextOrParts::Parts(parts)) => read_parts(parts)?,
                None => Vec::new(),
            };
            push(messages, role, content);
        }
        "function_call" => {
            let call = ToolCall {
                id: item.call_id.map(|c| c.0).unwrap_or_default(),
                name: item.name.map(|n| n.0).unwrap_or_default(),
                arguments: item.arguments.map_or(Cow::Borrowed("{}"), |a| a.0),
            };
            push(messages, Role::Assistant, vec![ContentPart::ToolCall(call)]);
        }
        "function_call_output" => {
            let content = match item.output {
                Some(TextOrParts::Text(t)) => vec![ContentPart::Text(t)],
                Some(TextOrParts::Parts(parts)) => read_parts(parts)?,
                None => Vec::new(),
            };
            let result = ToolResult {
                tool_call_id: item.call_id.map(|c| c.0).unwrap_or_default(),
                content,
                is_error: false,
            };
            messages.push(Message::new(
                Role::Tool,
                vec![ContentPart::ToolResult(result)],
            ));
        }
        "reasoning" => {
            let text: String = item
                .summary
                .into_iter()
                .flatten()
                .filter_map(|p| p.text.map(|t| t.0))
                .collect::<Vec<_>>()
                .join("\n");
            let signature = item.encrypted_content.map(|e| e.0);
            // Reasoning without text or signature carries nothing another format can use.
            if !text.is_empty() || signature.is_some() {
                let part = ContentPart::Reasoning {
                    text: Cow::Owned(text),
                    signature,
                };
                push(messages, Role::Assistant, vec![part]);
            }
        }
        other => {
            return Err(GatewayError::invalid(format!(
                "input item type '{other}' cannot be translated for this model's provider"
            )))
        }
    }
    Ok(())
}

/// Append content as a message, merged into the last one when it is an assistant
/// turn too (an answer's text, calls and reasoning are one turn elsewhere).
fn push<'a>(messages: &mut Vec<Message<'a>>, role: Role, content: Vec<ContentPart<'a>>) {
    if role == Role::Assistant {
        if let Some(last) = messages.last_mut().filter(|m| m.role == Role::Assistant) {
            last.content.extend(content);
            return;
        }
    }
    messages.push(Message::new(role, content));
}

fn read_parts(parts: Vec<PartIn<'_>>) -> Result<Vec<ContentPart<'_>>, GatewayError> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p.kind.as_str() {
            "input_text" | "output_text" | "text" | "summary_text" => {
                out.push(ContentPart::Text(p.text.map(|t| t.0).unwrap_or_default()))
            }
            "refusal" => out.push(ContentPart::Refusal(
                p.refusal.map(|t| t.0).unwrap_or_default(),
            )),
            "input_image" => {
                let url = p.image_url.ok_or_else(|| {
                    GatewayError::invalid(
                        "input_image without image_url (file_id) cannot be translated for this model's provider",
                    )
                })?;
                let source = if url.0.starts_with("data:") {
                    let (media_type, data) = parse_data_url(url.0)
                        .ok_or_else(|| GatewayError::invalid("invalid image data URL"))?;
                    ImageSource::Base64 { media_type, data }
                } else {
                    ImageSource::Url(url.0)
                };
                out.push(ContentPart::Image(Image {
                    source,
                    detail: p.detail.map(|d| d.0),
                }));
            }
            other => {
                return Err(GatewayError::invalid(format!(
                    "content part type '{other}' cannot be translated for this model's provider"
                )))
            }
        }
    }
    Ok(out)
}

/// Function tools; built-in tools (web_search, file_search, computer use, ...) are
/// served by OpenAI itself and have no translation: a 400 naming them.
fn read_tools(tools: Vec<ToolIn<'_>>) -> Result<Vec<ToolDef<'_>>, GatewayError> {
    let builtin: Vec<&str> = tools
        .iter()
        .filter(|t| t.kind.as_str() != "function")
        .map(|t| t.kind.as_str())
        .collect();
    if !builtin.is_empty() {
        return Err(GatewayError::invalid(format!(
            "built-in tools are not supported for this model's provider: {}",
            builtin.join(", ")
        ))
        .with_param("tools"));
    }
    tools
        .into_iter()
        .map(|t| {
            let name = t.name.ok_or_else(|| {
                GatewayError::invalid("a function tool needs a 'name'").with_param("tools")
            })?;
            Ok(ToolDef {
                name: name.0,
                description: t.description.map(|d| d.0),
                parameters: t.parameters.unwrap_or(Value::Null),
                strict: t.strict,
                cache_breakpoint: None,
            })
        })
        .collect()
}

/// `"auto"`, `"none"`, `"required"` or `{"type":"function","name":...}`.
fn read_tool_choice(v: Value) -> Result<ToolChoice<'static>, GatewayError> {
    let bad = || GatewayError::invalid("invalid 'tool_choice'").with_param("tool_choice");
    match &v {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(bad()),
        },
        Value::Object(o) => match (o.get("type").and_then(Value::as_str), o.get("name")) {
            (Some("function"), Some(Value::String(n))) => {
                Ok(ToolChoice::Tool(Cow::Owned(n.clone())))
            }
            (Some(kind), _) => Err(GatewayError::invalid(format!(
                "tool_choice type '{kind}' is not supported for this model's provider"
            ))
            .with_param("tool_choice")),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn read_format(f: FormatIn<'_>) -> Result<ResponseFormat<'_>, GatewayError> {
    match f.kind.as_str() {
        "text" => Ok(ResponseFormat::Text),
        "json_object" => Ok(ResponseFormat::JsonObject),
        "json_schema" => Ok(ResponseFormat::JsonSchema {
            name: f.name.map_or(Cow::Borrowed("response"), |n| n.0),
            description: f.description.map(|d| d.0),
            schema: f.schema.unwrap_or(Value::Null),
            strict: f.strict,
        }),
        other => Err(
            GatewayError::invalid(format!("unknown text.format type '{other}'"))
                .with_param("text.format"),
        ),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
