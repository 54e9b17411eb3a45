//! Anthropic Messages requests ⇄ canonical [`ChatRequest`].

use std::borrow::Cow;

use super::wire::*;
use crate::error::GatewayError;
use crate::formats::common::TextOrParts;
use crate::model::*;

const SOURCE: &str = "Anthropic Messages";

fn untranslatable(what: &str) -> GatewayError {
    GatewayError::invalid(format!(
        "{what} in an {SOURCE} request cannot be translated for this model's provider"
    ))
}

/// Parse an Anthropic Messages body into the canonical request.
pub(crate) fn read(body: &[u8]) -> Result<ChatRequest<'_>, GatewayError> {
    let w: RequestIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("invalid request body: {e}")))?;
    let mut messages = Vec::with_capacity(w.messages.len() + 1);
    match w.system {
        Some(TextOrParts::Text(t)) => {
            messages.push(Message::new(Role::System, vec![ContentPart::Text(t)]))
        }
        Some(TextOrParts::Parts(blocks)) => {
            messages.push(Message::new(Role::System, read_blocks(blocks)?))
        }
        None => {}
    }
    for m in w.messages {
        let role = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(
                    GatewayError::invalid(format!("invalid message role '{other}'"))
                        .with_param("messages"),
                )
            }
        };
        let content = match m.content {
            TextOrParts::Text(t) => vec![ContentPart::Text(t)],
            TextOrParts::Parts(blocks) => read_blocks(blocks)?,
        };
        messages.push(Message::new(role, content));
    }
    let mut tools = Vec::new();
    for t in w.tools.into_iter().flatten() {
        if let Some(kind) = t.kind.as_ref().filter(|k| k.as_str() != "custom") {
            return Err(untranslatable(&format!("server tool '{}'", kind.as_str())));
        }
        tools.push(ToolDef {
            name: t.name.0,
            description: t.description.map(|d| d.0),
            parameters: t.input_schema.unwrap_or(serde_json::Value::Null),
            strict: None,
            cache_breakpoint: t.cache_control.as_ref().map(ttl),
        });
    }
    let (tool_choice, parallel_tool_calls) = match w.tool_choice {
        None => (None, None),
        Some(c) => read_tool_choice(c)?,
    };
    Ok(ChatRequest {
        model: w.model.0,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        sampling: Sampling {
            temperature: w.temperature,
            top_p: w.top_p,
            top_k: w.top_k,
            stop: w
                .stop_sequences
                .into_iter()
                .flatten()
                .map(|s| s.0)
                .collect(),
            ..Sampling::default()
        },
        max_tokens: w.max_tokens,
        n: None,
        user: w.metadata.and_then(|m| m.user_id).map(|u| u.0),
        metadata: None,
        stream: w.stream.unwrap_or(false),
        // Anthropic streams always carry usage.
        include_usage: true,
        reasoning: w.thinking.map(|t| Reasoning {
            enabled: t.kind.as_str() != "disabled",
            budget_tokens: t.budget_tokens,
            effort: None,
        }),
    })
}

fn read_tool_choice(
    c: ToolChoiceIn<'_>,
) -> Result<(Option<ToolChoice<'_>>, Option<bool>), GatewayError> {
    let choice = match (c.kind.as_str(), c.name) {
        ("auto", _) => ToolChoice::Auto,
        ("any", _) => ToolChoice::Required,
        ("none", _) => ToolChoice::None,
        ("tool", Some(name)) => ToolChoice::Tool(name.0),
        (other, _) => {
            return Err(
                GatewayError::invalid(format!("invalid tool_choice type '{other}'"))
                    .with_param("tool_choice"),
            )
        }
    };
    Ok((Some(choice), c.disable_parallel_tool_use.map(|d| !d)))
}

fn ttl(cc: &CacheControl<'_>) -> CacheTtl {
    match cc.ttl.as_ref().map(|t| t.as_str()) {
        Some("1h") => CacheTtl::OneHour,
        _ => CacheTtl::Default,
    }
}

pub(crate) fn read_blocks(blocks: Vec<BlockIn<'_>>) -> Result<Vec<ContentPart<'_>>, GatewayError> {
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let breakpoint = b.cache_control.as_ref().map(ttl);
        out.push(read_block(b)?);
        if let Some(t) = breakpoint {
            out.push(ContentPart::CacheBreakpoint(t));
        }
    }
    Ok(out)
}

fn read_block(b: BlockIn<'_>) -> Result<ContentPart<'_>, GatewayError> {
    let missing = |field: &str| {
        GatewayError::invalid(format!("'{}' block without '{field}'", b.kind.as_str()))
            .with_param("messages")
    };
    Ok(match b.kind.as_str() {
        "text" => ContentPart::Text(b.text.ok_or_else(|| missing("text"))?.0),
        "image" => ContentPart::Image(read_image(b.source.ok_or_else(|| missing("source"))?)?),
        "tool_use" => ContentPart::ToolCall(ToolCall {
            id: b.id.ok_or_else(|| missing("id"))?.0,
            name: b.name.ok_or_else(|| missing("name"))?.0,
            arguments: Cow::Owned(b.input.unwrap_or_default().to_string()),
        }),
        "tool_result" => ContentPart::ToolResult(ToolResult {
            tool_call_id: b.tool_use_id.ok_or_else(|| missing("tool_use_id"))?.0,
            content: match b.content {
                None => Vec::new(),
                Some(TextOrParts::Text(t)) => vec![ContentPart::Text(t)],
                Some(TextOrParts::Parts(blocks)) => read_blocks(blocks)?,
            },
            is_error: b.is_error.unwrap_or(false),
        }),
        "thinking" => ContentPart::Reasoning {
            text: b.thinking.ok_or_else(|| missing("thinking"))?.0,
            signature: b.signature.map(|s| s.0),
        },
        "redacted_thinking" => {
            ContentPart::RedactedReasoning(b.data.ok_or_else(|| missing("data"))?.0)
        }
        other => return Err(untranslatable(&format!("content block '{other}'"))),
    })
}

fn read_image(s: SourceIn<'_>) -> Result<Image<'_>, GatewayError> {
    let source = match (s.kind.as_str(), s.media_type, s.data, s.url) {
        ("base64", Some(media_type), Some(data), _) => ImageSource::Base64 {
            media_type: media_type.0,
            data: data.0,
        },
        ("url", _, _, Some(url)) => ImageSource::Url(url.0),
        (kind, ..) => return Err(untranslatable(&format!("image source '{kind}'"))),
    };
    Ok(Image {
        source,
        detail: None,
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
