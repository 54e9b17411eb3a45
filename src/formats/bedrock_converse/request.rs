//! Canonical [`ChatRequest`] → Bedrock `Converse` / `ConverseStream` body.
//!
//! Bedrock's rules, applied here: instructions go to `system`; roles alternate
//! (consecutive same-role messages merge, tool results travel first in a user
//! message); images must be inline (`png`, `jpeg`, `gif`, `webp`); no empty text
//! blocks; cache breakpoints become `cachePoint` blocks (default lifetime: Converse
//! has no one-hour form). The model id is not in the body but in the URL
//! (`/model/{modelId}/converse`), and the same body serves both operations.
//!
//! What Converse has no field for: JSON mode becomes a forced call of the JSON tool
//! (as for Anthropic) whose input the response translation turns back into text;
//! `top_k` and reasoning go to `additionalModelRequestFields` in the form Claude reads
//! (`top_k`, `thinking`), the models that take them; seed, penalties, `n` > 1 and the
//! end-user id have no equivalent (`n` > 1 is refused, the rest dropped). Converse has
//! no "no tool" choice: with `tool_choice: none` the tools are left out, unless the
//! conversation already holds tool blocks, which Bedrock only accepts alongside a
//! `toolConfig`; the tools are then offered without a choice.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::wire::*;
use crate::error::GatewayError;
use crate::formats::anthropic_messages::JSON_TOOL;
use crate::formats::common::{arguments_object, unsupported};
use crate::formats::RequestOptions;
use crate::model::*;

const TARGET: &str = "Bedrock Converse";

/// Claude's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

/// Write the canonical request as a Converse body (`_model` goes in the URL).
pub(crate) fn write(
    req: &ChatRequest<'_>,
    _model: &str,
    opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n > 1", TARGET).with_param("n"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<MessageOut<'_>> = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        if m.role.is_instruction() {
            system_blocks(&m.content, &mut system)?;
            continue;
        }
        let role = if m.role == Role::Assistant {
            "assistant"
        } else {
            "user"
        };
        let content = blocks(&m.content)?;
        if content.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(content),
            _ => messages.push(MessageOut { role, content }),
        }
    }
    for m in &mut messages {
        if m.role == "user" {
            m.content
                .sort_by_key(|b| !matches!(b, BlockOut::ToolResult(_)));
        }
    }
    let has_tool_blocks = messages
        .iter()
        .flat_map(|m| &m.content)
        .any(|b| matches!(b, BlockOut::ToolUse(_) | BlockOut::ToolResult(_)));
    let (max_tokens, additional) = additional_fields(req, opts);
    let out = RequestOut {
        messages,
        system,
        inference_config: InferenceConfigOut {
            max_tokens,
            temperature: req.sampling.temperature,
            top_p: req.sampling.top_p,
            stop_sequences: req.sampling.stop.iter().map(|s| s.as_ref()).collect(),
        },
        tool_config: tool_config(req, has_tool_blocks),
        additional_model_request_fields: additional,
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising request: {e}")))
}

fn system_blocks<'a>(
    content: &'a [ContentPart<'a>],
    out: &mut Vec<SystemOut<'a>>,
) -> Result<(), GatewayError> {
    for p in content {
        match p {
            ContentPart::Text(t) if t.is_empty() => {}
            ContentPart::Text(t) => out.push(SystemOut::Text(t)),
            ContentPart::CacheBreakpoint(_) if !out.is_empty() => {
                out.push(SystemOut::CachePoint(CACHE_POINT))
            }
            ContentPart::CacheBreakpoint(_) => {}
            _ => return Err(unsupported("non-text system content", TARGET)),
        }
    }
    Ok(())
}

fn blocks<'a>(parts: &'a [ContentPart<'a>]) -> Result<Vec<BlockOut<'a>>, GatewayError> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let block = match p {
            ContentPart::Text(t) | ContentPart::Refusal(t) if t.is_empty() => continue,
            ContentPart::Text(t) | ContentPart::Refusal(t) => BlockOut::Text(t),
            ContentPart::Image(img) => BlockOut::Image(image(img)?),
            // Reasoning goes back only with the signature Claude gave it; reasoning
            // from other providers has none and is left out, as Anthropic requires.
            ContentPart::Reasoning {
                signature: None, ..
            } => continue,
            ContentPart::Reasoning {
                text,
                signature: Some(s),
            } => BlockOut::ReasoningContent(ReasoningOut::ReasoningText { text, signature: s }),
            ContentPart::RedactedReasoning(data) => {
                BlockOut::ReasoningContent(ReasoningOut::RedactedContent(data))
            }
            ContentPart::ToolCall(c) => BlockOut::ToolUse(ToolUseOut {
                tool_use_id: &c.id,
                name: &c.name,
                input: arguments_object(&c.arguments),
            }),
            ContentPart::ToolResult(r) => BlockOut::ToolResult(tool_result(r)?),
            // A cache point marks the end of what precedes it; none can open a turn.
            ContentPart::CacheBreakpoint(_) if out.is_empty() => continue,
            ContentPart::CacheBreakpoint(_) => BlockOut::CachePoint(CACHE_POINT),
        };
        out.push(block);
    }
    Ok(out)
}

fn tool_result<'a>(r: &'a ToolResult<'a>) -> Result<ToolResultOut<'a>, GatewayError> {
    let mut content = Vec::with_capacity(r.content.len());
    for p in &r.content {
        match p {
            ContentPart::Text(t) if !t.is_empty() => content.push(ToolResultBlockOut::Text(t)),
            ContentPart::Image(img) => content.push(ToolResultBlockOut::Image(image(img)?)),
            _ => {}
        }
    }
    Ok(ToolResultOut {
        tool_use_id: &r.tool_call_id,
        content,
        status: r.is_error.then_some("error"),
    })
}

fn image<'a>(img: &'a Image<'a>) -> Result<ImageOut<'a>, GatewayError> {
    match &img.source {
        ImageSource::Base64 { media_type, data } => {
            let format = match media_type.as_ref() {
                "image/png" => "png",
                "image/jpeg" | "image/jpg" => "jpeg",
                "image/gif" => "gif",
                "image/webp" => "webp",
                other => {
                    return Err(unsupported(&format!("image type '{other}'"), TARGET)
                        .with_param("messages"))
                }
            };
            Ok(ImageOut {
                format,
                source: ImageSourceOut { bytes: data },
            })
        }
        // Converse reads images from the body or from S3 only, never from the web.
        ImageSource::Url(_) => Err(unsupported(
            "an image URL (send the image inline as a data: URL)",
            TARGET,
        )
        .with_param("messages")),
    }
}

fn tool_config<'a>(req: &'a ChatRequest<'a>, has_tool_blocks: bool) -> Option<ToolConfigOut<'a>> {
    let mut tools: Vec<ToolEntryOut<'a>> = Vec::with_capacity(req.tools.len() + 1);
    for t in &req.tools {
        tools.push(ToolEntryOut::ToolSpec(ToolSpecOut {
            name: &t.name,
            description: t.description.as_deref(),
            input_schema: InputSchemaOut {
                json: if t.parameters.is_null() {
                    Cow::Owned(json!({"type": "object"}))
                } else {
                    Cow::Borrowed(&t.parameters)
                },
            },
        }));
        if t.cache_breakpoint.is_some() {
            tools.push(ToolEntryOut::CachePoint(CACHE_POINT));
        }
    }
    let mut choice = match req.tool_choice.as_ref() {
        None | Some(ToolChoice::Auto) => None,
        Some(ToolChoice::None) if has_tool_blocks => None,
        Some(ToolChoice::None) => return json_tool_config(req, Vec::new()),
        Some(ToolChoice::Required) => Some(ToolChoiceOut::Any(Empty {})),
        Some(ToolChoice::Tool(name)) => Some(ToolChoiceOut::Tool { name }),
    };
    if let Some(schema) = json_schema(req.response_format.as_ref()) {
        // Alone, the JSON tool is forced; beside the client's tools, some tool must be
        // called (the answer is either a call or the JSON).
        choice = match choice {
            _ if tools.is_empty() => Some(ToolChoiceOut::Tool { name: JSON_TOOL }),
            None => Some(ToolChoiceOut::Any(Empty {})),
            c => c,
        };
        tools.push(json_tool(schema));
    }
    if tools.is_empty() {
        return None;
    }
    Some(ToolConfigOut {
        tools,
        tool_choice: choice,
    })
}

/// `tool_choice: none` without tool blocks: no tools, but JSON mode still needs its.
fn json_tool_config<'a>(
    req: &'a ChatRequest<'a>,
    mut tools: Vec<ToolEntryOut<'a>>,
) -> Option<ToolConfigOut<'a>> {
    let schema = json_schema(req.response_format.as_ref())?;
    tools.push(json_tool(schema));
    Some(ToolConfigOut {
        tools,
        tool_choice: Some(ToolChoiceOut::Tool { name: JSON_TOOL }),
    })
}

fn json_tool(schema: Cow<'_, Value>) -> ToolEntryOut<'_> {
    ToolEntryOut::ToolSpec(ToolSpecOut {
        name: JSON_TOOL,
        description: Some(
            "Respond with a JSON value matching this schema. Always call this tool to answer.",
        ),
        input_schema: InputSchemaOut { json: schema },
    })
}

/// The input schema of the JSON-mode tool, if JSON output was asked for.
fn json_schema<'a>(f: Option<&'a ResponseFormat<'a>>) -> Option<Cow<'a, Value>> {
    match f? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Cow::Owned(
            json!({"type": "object", "additionalProperties": true}),
        )),
        ResponseFormat::JsonSchema { schema, .. } => Some(Cow::Borrowed(schema)),
    }
}

/// `maxTokens` and the model-specific fields. Claude's thinking budget must stay
/// below `max_tokens`, which is then required.
fn additional_fields(
    req: &ChatRequest<'_>,
    opts: &RequestOptions,
) -> (Option<u64>, serde_json::Map<String, Value>) {
    let mut fields = serde_json::Map::new();
    if let Some(k) = req.sampling.top_k {
        fields.insert("top_k".into(), json!(k));
    }
    let Some(r) = req.reasoning.as_ref().filter(|r| r.enabled) else {
        return (req.max_tokens, fields);
    };
    let wanted = r.budget_or_from_effort().max(MIN_THINKING_BUDGET);
    let max_tokens = req.max_tokens.unwrap_or(wanted + opts.default_max_tokens);
    if max_tokens > MIN_THINKING_BUDGET {
        let budget = wanted.min(max_tokens - 1);
        fields.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    (Some(max_tokens), fields)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
