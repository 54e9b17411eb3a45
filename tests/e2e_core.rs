//! End-to-end tests of the core gateway: the real `tollgate` binary against
//! in-process mock upstreams on loopback, spoken to over HTTP like a client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::http::{self, Conn};
use common::{fnv1a, mock, Gateway};
use serde_json::json;

fn one_provider_config(urls: &[String], extra_provider: &str, extra: &str) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        r#"
auth: {{ mode: open }}
limits: {{ max_body_bytes: 33554432 }}
providers:
  - name: local
    format: openai
    base_urls: [{}]
    api_key: "sk-upstream-secret"
{extra_provider}
models:
  - name: gpt-4o-mini
    targets:
      - {{ provider: local, model: upstream-mini }}
{extra}
"#,
        urls.join(", ")
    )
}

/// A chat request of exactly `size` bytes.
fn chat_body_of_size(model: &str, size: usize) -> Vec<u8> {
    let head = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":""#);
    let tail = r#""}]}"#;
    let pad = size
        .checked_sub(head.len() + tail.len())
        .expect("size too small");
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(head.as_bytes());
    body.extend(std::iter::repeat_n(b'a', pad));
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), size);
    body
}

/// What the upstream must receive: the same bytes with only the model replaced.
fn expected_upstream_body(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.replacen(
        &format!(r#""model":"{from}""#),
        &format!(r#""model":"{to}""#),
        1,
    )
    .into_bytes()
}

const SIZES: &[usize] = &[
    200,
    64 * 1024 - 1,
    64 * 1024,
    64 * 1024 + 1,
    1024 * 1024,
    20 * 1024 * 1024,
];

#[test]
fn bodies_of_every_size_route_on_model_and_arrive_intact() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let mut conn = Conn::open(&gw.addr);
    for &size in SIZES {
        let body = chat_body_of_size("gpt-4o-mini", size);
        let resp = conn.request(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &body,
        );
        assert_eq!(resp.status, 200, "size {size}: {}", resp.text());
        assert_eq!(resp.json()["object"], "chat.completion");
        let expected = expected_upstream_body(&body, "gpt-4o-mini", "upstream-mini");
        let got = up.requests().last().cloned().unwrap();
        assert_eq!(got.model.as_deref(), Some("upstream-mini"), "size {size}");
        assert_eq!(got.body_len, expected.len(), "size {size}");
        assert_eq!(got.body_fnv, fnv1a(&expected), "size {size}");
        assert_eq!(resp.header("x-tollgate-provider"), Some("local"));
        assert_eq!(resp.header("x-tollgate-model"), Some("upstream-mini"));
    }
    // All of them on one keep-alive connection.
    assert_eq!(up.hits(), SIZES.len());
}

#[test]
fn large_bodies_are_retried_whole_on_a_fallback() {
    let failing = common::mock_with("failing", |c| c.status = Some(503));
    let backup = mock("backup");
    let config = format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: primary, format: openai, base_url: "{}" }}
  - {{ name: secondary, format: openai, base_url: "{}" }}
models:
  - name: main
    targets: [{{ provider: primary, model: p-model }}]
    retry: {{ attempts: 1 }}
    fallbacks: [spare]
  - name: spare
    targets: [{{ provider: secondary, model: s-model }}]
"#,
        failing.url(),
        backup.url()
    );
    let gw = Gateway::start(&config);
    let mut conn = Conn::open(&gw.addr);
    // Three sizes: the third failure opens the primary's breaker, and a fourth
    // request would skip it.
    for &size in &[20 * 1024 * 1024, 1024 * 1024, 64 * 1024 + 1] {
        let body = chat_body_of_size("main", size);
        let resp = conn.request("POST", "/v1/chat/completions", &[], &body);
        assert_eq!(resp.status, 200, "size {size}: {}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("2"));
        assert_eq!(resp.header("x-tollgate-provider"), Some("secondary"));
        let first = failing.requests().last().cloned().unwrap();
        let expected = expected_upstream_body(&body, "main", "p-model");
        assert_eq!(
            (first.body_len, first.body_fnv.as_str()),
            (expected.len(), fnv1a(&expected).as_str())
        );
        let second = backup.requests().last().cloned().unwrap();
        let expected = expected_upstream_body(&body, "main", "s-model");
        assert_eq!(
            (second.body_len, second.body_fnv.as_str()),
            (expected.len(), fnv1a(&expected).as_str())
        );
    }
}

#[test]
fn expect_continue_is_answered_and_keepalive_kept() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let mut conn = Conn::open(&gw.addr);
    for _ in 0..2 {
        let body = chat_body_of_size("gpt-4o-mini", 2 * 1024 * 1024);
        let resp = conn.request(
            "POST",
            "/v1/chat/completions",
            &[("expect", "100-continue")],
            &body,
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_ne!(resp.header("connection"), Some("close"));
    }
    assert!(up.requests().iter().all(|r| r.header("expect").is_none()));
}

#[test]
fn provider_key_injected_and_client_credentials_never_forwarded() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("authorization", "Bearer client-key"),
            ("x-api-key", "client-key-2"),
            ("x-request-id", "abc-123"),
        ],
        br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-request-id"), Some("abc-123"));
    let seen = up.requests().last().cloned().unwrap();
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer sk-upstream-secret")
    );
    assert_eq!(seen.header("x-api-key"), None);
    assert_eq!(seen.header("x-request-id"), Some("abc-123"));
    assert_eq!(seen.path, "/v1/chat/completions");
}

#[test]
fn stream_events_reach_the_client_before_the_upstream_finishes() {
    let up = common::mock_with("slow", |c| {
        c.tokens = 5;
        c.delay_ms = 300;
    });
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let text = resp.text();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    // The client did not ask for usage: the gateway's own include_usage chunk is stripped.
    assert!(!text.contains(r#""choices":[]"#), "{text}");
    let first_token = resp
        .chunks
        .iter()
        .find(|(_, c)| String::from_utf8_lossy(c).contains("tok0"))
        .unwrap()
        .0;
    let last = resp.chunks.last().unwrap().0;
    // Five tokens 300 ms apart: the first must have arrived long before the last.
    assert!(
        last - first_token >= Duration::from_millis(900),
        "first {first_token:?}, last {last:?}"
    );
    // The upstream was asked for usage so tokens can be accounted.
    let seen = up.requests().last().cloned().unwrap();
    assert!(
        seen.body_prefix.contains("include_usage"),
        "{}",
        seen.body_prefix
    );
}

#[test]
fn stream_usage_chunk_kept_when_the_client_asks() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 200);
    assert!(resp.text().contains(r#""usage""#), "{}", resp.text());
}

#[test]
fn models_list_and_embeddings() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = http::get(&gw.addr, "/v1/models");
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "gpt-4o-mini");
    let resp = gw.post(
        "/v1/embeddings",
        &json!({"model": "gpt-4o-mini", "input": ["a", "b"]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["data"].as_array().unwrap().len(), 2);
    assert_eq!(up.requests().last().unwrap().path, "/v1/embeddings");
}

fn assert_openai_error(resp: &http::Response, status: u16, kind: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    let v = resp.json();
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(
        v["error"].get("param").is_some() && v["error"].get("code").is_some(),
        "{v}"
    );
}

#[test]
fn malformed_requests_get_openai_errors_and_nothing_else_breaks() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let post = |body: &[u8]| http::request(&gw.addr, "POST", "/v1/chat/completions", &[], body);
    assert_openai_error(&post(b"{"), 400, "invalid_request_error");
    assert_openai_error(&post(b"x"), 400, "invalid_request_error");
    assert_openai_error(&post(b""), 400, "invalid_request_error");
    assert_openai_error(&post(br#"{"messages":[]}"#), 400, "invalid_request_error");
    assert_openai_error(
        &post(br#"{"model":42,"messages":[]}"#),
        400,
        "invalid_request_error",
    );
    let resp = post(br#"{"model":"nope","messages":[]}"#);
    assert_openai_error(&resp, 404, "invalid_request_error");
    assert_eq!(resp.json()["error"]["code"], "model_not_found");
    assert_openai_error(
        &http::request(&gw.addr, "POST", "/v1/nothing", &[], b"{}"),
        404,
        "invalid_request_error",
    );
    assert_eq!(up.hits(), 0);
    // Still serving.
    let ok = post(br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#);
    assert_eq!(ok.status, 200);
}

#[test]
fn anthropic_route_errors_in_anthropic_shape() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = http::request(&gw.addr, "POST", "/v1/messages", &[], b"{not json");
    assert_eq!(resp.status, 400);
    let v = resp.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
}

#[path = "e2e_core/failures.rs"]
mod failures;
