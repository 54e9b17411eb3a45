//! The official Python SDKs as clients of the real binary. Needs
//! `TOLLGATE_TEST_PYTHON` pointing at a Python with `openai` and `anthropic`
//! installed (scripts/test.sh sets it up); without it the test says so and skips
//! (it fails instead where `TOLLGATE_TEST_REQUIRE_ENV` is set, as in scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::Gateway;

fn python() -> Option<String> {
    common::test_env("TOLLGATE_TEST_PYTHON", "SDK test")
}

fn run_script(python: &str, script: &str, args: &[&str]) {
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python).arg(&path).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
}

#[test]
fn openai_python_sdk_against_openai_upstream() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: local, format: openai, base_url: "{}" }}
models:
  - name: gpt-4o-mini
    targets: [{{ provider: local, model: upstream-mini }}]
"#,
        up.url()
    ));
    run_script(&py, "openai_client.py", &[&gw.addr]);
}

#[test]
fn anthropic_python_sdk_translated_and_native() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: oai, format: openai, base_url: "{url}" }}
  - {{ name: ant, format: anthropic, base_url: "{url}", api_key: sk-ant-upstream }}
models:
  - name: claude-test
    targets: [{{ provider: oai, model: gpt-upstream }}]
  - name: claude-native
    targets: [{{ provider: ant, model: claude-upstream }}]
"#,
        url = up.url()
    ));
    run_script(&py, "anthropic_client.py", &[&gw.addr]);
}

/// `responses.create` / `responses.stream` translated to a chat-completions-only
/// upstream, to an Anthropic and to a Gemini upstream, on one long-lived gateway.
#[test]
fn openai_responses_sdk_translated_to_chat_anthropic_and_gemini() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: oai, format: openai, base_url: "{url}" }}
  - {{ name: ant, format: anthropic, base_url: "{url}", api_key: sk-ant-upstream }}
  - {{ name: gem, format: gemini, base_url: "{url}", api_key: gem-upstream }}
models:
  - name: via-chat
    targets: [{{ provider: oai, model: gpt-upstream }}]
  - name: via-anthropic
    targets: [{{ provider: ant, model: claude-upstream }}]
  - name: via-gemini
    targets: [{{ provider: gem, model: gemini-upstream }}]
"#,
        url = up.url()
    ));
    run_script(&py, "responses_client.py", &[&gw.addr, "via-chat"]);
    run_script(&py, "responses_client.py", &[&gw.addr, "via-anthropic"]);
    run_script(&py, "responses_client.py", &[&gw.addr, "via-gemini"]);
}

/// `api: responses`: the SDK's Responses calls pass through to a target serving the
/// Responses API (the mock's `/v1/responses`), with only `model` replaced, and are
/// metered from the Response usage; chat clients cannot use that target.
#[test]
fn openai_responses_sdk_passthrough() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: resp, format: openai, api: responses, base_url: "{url}" }}
models:
  - name: via-responses
    targets: [{{ provider: resp, model: upstream-resp }}]
"#,
        url = up.url()
    ));
    run_script(
        &py,
        "responses_client.py",
        &[&gw.addr, "via-responses", "passthrough"],
    );
    let seen = up.requests();
    assert!(!seen.is_empty());
    for r in &seen {
        assert_eq!(r.path, "/v1/responses", "{r:?}");
        assert_eq!(r.model.as_deref(), Some("upstream-resp"), "{r:?}");
    }
    // The body is the client's own bytes with the model replaced.
    let body = r#"{"model": "via-responses",  "input": "hi", "x_unknown": [1, 2]}"#;
    let resp = common::http::request(
        &gw.addr,
        "POST",
        "/v1/responses",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let last = up.requests().pop().unwrap();
    assert_eq!(
        last.body_prefix,
        r#"{"model": "upstream-resp",  "input": "hi", "x_unknown": [1, 2]}"#
    );
    // Metered from the passed-through Response usage.
    let metrics = gw.metrics_with("provider=\"resp\"");
    let output_tokens: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("tollgate_tokens_total{") && l.contains("provider=\"resp\""))
        .filter(|l| l.contains("kind=\"output\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(output_tokens > 0, "{metrics}");
    // A chat client cannot use a Responses-only target.
    let chat = gw.post(
        "/v1/chat/completions",
        &serde_json::json!({"model": "via-responses", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(chat.status, 400, "{}", chat.text());
}
