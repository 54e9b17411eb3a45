//! What clients can and cannot do to `/metrics`: label values come from the
//! configuration and from enums only. And the access log: batched, yet complete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{http, mock, Gateway};
use serde_json::json;

#[test]
fn client_chosen_model_names_never_become_label_values() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: known
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    for i in 0..20 {
        let body = json!({"model": format!("p/made-up-{i}"), "stream": i % 2 == 0,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    let body = json!({"model": "known", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    let page = gw.metrics_with("model=\"known\"");
    assert!(
        !page.contains("made-up"),
        "client input in a label:\n{page}"
    );
    let series = page
        .lines()
        .filter(|l| l.starts_with("tollgate_requests_total{"))
        .count();
    assert!(
        series <= 2,
        "{series} request series for two model labels:\n{page}"
    );
    assert!(page.contains("model=\"other\""), "{page}");
}

#[test]
fn every_series_exists_at_start_and_readiness_ignores_provider_health() {
    let up = mock("up");
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: live, format: openai, base_url: "{}" }}
  - {{ name: dead, format: openai, base_url: "{dead}", health_check: {{ kind: tcp, interval_ms: 200 }} }}
models:
  - name: m
    targets: [{{ provider: live, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    let page = http::get(&gw.admin, "/metrics").text();
    for series in [
        "tollgate_build_info{",
        "tollgate_requests_in_flight 0",
        "tollgate_upstream_attempts_total{outcome=\"failed\",provider=\"dead\"} 0",
        "tollgate_breaker_trips_total{provider=\"live\",scope=\"model\"} 0",
        "tollgate_retry_budget_exhausted_total{provider=\"live\"} 0",
        "tollgate_config_reloads_total{result=\"failure\"} 0",
    ] {
        assert!(
            page.contains(series),
            "{series} missing before any request:\n{page}"
        );
    }
    // One dead provider: the replica is still live and ready; the provider page says
    // which provider is down.
    let down = common::wait_until(std::time::Duration::from_secs(10), || {
        http::get(&gw.admin, "/health/providers").status == 503
    });
    assert!(down, "{}", http::get(&gw.admin, "/health/providers").text());
    let view = http::get(&gw.admin, "/health/providers").json();
    let dead = view["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "dead")
        .unwrap();
    assert_eq!(dead["up"], 0);
    assert_eq!(http::get(&gw.admin, "/livez").status, 200);
    assert_eq!(http::get(&gw.admin, "/readyz").status, 200);
}

#[test]
fn batched_access_log_lines_are_all_there_after_a_graceful_stop() {
    let up = mock("up");
    let mut gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    let requests = 60;
    for i in 0..requests {
        let body = json!({"model": "m", "stream": i % 3 == 0,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    // Stopped at once: the lines of the last requests are still batched.
    assert!(
        gw.terminate(std::time::Duration::from_secs(20)),
        "{}",
        gw.stderr()
    );
    let log = gw.stdout();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains("\"request_id\""))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), requests, "{log}");
    assert!(lines.iter().all(|l| l["status"] == 200));
}
