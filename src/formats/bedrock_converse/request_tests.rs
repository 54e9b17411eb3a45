use serde_json::{json, Value};

use crate::error::{Dialect, ErrorKind};
use crate::formats::{translate_request, translate_request_with, RequestOptions, WireFormat};

fn converse(from: Dialect, body: Value) -> Value {
    let out = translate_request(
        from,
        WireFormat::BedrockConverse,
        body.to_string().as_bytes(),
        "m",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out).unwrap()
}

fn refused(from: Dialect, body: Value) -> crate::error::GatewayError {
    translate_request(
        from,
        WireFormat::BedrockConverse,
        body.to_string().as_bytes(),
        "m",
    )
    .unwrap_err()
}

#[test]
fn messages_system_and_inference_config() {
    let out = converse(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": "there"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "Why?"}]}
        ], "temperature": 0.5, "top_p": 0.8, "max_completion_tokens": 100, "stop": ["END", "STOP"],
           "seed": 3, "presence_penalty": 0.1, "user": "u1"}),
    );
    assert_eq!(
        out,
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "Hi"}, {"text": "there"}]},
                {"role": "assistant", "content": [{"text": "Hello"}]},
                {"role": "user", "content": [{"text": "Why?"}]}
            ],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.8,
                                "stopSequences": ["END", "STOP"]}
        })
    );
}

#[test]
fn tools_results_cache_points_and_thinking() {
    let out = converse(
        Dialect::Anthropic,
        json!({"model": "x", "max_tokens": 4096,
            "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "enc"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "also", "cache_control": {"type": "ephemeral"}},
                    {"type": "tool_result", "tool_use_id": "t1", "is_error": true, "content": [
                        {"type": "text", "text": "boom"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}]}]}
            ],
            "tools": [{"name": "f", "description": "F", "input_schema": {"type": "object"},
                       "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "tool", "name": "f"},
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "top_k": 5}),
    );
    assert_eq!(
        out["system"],
        json!([{"text": "S"}, {"cachePoint": {"type": "default"}}])
    );
    assert_eq!(
        out["messages"][1]["content"],
        json!([
            {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
            {"reasoningContent": {"redactedContent": "enc"}},
            {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}
        ])
    );
    // Tool results open the user turn; the cache point stays after the text it follows.
    assert_eq!(
        out["messages"][2]["content"],
        json!([
            {"toolResult": {"toolUseId": "t1", "status": "error", "content": [
                {"text": "boom"},
                {"image": {"format": "gif", "source": {"bytes": "R0lG"}}}]}},
            {"text": "also"},
            {"cachePoint": {"type": "default"}}
        ])
    );
    assert_eq!(
        out["toolConfig"],
        json!({"tools": [
            {"toolSpec": {"name": "f", "description": "F", "inputSchema": {"json": {"type": "object"}}}},
            {"cachePoint": {"type": "default"}}
        ], "toolChoice": {"tool": {"name": "f"}}})
    );
    assert_eq!(
        out["additionalModelRequestFields"],
        json!({"top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048}})
    );
    assert_eq!(out["inferenceConfig"], json!({"maxTokens": 4096}));
}

#[test]
fn tool_choices() {
    let body = |choice: Value, history: bool| {
        let mut messages = vec![json!({"role": "user", "content": "go"})];
        if history {
            messages.push(json!({"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}));
            messages.push(json!({"role": "tool", "tool_call_id": "c", "content": "ok"}));
        }
        json!({"model": "x", "messages": messages, "tool_choice": choice,
               "tools": [{"type": "function", "function": {"name": "f"}}]})
    };
    let config = |c: Value, h: bool| converse(Dialect::OpenAi, body(c, h))["toolConfig"].clone();
    let spec = json!({"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}});
    assert_eq!(config(json!("auto"), false), json!({"tools": [spec]}));
    assert_eq!(
        config(json!("required"), false),
        json!({"tools": [spec], "toolChoice": {"any": {}}})
    );
    // Converse has no "none": the tools go, unless earlier tool blocks need them.
    assert_eq!(config(json!("none"), false), Value::Null);
    assert_eq!(config(json!("none"), true), json!({"tools": [spec]}));
}

#[test]
fn json_mode_is_a_forced_tool() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let out = converse(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}),
    );
    let tools = &out["toolConfig"]["tools"];
    assert_eq!(tools[0]["toolSpec"]["name"], "json_response_format");
    assert_eq!(tools[0]["toolSpec"]["inputSchema"]["json"], schema);
    assert_eq!(
        out["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "json_response_format"}})
    );
    let out = converse(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_object"},
               "tools": [{"type": "function", "function": {"name": "f"}}]}),
    );
    assert_eq!(out["toolConfig"]["toolChoice"], json!({"any": {}}));
    assert_eq!(out["toolConfig"]["tools"].as_array().unwrap().len(), 2);
    let out = converse(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_object"}, "tool_choice": "none",
               "tools": [{"type": "function", "function": {"name": "f"}}]}),
    );
    assert_eq!(
        out["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "json_response_format",
            "description": "Respond with a JSON value matching this schema. Always call this tool to answer.",
            "inputSchema": {"json": {"type": "object", "additionalProperties": true}}}}],
            "toolChoice": {"tool": {"name": "json_response_format"}}})
    );
}

#[test]
fn thinking_budget_fits_max_tokens() {
    let body = json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
                      "reasoning_effort": "medium"});
    let opts = RequestOptions {
        default_max_tokens: 1000,
        ..RequestOptions::default()
    };
    let out = translate_request_with(
        Dialect::OpenAi,
        WireFormat::BedrockConverse,
        body.to_string().as_bytes(),
        "m",
        &opts,
    )
    .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["inferenceConfig"]["maxTokens"], 3048);
    assert_eq!(
        out["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        2048
    );
    // Too small a cap to think within: no thinking rather than an upstream 400.
    let out = converse(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "reasoning_effort": "high", "max_completion_tokens": 600}),
    );
    assert_eq!(out["inferenceConfig"]["maxTokens"], 600);
    assert!(out.get("additionalModelRequestFields").is_none());
}

#[test]
fn refusals() {
    let img = |url: &str| {
        json!({"model": "x", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let e = refused(Dialect::OpenAi, img("https://x.test/cat.png"));
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(e.message.contains("image URL") && e.message.contains("Bedrock Converse"));
    let e = refused(Dialect::OpenAi, img("data:image/tiff;base64,AAAA"));
    assert!(e.message.contains("image/tiff"));
    let e = refused(
        Dialect::OpenAi,
        json!({"model": "x", "n": 3, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(e.param.as_deref(), Some("n"));
}
