//! Routers: every matcher kind, key tiers, the explanation header, the access log,
//! per-rule metrics, load-time validation and reload, on one long-lived gateway.

use std::time::Duration;

use serde_json::{json, Value};
use tollgate::policy::hash_key;
use tollgate_mock::MockServer;

use crate::common::{self, http, Gateway};

pub const FREE: &str = "sk-tg-free-5c1d0e9a7b3f";
const PRO: &str = "sk-tg-pro-a83e11f04c2d";

pub fn config(up: &MockServer, default: &str) -> String {
    format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: up, format: openai, base_url: "{url}", api_key: "sk-upstream" }}
models:
  - {{ name: small, targets: [{{ provider: up, model: up-small }}] }}
  - {{ name: big, targets: [{{ provider: up, model: up-big }}] }}
  - {{ name: vision, targets: [{{ provider: up, model: up-vision }}] }}
  - {{ name: long, targets: [{{ provider: up, model: up-long }}] }}
routers:
  - name: auto
    rules:
      - {{ name: free-tier, route: small, when: {{ key_metadata: {{ tier: [free] }} }} }}
      - {{ name: canary, route: big, when: {{ headers: {{ x-canary: ["on"] }} }} }}
      - {{ name: vip-user, route: big, when: {{ users: [vip-1] }} }}
      - {{ name: images, route: vision, when: {{ images: true }} }}
      - {{ name: long-prompt, route: long, when: {{ prompt_tokens: {{ min: 2000 }} }} }}
      - {{ name: big-output, route: long, when: {{ max_tokens: {{ min: 8000 }} }} }}
      - {{ name: tools, route: big, when: {{ tools: true }} }}
      - {{ name: json, route: big, when: {{ response_format: true, stream: false }} }}
      - {{ name: reasoning, route: big, when: {{ reasoning: true }} }}
      - {{ name: deep, route: big, when: {{ turns: {{ min: 4 }} }} }}
      - {{ name: sql, route: big, when: {{ last_user_message: "(?i)\\bselect\\b.+\\bfrom\\b" }} }}
      - {{ name: hard, route: big, when: {{ complexity: [complex] }} }}
    default: {default}
keys:
  - {{ name: free-key, hash: "{free}", metadata: {{ tier: free }} }}
  - {{ name: pro-key, hash: "{pro}", metadata: {{ tier: pro }} }}
"#,
        url = up.url(),
        free = hash_key(FREE),
        pro = hash_key(PRO),
    )
}

fn send(gw: &Gateway, key: &str, headers: &[(&str, &str)], body: &Value) -> http::Response {
    let auth = format!("Bearer {key}");
    let mut all = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    let bytes = serde_json::to_vec(body).unwrap();
    http::request(&gw.addr, "POST", "/v1/chat/completions", &all, &bytes)
}

fn chat(content: Value) -> Value {
    json!({"model": "auto", "messages": [{"role": "user", "content": content}]})
}

/// Sends `body` as the pro key and checks the rule named in the header and the model
/// the upstream received.
fn expect(
    gw: &Gateway,
    up: &MockServer,
    headers: &[(&str, &str)],
    body: Value,
    rule: &str,
    model: &str,
) {
    let resp = send(gw, PRO, headers, &body);
    assert_eq!(resp.status, 200, "{rule}: {}", resp.text());
    let route = resp
        .header("x-tollgate-route")
        .unwrap_or_default()
        .to_string();
    assert!(route.contains(&format!("rule={rule};")), "{rule}: {route}");
    assert_eq!(
        up.requests().last().unwrap().model.as_deref(),
        Some(model),
        "{rule}"
    );
}

#[test]
fn every_matcher_routes_and_explains_itself() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up, "small"));
    let hello = chat(json!("hello"));

    // Key tier: the free key always gets the small model, the pro key the default.
    let resp = send(
        &gw,
        FREE,
        &[],
        &json!({"model": "auto", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("x-tollgate-route"),
        Some(
            "router=auto; rule=free-tier; route=small; tier=simple; strategy=weighted; \
             target=up/up-small; reason=weighted round robin"
        )
    );
    assert_eq!(
        up.requests().last().unwrap().model.as_deref(),
        Some("up-small")
    );
    expect(&gw, &up, &[], hello.clone(), "default", "up-small");

    expect(
        &gw,
        &up,
        &[("x-canary", "on")],
        hello.clone(),
        "canary",
        "up-big",
    );
    expect(
        &gw,
        &up,
        &[("x-canary", "off")],
        hello.clone(),
        "default",
        "up-small",
    );
    let mut vip = hello.clone();
    vip["user"] = json!("vip-1");
    expect(&gw, &up, &[], vip, "vip-user", "up-big");

    // A vision request goes to the vision model; the same text alone stays cheap.
    let image = chat(json!([
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"}}
    ]));
    expect(&gw, &up, &[], image, "images", "up-vision");
    expect(
        &gw,
        &up,
        &[],
        chat(json!("What is in this image?")),
        "default",
        "up-small",
    );

    expect(
        &gw,
        &up,
        &[],
        chat(json!("lorem ipsum ".repeat(1200))),
        "long-prompt",
        "up-long",
    );
    let mut big_out = hello.clone();
    big_out["max_tokens"] = json!(16000);
    expect(&gw, &up, &[], big_out, "big-output", "up-long");
    let mut tools = hello.clone();
    tools["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]);
    expect(&gw, &up, &[], tools, "tools", "up-big");
    let mut json_mode = hello.clone();
    json_mode["response_format"] = json!({"type": "json_object"});
    expect(&gw, &up, &[], json_mode.clone(), "json", "up-big");
    json_mode["stream"] = json!(true);
    let resp = send(&gw, PRO, &[], &json_mode);
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("x-tollgate-route")
        .unwrap()
        .contains("rule=default;"));
    let mut reasoning = hello.clone();
    reasoning["reasoning_effort"] = json!("high");
    expect(&gw, &up, &[], reasoning, "reasoning", "up-big");
    let turns: Vec<Value> = (0..4)
        .flat_map(|i| {
            [
                json!({"role": "user", "content": format!("q{i}")}),
                json!({"role": "assistant", "content": "a"}),
            ]
        })
        .collect();
    expect(
        &gw,
        &up,
        &[],
        json!({"model": "auto", "messages": turns}),
        "deep",
        "up-big",
    );
    expect(
        &gw,
        &up,
        &[],
        chat(json!("please write SELECT name FROM users")),
        "sql",
        "up-big",
    );
    let hard = "Prove rigorously that this algorithm is optimal; analyze its complexity step by step. \
        Why does it terminate? What is the bound? Which invariant holds? Derive a = b^2 + c \\cdot d.";
    let resp = send(&gw, PRO, &[], &chat(json!(hard)));
    assert!(resp
        .header("x-tollgate-route")
        .unwrap()
        .contains("rule=hard; route=big; tier=complex; strategy="));

    let page =
        gw.metrics_with("tollgate_route_rule_total{router=\"auto\",rule=\"hard\",variant=\"\"} 1");
    assert!(
        page.contains("tollgate_route_rule_total{router=\"auto\",rule=\"default\",variant=\"\"}")
    );
    assert!(page
        .contains("tollgate_route_rule_total{router=\"auto\",rule=\"free-tier\",variant=\"\"} 1"));
    let logged = common::wait_until(Duration::from_secs(5), || {
        gw.stdout()
            .contains(r#""route_reason":"router=auto; rule=hard; route=big; tier=complex; strategy=weighted; target=up/up-big; reason=weighted round robin""#)
    });
    assert!(logged, "access log: {}", gw.stdout());
}

#[test]
fn routers_reload_and_bad_rules_are_refused_with_key_paths() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up, "small"));
    let hello = chat(json!("hello"));
    expect(&gw, &up, &[], hello.clone(), "default", "up-small");

    gw.write_config(&config(&up, "big"));
    let moved = common::wait_until(Duration::from_secs(10), || {
        send(&gw, PRO, &[], &hello)
            .header("x-tollgate-route")
            .is_some_and(|r| r.starts_with("router=auto; rule=default; route=big; tier=simple;"))
    });
    assert!(moved, "the reloaded default never took effect");

    let (ok, out) = common::validate_config(
        &config(&up, "nowhere").replace(r#"(?i)\\bselect\\b.+\\bfrom\\b"#, "(unclosed"),
        &[],
    );
    assert!(!ok);
    assert!(
        out.contains("routers[0].default: \"nowhere\" is not a model"),
        "{out}"
    );
    assert!(
        out.contains("routers[0].rules[10].when.last_user_message: invalid regex"),
        "{out}"
    );

    // A plain alias still works and explains only its strategy's pick.
    let resp = send(
        &gw,
        PRO,
        &[],
        &json!({"model": "small", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("x-tollgate-route"),
        Some("strategy=weighted; target=up/up-small; reason=weighted round robin")
    );
}
