use serde_json::{json, Value};

use crate::error::{Dialect, ErrorKind};
use crate::formats::{translate_request, WireFormat};

fn gemini(from: Dialect, body: Value) -> Value {
    let out = translate_request(from, WireFormat::Gemini, body.to_string().as_bytes(), "m")
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out).unwrap()
}

fn refused(from: Dialect, body: Value) -> crate::error::GatewayError {
    translate_request(from, WireFormat::Gemini, body.to_string().as_bytes(), "m").unwrap_err()
}

#[test]
fn conversation_roles_system_and_sampling() {
    let out = gemini(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Bonjour"},
            {"role": "user", "content": "Why?"}
        ], "temperature": 0.5, "top_p": 0.8, "max_tokens": 100, "stop": "END", "seed": 3,
           "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "u1"}),
    );
    assert_eq!(
        out["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]})
    );
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hi"}, {"text": "there"}]},
            {"role": "model", "parts": [{"text": "Bonjour"}]},
            {"role": "user", "parts": [{"text": "Why?"}]}
        ])
    );
    assert_eq!(
        out["generationConfig"],
        json!({"temperature": 0.5, "topP": 0.8, "maxOutputTokens": 100,
               "stopSequences": ["END"], "seed": 3, "presencePenalty": 0.1,
               "frequencyPenalty": 0.2})
    );
    // Neither the model (it is in the URL) nor the end user has a place in the body.
    assert!(out.get("model").is_none() && out.get("user").is_none());
    assert!(out.get("tools").is_none() && out.get("toolConfig").is_none());
}

#[test]
fn tool_calls_results_and_choices() {
    let body = |choice: Value| {
        json!({"model": "x", "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "b", "content": "noon"},
            {"role": "tool", "tool_call_id": "a", "content": "sunny"}
        ], "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "additionalProperties": false}}},
            {"type": "function", "function": {"name": "get_time", "description": "Time now"}}
        ], "tool_choice": choice})
    };
    let out = gemini(Dialect::OpenAi, body(json!("auto")));
    let contents = out["contents"].as_array().unwrap();
    assert_eq!(
        contents.len(),
        3,
        "the two tool messages merge into one user turn"
    );
    // A turn another provider wrote gets the stand-in signature on its first call.
    assert_eq!(
        contents[1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
             "thoughtSignature": "skip_thought_signature_validator"},
            {"functionCall": {"name": "get_time", "args": {}}}
        ]})
    );
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_time", "response": {"output": "noon"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}
        ]})
    );
    assert_eq!(
        out["tools"],
        json!([{"functionDeclarations": [
            {"name": "get_weather", "parametersJsonSchema": {"type": "object", "additionalProperties": false}},
            {"name": "get_time", "description": "Time now"}
        ]}])
    );
    assert_eq!(
        out["toolConfig"],
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    let mode =
        |c: Value| gemini(Dialect::OpenAi, body(c))["toolConfig"]["functionCallingConfig"].clone();
    assert_eq!(mode(json!("none")), json!({"mode": "NONE"}));
    assert_eq!(mode(json!("required")), json!({"mode": "ANY"}));
    assert_eq!(
        mode(json!({"type": "function", "function": {"name": "get_time"}})),
        json!({"mode": "ANY", "allowedFunctionNames": ["get_time"]})
    );
}

#[test]
fn thought_signature_travels_back_in_the_call_id() {
    let sig = "CiQBVKhc7nCTRDdM3ZMrxhZpIzNwN6Wx2y5VlpYcB0e2v0xfT0AK";
    let id = super::call_id::encode("resp", 0, None, Some(sig));
    let out = gemini(
        Dialect::Anthropic,
        json!({"model": "x", "max_tokens": 10, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": id, "name": "f", "input": {"q": 1}},
                {"type": "tool_use", "id": "call_resp_1", "name": "g", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "and?"},
                {"type": "tool_result", "tool_use_id": id, "content": "one", "is_error": true},
                {"type": "tool_result", "tool_use_id": "call_resp_1", "content": [
                    {"type": "text", "text": "a"}, {"type": "text", "text": "b"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
                ]}
            ]}
        ]}),
    );
    let model = &out["contents"][1]["parts"];
    assert_eq!(model[0]["thoughtSignature"], sig);
    assert!(model[1].get("thoughtSignature").is_none());
    assert_eq!(
        out["contents"][2]["parts"],
        json!([
            {"functionResponse": {"name": "f", "response": {"error": "one"}}},
            {"functionResponse": {"name": "g", "response": {"output": "a\nb"}}},
            {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
            {"text": "and?"}
        ])
    );
}

#[test]
fn images_inline_and_by_url() {
    let img = |url: &str| {
        json!({"model": "x", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let out = gemini(Dialect::OpenAi, img("data:image/webp;base64,UklGR"));
    assert_eq!(
        out["contents"][0]["parts"][0],
        json!({"inlineData": {"mimeType": "image/webp", "data": "UklGR"}})
    );
    let out = gemini(Dialect::OpenAi, img("https://x.test/a/cat.JPG?size=2"));
    assert_eq!(
        out["contents"][0]["parts"][0],
        json!({"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.test/a/cat.JPG?size=2"}})
    );
    let e = refused(Dialect::OpenAi, img("https://x.test/image?id=3"));
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(e.message.contains("image URL") && e.message.contains("Gemini"));
}

#[test]
fn json_mode_and_reasoning() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let out = gemini(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
               "reasoning_effort": "high"}),
    );
    assert_eq!(
        out["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema,
               "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": true}})
    );
    let out = gemini(
        Dialect::Anthropic,
        json!({"model": "x", "max_tokens": 5000, "messages": [{"role": "user", "content": "hi"}],
               "thinking": {"type": "enabled", "budget_tokens": 3000}}),
    );
    assert_eq!(
        out["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 3000, "includeThoughts": true})
    );
    let out = gemini(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
               "response_format": {"type": "json_object"}, "reasoning_effort": "none"}),
    );
    assert_eq!(
        out["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
}

#[test]
fn earlier_reasoning_and_cache_marks_are_left_out() {
    let out = gemini(
        Dialect::Anthropic,
        json!({"model": "x", "max_tokens": 10, "system": [
                {"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
               "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xx"},
                {"type": "text", "text": ""},
                {"type": "text", "text": "a"}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "only", "signature": "s"}]},
            {"role": "user", "content": "again"}
        ]}),
    );
    assert_eq!(out["systemInstruction"], json!({"parts": [{"text": "S"}]}));
    assert_eq!(
        out["contents"],
        json!([
            {"role": "user", "parts": [{"text": "q"}]},
            {"role": "model", "parts": [{"text": "a"}]},
            {"role": "user", "parts": [{"text": "again"}]}
        ])
    );
}

#[test]
fn refusals() {
    let e = refused(
        Dialect::OpenAi,
        json!({"model": "x", "n": 2, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(
        (e.kind, e.param.as_deref()),
        (ErrorKind::InvalidRequest, Some("n"))
    );
    let e = refused(
        Dialect::OpenAi,
        json!({"model": "x", "messages": [{"role": "tool", "tool_call_id": "nope", "content": "r"}]}),
    );
    assert!(e.message.contains("'nope'") && e.message.contains("function's name"));
    let e = refused(
        Dialect::Anthropic,
        json!({"model": "x", "max_tokens": 1, "system": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}}],
            "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert!(e.message.contains("non-text system content"));
}
