//! Semantic router rules through the binary: the mock's `/v1/embeddings` answers a
//! deterministic bag-of-words vector, so a question made of an example's words is
//! similar to it and an unrelated one is not. Checked in sequence on one gateway:
//! the match and its explanation, no embedding for a request an earlier rule
//! decided, the question embedded once per request and the examples once per
//! configuration, an embeddings model that fails (the rule then does not match and
//! the request is still served), a reload that changes the examples, and routers
//! listed in `/v1/models`.

use serde_json::{json, Value};
use tollgate_mock::MockServer;

use crate::common::{self, http, Gateway};

fn config(up: &MockServer, dead: u16, examples: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{url}" }}
  - {{ name: gone, format: openai, base_url: "http://127.0.0.1:{dead}" }}
models:
  - {{ name: small, targets: [{{ provider: up, model: small-model }}] }}
  - {{ name: billing, targets: [{{ provider: up, model: billing-model }}] }}
  - {{ name: vision, targets: [{{ provider: up, model: vision-model }}] }}
  - {{ name: embed, targets: [{{ provider: up, model: embed-model }}] }}
  - {{ name: embed-gone, targets: [{{ provider: gone, model: embed-model }}] }}
routers:
  - name: auto
    semantic: {{ embeddings: embed, timeout_ms: 2000 }}
    rules:
      - {{ name: images, route: vision, when: {{ images: true }} }}
      - name: money
        route: billing
        when: {{ semantic: {{ examples: {examples}, threshold: 0.7 }} }}
    default: small
  - name: broken
    semantic: {{ embeddings: embed-gone, timeout_ms: 300 }}
    rules:
      - {{ name: money, route: billing, when: {{ semantic: {{ examples: {examples} }} }} }}
    default: small
"#,
        url = up.url()
    )
}

fn ask(gw: &Gateway, model: &str, content: Value) -> (String, String) {
    let body = json!({"model": model, "messages": [{"role": "user", "content": content}]});
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let route = r.header("x-tollgate-route").unwrap_or_default().to_string();
    (
        r.json()["model"].as_str().unwrap_or_default().to_string(),
        route,
    )
}

fn embedding_calls(up: &MockServer) -> usize {
    up.requests()
        .iter()
        .filter(|r| r.path == "/v1/embeddings")
        .count()
}

#[test]
fn similar_questions_take_the_semantic_rule_and_failures_fall_through() {
    // 512 dimensions: random word vectors are then nearly orthogonal, so the cosine of
    // two texts is about the share of their common words.
    let up = common::mock_with("up", |c| c.embedding_dims = 512);
    let dead = common::free_port();
    let examples = r#"["please refund my last invoice", "I was charged twice this month"]"#;
    let gw = Gateway::start(&config(&up, dead, examples));

    let (_, why) = ask(&gw, "auto", json!("refund my last invoice please"));
    assert!(why.contains("rule=money; route=billing"), "{why}");
    assert!(why.contains("similarity=1.000; example=0"), "{why}");
    assert_eq!(
        up.requests().last().unwrap().model.as_deref(),
        Some("billing-model")
    );
    // The question and the two examples: three embedding calls.
    assert_eq!(embedding_calls(&up), 3);

    let (_, why) = ask(&gw, "auto", json!("what is the weather in Lisbon tomorrow"));
    assert!(why.contains("rule=default; route=small"), "{why}");
    assert_eq!(embedding_calls(&up), 4, "the examples are embedded once");

    // Decided by the rule before: no embedding at all.
    let image = json!([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]);
    let (_, why) = ask(&gw, "auto", image);
    assert!(why.contains("rule=images"), "{why}");
    assert_eq!(embedding_calls(&up), 4);

    // The explanation, with the similarity and the example.
    let explained = http::post_json(
        &gw.admin,
        "/admin/route/explain",
        &json!({"request": {"model": "auto", "messages": [{"role": "user", "content": "charged twice this month"}]}}),
    );
    assert_eq!(explained.status, 200, "{}", explained.text());
    let e = explained.json();
    assert_eq!(
        (e["rule"].as_str(), e["route"].as_str()),
        (Some("money"), Some("billing"))
    );
    assert_eq!(e["example"], 1);
    assert!(e["similarity"].as_f64().unwrap() >= 0.7, "{e}");

    // The embeddings model is unreachable: the rule does not match, the request is
    // served by the default, and the failure is counted.
    let (_, why) = ask(&gw, "broken", json!("refund my last invoice please"));
    assert!(why.contains("router=broken; rule=default"), "{why}");
    let metrics = gw.metrics_with("tollgate_route_semantic_failures_total");
    assert!(
        metrics
            .contains(r#"tollgate_route_semantic_failures_total{router="broken",stage="query"} 1"#),
        "{metrics}"
    );

    // Routers are names a client can use.
    let models = http::get(&gw.addr, "/v1/models").json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"auto") && ids.contains(&"broken") && ids.contains(&"small"),
        "{ids:?}"
    );

    // A reload with other examples: weather questions now take the rule.
    let weather = r#"["what is the weather tomorrow", "will it rain in Lisbon"]"#;
    gw.write_config(&config(&up, dead, weather));
    let moved = common::wait_until(std::time::Duration::from_secs(10), || {
        ask(&gw, "auto", json!("what is the weather in Lisbon tomorrow"))
            .1
            .contains("rule=money")
    });
    assert!(
        moved,
        "the reloaded examples were not used; log:\n{}",
        gw.stderr()
    );
    let (_, why) = ask(&gw, "auto", json!("refund my last invoice please"));
    assert!(why.contains("rule=default"), "{why}");
}
