//! Gemini-native ingress end to end, on the real binary against the mock upstreams:
//! `generateContent`, `streamGenerateContent?alt=sse`, `countTokens`,
//! `embedContent` / `batchEmbedContents`, and OpenAI `/v1/embeddings` to a Gemini
//! target. The official `google-genai` SDK drives the first test (needs
//! `TOLLGATE_TEST_PYTHON`, see tests/e2e_sdk.rs); the others speak HTTP directly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{http, Gateway};
use serde_json::{json, Value};
use tollgate::policy::hash_key;
use tollgate_mock::MockServer;

const KEY: &str = "sk-tg-gemini-5c1d7e9a3b20";
const LIMITED: &str = "sk-tg-limited-0a9b8c7d6e5f";

fn config(up: &MockServer, extra: &str) -> String {
    format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: oai, format: openai, base_url: "{url}", api_key: sk-oai-upstream }}
  - {{ name: ant, format: anthropic, base_url: "{url}", api_key: sk-ant-upstream }}
  - {{ name: gem, format: gemini, base_url: "{url}", api_key: gem-upstream-key }}
models:
  - {{ name: via-openai, targets: [{{ provider: oai, model: gpt-upstream }}] }}
  - {{ name: via-anthropic, targets: [{{ provider: ant, model: claude-upstream }}] }}
  - {{ name: via-gemini, targets: [{{ provider: gem, model: gemini-upstream }}] }}
  - {{ name: embed-google, targets: [{{ provider: gem, model: embedding-upstream }}] }}
  - {{ name: embed-openai, targets: [{{ provider: oai, model: text-embedding-3-small }}] }}
keys:
  - {{ name: gemini-user, hash: "{key}" }}
  - {{ name: limited, hash: "{limited}", limits: {{ rpm: 2 }} }}
{extra}
"#,
        url = up.url(),
        key = hash_key(KEY),
        limited = hash_key(LIMITED),
    )
}

fn python() -> Option<String> {
    common::test_env("TOLLGATE_TEST_PYTHON", "google-genai SDK test")
}

fn run_script(python: &str, args: &[&str]) {
    let path = format!("{}/tests/sdk/genai_client.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python).arg(&path).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "genai_client.py {args:?} failed:\n{text}"
    );
}

fn post(gw: &Gateway, path: &str, headers: &[(&str, &str)], body: &Value) -> http::Response {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    http::request(&gw.addr, "POST", path, &all, body.to_string().as_bytes())
}

fn text_body(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

/// `generate_content`, `generate_content_stream` (text and a function-call round
/// trip), `count_tokens` and the SDK's errors, to an OpenAI and an Anthropic
/// upstream, then `embed_content` to a Gemini and an OpenAI embeddings upstream, all
/// on one gateway.
#[test]
fn google_genai_sdk_to_openai_anthropic_and_embeddings() {
    let Some(py) = python() else { return };
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up, ""));
    run_script(&py, &[&gw.addr, KEY, "chat", "via-openai"]);
    run_script(&py, &[&gw.addr, KEY, "chat", "via-anthropic"]);
    // And to a Gemini target: the same calls pass through untouched.
    run_script(&py, &[&gw.addr, KEY, "chat", "via-gemini", "passthrough"]);
    // No "gemini" in these names: the SDK takes such a model for a multimodal one and
    // embeds a list of texts as one content.
    run_script(&py, &[&gw.addr, KEY, "embed", "embed-google", "256"]);
    run_script(&py, &[&gw.addr, KEY, "embed", "embed-openai", "256"]);
    let seen = up.requests();
    let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&"/v1/chat/completions"), "{paths:?}");
    assert!(paths.contains(&"/v1/messages"), "{paths:?}");
    assert!(paths.contains(&"/v1/embeddings"), "{paths:?}");
    for method in [
        "generateContent",
        "streamGenerateContent?alt=sse",
        "countTokens",
    ] {
        let path = format!("/v1beta/models/gemini-upstream:{method}");
        assert!(paths.contains(&path.as_str()), "{path} in {paths:?}");
    }
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/v1beta/models/embedding-upstream:")),
        "{paths:?}"
    );
    for r in &seen {
        // The client's tollgate key never reaches an upstream.
        assert!(r.headers.iter().all(|(_, v)| !v.contains(KEY)), "{r:?}");
    }
    let metrics = gw.metrics_with("generate_content");
    assert!(metrics.contains("route=\"generate_content\""), "{metrics}");
}

/// Auth by `x-goog-api-key` or `?key=` (never forwarded, never logged); errors in
/// Google's shape for a bad key, an unknown model, a malformed body, a stream without
/// `alt=sse`, and a rate limit; on one gateway.
#[test]
fn keys_and_errors_in_googles_shape() {
    let up = common::mock("up");
    let mut gw = Gateway::start(&config(&up, ""));
    let path = "/v1beta/models/via-openai:generateContent";
    let ok = post(&gw, path, &[("x-goog-api-key", KEY)], &text_body("hi"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.json()["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("tok0"));
    let with_query = format!("{path}?key={KEY}&alt=json");
    let ok = post(&gw, &with_query, &[], &text_body("hi"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let v1 = post(
        &gw,
        "/v1/models/via-openai:generateContent",
        &[("x-goog-api-key", KEY)],
        &text_body("hi"),
    );
    assert_eq!(v1.status, 200, "{}", v1.text());

    let bad = post(
        &gw,
        &format!("{path}?key=sk-wrong-key"),
        &[],
        &text_body("hi"),
    );
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(bad.json()["error"]["code"], 401);
    assert!(!bad.text().contains("sk-wrong-key"));
    let none = post(&gw, path, &[], &text_body("hi"));
    assert_eq!(none.status, 401);

    let unknown = post(
        &gw,
        "/v1beta/models/nope:generateContent",
        &[("x-goog-api-key", KEY)],
        &text_body("hi"),
    );
    assert_eq!(
        (unknown.status, unknown.json()["error"]["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let malformed = post(
        &gw,
        path,
        &[("x-goog-api-key", KEY)],
        &json!({"contents": "x"}),
    );
    assert_eq!(
        (
            malformed.status,
            malformed.json()["error"]["status"].as_str()
        ),
        (400, Some("INVALID_ARGUMENT")),
        "{}",
        malformed.text()
    );
    let not_sse = post(
        &gw,
        "/v1beta/models/via-openai:streamGenerateContent",
        &[("x-goog-api-key", KEY)],
        &text_body("hi"),
    );
    assert_eq!(not_sse.status, 400);
    assert!(not_sse.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("alt=sse"));
    let method = post(
        &gw,
        "/v1beta/models/via-openai:predict",
        &[("x-goog-api-key", KEY)],
        &text_body("hi"),
    );
    assert_eq!(method.status, 404);
    assert_eq!(method.json()["error"]["status"], "NOT_FOUND");

    // The rate limit: the third request of the minute is refused in Google's shape.
    for left in ["1", "0"] {
        let r = post(&gw, path, &[("x-goog-api-key", LIMITED)], &text_body("hi"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-ratelimit-remaining-requests"), Some(left));
    }
    let limited = post(&gw, path, &[("x-goog-api-key", LIMITED)], &text_body("hi"));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(limited.header("retry-after").is_some());

    // The `key` parameter went nowhere: not upstream, not into the logs; the access
    // log has the Gemini requests with their path and model.
    for r in up.requests() {
        assert!(!r.path.contains("key="), "{r:?}");
    }
    assert!(gw.terminate(Duration::from_secs(20)), "{}", gw.stderr());
    let logs = format!("{}{}", gw.stdout(), gw.stderr());
    assert!(
        !logs.contains(KEY) && !logs.contains("sk-wrong-key"),
        "{logs}"
    );
    let lines: Vec<Value> = gw
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let served = lines
        .iter()
        .filter(|l| l["path"] == path && l["model"] == "via-openai" && l["status"] == 200)
        .count();
    assert_eq!(served, 4, "{lines:?}");
}

/// A Gemini target: the client's bytes pass through (the model is in the URL), the
/// stream is forwarded and metered; `countTokens` goes upstream there and is
/// estimated for other targets.
#[test]
fn same_format_pass_through_and_token_counts() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up, ""));
    let auth = [("x-goog-api-key", KEY)];
    let body = r#"{"contents": [{"parts": [{"text": "Explain how AI works in a few words"}]}],  "safetySettings": []}"#;
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(&auth);
    let resp = http::request(
        &gw.addr,
        "POST",
        "/v1beta/models/via-gemini:generateContent",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.path, "/v1beta/models/gemini-upstream:generateContent");
    assert_eq!(
        last.body_fnv,
        common::fnv1a(body.as_bytes()),
        "bytes untouched"
    );
    assert!(last
        .headers
        .iter()
        .any(|(k, v)| k == "x-goog-api-key" && v == "gem-upstream-key"));

    let stream = http::request(
        &gw.addr,
        "POST",
        "/v1beta/models/via-gemini:streamGenerateContent?alt=sse",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(stream.status, 200);
    let text = stream.text();
    assert!(text.contains("\"finishReason\":\"STOP\""), "{text}");
    assert!(!text.contains("\"error\""), "{text}");

    // Translated stream from an OpenAI upstream: chunks, then the finish with usage.
    let stream = http::request(
        &gw.addr,
        "POST",
        "/v1beta/models/via-openai:streamGenerateContent?alt=sse",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let chunks: Vec<Value> = stream
        .text()
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.len() > 2);
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(
        last["usageMetadata"]["candidatesTokenCount"]
            .as_u64()
            .unwrap()
            > 0
    );

    let count = post(
        &gw,
        "/v1beta/models/via-gemini:countTokens",
        &auth,
        &text_body("hello there"),
    );
    assert_eq!(count.status, 200, "{}", count.text());
    assert!(count.json()["totalTokens"].as_u64().unwrap() > 0);
    assert_eq!(
        up.requests().last().unwrap().path,
        "/v1beta/models/gemini-upstream:countTokens"
    );
    let before = up.requests().len();
    let count = post(
        &gw,
        "/v1beta/models/via-openai:countTokens",
        &auth,
        &text_body("hello there"),
    );
    assert_eq!(count.json(), json!({"totalTokens": 3}));
    assert_eq!(up.requests().len(), before, "estimated locally");
}

/// Embeddings across formats: OpenAI `/v1/embeddings` (floats and base64) to a
/// Gemini target, Gemini `embedContent` to an OpenAI target, both metered.
#[test]
fn embeddings_between_openai_and_gemini() {
    let up = common::mock("up");
    let pricing = r#"
pricing:
  - { model: text-embedding-3-small, input_per_mtok: 1000000, output_per_mtok: 0 }
  - { model: embedding-upstream, input_per_mtok: 1000000, output_per_mtok: 0 }
"#;
    let gw = Gateway::start(&config(&up, pricing));
    let bearer = format!("Bearer {KEY}");
    let auth = [("authorization", bearer.as_str())];
    let body = json!({"model": "embed-google", "input": ["a", "b"], "dimensions": 8});
    let r = post(&gw, "/v1/embeddings", &auth, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "embed-google");
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let last = up.requests().last().cloned().unwrap();
    assert_eq!(
        last.path,
        "/v1beta/models/embedding-upstream:batchEmbedContents"
    );
    assert!(
        last.body_prefix
            .contains("\"model\":\"models/embedding-upstream\""),
        "{}",
        last.body_prefix
    );

    let b64 = json!({"model": "embed-google", "input": "a", "dimensions": 8, "encoding_format": "base64"});
    let v = post(&gw, "/v1/embeddings", &auth, &b64).json();
    let encoded = v["data"][0]["embedding"].as_str().unwrap();
    assert_eq!(encoded.len(), 44, "8 f32s in base64: {encoded}");

    let batch: Value = serde_json::from_str(include_str!(
        "fixtures/gemini_native/request_batch_embed_contents.json"
    ))
    .unwrap();
    let r = post(
        &gw,
        "/v1beta/models/embed-google:batchEmbedContents",
        &[("x-goog-api-key", KEY)],
        &batch,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["embeddings"].as_array().map(Vec::len),
        Some(3),
        "{}",
        r.text()
    );
    let sdk = json!({"requests": [{"content": {"parts": [{"text": "a"}], "role": "user"}, "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 4, "model": "models/embed-google"}, {"content": {"parts": [{"text": "b"}], "role": "user"}, "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 4, "model": "models/embed-google"}]});
    let r = post(
        &gw,
        "/v1beta/models/embed-google:batchEmbedContents",
        &[("x-goog-api-key", KEY)],
        &sdk,
    );
    assert_eq!(
        r.json()["embeddings"].as_array().map(Vec::len),
        Some(2),
        "{} {:?}",
        r.text(),
        up.requests().last()
    );

    let single = json!({"content": {"parts": [{"text": "What is the meaning of life?"}]}, "outputDimensionality": 8});
    let r = post(
        &gw,
        "/v1beta/models/embed-openai:embedContent",
        &[("x-goog-api-key", KEY)],
        &single,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["embedding"]["values"].as_array().unwrap().len(), 8);
    assert_eq!(up.requests().last().unwrap().path, "/v1/embeddings");
    // Priced, the embeddings are charged to the key.
    let spend = gw.metrics_with("tollgate_spend_usd_total{");
    assert!(
        spend
            .lines()
            .any(|l| l.starts_with("tollgate_spend_usd_total{")
                && l.contains("key=\"gemini-user\"")
                && !l.ends_with(" 0")),
        "{spend}"
    );
    let tokens = gw.metrics_with("tollgate_tokens_total");
    let metered = |model: &str| {
        tokens.lines().any(|l| {
            l.starts_with("tollgate_tokens_total")
                && l.contains(model)
                && l.contains("kind=\"input\"")
        })
    };
    assert!(
        metered("embedding-upstream") || metered("embed-google"),
        "{tokens}"
    );
    assert!(
        metered("text-embedding-3-small") || metered("embed-openai"),
        "{tokens}"
    );
}

#[path = "e2e_gemini_native/machinery.rs"]
mod machinery;
