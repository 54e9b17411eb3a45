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

#[test]
fn body_over_the_limit_is_413_before_reading() {
    let up = mock("up");
    let config = one_provider_config(&[up.url()], "", "")
        .replace("max_body_bytes: 33554432", "max_body_bytes: 1048576");
    let gw = Gateway::start(&config);
    // Declared length over the limit: refused without sending the body.
    let mut conn = Conn::open(&gw.addr);
    conn.send_raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
    );
    let resp = conn.read_response(std::time::Instant::now(), false);
    assert_openai_error(&resp, 413, "invalid_request_error");
    // Chunked body growing over the limit.
    let body = chat_body_of_size("gpt-4o-mini", 2 * 1024 * 1024);
    let mut conn = Conn::open(&gw.addr);
    let mut raw =
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for part in body.chunks(256 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        raw.extend_from_slice(part);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    conn.send_raw(&raw);
    let resp = conn.read_response(std::time::Instant::now(), false);
    assert_openai_error(&resp, 413, "invalid_request_error");
    assert_eq!(up.hits(), 0);
}

#[test]
fn unreachable_upstream_is_502() {
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&one_provider_config(
        &[dead],
        "    health_check: { kind: none }",
        "",
    ));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 502, "api_error");
}

#[test]
fn no_healthy_upstream_is_503_quickly() {
    let sick = common::mock_with("sick", |c| c.unhealthy = true);
    let gw = Gateway::start(&one_provider_config(
        &[sick.url()],
        "    health_check: { kind: http, path: /health, interval_ms: 200 }",
        "",
    ));
    // Wait for the first health check to mark it down.
    assert!(common::wait_until(Duration::from_secs(10), || {
        gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": []}),
        )
        .status
            == 503
    }));
    let started = std::time::Instant::now();
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 503, "api_error");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn hanging_upstream_is_504_after_the_first_byte_timeout() {
    let hung = common::mock_with("hung", |c| c.hang = true);
    let gw = Gateway::start(&one_provider_config(
        &[hung.url()],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 500 }",
        "    retry: { attempts: 1 }",
    ));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 504, "timeout_error");
}

#[test]
fn upstream_client_errors_pass_through_with_their_status() {
    let up = common::mock_with("strict", |c| c.status = Some(400));
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_eq!(resp.status, 400);
    assert!(resp.json()["error"].is_object());
}

#[test]
fn a_dead_endpoint_in_the_pool_costs_no_request() {
    let alive = mock("alive");
    let doomed = mock("doomed");
    let gw = Gateway::start(&one_provider_config(
        &[alive.url(), doomed.url()],
        "    health_check: { kind: none }",
        "",
    ));
    doomed.stop();
    for i in 0..10 {
        let resp = gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
    }
    assert_eq!(alive.hits(), 10);
}

#[test]
fn admin_plane_serves_metrics_health_and_upstreams() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(http::get(&gw.admin, "/healthz").status, 200);
    assert!(common::wait_until(Duration::from_secs(10), || http::get(
        &gw.admin, "/readyz"
    )
    .status
        == 200));
    let metrics = gw.metrics_with(r#"status="2xx""#);
    assert!(metrics.contains("tollgate_requests_total"), "{metrics}");
    assert!(metrics.contains("tollgate_request_duration_seconds"));
    let upstreams = http::get(&gw.admin, "/admin/upstreams").json();
    assert_eq!(upstreams["providers"][0]["provider"], "local");
    let config = http::get(&gw.admin, "/admin/config").text();
    assert!(!config.contains("sk-upstream-secret"), "{config}");
    // The access log has one JSON line per request, without secrets.
    assert!(common::wait_until(Duration::from_secs(5), || gw
        .stdout()
        .contains("\"request_id\"")));
    let log = gw.stdout();
    assert!(!log.contains("sk-upstream-secret"));
    let line = log.lines().find(|l| l.contains("\"request_id\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["status"], 200);
}

#[test]
fn config_check_flag() {
    let (ok, out) = common::validate_config(
        &one_provider_config(&["http://127.0.0.1:9".into()], "", ""),
        &[],
    );
    assert!(ok, "{out}");
    let bad = r#"
providers:
  - { name: a, format: openai, base_url: "htp:/broken", api_key: "${MISSING_KEY_FOR_TEST}" }
models:
  - name: m
    targets: [{ provider: nobody, model: x }]
"#;
    let (ok, out) = common::validate_config(bad, &[]);
    assert!(!ok);
    assert!(out.contains("providers[0].base_url"), "{out}");
    assert!(out.contains("MISSING_KEY_FOR_TEST"), "{out}");
    assert!(out.contains("models[0].targets[0].provider"), "{out}");
    assert!(!out.contains("panicked"));
}

#[test]
fn https_upstreams_are_verified_against_the_configured_ca() {
    use common::tls::{TlsFront, FIXTURES};
    let up = mock("up");
    let front = TlsFront::start(up.addr);
    let https = format!("https://127.0.0.1:{}", front.addr.port());
    let chat = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let stream = json!({"model": "gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    // Trusting the CA that signed the endpoint's certificate (SAN 127.0.0.1): served,
    // through TLS, streams included.
    let trusted = Gateway::start(&one_provider_config(
        std::slice::from_ref(&https),
        &format!("    health_check: {{ kind: none }}\n    tls_ca_file: \"{FIXTURES}/ca.pem\""),
        "",
    ));
    let resp = trusted.post("/v1/chat/completions", &chat);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = trusted.post("/v1/chat/completions", &stream);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains("[DONE]"), "{}", resp.text());
    assert!(front.handshakes() >= 1);
    assert_eq!(up.hits(), 2);
    // Another CA, or the OS trust store (which does not know the test CA): the
    // certificate is refused, nothing reaches the upstream, the client gets a 502.
    for extra in [
        format!("    health_check: {{ kind: none }}\n    tls_ca_file: \"{FIXTURES}/other-ca.pem\""),
        "    health_check: { kind: none }".to_string(),
    ] {
        let refused = Gateway::start(&one_provider_config(
            std::slice::from_ref(&https),
            &extra,
            "",
        ));
        let resp = refused.post("/v1/chat/completions", &chat);
        assert_eq!(resp.status, 502, "{extra}: {}", resp.text());
        assert_eq!(resp.json()["error"]["type"], "api_error", "{}", resp.text());
    }
    assert_eq!(up.hits(), 2);
    // A CA file that cannot be used is a config error naming the key.
    let (ok, out) = common::validate_config(
        &one_provider_config(&[https], "    tls_ca_file: /nonexistent/ca.pem", ""),
        &[],
    );
    assert!(!ok);
    assert!(out.contains("providers[0].tls_ca_file"), "{out}");
}

#[test]
fn connect_timeout_moves_on_to_the_next_endpoint_or_is_a_504() {
    let blackhole = common::SynBlackhole::start();
    assert!(
        blackhole.swallows_connects(),
        "the kernel completed a connect to a full accept queue"
    );
    let dark = format!("http://{}", blackhole.addr);
    let timeouts = "    health_check: { kind: none }\n    timeouts: { connect_ms: 300 }";
    // Alone: the connect times out, the client gets a 504 soon after.
    let gw = Gateway::start(&one_provider_config(
        std::slice::from_ref(&dark),
        timeouts,
        "    retry: { attempts: 1 }",
    ));
    let started = std::time::Instant::now();
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_openai_error(&resp, 504, "timeout_error");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // With a healthy endpoint beside it, every request is served.
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(
        &[dark, up.url()],
        timeouts,
        "    retry: { attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }",
    ));
    for i in 0..4 {
        let resp = gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
    }
    assert_eq!(up.hits(), 4);
}
