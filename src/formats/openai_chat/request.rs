//! OpenAI Chat Completions requests ⇄ canonical [`ChatRequest`].

use std::borrow::Cow;

use serde_json::{json, Value};

use super::wire::*;
use crate::error::GatewayError;
use crate::formats::common::{parse_data_url, TextOrParts};
use crate::formats::RequestOptions;
use crate::model::*;

const SOURCE: &str = "OpenAI Chat Completions";

/// Parse an OpenAI Chat Completions body into the canonical request.
pub(crate) fn read(body: &[u8]) -> Result<ChatRequest<'_>, GatewayError> {
    let w: RequestIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("invalid request body: {e}")))?;
    if w.modalities.iter().flatten().any(|m| m.as_str() == "audio") {
        return Err(untranslatable("audio output"));
    }
    let mut messages = Vec::with_capacity(w.messages.len());
    for m in w.messages {
        messages.push(read_message(m)?);
    }
    let mut tools = Vec::new();
    for t in w.tools.into_iter().flatten() {
        match (t.kind.as_str(), t.function) {
            ("function", Some(f)) => tools.push(read_function(f)),
            (kind, _) => return Err(untranslatable(&format!("tool type '{kind}'"))),
        }
    }
    tools.extend(w.functions.into_iter().flatten().map(read_function));
    Ok(ChatRequest {
        model: w.model.0,
        messages,
        tools,
        tool_choice: w.tool_choice.map(read_tool_choice).transpose()?,
        parallel_tool_calls: w.parallel_tool_calls,
        response_format: w.response_format.map(read_response_format).transpose()?,
        sampling: Sampling {
            temperature: w.temperature,
            top_p: w.top_p,
            top_k: w.top_k,
            stop: w.stop.map(|s| s.0).unwrap_or_default(),
            seed: w.seed,
            presence_penalty: w.presence_penalty,
            frequency_penalty: w.frequency_penalty,
        },
        max_tokens: w.max_completion_tokens.or(w.max_tokens),
        n: w.n,
        user: w.user.map(|u| u.0),
        metadata: w.metadata,
        stream: w.stream.unwrap_or(false),
        include_usage: w.stream_options.is_some_and(|o| o.include_usage),
        reasoning: w.reasoning_effort.map(|e| Reasoning {
            enabled: !matches!(e.as_str(), "none"),
            budget_tokens: None,
            effort: Some(e.0),
        }),
    })
}

fn untranslatable(what: &str) -> GatewayError {
    GatewayError::invalid(format!(
        "{what} in an {SOURCE} request cannot be translated for this model's provider"
    ))
}

fn read_message(m: MessageIn<'_>) -> Result<Message<'_>, GatewayError> {
    let role = match m.role.as_str() {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => return Err(untranslatable(&format!("message role '{other}'"))),
    };
    let mut content = Vec::new();
    if let Some(r) = m.reasoning_content {
        content.push(ContentPart::Reasoning {
            text: r.0,
            signature: None,
        });
    }
    match m.content {
        None => {}
        Some(TextOrParts::Text(t)) => content.push(ContentPart::Text(t)),
        Some(TextOrParts::Parts(parts)) => {
            content.reserve(parts.len());
            for p in parts {
                content.push(read_part(p)?);
            }
        }
    }
    if let Some(r) = m.refusal {
        content.push(ContentPart::Refusal(r.0));
    }
    for c in m.tool_calls.into_iter().flatten() {
        content.push(ContentPart::ToolCall(ToolCall {
            id: c.id.0,
            name: c.function.name.0,
            arguments: c.function.arguments.0,
        }));
    }
    if role == Role::Tool {
        let id = m.tool_call_id.ok_or_else(|| {
            GatewayError::invalid("tool messages need a 'tool_call_id'").with_param("messages")
        })?;
        content = vec![ContentPart::ToolResult(ToolResult {
            tool_call_id: id.0,
            content,
            is_error: false,
        })];
    }
    Ok(Message {
        role,
        content,
        name: m.name.map(|n| n.0),
    })
}

fn read_part(p: PartIn<'_>) -> Result<ContentPart<'_>, GatewayError> {
    match (p.kind.as_str(), p.text, p.image_url, p.refusal) {
        ("text", Some(t), _, _) => Ok(ContentPart::Text(t.0)),
        ("refusal", _, _, Some(r)) => Ok(ContentPart::Refusal(r.0)),
        ("image_url", _, Some(img), _) => {
            let detail = img.detail.map(|d| d.0);
            let source = if img.url.as_str().starts_with("data:") {
                let (media_type, data) = parse_data_url(img.url.0).ok_or_else(|| {
                    GatewayError::invalid("image data URLs must be 'data:<type>;base64,<data>'")
                })?;
                ImageSource::Base64 { media_type, data }
            } else {
                ImageSource::Url(img.url.0)
            };
            Ok(ContentPart::Image(Image { source, detail }))
        }
        (kind, ..) => Err(untranslatable(&format!("content part '{kind}'"))),
    }
}

fn read_function(f: FunctionDefIn<'_>) -> ToolDef<'_> {
    ToolDef {
        name: f.name.0,
        description: f.description.map(|d| d.0),
        parameters: f.parameters.unwrap_or(Value::Null),
        strict: f.strict,
        cache_breakpoint: None,
    }
}

fn read_tool_choice(c: ToolChoiceIn<'_>) -> Result<ToolChoice<'_>, GatewayError> {
    match c {
        ToolChoiceIn::Named { function } => Ok(ToolChoice::Tool(function.name.0)),
        ToolChoiceIn::Mode(m) => match m.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(
                GatewayError::invalid(format!("invalid tool_choice '{other}'"))
                    .with_param("tool_choice"),
            ),
        },
    }
}

fn read_response_format(f: ResponseFormatIn<'_>) -> Result<ResponseFormat<'_>, GatewayError> {
    match (f.kind.as_str(), f.json_schema) {
        ("text", _) => Ok(ResponseFormat::Text),
        ("json_object", _) => Ok(ResponseFormat::JsonObject),
        ("json_schema", Some(s)) => Ok(ResponseFormat::JsonSchema {
            name: s.name.map(|n| n.0).unwrap_or(Cow::Borrowed("response")),
            description: s.description.map(|d| d.0),
            schema: s.schema.unwrap_or_else(|| json!({"type": "object"})),
            strict: s.strict,
        }),
        (kind, _) => Err(
            GatewayError::invalid(format!("invalid response_format type '{kind}'"))
                .with_param("response_format"),
        ),
    }
}

/// Write the canonical request as an OpenAI Chat Completions body for `model`.
pub(crate) fn write(
    req: &ChatRequest<'_>,
    model: &str,
    opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        write_message(m, &mut messages);
    }
    let empty_schema = json!({"type": "object", "properties": {}});
    let tools = req
        .tools
        .iter()
        .map(|t| ToolOut {
            kind: "function",
            function: FunctionDefOut {
                name: &t.name,
                description: t.description.as_deref(),
                parameters: if t.parameters.is_null() {
                    &empty_schema
                } else {
                    &t.parameters
                },
                strict: t.strict,
            },
        })
        .collect::<Vec<_>>();
    let out = RequestOut {
        model,
        messages,
        max_completion_tokens: req.max_tokens.filter(|_| !opts.legacy_max_tokens),
        max_tokens: req.max_tokens.filter(|_| opts.legacy_max_tokens),
        temperature: req.sampling.temperature,
        top_p: req.sampling.top_p,
        top_k: req.sampling.top_k.filter(|_| opts.openai_top_k),
        stop: req.sampling.stop.iter().map(|s| s.as_ref()).collect(),
        seed: req.sampling.seed,
        presence_penalty: req.sampling.presence_penalty,
        frequency_penalty: req.sampling.frequency_penalty,
        n: req.n,
        user: req.user.as_deref(),
        metadata: req.metadata.as_ref(),
        stream: req.stream,
        stream_options: (req.stream && (opts.stream_usage || req.include_usage)).then_some(
            StreamOptions {
                include_usage: true,
            },
        ),
        tool_choice: req
            .tool_choice
            .as_ref()
            .filter(|_| !tools.is_empty())
            .map(tool_choice),
        parallel_tool_calls: req.parallel_tool_calls.filter(|_| !tools.is_empty()),
        tools,
        response_format: req.response_format.as_ref().map(response_format),
        reasoning_effort: req
            .reasoning
            .as_ref()
            .filter(|r| r.enabled)
            .map(|r| r.effort_or_from_budget()),
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising request: {e}")))
}

fn tool_choice(c: &ToolChoice<'_>) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn response_format(f: &ResponseFormat<'_>) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut s = json!({"name": name, "schema": schema});
            if let Some(d) = description {
                s["description"] = json!(d);
            }
            if let Some(st) = strict {
                s["strict"] = json!(st);
            }
            json!({"type": "json_schema", "json_schema": s})
        }
    }
}

/// One canonical message becomes one OpenAI message, except that tool results
/// (Anthropic puts them in user messages) become `tool` messages of their own,
/// ahead of the rest of that user turn.
fn write_message<'a>(m: &'a Message<'a>, out: &mut Vec<MessageOut<'a>>) {
    let mut rest: Vec<&'a ContentPart<'a>> = Vec::with_capacity(m.content.len());
    let mut result_images = Vec::new();
    for part in &m.content {
        match part {
            ContentPart::ToolResult(r) => {
                out.push(tool_message(r, &mut result_images));
            }
            ContentPart::CacheBreakpoint(_) => {}
            // OpenAI takes no reasoning back; its own is kept server-side.
            ContentPart::Reasoning { .. } | ContentPart::RedactedReasoning(_) => {}
            _ => rest.push(part),
        }
    }
    // Images returned by tools cannot ride in a `tool` message: they follow as user content.
    rest.extend(result_images);
    if rest.is_empty() && m.role != Role::Assistant {
        return;
    }
    let role = match m.role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User | Role::Tool => "user",
        Role::Assistant => "assistant",
    };
    let msg = if m.role == Role::Assistant {
        assistant_message(&rest, m.name.as_deref())
    } else {
        MessageOut {
            role,
            content: Some(content(&rest)),
            name: m.name.as_deref(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    };
    if m.role == Role::Assistant && msg.content.is_none() && msg.tool_calls.is_empty() {
        return;
    }
    out.push(msg);
}

fn tool_message<'a>(
    r: &'a ToolResult<'a>,
    images: &mut Vec<&'a ContentPart<'a>>,
) -> MessageOut<'a> {
    let texts: Vec<&'a ContentPart<'a>> = r
        .content
        .iter()
        .filter(|p| match p {
            ContentPart::Image(_) => {
                images.push(p);
                false
            }
            _ => matches!(p, ContentPart::Text(_)),
        })
        .collect();
    MessageOut {
        role: "tool",
        content: Some(ContentOut::Text(joined_text(&texts, ""))),
        name: None,
        tool_calls: Vec::new(),
        tool_call_id: Some(&r.tool_call_id),
    }
}

fn assistant_message<'a>(parts: &[&'a ContentPart<'a>], name: Option<&'a str>) -> MessageOut<'a> {
    let mut tool_calls = Vec::new();
    let mut texts = Vec::new();
    for p in parts {
        match p {
            ContentPart::ToolCall(c) => tool_calls.push(ToolCallOut {
                id: &c.id,
                kind: "function",
                function: FunctionCallOut {
                    name: &c.name,
                    arguments: if c.arguments.is_empty() {
                        "{}"
                    } else {
                        &c.arguments
                    },
                },
            }),
            ContentPart::Text(_) | ContentPart::Refusal(_) => texts.push(*p),
            _ => {}
        }
    }
    let text = joined_text(&texts, "\n\n");
    MessageOut {
        role: "assistant",
        content: (!text.is_empty()).then_some(ContentOut::Text(text)),
        name,
        tool_calls,
        tool_call_id: None,
    }
}

/// A plain string when the content is text only (what every compatible server takes),
/// otherwise an array of parts.
fn content<'a>(parts: &[&'a ContentPart<'a>]) -> ContentOut<'a> {
    if parts
        .iter()
        .all(|p| matches!(p, ContentPart::Text(_) | ContentPart::Refusal(_)))
    {
        return ContentOut::Text(joined_text(parts, "\n\n"));
    }
    ContentOut::Parts(
        parts
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text(t) | ContentPart::Refusal(t) => Some(PartOut::Text { text: t }),
                ContentPart::Image(img) => Some(PartOut::ImageUrl {
                    image_url: image_url(img),
                }),
                _ => None,
            })
            .collect(),
    )
}

fn image_url<'a>(img: &'a Image<'a>) -> ImageUrlOut<'a> {
    let url = match &img.source {
        ImageSource::Url(u) => Cow::Borrowed(u.as_ref()),
        ImageSource::Base64 { media_type, data } => {
            Cow::Owned(format!("data:{media_type};base64,{data}"))
        }
    };
    ImageUrlOut {
        url,
        detail: img.detail.as_deref(),
    }
}

fn joined_text<'a>(parts: &[&'a ContentPart<'a>], sep: &str) -> Cow<'a, str> {
    let mut texts = parts.iter().filter_map(|p| match p {
        ContentPart::Text(t) | ContentPart::Refusal(t) => Some(t.as_ref()),
        _ => None,
    });
    let Some(first) = texts.next() else {
        return Cow::Borrowed("");
    };
    let mut out: Cow<'a, str> = Cow::Borrowed(first);
    for t in texts {
        let s = out.to_mut();
        s.push_str(sep);
        s.push_str(t);
    }
    out
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
