//! Capability-aware targets: requests the small text model cannot serve go to a
//! target that can, before any call (the small one's mock sees none of them); when no
//! target can, a 400 in the client's dialect names the missing capability.

use serde_json::{json, Value};

use crate::common::{self, http, Gateway};

fn config(small: &str, vision: &str, long: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: small, format: openai, base_url: "{small}" }}
  - {{ name: vision, format: openai, base_url: "{vision}" }}
  - {{ name: long, format: openai, base_url: "{long}" }}
capabilities:
  - {{ model: "tiny-*", context_window: 2000, max_output_tokens: 512, vision: false, tools: false, json_mode: false, reasoning: false }}
models:
  - name: chat
    targets:
      - {{ provider: small, model: tiny-text, weight: 100 }}
      - {{ provider: vision, model: gpt-4o-mini }}
      - {{ provider: long, model: long-reader, capabilities: {{ context_window: 200000, vision: false }} }}
  - name: tiny-only
    targets:
      - {{ provider: small, model: tiny-text }}
"#
    )
}

fn chat(gw: &Gateway, model: &str, extra: Value, content: Value) -> http::Response {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": content}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    gw.post("/v1/chat/completions", &body)
}

fn image() -> Value {
    json!([{"type": "text", "text": "What is in this image?"},
           {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}}])
}

#[test]
fn requests_go_only_to_targets_that_can_serve_them() {
    let (small, vision, long) = (
        common::mock("small"),
        common::mock("vision"),
        common::mock("long"),
    );
    let gw = Gateway::start(&config(&small.url(), &vision.url(), &long.url()));

    // Plain text: the heavy weight keeps it on the small model.
    for _ in 0..5 {
        let r = chat(&gw, "chat", json!({}), json!("hi"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let small_before = small.hits();
    assert!(
        small_before >= 4,
        "text stays on the small model: {small_before}"
    );

    // Images: only the vision model (the long reader is text-only too).
    let (vision_before, long_before) = (vision.hits(), long.hits());
    for _ in 0..5 {
        let r = chat(&gw, "chat", json!({}), image());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(
        vision.hits(),
        vision_before + 5,
        "every image went to the vision model"
    );
    assert_eq!(
        long.hits(),
        long_before,
        "the text-only long reader got no image"
    );
    let vision_after_images = vision.hits();
    // Tools and JSON: never the small model.
    let tools = json!({"tools": [{"type": "function", "function": {"name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]});
    let json_mode = json!({"response_format": {"type": "json_object"}});
    for extra in [tools, json_mode] {
        for _ in 0..3 {
            let r = chat(
                &gw,
                "chat",
                extra.clone(),
                json!("weather in Paris as JSON"),
            );
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    assert_eq!(
        small.hits(),
        small_before,
        "no image, tool or JSON request reached the small model"
    );
    assert!(vision.hits() >= vision_after_images);

    // A prompt over the small window (about 3,000 tokens): the long-context model or
    // the 128k vision model, never the small one.
    let long_prompt = "lorem ipsum dolor ".repeat(700);
    let long_before = long.hits() + vision.hits();
    for _ in 0..4 {
        let r = chat(&gw, "chat", json!({}), json!(long_prompt));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(long.hits() + vision.hits(), long_before + 4);
    assert_eq!(small.hits(), small_before, "zero calls to the small model");

    // Nothing can: a 400 naming the capability, in the client's dialect, no call made.
    let r = chat(&gw, "tiny-only", json!({}), image());
    assert_eq!(r.status, 400, "{}", r.text());
    let err = &r.json()["error"];
    assert_eq!(err["type"], "invalid_request_error", "{err}");
    assert_eq!(err["param"], "messages", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("`vision`"),
        "{err}"
    );
    let r = chat(&gw, "tiny-only", json!({}), json!(long_prompt));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("context window 2000 tokens"),
        "{}",
        r.text()
    );
    let r = chat(&gw, "tiny-only", json!({"max_tokens": 4096}), json!("hi"));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("`max_output_tokens`"), "{}", r.text());
    let anthropic = serde_json::to_vec(&json!({"model": "tiny-only", "max_tokens": 100,
        "tools": [{"name": "get_weather", "description": "Get the current weather",
                   "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "weather?"}]}))
    .unwrap();
    let r = http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
        &anthropic,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let body = r.json();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`tools`"),
        "{body}"
    );
    assert_eq!(small.hits(), small_before, "refusals made no call");
    gw.metrics_with("tollgate_capability_skips_total{capability=\"vision\",provider=\"small\"}");
}
