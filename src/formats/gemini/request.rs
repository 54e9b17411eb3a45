//! Canonical [`ChatRequest`] → Gemini `generateContent` body.
//!
//! Gemini's rules, applied here: instructions go to `systemInstruction` (text only);
//! turns are `user` or `model`, consecutive turns of one role merge; tool results are
//! `functionResponse` parts of a user turn, named after the function they answer
//! (Gemini pairs by name, so the name is looked up from the call with the result's
//! id), with images a tool returned as parts beside them; calls carry their thought
//! signature back (see `call_id`). The model name is not in the body: it is part of
//! the URL (`/v1beta/models/{model}:generateContent`). JSON mode is native
//! (`responseMimeType` + `responseJsonSchema`); reasoning becomes a `thinkingConfig`
//! budget with thought summaries on. Reasoning from earlier turns is left out: Gemini
//! takes thoughts back only through the signatures.

use std::borrow::Cow;

use super::call_id;
use super::wire::*;
use crate::error::GatewayError;
use crate::formats::common::{arguments_object, unsupported};
use crate::formats::RequestOptions;
use crate::model::*;

const TARGET: &str = "Gemini";

/// Write the canonical request as a Gemini `generateContent` body. `_model` goes in
/// the URL, and no option of [`RequestOptions`] applies to Gemini.
pub(crate) fn write(
    req: &ChatRequest<'_>,
    _model: &str,
    _opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n > 1", TARGET).with_param("n"));
    }
    // (id, function name) of the calls so far: a result answers the latest call
    // with its id (some servers number calls per answer, so ids repeat).
    let mut calls: Vec<(&str, &str)> = Vec::new();
    let mut system: Vec<PartOut<'_>> = Vec::new();
    let mut contents: Vec<ContentOut<'_>> = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        if m.role.is_instruction() {
            system_parts(&m.content, &mut system)?;
            continue;
        }
        let role = if m.role == Role::Assistant {
            "model"
        } else {
            "user"
        };
        let mut parts = Vec::with_capacity(m.content.len());
        for p in &m.content {
            write_part(p, &mut calls, &mut parts)?;
        }
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role == Some(role) => last.parts.extend(parts),
            _ => contents.push(ContentOut {
                role: Some(role),
                parts,
            }),
        }
    }
    for c in &mut contents {
        if c.role == Some("user") {
            // Function responses answer the model turn just before: keep them first.
            c.parts.sort_by_key(|p| !p.from_tool);
        } else {
            sign_foreign_calls(&mut c.parts);
        }
    }
    let (tools, tool_config) = tools(req);
    let out = RequestOut {
        contents,
        system_instruction: (!system.is_empty()).then_some(ContentOut {
            role: None,
            parts: system,
        }),
        tools,
        tool_config,
        generation_config: generation_config(req),
    };
    serde_json::to_vec(&out)
        .map_err(|e| GatewayError::internal(format!("serialising request: {e}")))
}

fn system_parts<'a>(
    content: &'a [ContentPart<'a>],
    out: &mut Vec<PartOut<'a>>,
) -> Result<(), GatewayError> {
    for p in content {
        match p {
            ContentPart::Text(t) if t.is_empty() => {}
            ContentPart::Text(t) => out.push(PartOut {
                text: Some(t),
                ..PartOut::default()
            }),
            ContentPart::CacheBreakpoint(_) => {}
            _ => return Err(unsupported("non-text system content", TARGET)),
        }
    }
    Ok(())
}

fn write_part<'a>(
    p: &'a ContentPart<'a>,
    calls: &mut Vec<(&'a str, &'a str)>,
    out: &mut Vec<PartOut<'a>>,
) -> Result<(), GatewayError> {
    match p {
        ContentPart::Text(t) | ContentPart::Refusal(t) if !t.is_empty() => out.push(PartOut {
            text: Some(t),
            ..PartOut::default()
        }),
        ContentPart::Image(img) => out.push(image(img)?),
        ContentPart::ToolCall(c) => {
            calls.push((&c.id, &c.name));
            out.push(PartOut {
                function_call: Some(FunctionCallOut {
                    id: None,
                    name: &c.name,
                    args: arguments_object(&c.arguments),
                }),
                thought_signature: call_id::signature(&c.id),
                ..PartOut::default()
            })
        }
        ContentPart::ToolResult(r) => tool_result(r, calls, out)?,
        // Empty text, earlier reasoning (Gemini takes it back only as signatures) and
        // cache breakpoints (Gemini caches implicitly) have nothing to write.
        _ => {}
    }
    Ok(())
}

fn tool_result<'a>(
    r: &'a ToolResult<'a>,
    calls: &[(&'a str, &'a str)],
    out: &mut Vec<PartOut<'a>>,
) -> Result<(), GatewayError> {
    let id = r.tool_call_id.as_ref();
    let Some(&(_, name)) = calls.iter().rev().find(|(c, _)| *c == id) else {
        return Err(GatewayError::invalid(format!(
            "tool result '{id}' answers no tool call of the conversation; Gemini needs the \
             function's name, which only the call has"
        ))
        .with_param("messages"));
    };
    let mut text: Cow<'a, str> = Cow::Borrowed("");
    let mut images = Vec::new();
    for p in &r.content {
        match p {
            ContentPart::Text(t) if text.is_empty() => text = Cow::Borrowed(t),
            ContentPart::Text(t) => {
                let s = text.to_mut();
                s.push('\n');
                s.push_str(t);
            }
            ContentPart::Image(img) => images.push(PartOut {
                from_tool: true,
                ..image(img)?
            }),
            _ => {}
        }
    }
    let response = if r.is_error {
        FunctionResultOut::Error(text)
    } else {
        FunctionResultOut::Output(text)
    };
    out.push(PartOut {
        function_response: Some(FunctionResponseOut { name, response }),
        from_tool: true,
        ..PartOut::default()
    });
    out.extend(images);
    Ok(())
}

/// Gemini 3 checks that the first call of a model turn carries a signature; a turn
/// that has none (another provider wrote it) gets the documented stand-in.
fn sign_foreign_calls(parts: &mut [PartOut<'_>]) {
    let mut calls = parts.iter_mut().filter(|p| p.function_call.is_some());
    let Some(first) = calls.next() else { return };
    if first.thought_signature.is_none() && calls.all(|p| p.thought_signature.is_none()) {
        first.thought_signature = Some(Cow::Borrowed(call_id::FOREIGN_SIGNATURE));
    }
}

fn image<'a>(img: &'a Image<'a>) -> Result<PartOut<'a>, GatewayError> {
    Ok(match &img.source {
        ImageSource::Base64 { media_type, data } => PartOut {
            inline_data: Some(BlobOut {
                mime_type: media_type,
                data,
            }),
            ..PartOut::default()
        },
        ImageSource::Url(url) => {
            let mime_type = url_mime_type(url).ok_or_else(|| {
                unsupported(
                    "an image URL without a known image extension (png, jpeg, webp, gif, \
                     heic, heif)",
                    TARGET,
                )
                .with_param("messages")
            })?;
            PartOut {
                file_data: Some(FileDataOut {
                    mime_type,
                    file_uri: url,
                }),
                ..PartOut::default()
            }
        }
    })
}

/// Gemini's `fileData` needs the MIME type, which for a URL only its extension tells.
fn url_mime_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?;
    let (_, ext) = path.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

fn tools<'a>(req: &'a ChatRequest<'a>) -> (Vec<ToolOut<'a>>, Option<ToolConfigOut<'a>>) {
    if req.tools.is_empty() {
        return (Vec::new(), None);
    }
    let function_declarations = req
        .tools
        .iter()
        .map(|t| FunctionDeclarationOut {
            name: &t.name,
            description: t.description.as_deref(),
            // A function without parameters leaves them unset.
            parameters_json_schema: (!t.parameters.is_null()).then_some(&t.parameters),
        })
        .collect();
    let config = req.tool_choice.as_ref().map(|c| {
        let (mode, allowed_function_names) = match c {
            ToolChoice::Auto => ("AUTO", Vec::new()),
            ToolChoice::None => ("NONE", Vec::new()),
            ToolChoice::Required => ("ANY", Vec::new()),
            ToolChoice::Tool(name) => ("ANY", vec![name.as_ref()]),
        };
        ToolConfigOut {
            function_calling_config: FunctionCallingConfigOut {
                mode,
                allowed_function_names,
            },
        }
    });
    (
        vec![ToolOut {
            function_declarations,
        }],
        config,
    )
}

fn generation_config<'a>(req: &'a ChatRequest<'a>) -> GenerationConfigOut<'a> {
    let s = &req.sampling;
    let (response_mime_type, response_json_schema) = match &req.response_format {
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => (Some("application/json"), Some(schema)),
        Some(ResponseFormat::Text) | None => (None, None),
    };
    GenerationConfigOut {
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k,
        max_output_tokens: req.max_tokens,
        stop_sequences: s.stop.iter().map(|x| x.as_ref()).collect(),
        seed: s.seed,
        presence_penalty: s.presence_penalty,
        frequency_penalty: s.frequency_penalty,
        response_mime_type,
        response_json_schema,
        thinking_config: req
            .reasoning
            .as_ref()
            .filter(|r| r.enabled)
            .map(|r| ThinkingConfigOut {
                thinking_budget: r.budget_or_from_effort(),
                include_thoughts: true,
            }),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
