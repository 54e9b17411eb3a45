//! Canonical [`ChatRequest`] → Responses request body, for chat-completions and
//! Messages clients whose target serves only the Responses API (`api: responses`).
//!
//! Messages become input items in order: system and developer turns stay messages
//! of their role, user content becomes `input_text` / `input_image` parts, an
//! assistant turn becomes its message and one `function_call` item per call, tool
//! results become `function_call_output` items. `store` is false: the client's API
//! is stateless, so nothing is left at the provider. Reasoning from earlier turns is
//! left out (only OpenAI's own encrypted reasoning items could be sent back, and
//! these clients never hold them).

use serde_json::{json, Map, Value};

use crate::error::GatewayError;
use crate::formats::common::unsupported;
use crate::formats::RequestOptions;
use crate::model::*;

/// How the target is named in a 400 for content it cannot take.
const TARGET: &str = "OpenAI Responses";

/// Write the Responses body for `req`, addressed to `model`.
pub(crate) fn write(
    req: &ChatRequest<'_>,
    model: &str,
    _opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n greater than 1", TARGET));
    }
    if !req.sampling.stop.is_empty() {
        return Err(unsupported("stop sequences", TARGET));
    }
    let mut input = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        write_message(m, &mut input)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("input".into(), Value::Array(input));
    body.insert("store".into(), json!(false));
    if req.stream {
        body.insert("stream".into(), json!(true));
    }
    if !req.tools.is_empty() {
        body.insert("tools".into(), req.tools.iter().map(tool).collect());
    }
    if let Some(c) = &req.tool_choice {
        body.insert("tool_choice".into(), tool_choice(c));
    }
    let optional = [
        (
            "parallel_tool_calls",
            req.parallel_tool_calls.map(Value::from),
        ),
        ("temperature", req.sampling.temperature.map(Value::from)),
        ("top_p", req.sampling.top_p.map(Value::from)),
        ("max_output_tokens", req.max_tokens.map(Value::from)),
        ("safety_identifier", req.user.as_deref().map(Value::from)),
        ("metadata", req.metadata.clone().map(Value::Object)),
        ("text", req.response_format.as_ref().and_then(text_format)),
        ("reasoning", req.reasoning.as_ref().and_then(reasoning)),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            body.insert(name.into(), v);
        }
    }
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| GatewayError::internal(format!("serialize: {e}")))
}

/// One canonical message as input items appended to `items`.
fn write_message(m: &Message<'_>, items: &mut Vec<Value>) -> Result<(), GatewayError> {
    let role = match m.role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User | Role::Tool => "user",
        Role::Assistant => return write_assistant(m, items),
    };
    let mut parts = Vec::new();
    for part in &m.content {
        match part {
            ContentPart::Text(t) => parts.push(json!({"type": "input_text", "text": t})),
            ContentPart::Image(img) => parts.push(image(img)),
            ContentPart::ToolResult(r) => {
                // Calls are answered in order: what came before goes first.
                flush_message(role, &mut parts, items);
                items.push(json!({
                    "type": "function_call_output",
                    "call_id": r.tool_call_id,
                    "output": result_text(&r.content)?,
                }));
            }
            ContentPart::Refusal(t) => parts.push(json!({"type": "input_text", "text": t})),
            ContentPart::CacheBreakpoint(_)
            | ContentPart::Reasoning { .. }
            | ContentPart::RedactedReasoning(_) => {}
            ContentPart::ToolCall(_) => {
                return Err(unsupported("tool calls in a user turn", TARGET))
            }
        }
    }
    flush_message(role, &mut parts, items);
    Ok(())
}

fn flush_message(role: &str, parts: &mut Vec<Value>, items: &mut Vec<Value>) {
    if !parts.is_empty() {
        let content = std::mem::take(parts);
        items.push(json!({"type": "message", "role": role, "content": content}));
    }
}

/// An assistant turn: its text as one message, then its calls.
fn write_assistant(m: &Message<'_>, items: &mut Vec<Value>) -> Result<(), GatewayError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in &m.content {
        match part {
            ContentPart::Text(t) | ContentPart::Refusal(t) => text.push_str(t),
            ContentPart::ToolCall(c) => calls.push(json!({
                "type": "function_call",
                "call_id": c.id,
                "name": c.name,
                "arguments": c.arguments,
            })),
            ContentPart::Image(_) => {
                return Err(unsupported("images in an assistant turn", TARGET))
            }
            _ => {}
        }
    }
    if !text.is_empty() {
        let content = [json!({"type": "output_text", "text": text, "annotations": []})];
        items.push(json!({"type": "message", "role": "assistant", "content": content}));
    }
    items.extend(calls);
    Ok(())
}

fn image(img: &Image<'_>) -> Value {
    let url = match &img.source {
        ImageSource::Url(u) => u.to_string(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    };
    json!({"type": "input_image", "image_url": url, "detail": img.detail.as_deref().unwrap_or("auto")})
}

/// A tool result's content as the `output` string.
fn result_text(content: &[ContentPart<'_>]) -> Result<String, GatewayError> {
    let mut out = String::new();
    for part in content {
        match part {
            ContentPart::Text(t) => out.push_str(t),
            ContentPart::CacheBreakpoint(_) => {}
            _ => return Err(unsupported("non-text tool results", TARGET)),
        }
    }
    Ok(out)
}

fn tool(t: &ToolDef<'_>) -> Value {
    let mut v = json!({"type": "function", "name": t.name, "parameters": t.parameters});
    if let Some(d) = &t.description {
        v["description"] = json!(d);
    }
    if let Some(s) = t.strict {
        v["strict"] = json!(s);
    }
    v
}

fn tool_choice(c: &ToolChoice<'_>) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}

fn text_format(f: &ResponseFormat<'_>) -> Option<Value> {
    let format = match f {
        ResponseFormat::Text => return None,
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => {
            let mut v = json!({"type": "json_schema", "name": name, "schema": schema});
            if let Some(d) = description {
                v["description"] = json!(d);
            }
            if let Some(s) = strict {
                v["strict"] = json!(s);
            }
            v
        }
    };
    Some(json!({ "format": format }))
}

fn reasoning(r: &Reasoning<'_>) -> Option<Value> {
    r.enabled
        .then(|| json!({"effort": r.effort_or_from_budget()}))
}

#[cfg(test)]
mod tests {
    use crate::formats::{translate_request, Dialect, WireFormat};
    use serde_json::Value;

    fn to_responses(from: Dialect, body: &str) -> Value {
        let out =
            translate_request(from, WireFormat::OpenAiResponses, body.as_bytes(), "up").unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_chat_round_trip_becomes_input_items() {
        let v = to_responses(
            Dialect::OpenAi,
            r#"{"model":"m","stream":true,"max_completion_tokens":50,"temperature":0.2,
              "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":true}},
              "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
              "tool_choice":{"type":"function","function":{"name":"get_weather"}},
              "messages":[{"role":"system","content":"Be brief."},
                {"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
                {"role":"tool","tool_call_id":"call_1","content":"sunny"}]}"#,
        );
        assert_eq!(v["model"], "up");
        assert_eq!(v["store"], false);
        assert_eq!(v["stream"], true);
        assert_eq!(v["max_output_tokens"], 50);
        assert_eq!(v["text"]["format"]["type"], "json_schema");
        assert_eq!(v["text"]["format"]["name"], "s");
        assert_eq!(v["tools"][0]["name"], "get_weather");
        assert_eq!(v["tool_choice"]["name"], "get_weather");
        let items = v["input"].as_array().unwrap();
        assert_eq!(items[0]["role"], "system");
        assert_eq!(items[1]["content"][0]["type"], "input_text");
        assert_eq!(items[1]["content"][1]["type"], "input_image");
        assert_eq!(items[2]["type"], "function_call");
        assert_eq!(items[2]["call_id"], "call_1");
        assert_eq!(items[3]["type"], "function_call_output");
        assert_eq!(items[3]["output"], "sunny");
    }

    #[test]
    fn a_messages_tool_result_and_thinking() {
        let v = to_responses(
            Dialect::Anthropic,
            r#"{"model":"m","max_tokens":64,"system":"sys","thinking":{"type":"enabled","budget_tokens":2048},
              "messages":[{"role":"user","content":"hi"},
                {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"calling"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"},{"type":"text","text":"and?"}]}]}"#,
        );
        let items = v["input"].as_array().unwrap();
        let kinds: Vec<&str> = items
            .iter()
            .map(|i| i["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            kinds,
            [
                "message",
                "message",
                "message",
                "function_call",
                "function_call_output",
                "message"
            ]
        );
        assert_eq!(items[2]["content"][0]["text"], "calling");
        assert_eq!(items[3]["arguments"], r#"{"a":1}"#);
        assert_eq!(v["reasoning"]["effort"], "medium");
        assert_eq!(v["max_output_tokens"], 64);
    }

    #[test]
    fn stop_sequences_are_refused() {
        let err = crate::formats::translate_request(
            Dialect::OpenAi,
            WireFormat::OpenAiResponses,
            br#"{"model":"m","stop":["x"],"messages":[{"role":"user","content":"hi"}]}"#,
            "up",
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message.contains("stop sequences"), "{}", err.message);
    }
}
