//! A Gemini client's `generateContent` body → canonical [`ChatRequest`], for targets
//! of other formats (a Gemini target gets the client's bytes).
//!
//! Gemini's model is the reverse of what `request` writes: `systemInstruction` is
//! the system message; `model` turns are the assistant's; reasoning is text with
//! `thought: true`; calls are `functionCall` parts and their results
//! `functionResponse` parts of a user turn. Gemini pairs the two by function name
//! (ids are optional), so a call without an id gets `call_<n>` and a result answers
//! the call with its id, else the oldest unanswered call of its name. The model and
//! whether to stream come from the URL, not the body (see
//! `proxy::inbound::gemini_call`). `parameters` and `responseSchema` are OpenAPI
//! subsets with upper-case type names; they become JSON Schema.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ingress_wire::*;
use crate::error::GatewayError;
use crate::model::*;

/// Parse a Gemini request body.
pub(crate) fn read(body: &[u8]) -> Result<ChatRequest<'_>, GatewayError> {
    let w: RequestIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let w = match w.generate_content_request {
        Some(inner) => *inner,
        None => w,
    };
    if w.cached_content.is_some() {
        return Err(GatewayError::invalid(
            "cachedContent names a cache held by Gemini; this model's provider has none",
        )
        .with_param("cachedContent"));
    }
    let mut messages = Vec::with_capacity(w.contents.0.len() + 1);
    if let Some(system) = w.system_instruction {
        let content = system_text(system)?;
        if !content.is_empty() {
            messages.push(Message::new(Role::System, content));
        }
    }
    let mut calls = Calls::default();
    for c in w.contents.0 {
        let role = match c.role.as_ref().map(|r| r.as_str()) {
            Some("model") => Role::Assistant,
            // `function` is what older examples name the turn of function responses.
            None | Some("user" | "function" | "") => Role::User,
            Some(other) => {
                return Err(GatewayError::invalid(format!(
                    "Please use a valid role: user, model (got '{}')",
                    other.chars().take(32).collect::<String>()
                ))
                .with_param("contents.role"))
            }
        };
        let mut content = Vec::with_capacity(c.parts.0.len());
        for p in c.parts.0 {
            content.extend(part(p, &mut calls)?);
        }
        if !content.is_empty() {
            messages.push(Message::new(role, content));
        }
    }
    if messages.iter().all(|m| m.role.is_instruction()) {
        return Err(
            GatewayError::invalid("* contents: contents is not specified").with_param("contents"),
        );
    }
    let tools = tools(w.tools)?;
    let config = w.generation_config.unwrap_or_default();
    if config.candidate_count.is_some_and(|n| n > 1) {
        // Answers carry one candidate: more would be paid for and dropped.
        return Err(GatewayError::invalid(
            "candidateCount > 1 is not supported by this model's provider",
        )
        .with_param("generationConfig.candidateCount"));
    }
    Ok(ChatRequest {
        messages,
        tool_choice: w.tool_config.and_then(tool_choice),
        tools,
        response_format: response_format(&config),
        sampling: Sampling {
            temperature: config.temperature,
            top_p: config.top_p,
            top_k: config.top_k.map(|k| k.max(0.0) as u64),
            stop: config.stop_sequences.into_iter().map(|s| s.0).collect(),
            seed: config.seed,
            presence_penalty: config.presence_penalty,
            frequency_penalty: config.frequency_penalty,
        },
        max_tokens: config.max_output_tokens,
        reasoning: config.thinking_config.map(reasoning),
        ..ChatRequest::default()
    })
}

fn system_text(c: ContentIn<'_>) -> Result<Vec<ContentPart<'_>>, GatewayError> {
    let mut out = Vec::new();
    for p in c.parts.0 {
        match p.text {
            Some(t) if !t.0.is_empty() => out.push(ContentPart::Text(t.0)),
            Some(_) => {}
            None => {
                return Err(
                    GatewayError::invalid("systemInstruction takes text parts only")
                        .with_param("systemInstruction"),
                )
            }
        }
    }
    Ok(out)
}

/// The calls of the conversation so far: (id, name, answered).
#[derive(Default)]
struct Calls<'a> {
    seen: Vec<(Cow<'a, str>, Cow<'a, str>, bool)>,
}

impl<'a> Calls<'a> {
    fn add(&mut self, id: Option<Cow<'a, str>>, name: Cow<'a, str>) -> Cow<'a, str> {
        let id = id
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| Cow::Owned(format!("call_{}", self.seen.len())));
        self.seen.push((id.clone(), name, false));
        id
    }

    /// The id of the call a result answers.
    fn answer(&mut self, id: Option<&str>, name: &str) -> Option<Cow<'a, str>> {
        let by_id = id.and_then(|id| self.seen.iter().position(|c| c.0 == id));
        let at = by_id.or_else(|| self.seen.iter().position(|c| !c.2 && c.1 == name))?;
        self.seen[at].2 = true;
        Some(self.seen[at].0.clone())
    }
}

fn part<'a>(p: PartIn<'a>, calls: &mut Calls<'a>) -> Result<Option<ContentPart<'a>>, GatewayError> {
    if let Some(fc) = p.function_call {
        let arguments = match fc.args {
            Some(args) if !args.is_null() => args.to_string(),
            _ => "{}".to_owned(),
        };
        let id = calls.add(fc.id.map(|i| i.0), fc.name.0.clone());
        return Ok(Some(ContentPart::ToolCall(ToolCall {
            id,
            name: fc.name.0,
            arguments: Cow::Owned(arguments),
        })));
    }
    if let Some(fr) = p.function_response {
        return function_response(fr, calls).map(Some);
    }
    if let Some(text) = p.text {
        if text.0.is_empty() {
            return Ok(None);
        }
        return Ok(Some(if p.thought == Some(true) {
            ContentPart::Reasoning {
                text: text.0,
                signature: p.thought_signature.map(|s| s.0),
            }
        } else {
            ContentPart::Text(text.0)
        }));
    }
    if let Some(blob) = p.inline_data {
        let media_type = blob.mime_type.0;
        if !media_type.starts_with("image/") {
            return Err(not_supported(&format!("inlineData of type {media_type}")));
        }
        return Ok(Some(ContentPart::Image(Image {
            source: ImageSource::Base64 {
                media_type,
                data: blob.data.0,
            },
            detail: None,
        })));
    }
    if let Some(file) = p.file_data {
        let mime = file.mime_type.as_ref().map_or("", |m| m.as_str());
        if !mime.is_empty() && !mime.starts_with("image/") {
            return Err(not_supported(&format!("fileData of type {mime}")));
        }
        return Ok(Some(ContentPart::Image(Image {
            source: ImageSource::Url(file.file_uri.0),
            detail: None,
        })));
    }
    if p.executable_code.is_some() || p.code_execution_result.is_some() {
        return Err(not_supported("code execution parts"));
    }
    Ok(None)
}

fn function_response<'a>(
    fr: FunctionResponseIn<'a>,
    calls: &mut Calls<'a>,
) -> Result<ContentPart<'a>, GatewayError> {
    let name = fr.name.as_str();
    let id = calls
        .answer(fr.id.as_ref().map(|i| i.as_str()), name)
        .ok_or_else(|| {
            GatewayError::invalid(format!(
                "functionResponse '{}' answers no functionCall of the conversation",
                name.chars().take(64).collect::<String>()
            ))
            .with_param("contents")
        })?;
    let (text, is_error) = result_text(fr.response.unwrap_or(Value::Null));
    Ok(ContentPart::ToolResult(ToolResult {
        tool_call_id: id,
        content: vec![ContentPart::Text(Cow::Owned(text))],
        is_error,
    }))
}

/// A result object as text: its `output` (or `error`) when that is all it holds,
/// else the whole object as JSON.
fn result_text(response: Value) -> (String, bool) {
    if let Value::Object(map) = &response {
        if map.len() == 1 {
            for (key, is_error) in [("output", false), ("error", true)] {
                match map.get(key) {
                    Some(Value::String(s)) => return (s.clone(), is_error),
                    Some(other) => return (other.to_string(), is_error),
                    None => {}
                }
            }
        }
    }
    match response {
        Value::Null => (String::new(), false),
        Value::String(s) => (s, false),
        other => (other.to_string(), false),
    }
}

fn tools<'a>(tools: Vec<Map<String, Value>>) -> Result<Vec<ToolDef<'a>>, GatewayError> {
    let mut out = Vec::new();
    let mut builtin: Vec<String> = Vec::new();
    for tool in tools {
        for (kind, value) in tool {
            match kind.as_str() {
                "functionDeclarations" | "function_declarations" => {
                    let Value::Array(decls) = value else {
                        return Err(GatewayError::invalid("functionDeclarations must be a list")
                            .with_param("tools"));
                    };
                    for d in decls {
                        out.push(declaration(d)?);
                    }
                }
                // Client-chosen names: bounded in what the error repeats.
                _ if builtin.len() < 8 => builtin.push(kind.chars().take(64).collect()),
                _ => {}
            }
        }
    }
    if !builtin.is_empty() {
        return Err(GatewayError::invalid(format!(
            "built-in tools are not supported for this model's provider: {}",
            builtin.join(", ")
        ))
        .with_param("tools"));
    }
    Ok(out)
}

fn declaration<'a>(d: Value) -> Result<ToolDef<'a>, GatewayError> {
    let Value::Object(mut d) = d else {
        return Err(
            GatewayError::invalid("a function declaration must be an object").with_param("tools"),
        );
    };
    let name = match d.remove("name") {
        Some(Value::String(n)) if !n.is_empty() => n,
        _ => {
            return Err(
                GatewayError::invalid("a function declaration needs a name").with_param("tools")
            )
        }
    };
    let description = match d.remove("description") {
        Some(Value::String(s)) => Some(Cow::Owned(s)),
        _ => None,
    };
    let json_schema = d
        .remove("parametersJsonSchema")
        .or_else(|| d.remove("parameters_json_schema"));
    let parameters = match json_schema {
        Some(schema) => schema,
        None => d
            .remove("parameters")
            .map(json_schema_of)
            .unwrap_or(Value::Null),
    };
    Ok(ToolDef {
        name: Cow::Owned(name),
        description,
        parameters,
        strict: None,
        cache_breakpoint: None,
    })
}

/// Gemini's OpenAPI-subset `Schema` → JSON Schema: type names in lower case (`OBJECT`
/// → `object`), `nullable: true` as a `null` type; everything else is JSON Schema
/// already.
pub(crate) fn json_schema_of(schema: Value) -> Value {
    match schema {
        Value::Object(map) => {
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("nullable", _) => {}
                    ("type", Value::String(t)) => {
                        let t = Value::String(t.to_ascii_lowercase());
                        let t = if nullable {
                            Value::Array(vec![t, Value::String("null".into())])
                        } else {
                            t
                        };
                        out.insert(k, t);
                    }
                    // Property names are data, not schema keywords.
                    ("properties", Value::Object(props)) => {
                        let props = props.into_iter().map(|(n, s)| (n, json_schema_of(s)));
                        out.insert(k, Value::Object(props.collect()));
                    }
                    (_, v) => {
                        out.insert(k, json_schema_of(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(json_schema_of).collect()),
        other => other,
    }
}

fn tool_choice<'a>(config: ToolConfigIn<'a>) -> Option<ToolChoice<'a>> {
    let c = config.function_calling_config?;
    let mut names = c.allowed_function_names;
    Some(match c.mode.as_ref().map(|m| m.as_str()) {
        Some("NONE") => ToolChoice::None,
        Some("ANY") if names.len() == 1 => ToolChoice::Tool(names.remove(0).0),
        Some("ANY") => ToolChoice::Required,
        _ => ToolChoice::Auto,
    })
}

fn response_format<'a>(config: &GenerationConfigIn<'_>) -> Option<ResponseFormat<'a>> {
    let mime = config.response_mime_type.as_ref()?;
    if mime.as_str() != "application/json" {
        return None;
    }
    let schema = match (&config.response_json_schema, &config.response_schema) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => json_schema_of(s.clone()),
        (None, None) => return Some(ResponseFormat::JsonObject),
    };
    Some(ResponseFormat::JsonSchema {
        name: Cow::Borrowed("response"),
        description: None,
        schema,
        strict: None,
    })
}

fn reasoning<'a>(t: ThinkingConfigIn<'a>) -> Reasoning<'a> {
    let effort = t
        .thinking_level
        .map(|l| Cow::Owned(l.as_str().to_ascii_lowercase()));
    Reasoning {
        enabled: t.thinking_budget != Some(0),
        budget_tokens: t
            .thinking_budget
            .and_then(|b| u64::try_from(b).ok())
            .filter(|b| *b > 0),
        effort,
    }
}

fn not_supported(what: &str) -> GatewayError {
    GatewayError::invalid(format!("{what} is not supported by this model's provider"))
        .with_param("contents")
}

#[cfg(test)]
#[path = "request_read_tests.rs"]
mod tests;
