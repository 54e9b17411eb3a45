//! A/B splits: a 70/30 split over 2,000 users lands within ±5 %, each user stays on
//! one variant, and the variant is in the header, the access log, the rule metric
//! and the request, token and spend metrics.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::common::{self, http::Conn, Gateway};

#[test]
fn seventy_thirty_split_is_sticky_per_user() {
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{url}" }}
models:
  - {{ name: model-a, targets: [{{ provider: up, model: up-a }}] }}
  - {{ name: model-b, targets: [{{ provider: up, model: up-b }}] }}
routers:
  - name: ab
    rules:
      - name: experiment
        split:
          - {{ name: control, route: model-a, weight: 70 }}
          - {{ name: candidate, route: model-b, weight: 30 }}
"#,
        url = up.url()
    ));
    let mut conn = Conn::open(&gw.addr);
    let mut send = |user: &str| {
        let body = serde_json::to_vec(&json!({"model": "ab", "user": user,
            "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap();
        let resp = conn.request(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &body,
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        let route = resp.header("x-tollgate-route").unwrap().to_string();
        let variant = if route.contains("variant=control; route=model-a;") {
            "control"
        } else {
            assert!(
                route.contains("variant=candidate; route=model-b;"),
                "{route}"
            );
            "candidate"
        };
        variant.to_string()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for i in 0..2000 {
        let user = format!("user-{i}");
        seen.insert(user.clone(), send(&user));
    }
    let control = seen.values().filter(|v| *v == "control").count();
    let share = control as f64 / 2000.0;
    assert!((0.65..=0.75).contains(&share), "control share {share}");
    for i in (0..2000).step_by(20) {
        let user = format!("user-{i}");
        assert_eq!(send(&user), seen[&user], "{user} changed variant");
    }
    // Every request was sent once, the sampled users twice: the counter saw them all.
    let repeated_control = (0..2000)
        .step_by(20)
        .filter(|i| seen[&format!("user-{i}")] == "control")
        .count();
    let a = control + repeated_control;
    assert_eq!(up.hits(), 2100);
    gw.metrics_with(&format!(
        "tollgate_route_rule_total{{router=\"ab\",rule=\"experiment\",variant=\"control\"}} {}",
        a
    ));
    // The request metrics carry the variant, so the two compare on latency, errors,
    // tokens and spend.
    let page = gw.metrics_with("variant=\"candidate\"");
    let sum = |prefix: &str, needle: &str| -> f64 {
        page.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(needle))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let b = 2100 - a;
    assert_eq!(
        sum("tollgate_requests_total{", "variant=\"control\""),
        a as f64,
        "{page}"
    );
    assert_eq!(
        sum("tollgate_requests_total{", "variant=\"candidate\""),
        b as f64
    );
    assert_eq!(
        sum(
            "tollgate_request_duration_seconds_count{",
            "variant=\"candidate\""
        ),
        b as f64
    );
    let output = sum(
        "tollgate_route_variant_tokens_total{",
        "kind=\"output\",router=\"ab\",rule=\"experiment\",variant=\"control\"",
    );
    assert_eq!(
        output,
        (a * 8) as f64,
        "8 output tokens per mock answer:\n{page}"
    );
    assert!(page.contains("tollgate_route_variant_spend_usd_total{router=\"ab\",rule=\"experiment\",variant=\"candidate\"}"));
    let logged = common::wait_until(Duration::from_secs(5), || {
        gw.stdout()
            .contains("rule=experiment; variant=candidate; route=model-b;")
    });
    assert!(logged);
}
