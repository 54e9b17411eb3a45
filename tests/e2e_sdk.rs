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
/// metered from the Response usage.
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
    for r in seen.iter().filter(|r| r.method == "POST") {
        assert_eq!(r.path, "/v1/responses", "{r:?}");
        assert_eq!(r.model.as_deref(), Some("upstream-resp"), "{r:?}");
    }
    assert_forwarded(&seen);
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
}

/// The client's GET, input_items and DELETE of a response a Responses provider holds
/// reached that provider, on the id's own path: one of each, nothing else (the id
/// tollgate never saw and the other key's calls stayed in tollgate).
fn assert_forwarded(seen: &[tollgate_mock::RecordedRequest]) {
    let calls: Vec<(String, String)> = seen
        .iter()
        .filter(|r| r.method != "POST")
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(calls.len(), 3, "{calls:?}");
    let id = calls[0].1.trim_start_matches("/v1/responses/").to_string();
    assert!(id.starts_with("resp_mock"), "{calls:?}");
    let want = [
        ("GET", format!("/v1/responses/{id}")),
        ("GET", format!("/v1/responses/{id}/input_items")),
        ("DELETE", format!("/v1/responses/{id}")),
    ];
    for (got, (method, path)) in calls.iter().zip(want) {
        assert_eq!((got.0.as_str(), got.1.as_str()), (method, path.as_str()));
    }
}

const KEY_A: &str = "sk-tg-responses-state-a";
const KEY_B: &str = "sk-tg-responses-state-b";

/// Conversation state and Responses-only targets, in sequence on one gateway with two
/// keys: `previous_response_id` chains on routes translated to a chat-only and an
/// Anthropic upstream (GET, DELETE, other key's ids), chains on a route of two
/// Responses targets sticking to the one that answered first, and chat-completions
/// and Messages clients of a Responses-only target.
#[test]
fn openai_responses_sdk_conversation_state_and_responses_targets() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let (up_a, up_b) = (common::mock("resp-a"), common::mock("resp-b"));
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: keys }}
keys:
  - {{ name: a, hash: "{hash_a}" }}
  - {{ name: b, hash: "{hash_b}" }}
responses: {{ store_ttl_seconds: 600, max_stored_bytes: 65536, memory_max_bytes: 4194304 }}
providers:
  - {{ name: oai, format: openai, base_url: "{url}" }}
  - {{ name: ant, format: anthropic, base_url: "{url}", api_key: sk-ant-upstream }}
  - {{ name: resp-a, format: openai, api: responses, base_url: "{url_a}" }}
  - {{ name: resp-b, format: openai, api: responses, base_url: "{url_b}" }}
models:
  - name: via-chat
    targets: [{{ provider: oai, model: gpt-upstream }}]
  - name: via-anthropic
    targets: [{{ provider: ant, model: claude-upstream }}]
  - name: via-pair
    targets: [{{ provider: resp-a, model: up-a }}, {{ provider: resp-b, model: up-b }}]
  - name: responses-only
    targets: [{{ provider: resp-a, model: only-responses }}]
"#,
        url = up.url(),
        url_a = up_a.url(),
        url_b = up_b.url(),
        hash_a = tollgate::policy::hash_key(KEY_A),
        hash_b = tollgate::policy::hash_key(KEY_B),
    ));
    for model in ["via-chat", "via-anthropic"] {
        run_script(
            &py,
            "responses_client.py",
            &[&gw.addr, model, "translated", KEY_A, KEY_B],
        );
    }
    // The third turn reached the upstream with the whole conversation in front.
    let third = up
        .requests()
        .into_iter()
        .filter(|r| r.body_prefix.contains("And once more?"))
        .collect::<Vec<_>>();
    assert_eq!(third.len(), 2, "one per translated route: {third:?}");
    for r in &third {
        assert!(
            r.body_prefix.contains("My name is Ada (translated)."),
            "{r:?}"
        );
        assert!(r.body_prefix.contains("What is my name?"), "{r:?}");
        assert!(!r.body_prefix.contains("previous_response_id"), "{r:?}");
    }
    run_script(
        &py,
        "responses_client.py",
        &[&gw.addr, "via-pair", "passthrough-pair", KEY_A, KEY_B],
    );
    // Pass-through follow-ups carried previous_response_id to the target holding it.
    for mock in [&up_a, &up_b] {
        let seen = mock.requests();
        assert!(
            seen.iter()
                .any(|r| r.body_prefix.contains("previous_response_id")),
            "{seen:?}"
        );
        let posts = seen.iter().filter(|r| r.method == "POST");
        assert!(posts.clone().all(|r| r.path == "/v1/responses"), "{seen:?}");
    }
    let held = [up_a.requests(), up_b.requests()].concat();
    assert_forwarded(&held);
    let before = up_a.requests().len();
    run_script(
        &py,
        "responses_target.py",
        &[&gw.addr, "responses-only", KEY_A],
    );
    let translated = &up_a.requests()[before..];
    assert_eq!(
        translated.len(),
        9,
        "5 chat and 4 Messages calls: {translated:?}"
    );
    for r in translated {
        assert_eq!(r.path, "/v1/responses", "{r:?}");
        assert_eq!(r.model.as_deref(), Some("only-responses"), "{r:?}");
        assert!(r.body_prefix.contains(r#""store":false"#), "{r:?}");
    }
    // Usage of the translated answers is metered like any other.
    let metrics = gw.metrics_with("provider=\"resp-a\"");
    assert!(metrics.contains("tollgate_tokens_total{"), "{metrics}");
}
