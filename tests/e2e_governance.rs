//! Governance end to end: virtual keys, model allow-lists, rate limits with
//! settlement, concurrency caps, budgets, guardrails, secrets kept out of logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::http;
use common::Gateway;
use serde_json::json;
use tollgate::policy::hash_key;
use tollgate_mock::MockServer;

const ALICE: &str = "sk-tg-alice-7f3a9c1e55d2";
const BOB: &str = "sk-tg-bob-0b81c4e2f9aa";
const CAROL: &str = "sk-tg-carol-99d1e0a7c3b4";

fn config(up: &MockServer, extra_keys: &str, guardrails: &str) -> String {
    format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: up, format: openai, base_url: "{url}", api_key: "sk-provider-secret-123" }}
  - {{ name: ant, format: anthropic, base_url: "{url}", api_key: "sk-provider-secret-123" }}
models:
  - {{ name: gpt-4o-mini, targets: [{{ provider: up, model: gpt-4o-mini }}] }}
  - {{ name: claude, targets: [{{ provider: ant, model: claude-3-5-haiku-latest }}] }}
  - {{ name: secret-model, targets: [{{ provider: up, model: x }}] }}
pricing:
  - {{ model: gpt-4o-mini, input_per_mtok: 1000000, output_per_mtok: 1000000 }}
keys:
  - name: alice
    hash: "{alice}"
    models: ["gpt-4o*", "claude"]
    limits: {{ rpm: 3 }}
  - name: bob
    hash: "{bob}"
    models: ["gpt-4o*", "claude"]
    limits: {{ tpm: 3000, max_concurrent: 1 }}
{extra_keys}
{guardrails}
"#,
        url = up.url(),
        alice = hash_key(ALICE),
        bob = hash_key(BOB),
    )
}

fn chat(model: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"model": model, "messages": [{"role": "user", "content": "hello"}]}))
        .unwrap()
}

fn post(gw: &Gateway, key: Option<&str>, body: &[u8]) -> http::Response {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    http::request(&gw.addr, "POST", "/v1/chat/completions", &headers, body)
}

#[test]
fn keys_are_required_and_checked_in_each_dialect() {
    let up = common::mock("mock");
    let gw = Gateway::start(&config(&up, "", ""));
    let resp = post(&gw, None, &chat("gpt-4o-mini"));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"]["type"], "authentication_error");
    let resp = post(&gw, Some("sk-wrong"), &chat("gpt-4o-mini"));
    assert_eq!(resp.status, 401);
    assert!(
        !resp.text().contains("sk-wrong"),
        "the presented key is never echoed"
    );
    let resp = http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[("x-api-key", "nope")],
        b"{}",
    );
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["type"], "error");
    assert_eq!(resp.json()["error"]["type"], "authentication_error");
    // x-api-key works like Authorization.
    let body = json!({"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let resp = http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[("x-api-key", BOB)],
        body.to_string().as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Model allow-list.
    let resp = post(&gw, Some(ALICE), &chat("secret-model"));
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"]["type"], "permission_error");
    // The models list shows only what the key may use.
    let models = http::request(
        &gw.addr,
        "GET",
        "/v1/models",
        &[("authorization", &format!("Bearer {ALICE}"))],
        b"",
    )
    .json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gpt-4o-mini", "claude"]);
    assert_eq!(up.hits(), 1);
}

#[test]
fn requests_per_minute_limit_with_openai_headers() {
    let up = common::mock("mock");
    let gw = Gateway::start(&config(&up, "", ""));
    for i in 0..3 {
        let resp = post(&gw, Some(ALICE), &chat("gpt-4o-mini"));
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
        assert_eq!(resp.header("x-ratelimit-limit-requests"), Some("3"));
        assert_eq!(
            resp.header("x-ratelimit-remaining-requests"),
            Some((2 - i).to_string().as_str())
        );
        assert!(resp.header("x-ratelimit-reset-requests").is_some());
    }
    let resp = post(&gw, Some(ALICE), &chat("gpt-4o-mini"));
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(resp.json()["error"]["type"], "rate_limit_error");
    assert!(resp.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(up.hits(), 3);
}

#[test]
fn token_limit_is_settled_with_real_usage_streams_included() {
    let up = common::mock_with("mock", |c| c.tokens = 5);
    let gw = Gateway::start(&config(&up, "", ""));
    // Each admission reserves ~2 000 tokens (max_tokens) of bob's 3 000 TPM; the real
    // usage is ~10, so after settlement the next request fits again.
    for stream in [false, true, false, true] {
        let body = json!({"model": "gpt-4o-mini", "stream": stream, "max_tokens": 2000, "messages": [{"role": "user", "content": "hi"}]});
        let resp = post(&gw, Some(BOB), body.to_string().as_bytes());
        assert_eq!(resp.status, 200, "stream={stream}: {}", resp.text());
        assert!(resp.header("x-ratelimit-remaining-tokens").is_some());
        // Settlement runs when the gateway closes the request, just after the last
        // byte reached the client.
        std::thread::sleep(Duration::from_millis(100));
    }
    // A request that cannot fit at all is refused before reaching the upstream.
    let hits = up.hits();
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 5000, "messages": [{"role": "user", "content": "hi"}]});
    let resp = post(&gw, Some(BOB), body.to_string().as_bytes());
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(up.hits(), hits);
}

#[test]
fn concurrency_cap_refuses_a_second_request_in_flight() {
    let up = common::mock_with("mock", |c| {
        c.tokens = 10;
        c.delay_ms = 100;
    });
    let gw = Gateway::start(&config(&up, "", ""));
    let addr = gw.addr.clone();
    let slow = std::thread::spawn(move || {
        let body = json!({"model": "gpt-4o-mini", "stream": true, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
        http::request(
            &addr,
            "POST",
            "/v1/chat/completions",
            &[("authorization", &format!("Bearer {BOB}"))],
            body.to_string().as_bytes(),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let resp = post(&gw, Some(BOB), body.to_string().as_bytes());
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(slow.join().unwrap().status, 200);
    // The slot is free again once the first request is closed.
    assert!(common::wait_until(Duration::from_secs(2), || post(
        &gw,
        Some(BOB),
        body.to_string().as_bytes()
    )
    .status
        == 200));
}

#[test]
fn back_to_back_requests_never_trip_a_concurrency_cap_of_one() {
    let up = common::mock("mock");
    let gw = Gateway::start(&config(&up, "", ""));
    let auth = format!("Bearer {BOB}");
    // Each request is sent, on a new connection, the moment the previous answer is
    // read: the slot must be free by then, for whole answers and streams alike.
    // (60: bob's 3 000 tokens per minute would be the next limit.)
    for i in 0..60 {
        let body = json!({"model": "gpt-4o-mini", "stream": i % 2 == 0, "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]});
        let resp = http::request(
            &gw.addr,
            "POST",
            "/v1/chat/completions",
            &[("authorization", auth.as_str())],
            body.to_string().as_bytes(),
        );
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
    }
}

#[test]
fn budget_exhaustion_is_insufficient_quota_and_spend_is_reported() {
    let up = common::mock("mock");
    let carol = format!(
        "  - name: carol\n    hash: \"{}\"\n    budget: {{ daily_usd: 5 }}\n",
        hash_key(CAROL)
    );
    let gw = Gateway::start(&config(&up, &carol, ""));
    // At $1 per token the first request costs far more than $5.
    let resp = post(&gw, Some(CAROL), &chat("gpt-4o-mini"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Spend is recorded when the first request closes, just after its last byte.
    let mut resp = post(&gw, Some(CAROL), &chat("gpt-4o-mini"));
    for _ in 0..20 {
        if resp.status == 429 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        resp = post(&gw, Some(CAROL), &chat("gpt-4o-mini"));
    }
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(
        resp.json()["error"]["code"],
        "insufficient_quota",
        "{}",
        resp.text()
    );
    let usage = http::get(&gw.admin, "/admin/usage").text();
    assert!(usage.contains("carol"), "{usage}");
    let metrics = gw.metrics_with("tollgate_spend_usd_total");
    assert!(metrics.contains(r#"key="carol""#), "{metrics}");
}

#[test]
fn guardrails_block_and_redact_each_pii_kind() {
    let up = common::mock("mock");
    let guardrails = r#"
guardrails:
  - { name: no-secrets, kind: pii, detectors: [secret], action: block, apply_to: input, global: true }
  - { name: redact-pii, kind: pii, detectors: [email, phone, credit_card, iban, us_ssn], action: redact, apply_to: input, global: true }
  - { name: codenames, kind: deny_pattern, patterns: ['(?i)project\s+falcon'], action: block, global: true }
"#;
    let gw = Gateway::start(&config(&up, "", guardrails));
    let send = |text: &str| {
        let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]});
        post(&gw, Some(BOB), body.to_string().as_bytes())
    };
    let secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    let resp = send(&format!("my key is {secret}"));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("no-secrets"), "{}", resp.text());
    assert!(!resp.text().contains(secret));
    let resp = send("tell me about Project  Falcon");
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("codenames"));
    for (kind, sample) in [
        ("email", "jane.doe@example.com"),
        ("phone", "+1 415-555-0132"),
        ("credit_card", "4111 1111 1111 1111"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("us_ssn", "123-45-6789"),
    ] {
        let resp = send(&format!("contact: {sample} thanks"));
        assert_eq!(resp.status, 200, "{kind}: {}", resp.text());
        let seen = up.requests().last().cloned().unwrap();
        assert!(
            !seen.body_prefix.contains(sample),
            "{kind} leaked: {}",
            seen.body_prefix
        );
        assert!(
            seen.body_prefix.contains("[REDACTED"),
            "{kind}: {}",
            seen.body_prefix
        );
    }
    assert_eq!(
        up.requests()
            .iter()
            .filter(|r| r.body_prefix.contains("Falcon"))
            .count(),
        0
    );
}

#[test]
fn no_plaintext_key_or_provider_secret_in_logs_errors_or_admin() {
    let up = common::mock("mock");
    let gw = Gateway::start(&config(&up, "", ""));
    post(&gw, Some(ALICE), &chat("gpt-4o-mini"));
    post(&gw, Some(ALICE), &chat("secret-model"));
    post(&gw, Some("sk-tg-not-a-key-42"), &chat("gpt-4o-mini"));
    let admin: String = [
        "/admin/config",
        "/admin/usage",
        "/admin/upstreams",
        "/metrics",
    ]
    .iter()
    .map(|p| http::get(&gw.admin, p).text())
    .collect();
    std::thread::sleep(Duration::from_millis(200));
    let logs = format!("{}{}", gw.stdout(), gw.stderr());
    for secret in [ALICE, "sk-tg-not-a-key-42", "sk-provider-secret-123"] {
        assert!(!logs.contains(secret), "{secret} in logs");
        assert!(!admin.contains(secret), "{secret} in admin output");
    }
    assert!(logs.contains("\"request_id\""), "access log missing");
}

#[test]
fn keys_are_added_and_revoked_by_reload() {
    let up = common::mock("mock");
    let gw = Gateway::start(&config(&up, "", ""));
    assert_eq!(post(&gw, Some(CAROL), &chat("gpt-4o-mini")).status, 401);
    let carol = format!("  - name: carol\n    hash: \"{}\"\n", hash_key(CAROL));
    gw.write_config(&config(&up, &carol, ""));
    let carol_status = || post(&gw, Some(CAROL), &chat("gpt-4o-mini")).status;
    let added = common::wait_until(Duration::from_secs(10), || carol_status() == 200);
    assert!(
        added,
        "key not added by reload; gateway log:\n{}",
        gw.stderr()
    );
    gw.write_config(&config(&up, "", ""));
    let revoked = common::wait_until(Duration::from_secs(10), || carol_status() == 401);
    assert!(
        revoked,
        "key not revoked by reload; gateway log:\n{}",
        gw.stderr()
    );
}

#[test]
fn output_guardrails_block_and_redact_streams_and_whole_answers() {
    let up = common::mock_with("mock", |c| c.tokens = 6);
    let guardrails = r#"
guardrails:
  - { name: no-tok4, kind: deny_pattern, patterns: ['tok4'], action: block, apply_to: output, global: true }
  - { name: hide-tok2, kind: deny_pattern, patterns: ['tok2'], action: redact, apply_to: output, global: true }
"#;
    let carol = format!("  - name: carol\n    hash: \"{}\"\n", hash_key(CAROL));
    let gw = Gateway::start(&config(&up, &carol, guardrails));
    let ask = |path: &str, body: serde_json::Value| {
        http::request(
            &gw.addr,
            "POST",
            path,
            &[("authorization", &format!("Bearer {CAROL}"))],
            body.to_string().as_bytes(),
        )
    };
    // Whole answers: blocked with a 400 in the client's dialect, on both routes.
    let resp = ask(
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(
        resp.text().contains("no-tok4") && !resp.text().contains("tok4 "),
        "{}",
        resp.text()
    );
    let resp = ask(
        "/v1/messages",
        json!({"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(resp.json()["type"], "error");
    // Streams: the text before the match arrives, redacted; then an in-band error.
    let resp = ask(
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.contains("no-tok4"), "{text}");
    let streamed: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(
        !streamed.contains("tok2") && !streamed.contains("tok4"),
        "{text}"
    );
    assert!(!text.contains("[DONE]"), "{text}");
    // The same for Responses clients (translated): a whole answer is a 400 in OpenAI's
    // shape; a stream carries the (held-back, redacted) deltas, then an `error` event.
    let resp = ask(
        "/v1/responses",
        json!({"model": "gpt-4o-mini", "input": "hi"}),
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(
        resp.json()["error"]["message"].is_string(),
        "{}",
        resp.text()
    );
    let resp = ask(
        "/v1/responses",
        json!({"model": "gpt-4o-mini", "stream": true, "input": "hi"}),
    );
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.contains("no-tok4"), "{text}");
    let deltas: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter(|v| v["type"] == "response.output_text.delta")
        .filter_map(|v| v["delta"].as_str().map(str::to_string))
        .collect();
    assert!(text.contains("event: response.output_text.delta"), "{text}");
    assert!(
        !deltas.contains("tok2") && !deltas.contains("tok4"),
        "{text}"
    );
    assert!(!text.contains("response.completed"), "{text}");
    // Below the block threshold a redaction is all that happens.
    let up_short = common::mock_with("mock", |c| c.tokens = 3);
    let gw2 = Gateway::start(&config(&up_short, &carol, guardrails));
    let resp = http::request(
        &gw2.addr,
        "POST",
        "/v1/chat/completions",
        &[("authorization", &format!("Bearer {CAROL}"))],
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let content = resp.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        content.contains("tok1") && content.contains("[REDACTED") && !content.contains("tok2"),
        "{content}"
    );
    let resp = http::request(&gw2.addr, "POST", "/v1/chat/completions", &[("authorization", &format!("Bearer {CAROL}"))],
        json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}).to_string().as_bytes());
    let text = resp.text();
    assert!(
        text.contains("[REDACTED") && !text.contains("tok2") && text.contains("[DONE]"),
        "{text}"
    );
}

#[path = "e2e_governance/conversations.rs"]
mod conversations;
