//! Complexity tiers through the binary: a fixture set of simple and complex prompts
//! lands on the small and the big model, and the tier is in the explanation. Also an
//! Anthropic-dialect client on the same router.

use serde_json::{json, Value};

use crate::common::{self, http, Gateway};

fn config(url: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{url}" }}
models:
  - {{ name: small, targets: [{{ provider: up, model: up-small }}] }}
  - {{ name: big, targets: [{{ provider: up, model: up-big }}] }}
  - {{ name: vision, targets: [{{ provider: up, model: up-vision }}] }}
routers:
  - name: auto
    rules:
      - {{ name: vision, route: vision, when: {{ images: true }} }}
      - {{ name: hard, route: big, when: {{ complexity: [complex] }} }}
    default: small
"#
    )
}

#[test]
fn fixture_prompts_land_on_their_tier() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up.url()));
    let fixtures: Vec<Value> =
        serde_json::from_str(include_str!("../fixtures/routing/complexity_prompts.json")).unwrap();
    for f in &fixtures {
        let (tier, prompt) = (f["tier"].as_str().unwrap(), f["prompt"].as_str().unwrap());
        let resp = gw.post(
            "/v1/chat/completions",
            &json!({"model": "auto", "messages": [{"role": "user", "content": prompt}]}),
        );
        assert_eq!(resp.status, 200, "{prompt}: {}", resp.text());
        let route = resp.header("x-tollgate-route").unwrap();
        assert!(
            route.contains(&format!("tier={tier}; strategy=")),
            "{prompt}: {route}"
        );
        let want = if tier == "complex" {
            "up-big"
        } else {
            "up-small"
        };
        assert_eq!(
            up.requests().last().unwrap().model.as_deref(),
            Some(want),
            "{prompt}"
        );
    }
}

#[test]
fn anthropic_clients_are_routed_on_the_same_rules() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up.url()));
    // The image block of Anthropic's vision documentation, with a tiny payload.
    let body = json!({
        "model": "auto",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
             "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}},
            {"type": "text", "text": "Describe this image."}
        ]}]
    });
    let resp = http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
        &serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["type"], "message");
    assert!(resp
        .header("x-tollgate-route")
        .unwrap()
        .contains("rule=vision;"));
    assert_eq!(
        up.requests().last().unwrap().model.as_deref(),
        Some("up-vision")
    );
}
