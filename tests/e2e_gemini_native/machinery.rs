//! What every dialect has, for Gemini clients: fallbacks, stream failures,
//! guardrails, large bodies, and stream framing the SDK can read.

use super::*;

/// What every dialect has, for Gemini clients on one gateway: a fallback before the
/// first byte, an in-band error chunk after it, input and output guardrails (whole
/// answers and streams), and bodies of 64 KiB ± 1, 1 MiB and 20 MiB.
#[test]
fn fallbacks_stream_failures_guardrails_and_large_bodies() {
    let up = common::mock_with("up", |c| c.tokens = 6);
    let down = common::mock_with("down", |c| c.status = Some(503));
    let guardrails = r#"
guardrails:
  - { name: no-secret-word, kind: deny_pattern, patterns: ['swordfish'], action: block, apply_to: input, global: true }
  - { name: no-tok4, kind: deny_pattern, patterns: ['tok4'], action: block, apply_to: output, global: true }
"#;
    let cfg = config(&up, guardrails)
        .replace(
            "models:\n",
            "models:\n  - { name: flaky, targets: [{ provider: dead, model: m }], fallbacks: [short] }\n  - { name: short, targets: [{ provider: oai, model: gpt-upstream }] }\n",
        )
        .replace(
            "providers:\n",
            &format!(
                "providers:\n  - {{ name: dead, format: openai, base_url: \"{}\" }}\n",
                down.url()
            ),
        );
    let gw = Gateway::start(&cfg);
    let auth = [("x-goog-api-key", KEY)];
    // Answers too short to reach the output guardrail's `tok4`.
    let short = [("x-goog-api-key", KEY), ("x-mock-tokens", "3")];
    // 503 upstream, then the fallback answers; the client never sees the failure.
    let r = post(
        &gw,
        "/v1beta/models/flaky:generateContent",
        &short,
        &text_body("hi"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The dead target's retries, then the fallback's one attempt.
    let attempts: usize = r.header("x-tollgate-attempts").unwrap().parse().unwrap();
    assert!(attempts >= 2, "{attempts}");
    assert_eq!(down.requests().len(), attempts - 1);
    assert_eq!(r.header("x-tollgate-provider"), Some("oai"));
    // A stream cut after two tokens ends with one error chunk, never silently.
    let stream = |model: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend_from_slice(&auth);
        headers.extend_from_slice(extra);
        let path = format!("/v1beta/models/{model}:streamGenerateContent?alt=sse");
        let resp = http::request(
            &gw.addr,
            "POST",
            &path,
            &headers,
            text_body("hi").to_string().as_bytes(),
        );
        assert_eq!(resp.status, 200);
        let chunks: Vec<Value> = resp
            .text()
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let said: String = chunks
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        (chunks, said)
    };
    let (chunks, said) = stream("via-openai", &[("x-mock-abort-after", "2")]);
    // (The output guardrail below holds the text back until it is checked, so what
    // reached the client before the cut is the chunks, not yet their text.)
    assert!(chunks.len() > 1 && !said.contains("tok4"), "{chunks:?}");
    assert_eq!(chunks.last().unwrap()["error"]["code"], 502, "{chunks:?}");
    assert!(!chunks
        .iter()
        .any(|c| c["candidates"][0]["finishReason"] == "STOP"));

    // Guardrails: input refused in Google's shape; output blocked whole and streamed.
    let r = post(
        &gw,
        "/v1beta/models/short:generateContent",
        &auth,
        &text_body("the swordfish is blue"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    assert!(r.text().contains("no-secret-word"), "{}", r.text());
    let r = post(
        &gw,
        "/v1beta/models/via-openai:generateContent",
        &auth,
        &text_body("hi"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("no-tok4") && !r.text().contains("tok4 "),
        "{}",
        r.text()
    );
    let (chunks, said) = stream("via-anthropic", &[]);
    assert!(!said.contains("tok4"), "{chunks:?}");
    let last = chunks.last().unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-tok4"),
        "{chunks:?}"
    );
    assert!(
        !chunks
            .iter()
            .any(|c| c["candidates"][0]["finishReason"] == "STOP"),
        "{chunks:?}"
    );

    // Large bodies route and translate like any other.
    for size in [64 * 1024 - 1, 64 * 1024 + 1, 1024 * 1024, 20 * 1024 * 1024] {
        let big = text_body(&"a".repeat(size));
        let r = post(&gw, "/v1beta/models/short:generateContent", &short, &big);
        assert_eq!(r.status, 200, "{size}: {}", r.text());
        assert!(up.requests().last().unwrap().body_len > size, "{size}");
    }
    // The largest also through the dead target's retries and then the fallback, whole.
    let big = text_body(&"a".repeat(20 * 1024 * 1024));
    let r = post(&gw, "/v1beta/models/flaky:generateContent", &short, &big);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(down
        .requests()
        .iter()
        .all(|q| q.body_len > 20 * 1024 * 1024 || q.body_len < 1024));
    assert!(up.requests().last().unwrap().body_len > 20 * 1024 * 1024);
}

/// SSE keepalive comments go to OpenAI clients but never to Gemini ones: the
/// `google-genai` SDK parses every line that is not `data:` as JSON.
#[test]
fn gemini_streams_get_no_keepalive_comments() {
    let up = common::mock("up");
    let cfg = config(&up, "").replace(
        "api_key: sk-oai-upstream }",
        "api_key: sk-oai-upstream, timeouts: { sse_keepalive_ms: 100 } }",
    );
    let gw = Gateway::start(&cfg);
    let slow = [
        ("content-type", "application/json"),
        ("x-goog-api-key", KEY),
        ("x-mock-ttft-ms", "500"),
    ];
    let gemini = http::request(
        &gw.addr,
        "POST",
        "/v1beta/models/via-openai:streamGenerateContent?alt=sse",
        &slow,
        text_body("hi").to_string().as_bytes(),
    );
    let text = gemini.text();
    assert!(!text.contains(": keepalive"), "{text}");
    assert!(
        text.trim_end()
            .split("\n\n")
            .all(|e| e.starts_with("data: {")),
        "{text}"
    );
    let bearer = format!("Bearer {KEY}");
    let openai = http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json"), ("authorization", &bearer), ("x-mock-ttft-ms", "500")],
        json!({"model": "via-openai", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
            .as_bytes(),
    );
    assert!(
        openai.text().starts_with(": keepalive\n\n"),
        "{}",
        openai.text()
    );
}
