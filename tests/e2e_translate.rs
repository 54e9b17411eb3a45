//! Every client dialect against every upstream format, through the real binary:
//! non-streaming and streaming, tools included, and fallback across formats.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Gateway;
use serde_json::{json, Value};
use tollgate_mock::MockServer;

/// Upstream formats the gateway can target, with the config line of their provider.
const FORMATS: &[&str] = &["openai", "anthropic", "gemini", "bedrock"];

fn provider_line(format: &str, url: &str) -> String {
    match format {
        "bedrock" => format!(
            "  - {{ name: up-bedrock, format: bedrock, base_url: \"{url}\", region: us-east-1, aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: secret-example }}"
        ),
        "anthropic" => format!("  - {{ name: up-anthropic, format: anthropic, base_url: \"{url}\", api_key: sk-ant-upstream }}"),
        other => format!("  - {{ name: up-{other}, format: {other}, base_url: \"{url}\", api_key: upstream-key }}"),
    }
}

fn gateway_for_all_formats(up: &MockServer) -> Gateway {
    let providers: Vec<String> = FORMATS
        .iter()
        .map(|f| provider_line(f, &up.url()))
        .collect();
    let models: Vec<String> = FORMATS
        .iter()
        .map(|f| {
            format!("  - {{ name: via-{f}, targets: [{{ provider: up-{f}, model: {f}-model }}] }}")
        })
        .collect();
    Gateway::start(&format!(
        "auth: {{ mode: open }}\nproviders:\n{}\nmodels:\n{}\n",
        providers.join("\n"),
        models.join("\n")
    ))
}

fn openai_request(model: &str, stream: bool, tools: bool) -> Value {
    let mut body = json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the weather in Paris?"}],
    });
    if tools {
        body["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    }
    body
}

fn anthropic_request(model: &str, stream: bool, tools: bool) -> Value {
    let mut body = json!({
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    });
    if tools {
        body["tools"] = json!([{"name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    }
    body
}

/// Data payloads of an SSE body.
fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

/// Translated responses carry the client's model name; same-format responses are
/// the upstream's bytes, with the upstream model name.
fn model_matches(v: &Value, model: &str) -> bool {
    let upstream = model.replace("via-", "") + "-model";
    v == model || v == &Value::String(upstream)
}

fn check_openai_response(v: &Value, model: &str, tools: bool) {
    assert_eq!(v["object"], "chat.completion", "{v}");
    assert!(model_matches(&v["model"], model), "{v}");
    let choice = &v["choices"][0];
    if tools {
        assert_eq!(choice["finish_reason"], "tool_calls", "{v}");
        assert_eq!(
            choice["message"]["tool_calls"][0]["function"]["name"], "get_weather",
            "{v}"
        );
        assert!(choice["message"]["tool_calls"][0]["id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()));
    } else {
        assert_eq!(choice["finish_reason"], "stop", "{v}");
        assert!(
            choice["message"]["content"]
                .as_str()
                .unwrap()
                .starts_with("tok0"),
            "{v}"
        );
    }
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{v}");
}

fn check_openai_stream(text: &str, model: &str, tools: bool) {
    let data = sse_data(text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "{text}"
    );
    assert!(
        chunks
            .iter()
            .all(|c| model_matches(&c["model"], model) && c["object"] == "chat.completion.chunk"),
        "{text}"
    );
    let id = chunks[0]["id"].clone();
    assert!(
        chunks.iter().all(|c| c["id"] == id),
        "one id for the whole stream: {text}"
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0].get("finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    if tools {
        assert_eq!(finish, [&json!("tool_calls")], "{text}");
        let name = chunks
            .iter()
            .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].as_str());
        assert_eq!(name, Some("get_weather"), "{text}");
    } else {
        assert_eq!(finish, [&json!("stop")], "{text}");
        let content: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert!(content.starts_with("tok0"), "{text}");
    }
}

fn check_anthropic_response(v: &Value, model: &str, tools: bool) {
    assert_eq!(v["type"], "message", "{v}");
    assert!(model_matches(&v["model"], model), "{v}");
    if tools {
        assert_eq!(v["stop_reason"], "tool_use", "{v}");
        let block = v["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "tool_use")
            .unwrap();
        assert_eq!(block["name"], "get_weather");
        assert!(block["input"].is_object());
    } else {
        assert_eq!(v["stop_reason"], "end_turn", "{v}");
        assert!(
            v["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("tok0"),
            "{v}"
        );
    }
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0, "{v}");
}

fn check_anthropic_stream(text: &str, model: &str, tools: bool) {
    let events: Vec<Value> = sse_data(text)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"message_start"), "{text}");
    assert_eq!(kinds.last(), Some(&"message_stop"), "{text}");
    assert!(
        model_matches(&events[0]["message"]["model"], model),
        "{text}"
    );
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    if tools {
        assert_eq!(delta["delta"]["stop_reason"], "tool_use", "{text}");
        assert!(
            events
                .iter()
                .any(|e| e["content_block"]["type"] == "tool_use"
                    && e["content_block"]["name"] == "get_weather"),
            "{text}"
        );
    } else {
        assert_eq!(delta["delta"]["stop_reason"], "end_turn", "{text}");
        let content: String = events
            .iter()
            .filter_map(|e| e["delta"]["text"].as_str())
            .collect();
        assert!(content.starts_with("tok0"), "{text}");
    }
    assert!(
        delta["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{text}"
    );
}

#[test]
fn openai_clients_reach_every_format() {
    let up = common::mock_with("up", |c| c.tokens = 4);
    let gw = gateway_for_all_formats(&up);
    for format in FORMATS {
        let model = format!("via-{format}");
        for tools in [false, true] {
            let resp = gw.post(
                "/v1/chat/completions",
                &openai_request(&model, false, tools),
            );
            assert_eq!(resp.status, 200, "{format} tools={tools}: {}", resp.text());
            check_openai_response(&resp.json(), &model, tools);
            let resp = gw.post("/v1/chat/completions", &openai_request(&model, true, tools));
            assert_eq!(
                resp.status,
                200,
                "{format} stream tools={tools}: {}",
                resp.text()
            );
            check_openai_stream(&resp.text(), &model, tools);
        }
    }
}

#[test]
fn anthropic_clients_reach_every_format() {
    let up = common::mock_with("up", |c| c.tokens = 4);
    let gw = gateway_for_all_formats(&up);
    for format in FORMATS {
        let model = format!("via-{format}");
        for tools in [false, true] {
            let resp = gw.post("/v1/messages", &anthropic_request(&model, false, tools));
            assert_eq!(resp.status, 200, "{format} tools={tools}: {}", resp.text());
            check_anthropic_response(&resp.json(), &model, tools);
            let resp = gw.post("/v1/messages", &anthropic_request(&model, true, tools));
            assert_eq!(
                resp.status,
                200,
                "{format} stream tools={tools}: {}",
                resp.text()
            );
            check_anthropic_stream(&resp.text(), &model, tools);
        }
    }
}

#[test]
fn upstream_requests_are_in_the_target_format_with_its_auth() {
    let up = common::mock("up");
    let gw = gateway_for_all_formats(&up);
    gw.post(
        "/v1/chat/completions",
        &openai_request("via-anthropic", false, false),
    );
    let seen = up.requests().last().cloned().unwrap();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-upstream"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        seen.body_prefix.contains(r#""system""#) && seen.body_prefix.contains(r#""max_tokens""#),
        "{}",
        seen.body_prefix
    );

    gw.post(
        "/v1/chat/completions",
        &openai_request("via-gemini", true, false),
    );
    let seen = up.requests().last().cloned().unwrap();
    assert_eq!(
        seen.path,
        "/v1beta/models/gemini-model:streamGenerateContent?alt=sse"
    );
    assert_eq!(seen.header("x-goog-api-key"), Some("upstream-key"));

    gw.post(
        "/v1/messages",
        &anthropic_request("via-bedrock", false, false),
    );
    let seen = up.requests().last().cloned().unwrap();
    assert_eq!(seen.path, "/model/bedrock-model/converse");
    let auth = seen.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    assert!(seen.header("x-amz-date").is_some() && seen.header("x-amz-content-sha256").is_some());

    gw.post(
        "/v1/messages",
        &anthropic_request("via-openai", false, false),
    );
    let seen = up.requests().last().cloned().unwrap();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer upstream-key"));
    assert_eq!(seen.header("anthropic-version"), None);
}

#[test]
fn anthropic_same_format_is_passed_through_untouched_but_the_model() {
    let up = common::mock("up");
    let gw = gateway_for_all_formats(&up);
    let body = r#"{"model":"via-anthropic","max_tokens":64,"unknown_field":{"kept":true},"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = common::http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[("anthropic-beta", "tools-2024")],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.requests().last().cloned().unwrap();
    let expected = body.replace(r#""model":"via-anthropic""#, r#""model":"anthropic-model""#);
    assert_eq!(seen.body_fnv, common::fnv1a(expected.as_bytes()));
    assert_eq!(seen.header("anthropic-beta"), Some("tools-2024"));
}

#[test]
fn upstream_errors_are_translated_into_the_client_dialect() {
    let overloaded = common::mock_with("busy", |c| c.status = Some(529));
    let gw = Gateway::start(&format!(
        "auth: {{ mode: open }}\nproviders:\n{}\nmodels:\n  - {{ name: m, targets: [{{ provider: up-anthropic, model: c }}], retry: {{ attempts: 1 }} }}\n",
        provider_line("anthropic", &overloaded.url())
    ));
    let resp = gw.post("/v1/chat/completions", &openai_request("m", false, false));
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert!(
        resp.json()["error"]["message"].as_str().is_some(),
        "{}",
        resp.text()
    );
    let resp = gw.post("/v1/messages", &anthropic_request("m", false, false));
    assert_eq!(resp.status, 529, "{}", resp.text());
    assert_eq!(resp.json()["error"]["type"], "overloaded_error");
}

#[test]
fn openai_route_falls_back_to_an_anthropic_target() {
    let broken = common::mock_with("broken", |c| c.status = Some(500));
    let good = common::mock("good");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: oai, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
{}
models:
  - name: gpt
    targets: [{{ provider: oai, model: gpt-x }}]
    retry: {{ attempts: 1 }}
    fallbacks: [claude]
  - name: claude
    targets: [{{ provider: up-anthropic, model: claude-x }}]
"#,
        broken.url(),
        provider_line("anthropic", &good.url())
    ));
    for stream in [false, true] {
        let resp = gw.post(
            "/v1/chat/completions",
            &openai_request("gpt", stream, false),
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-provider"), Some("up-anthropic"));
        assert_eq!(resp.header("x-tollgate-model"), Some("claude-x"));
        if stream {
            check_openai_stream(&resp.text(), "gpt", false);
        } else {
            check_openai_response(&resp.json(), "gpt", false);
        }
    }
    assert_eq!(good.requests().last().unwrap().path, "/v1/messages");
}
