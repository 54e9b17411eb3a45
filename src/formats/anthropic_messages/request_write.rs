//! Canonical [`ChatRequest`] → Anthropic Messages body.
//!
//! Anthropic's rules, applied here: instructions go to the top-level `system`;
//! roles alternate (consecutive same-role messages merge, tool results travel in a
//! user message as `tool_result` blocks, first in it); `max_tokens` is required; no
//! empty text blocks; JSON mode has no native switch, so it becomes a forced call of
//! the [`JSON_TOOL`] whose input the response translation turns back into text.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::wire::*;
use super::JSON_TOOL;
use crate::error::GatewayError;
use crate::formats::common::{arguments_object, unsupported};
use crate::formats::RequestOptions;
use crate::model::*;

const TARGET: &str = "Anthropic Messages";

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

/// Write the canonical request as an Anthropic Messages body for `model`.
pub(crate) fn write(
    req: &ChatRequest<'_>,
    model: &str,
    opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n > 1", TARGET).with_param("n"));
    }
    let mut system = Vec::new();
    let mut messages: Vec<MessageOut<'_>> = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        if m.role.is_instruction() {
            system.extend(blocks(&m.content, true)?);
            continue;
        }
        let role = if m.role == Role::Assistant {
            "assistant"
        } else {
            "user"
        };
        let content = blocks(&m.content, false)?;
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
            // Tool results must open the user turn that answers the tool calls.
            m.content
                .sort_by_key(|b| !matches!(b, BlockOut::ToolResult { .. }));
        }
    }
    let (max_tokens, thinking) = budget(req, opts);
    let thinks = thinking.is_some();
    let (tools, tool_choice) = tools(req, thinks);
    // With thinking on, Anthropic rejects temperature and top_k, and top_p below 0.95.
    let out = RequestOut {
        model,
        max_tokens,
        system,
        messages,
        temperature: req.sampling.temperature.filter(|_| !thinks),
        top_p: req.sampling.top_p.filter(|p| !thinks || *p >= 0.95),
        top_k: req.sampling.top_k.filter(|_| !thinks),
        stop_sequences: req.sampling.stop.iter().map(|s| s.as_ref()).collect(),
        stream: req.stream,
        metadata: req.user.as_deref().map(|user_id| MetadataOut { user_id }),
        tools,
        tool_choice,
        thinking,
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising request: {e}")))
}

/// `max_tokens` (required) and the thinking budget, which must stay below it.
fn budget(req: &ChatRequest<'_>, opts: &RequestOptions) -> (u64, Option<ThinkingOut>) {
    let reasoning = req.reasoning.as_ref().filter(|r| r.enabled);
    let Some(r) = reasoning else {
        return (req.max_tokens.unwrap_or(opts.default_max_tokens), None);
    };
    let wanted = r.budget_or_from_effort().max(MIN_THINKING_BUDGET);
    let max_tokens = req.max_tokens.unwrap_or(wanted + opts.default_max_tokens);
    if max_tokens <= MIN_THINKING_BUDGET {
        // OpenAI's max_completion_tokens includes reasoning; too small to think at all.
        return (max_tokens, None);
    }
    let thinking = ThinkingOut {
        kind: "enabled",
        budget_tokens: wanted.min(max_tokens - 1),
    };
    (max_tokens, Some(thinking))
}

/// Tools and tool choice. `thinks`: thinking is on, with which Anthropic only allows
/// `auto` and `none`, so the JSON-mode tool is offered rather than forced.
fn tools<'a>(
    req: &'a ChatRequest<'a>,
    thinks: bool,
) -> (Vec<ToolOut<'a>>, Option<ToolChoiceOut<'a>>) {
    let mut tools: Vec<ToolOut<'a>> = req
        .tools
        .iter()
        .map(|t| ToolOut {
            name: &t.name,
            description: t.description.as_deref(),
            input_schema: if t.parameters.is_null() {
                Cow::Owned(json!({"type": "object"}))
            } else {
                Cow::Borrowed(&t.parameters)
            },
            cache_control: t.cache_breakpoint.map(cache_control),
        })
        .collect();
    let mut choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => ("auto", None),
        ToolChoice::None => ("none", None),
        ToolChoice::Required => ("any", None),
        ToolChoice::Tool(name) => ("tool", Some(name.as_ref())),
    });
    if let Some(schema) = json_schema(req.response_format.as_ref()) {
        let forced = tools.is_empty();
        tools.push(ToolOut {
            name: JSON_TOOL,
            description: Some(
                "Respond with a JSON value matching this schema. Always call this tool to answer.",
            ),
            input_schema: schema,
            cache_control: None,
        });
        choice = match choice {
            _ if thinks => Some(("auto", None)),
            _ if forced => Some(("tool", Some(JSON_TOOL))),
            // With the client's own tools present, the answer is either a tool call or the JSON.
            None | Some(("auto", _)) => Some(("any", None)),
            other => other,
        };
    }
    if tools.is_empty() {
        return (tools, None);
    }
    let disable_parallel = req.parallel_tool_calls.map(|p| !p).filter(|d| *d);
    let choice = match (choice, disable_parallel) {
        (None, None) => None,
        (c, d) => {
            let (kind, name) = c.unwrap_or(("auto", None));
            // `none` takes no parallelism flag.
            let d = d.filter(|_| kind != "none");
            Some(ToolChoiceOut {
                kind,
                name,
                disable_parallel_tool_use: d,
            })
        }
    };
    (tools, choice)
}

/// The input schema of the JSON-mode tool, if JSON output was asked for.
fn json_schema<'a>(f: Option<&'a ResponseFormat<'a>>) -> Option<Cow<'a, Value>> {
    match f? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Cow::Owned(
            json!({"type": "object", "additionalProperties": true}),
        )),
        // Anthropic checks that tool input schemas describe objects, as OpenAI does
        // for strict JSON schemas; anything else is rejected by the upstream.
        ResponseFormat::JsonSchema { schema, .. } => Some(Cow::Borrowed(schema)),
    }
}

fn cache_control(t: CacheTtl) -> CacheControlOut {
    CacheControlOut {
        kind: "ephemeral",
        ttl: match t {
            CacheTtl::Default => None,
            CacheTtl::OneHour => Some("1h"),
        },
    }
}

/// Canonical parts → content blocks. `system` allows text only.
fn blocks<'a>(
    parts: &'a [ContentPart<'a>],
    system: bool,
) -> Result<Vec<BlockOut<'a>>, GatewayError> {
    let mut out: Vec<BlockOut<'a>> = Vec::with_capacity(parts.len());
    for part in parts {
        let block = match part {
            ContentPart::CacheBreakpoint(t) => {
                if let Some(last) = out.last_mut() {
                    last.set_cache_control(cache_control(*t));
                }
                continue;
            }
            ContentPart::Text(t) | ContentPart::Refusal(t) if t.is_empty() => continue,
            ContentPart::Text(t) | ContentPart::Refusal(t) => BlockOut::Text {
                text: t,
                cache_control: None,
            },
            _ if system => return Err(unsupported("non-text system content", TARGET)),
            ContentPart::Image(img) => image(img),
            // Thinking must carry Anthropic's signature to be accepted back; reasoning
            // from other providers has none and is left out.
            ContentPart::Reasoning {
                signature: None, ..
            } => continue,
            ContentPart::Reasoning {
                text,
                signature: Some(s),
            } => BlockOut::Thinking {
                thinking: text,
                signature: s,
            },
            ContentPart::RedactedReasoning(data) => BlockOut::RedactedThinking { data },
            ContentPart::ToolCall(c) => BlockOut::ToolUse {
                id: &c.id,
                name: &c.name,
                input: arguments_object(&c.arguments),
                cache_control: None,
            },
            ContentPart::ToolResult(r) => BlockOut::ToolResult {
                tool_use_id: &r.tool_call_id,
                content: blocks(&r.content, false)?,
                is_error: r.is_error,
                cache_control: None,
            },
        };
        out.push(block);
    }
    Ok(out)
}

fn image<'a>(img: &'a Image<'a>) -> BlockOut<'a> {
    let source = match &img.source {
        ImageSource::Url(url) => SourceOut::Url { url },
        ImageSource::Base64 { media_type, data } => SourceOut::Base64 { media_type, data },
    };
    BlockOut::Image {
        source,
        cache_control: None,
    }
}
