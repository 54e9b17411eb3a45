//! The attempt lifecycle through the real binary: a rate limit is not an outage,
//! faults are kept where they are, leases are returned on every path, and the retry
//! budget bounds the load on a failing provider.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::http::{self, Conn};
use common::{mock, mock_with, wait_until, Gateway};
use serde_json::{json, Value};

fn chat(model: &str, stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello"}]
    }))
    .unwrap()
}

fn post(gw: &Gateway, model: &str, headers: &[(&str, &str)]) -> http::Response {
    Conn::open(&gw.addr).request("POST", "/v1/chat/completions", headers, &chat(model, false))
}

fn upstreams(gw: &Gateway) -> Value {
    http::get(&gw.admin, "/admin/upstreams").json()
}

/// Every endpoint's `in_flight`, over all providers.
fn in_flight(gw: &Gateway) -> Vec<u64> {
    upstreams(gw)["providers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["endpoints"].as_array().unwrap().clone())
        .map(|e| e["in_flight"].as_u64().unwrap())
        .collect()
}

/// One provider with ONE endpoint and two models on it, as most users configure
/// api.openai.com.
fn single_endpoint(url: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{url}", health_check: {{ kind: none }} }}
models:
  - name: a
    targets: [{{ provider: p, model: gpt-4o-mini }}]
    retry: {{ attempts: 3, backoff_ms: 5, max_backoff_ms: 20 }}
    timeouts: {{ first_byte_ms: 300 }}
  - name: b
    targets: [{{ provider: p, model: gpt-4.1 }}]
    retry: {{ attempts: 3, backoff_ms: 5, max_backoff_ms: 20 }}
"#
    )
}

#[test]
fn a_rate_limit_on_one_model_is_no_outage() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    // Three requests for `a` rate limited on every attempt: the client gets the
    // upstream's own 429, after the configured three attempts.
    for _ in 0..3 {
        let resp = post(&gw, "a", &[("x-mock-status", "429")]);
        assert_eq!(resp.status, 429, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("3"));
    }
    // Nine 429s tripped the (endpoint, gpt-4o-mini) breaker, not the endpoint's.
    let view = upstreams(&gw);
    let p = &view["providers"][0];
    assert_eq!(p["endpoints"][0]["breaker"]["state"], "closed", "{view}");
    let cooldowns = p["model_cooldowns"].as_array().unwrap();
    assert_eq!(cooldowns.len(), 1, "{view}");
    assert_eq!(cooldowns[0]["model"], "gpt-4o-mini");
    assert_eq!(cooldowns[0]["reason"], "rate_limit");
    assert!(cooldowns[0]["remaining_ms"].as_u64().unwrap() > 0);
    // The provider answers again: `b` was never affected, and `a` is served too
    // (its only candidate is cooling down, so it is tried anyway: panic mode).
    for model in ["b", "a", "b", "a"] {
        let resp = post(&gw, model, &[]);
        assert_eq!(resp.status, 200, "{model}: {}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("1"), "{model}");
    }
    gw.metrics_with("tollgate_panic_routing_total{provider=\"p\"}");
    gw.metrics_with("tollgate_breaker_trips_total{provider=\"p\",scope=\"model\"}");
    // The success closed the breaker.
    assert_eq!(upstreams(&gw)["providers"][0]["model_cooldowns"], json!([]));
}

#[test]
fn retry_after_cools_exactly_that_model_for_that_long() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    let resp = post(
        &gw,
        "a",
        &[("x-mock-status", "429"), ("x-mock-retry-after", "7")],
    );
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("7"));
    let view = upstreams(&gw);
    let cooldown = &view["providers"][0]["model_cooldowns"][0];
    assert_eq!(cooldown["model"], "gpt-4o-mini", "{view}");
    let remaining = cooldown["remaining_ms"].as_u64().unwrap();
    assert!((5_000..=7_000).contains(&remaining), "{remaining}");
    let resp = post(&gw, "b", &[]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-tollgate-attempts"), Some("1"));
}

#[test]
fn timeouts_on_a_single_endpoint_never_refuse_the_next_request() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    // Two requests that time out on each of their three attempts: six timeouts trip
    // the endpoint's breaker.
    for _ in 0..2 {
        let resp = post(&gw, "a", &[("x-mock-hang", "1")]);
        assert_eq!(resp.status, 504, "{}", resp.text());
    }
    let view = upstreams(&gw);
    assert_eq!(
        view["providers"][0]["endpoints"][0]["breaker"]["reason"], "timeout",
        "{view}"
    );
    // The upstream answers again: the next requests, of both models, are served.
    for model in ["a", "b"] {
        let resp = post(&gw, model, &[]);
        assert_eq!(resp.status, 200, "{model}: {}", resp.text());
    }
}

#[test]
fn leases_are_returned_after_retries_fallbacks_timeouts_and_disconnects() {
    let failing = mock_with("failing", |c| c.status = Some(503));
    let healthy = mock_with("healthy", |c| c.delay_ms = 20);
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: f, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
  - {{ name: g, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: a
    targets: [{{ provider: f, model: m }}]
    retry: {{ attempts: 3, backoff_ms: 1, max_backoff_ms: 5 }}
    fallbacks: [b]
  - name: b
    targets: [{{ provider: g, model: m }}]
    timeouts: {{ first_byte_ms: 300 }}
    retry: {{ attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }}
"#,
        failing.url(),
        healthy.url()
    ));
    // Retries on `f`, then the fallback serves.
    for _ in 0..5 {
        let resp = post(&gw, "a", &[]);
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-provider"), Some("g"));
    }
    // Timeouts.
    let resp = post(&gw, "b", &[("x-mock-hang", "1")]);
    assert_eq!(resp.status, 504);
    // A client that goes away in the middle of a stream.
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    let body = chat("b", true);
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-mock-tokens: 200\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut first = [0u8; 256];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(s.read(&mut first).unwrap() > 0);
    drop(s);
    let settled = wait_until(Duration::from_secs(10), || {
        in_flight(&gw).iter().all(|n| *n == 0)
    });
    assert!(settled, "in_flight never returned to 0: {}", upstreams(&gw));
}

#[test]
fn the_retry_budget_bounds_attempts_on_a_failing_provider() {
    let dead = mock_with("dead", |c| c.status = Some(500));
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - name: p
    format: openai
    base_url: "{}"
    health_check: {{ kind: none }}
    breaker: {{ consecutive_failures: 100000, failure_ratio: 0 }}
    retry_budget: {{ percent: 20, min_concurrency: 0 }}
models:
  - name: a
    targets: [{{ provider: p, model: m }}]
    retry: {{ attempts: 3, backoff_ms: 1, max_backoff_ms: 2 }}
"#,
        dead.url()
    ));
    let requests = 50;
    for _ in 0..requests {
        let resp = post(&gw, "a", &[]);
        assert_eq!(resp.status, 500, "{}", resp.text());
    }
    let attempts = dead.hits();
    assert!(
        attempts <= requests + requests / 5,
        "{attempts} upstream attempts for {requests} requests"
    );
    assert!(attempts > requests, "the budget allowed no retry at all");
    gw.metrics_with("tollgate_retry_budget_exhausted_total{provider=\"p\"}");
}
