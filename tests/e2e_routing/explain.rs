//! `POST /admin/route/explain`: every rule kind explained without an upstream call.

use serde_json::{json, Value};

use crate::common::{self, http, Gateway};
use crate::rules::config;

fn explain(gw: &Gateway, input: Value) -> http::Response {
    http::post_json(&gw.admin, "/admin/route/explain", &input)
}

fn chat(content: Value) -> Value {
    json!({"model": "auto", "messages": [{"role": "user", "content": content}]})
}

#[test]
fn explain_answers_for_every_rule_kind_without_calling_upstream() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up, "small"));
    let tools =
        json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    let turns: Vec<Value> = (0..4)
        .flat_map(|i| {
            [
                json!({"role": "user", "content": format!("q{i}")}),
                json!({"role": "assistant", "content": "a"}),
            ]
        })
        .collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"request": chat(json!("hi")), "key": "free-key"}),
            "free-tier",
            "small",
        ),
        (
            json!({"request": chat(json!("hi")), "headers": {"x-canary": "on"}}),
            "canary",
            "big",
        ),
        (
            json!({"request": {"model": "auto", "user": "vip-1", "messages": [{"role": "user", "content": "hi"}]}}),
            "vip-user",
            "big",
        ),
        (
            json!({"request": chat(json!([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]))}),
            "images",
            "vision",
        ),
        (
            json!({"request": chat(json!("lorem ipsum ".repeat(1200)))}),
            "long-prompt",
            "long",
        ),
        (
            json!({"request": {"model": "auto", "max_tokens": 9000, "messages": [{"role": "user", "content": "hi"}]}}),
            "big-output",
            "long",
        ),
        (
            json!({"request": {"model": "auto", "tools": tools, "messages": [{"role": "user", "content": "hi"}]}}),
            "tools",
            "big",
        ),
        (
            json!({"request": {"model": "auto", "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "hi"}]}}),
            "json",
            "big",
        ),
        (
            json!({"request": {"model": "auto", "reasoning_effort": "low", "messages": [{"role": "user", "content": "hi"}]}}),
            "reasoning",
            "big",
        ),
        (
            json!({"request": {"model": "auto", "messages": turns}}),
            "deep",
            "big",
        ),
        (
            json!({"request": chat(json!("SELECT id FROM orders"))}),
            "sql",
            "big",
        ),
        (
            json!({"request": chat(json!("Prove the theorem rigorously; analyze and optimize the algorithm step by step, then debug it. Why? How? What? a = b^2 + c"))}),
            "hard",
            "big",
        ),
        (
            json!({"request": {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}, "dialect": "anthropic"}),
            "default",
            "small",
        ),
    ];
    for (input, rule, route) in &cases {
        let resp = explain(&gw, input.clone());
        assert_eq!(resp.status, 200, "{rule}: {}", resp.text());
        let v = resp.json();
        assert_eq!(v["rule"], *rule, "{v}");
        assert_eq!(v["route"], *route, "{v}");
        assert_eq!(v["router"], "auto");
        assert_eq!(v["targets"][0]["provider"], "up", "{v}");
        assert!(v["explanation"]
            .as_str()
            .unwrap()
            .contains(&format!("rule={rule};")));
        // The pick a first attempt would take, with the header's reason text.
        let pick = &v["pick"];
        assert_eq!(
            (pick["route"].as_str(), pick["provider"].as_str()),
            (Some(*route), Some("up")),
            "{v}"
        );
        let reason = pick["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(&format!("router=auto; rule={rule};"))
                && reason.contains("; target=up/")
                && reason.contains("; reason="),
            "{reason}"
        );
    }
    // A plain alias is explained too: no router, its own route.
    let v = explain(&gw, json!({"request": {"model": "big", "messages": []}})).json();
    assert_eq!(
        (v["route"].clone(), v["rule"].clone()),
        (json!("big"), Value::Null)
    );
    assert_eq!(v["strategy"], "weighted");
    // Mistakes are 400s with a reason.
    for bad in [
        json!({}),
        json!({"request": chat(json!("x")), "key": "nobody"}),
        json!({"request": {"model": "nope", "messages": []}}),
    ] {
        assert_eq!(explain(&gw, bad).status, 400);
    }
    assert_eq!(up.hits(), 0, "explain must not call any upstream");
}
