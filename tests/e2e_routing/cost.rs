//! Cost-aware strategies on one long-lived gateway: `cheapest` picks the cheapest
//! healthy target for this very request, moves while it cools down and comes back;
//! `cost_within_latency` leaves a cheap target whose time to first token is over the
//! bound, and takes the fastest when every target is over it.

use std::time::Duration;

use serde_json::{json, Value};
use tollgate_mock::MockConfig;

use crate::common::{self, Gateway};

const BREAKER: &str =
    "breaker: { consecutive_failures: 2, cooldown_ms: 1000, max_ejection_percent: 100 }";

fn config(cheap: &str, mid: &str, dear: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: cheap, format: openai, base_url: "{cheap}", {BREAKER} }}
  - {{ name: mid, format: openai, base_url: "{mid}", {BREAKER} }}
  - {{ name: dear, format: openai, base_url: "{dear}", {BREAKER} }}
pricing:
  - {{ model: cheap-model, input_per_mtok: 0.10, output_per_mtok: 0.40 }}
  - {{ model: mid-model, input_per_mtok: 1.0, output_per_mtok: 4.0 }}
  - {{ model: dear-model, input_per_mtok: 10.0, output_per_mtok: 30.0 }}
  - {{ model: prompt-cheap, input_per_mtok: 0.10, output_per_mtok: 10.0 }}
  - {{ model: answer-cheap, input_per_mtok: 5.0, output_per_mtok: 0.50 }}
models:
  - name: cheapest
    strategy: cheapest
    targets:
      - {{ provider: dear, model: dear-model }}
      - {{ provider: mid, model: mid-model }}
      - {{ provider: cheap, model: cheap-model }}
  - name: per-request
    strategy: cheapest
    balance: {{ expected_output_tokens: 100 }}
    targets:
      - {{ provider: mid, model: answer-cheap }}
      - {{ provider: dear, model: prompt-cheap }}
"#
    )
}

fn chat(gw: &Gateway, model: &str, content: &str, extra: Value) -> serde_json::Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": content}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn cheapest_picks_the_cheapest_healthy_target_and_moves_while_it_cools_down() {
    let (cheap, mid, dear) = (
        common::mock("cheap"),
        common::mock("mid"),
        common::mock("dear"),
    );
    let gw = Gateway::start(&config(&cheap.url(), &mid.url(), &dear.url()));
    for _ in 0..6 {
        chat(&gw, "cheapest", "hi", json!({}));
    }
    assert_eq!((cheap.hits(), mid.hits(), dear.hits()), (6, 0, 0));

    // The cheapest fails: its two failures trip its breaker (each request is retried
    // on the next cheapest), then it is skipped while it cools down.
    cheap.set_config(MockConfig {
        name: "cheap".into(),
        status: Some(500),
        ..MockConfig::default()
    });
    for _ in 0..2 {
        chat(&gw, "cheapest", "hi", json!({}));
    }
    assert_eq!((cheap.hits(), mid.hits(), dear.hits()), (8, 2, 0));
    for _ in 0..5 {
        chat(&gw, "cheapest", "hi", json!({}));
    }
    assert_eq!(
        (cheap.hits(), mid.hits(), dear.hits()),
        (8, 7, 0),
        "cooling down: skipped"
    );

    // Healthy again: once the cool-down ends, its probe succeeds and it is back.
    cheap.set_config(MockConfig {
        name: "cheap".into(),
        ..MockConfig::default()
    });
    let back = common::wait_until(Duration::from_secs(10), || {
        let before = cheap.hits();
        chat(&gw, "cheapest", "hi", json!({}));
        std::thread::sleep(Duration::from_millis(100));
        cheap.hits() > before
    });
    assert!(back, "the cheapest target came back after its cool-down");
    let before = (cheap.hits(), mid.hits());
    for _ in 0..4 {
        chat(&gw, "cheapest", "hi", json!({}));
    }
    assert_eq!((cheap.hits(), mid.hits()), (before.0 + 4, before.1));
    assert_eq!(dear.hits(), 0, "the dearest was never needed");

    // The cost is this request's: a long prompt goes to the model with cheap input,
    // a long answer to the one with cheap output.
    let (m0, d0) = (mid.hits(), dear.hits());
    let long_prompt = "tokens ".repeat(8000);
    chat(&gw, "per-request", &long_prompt, json!({"max_tokens": 10}));
    assert_eq!(
        (mid.hits(), dear.hits()),
        (m0, d0 + 1),
        "prompt-cheap for a long prompt"
    );
    chat(
        &gw,
        "per-request",
        "write a long essay",
        json!({"max_tokens": 4000}),
    );
    assert_eq!(
        (mid.hits(), dear.hits()),
        (m0 + 1, d0 + 1),
        "answer-cheap for a long answer"
    );
    let body = chat(&gw, "per-request", "hi", json!({}));
    assert_eq!(body["object"], "chat.completion");
}

#[test]
fn cost_within_latency_leaves_the_slow_cheap_target() {
    let slow = common::mock_with("slow", |c| c.latency_ms = 400);
    let fast = common::mock_with("fast", |c| c.latency_ms = 20);
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: slow, format: openai, base_url: "{slow}" }}
  - {{ name: fast, format: openai, base_url: "{fast}" }}
pricing:
  - {{ model: cheap-model, input_per_mtok: 0.10, output_per_mtok: 0.40 }}
  - {{ model: dear-model, input_per_mtok: 10.0, output_per_mtok: 30.0 }}
models:
  - name: bounded
    strategy: cost_within_latency
    balance: {{ max_ttft_ms: 200 }}
    targets:
      - {{ provider: fast, model: dear-model }}
      - {{ provider: slow, model: cheap-model }}
  - name: impossible
    strategy: cost_within_latency
    balance: {{ max_ttft_ms: 5 }}
    targets:
      - {{ provider: fast, model: dear-model }}
      - {{ provider: slow, model: cheap-model }}
"#,
        slow = slow.url(),
        fast = fast.url()
    ));
    // Unmeasured, the cheap one is tried first; measured over the bound, it is left.
    chat(&gw, "bounded", "hi", json!({}));
    assert_eq!((slow.hits(), fast.hits()), (1, 0));
    for _ in 0..5 {
        chat(&gw, "bounded", "hi", json!({}));
    }
    assert_eq!(
        (slow.hits(), fast.hits()),
        (1, 5),
        "the cheap target is over 200 ms"
    );
    // Nothing is within 5 ms: the fastest, even though it is the dearer.
    for _ in 0..4 {
        chat(&gw, "impossible", "hi", json!({}));
    }
    assert_eq!((slow.hits(), fast.hits()), (1, 9));
}
