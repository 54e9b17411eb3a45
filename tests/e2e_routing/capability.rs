//! Capability-aware targets under `cheapest`: text stays on the cheap small model;
//! requests it cannot serve go to a
//! target that can, before any call (the small one's mock sees none of them); when no
//! target can, a 400 in the client's dialect names the missing capability.

use std::time::Duration;

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
pricing:
  - {{ model: tiny-text, input_per_mtok: 0.05, output_per_mtok: 0.10 }}
  - {{ model: long-reader, input_per_mtok: 0.12, output_per_mtok: 0.50 }}
capabilities:
  - {{ model: "tiny-*", context_window: 2000, max_output_tokens: 512, vision: false, tools: false, json_mode: false, reasoning: false }}
models:
  - name: chat
    strategy: cheapest
    targets:
      - {{ provider: vision, model: gpt-4o-mini }}
      - {{ provider: long, model: long-reader, capabilities: {{ context_window: 200000, vision: false, tools: false }} }}
      - {{ provider: small, model: tiny-text }}
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

    // Plain text: the cheapest, the small model.
    for _ in 0..5 {
        let r = chat(&gw, "chat", json!({}), json!("hi"));
        assert_eq!(r.status, 200, "{}", r.text());
        let why = r.header("x-tollgate-route").unwrap_or_default();
        assert!(
            why.starts_with(
                "strategy=cheapest; target=small/tiny-text; reason=lowest expected cost $0.0000"
            ) && !why.contains("skipped"),
            "{why}"
        );
    }
    let small_before = small.hits();
    assert_eq!((small_before, vision.hits(), long.hits()), (5, 0, 0));

    // Images: only the vision model (the long reader is text-only too).
    let (vision_before, long_before) = (vision.hits(), long.hits());
    for _ in 0..5 {
        let r = chat(&gw, "chat", json!({}), image());
        assert_eq!(r.status, 200, "{}", r.text());
        let why = r.header("x-tollgate-route").unwrap_or_default();
        assert!(
            why.starts_with(
                "strategy=cheapest; target=vision/gpt-4o-mini; reason=lowest expected cost $"
            ) && why.ends_with("; skipped=2 lacking capability"),
            "{why}"
        );
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

    // Tools: only gpt-4o-mini has them. JSON mode: the cheapest with it, the reader.
    let tools = json!({"tools": [{"type": "function", "function": {"name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]});
    for _ in 0..3 {
        let r = chat(&gw, "chat", tools.clone(), json!("weather in Paris?"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(
        vision.hits(),
        vision_before + 8,
        "tools went to the tools model"
    );
    let json_mode = json!({"response_format": {"type": "json_object"}});
    for _ in 0..3 {
        let r = chat(&gw, "chat", json_mode.clone(), json!("the weather as JSON"));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(
        long.hits(),
        long_before + 3,
        "JSON went to the cheapest JSON model"
    );
    assert_eq!(
        small.hits(),
        small_before,
        "no image, tool or JSON request reached the small model"
    );

    // A prompt over the small window (about 3,000 tokens): the long-context model,
    // with zero calls to the small one.
    let long_prompt = "lorem ipsum dolor ".repeat(700);
    for _ in 0..4 {
        let r = chat(&gw, "chat", json!({}), json!(long_prompt));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(
        long.hits(),
        long_before + 7,
        "over the small window: the long reader"
    );
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

    // Explain says which targets would be skipped and what each would cost.
    let input = json!({"request": {"model": "chat",
        "messages": [{"role": "user", "content": image()}]}});
    let r = http::post_json(&gw.admin, "/admin/route/explain", &input);
    assert_eq!(r.status, 200, "{}", r.text());
    let targets = r.json()["targets"].clone();
    let by_model = |m: &str| {
        targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["model"] == m)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_model("tiny-text")["skipped"],
        "missing capability vision",
        "{targets}"
    );
    assert_eq!(
        by_model("long-reader")["skipped"],
        "missing capability vision"
    );
    assert!(
        by_model("gpt-4o-mini").get("skipped").is_none(),
        "{targets}"
    );
    assert!(
        by_model("gpt-4o-mini")["expected_cost_usd"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // And where the request would go, with the reason the header would carry.
    let pick = r.json()["pick"].clone();
    assert_eq!(pick["model"], "gpt-4o-mini", "{pick}");
    let reason = pick["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "strategy=cheapest; target=vision/gpt-4o-mini; reason=lowest expected cost $"
        ) && reason.ends_with("skipped=2 lacking capability"),
        "{reason}"
    );
    assert_eq!(small.hits(), small_before, "explain made no call");

    // Capabilities reload like the rest: once the tiny model is said to see images,
    // an image request to it is served.
    let seeing = config(&small.url(), &vision.url(), &long.url()).replace(
        "vision: false, tools: false, json_mode",
        "vision: true, tools: false, json_mode",
    );
    gw.write_config(&seeing);
    let served = common::wait_until(Duration::from_secs(10), || {
        chat(&gw, "tiny-only", json!({}), image()).status == 200
    });
    assert!(served, "the reloaded capability never took effect");
    assert!(small.hits() > small_before);
    let (ok, out) = common::validate_config(
        &seeing.replace("context_window: 2000", "context_window: 0"),
        &[],
    );
    assert!(!ok);
    assert!(
        out.contains("capabilities[0].context_window: 0 is out of range"),
        "{out}"
    );
}
