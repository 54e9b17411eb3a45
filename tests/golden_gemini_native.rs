#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests of the Gemini client dialect against Google's published examples
//! (`tests/fixtures/gemini_native/` and `tests/fixtures/gemini/`, see their READMEs):
//! Google's requests read into every provider format; every answer and stream chunk
//! tollgate writes for a Gemini client (from the other formats' reference fixtures)
//! has every field Google's own answer has, recursively; streams fed one byte at a
//! time give what they give whole; embeddings both ways keep every value.

#[path = "common/golden.rs"]
mod golden;

use golden::{check_json, feed, fixtures, folder, read};
use serde_json::{json, Value};
use tollgate::formats::{
    stream_translator, translate_embeddings_request, translate_embeddings_response,
    translate_request, translate_request_streaming, translate_response, Dialect, WireFormat,
};

const FORMATS: [WireFormat; 4] = [
    WireFormat::OpenAiChat,
    WireFormat::AnthropicMessages,
    WireFormat::Gemini,
    WireFormat::BedrockConverse,
];

/// Members of Google's examples that only Google computes (safety ratings, citations)
/// and that a translated answer cannot carry.
const GOOGLE_ONLY: &[&str] = &["safetyRatings", "promptFeedback", "citationMetadata"];

/// Members whose content is the answer's data, not its shape: only their presence
/// is compared.
const DATA: &[&str] = &["args"];

/// Every key of `expected` is in `actual`, recursively through objects and the first
/// element of arrays.
fn has_fields(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                if GOOGLE_ONLY.contains(&k.as_str()) {
                    continue;
                }
                let Some(got) = a.get(k) else {
                    panic!("{path}.{k} missing in {actual}");
                };
                if !DATA.contains(&k.as_str()) {
                    has_fields(v, got, &format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e0), Some(a0)) = (e.first(), a.first()) {
                has_fields(e0, a0, &format!("{path}[0]"));
            }
        }
        _ => {}
    }
}

#[test]
fn google_requests_reach_every_format() {
    let cases = [
        ("request_text.json", "Explain how AI works in a few words"),
        ("request_single_turn_tools.json", "find_theaters"),
        ("request_function_response.json", "AMC Mountain View 16"),
    ];
    for (file, needle) in cases {
        let body = read(&format!("gemini_native/{file}"));
        for to in FORMATS {
            let out = translate_request(Dialect::Gemini, to, &body, "up-model")
                .unwrap_or_else(|e| panic!("{file} -> {to:?}: {}", e.message));
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains(needle), "{file} -> {to:?}: {text}");
        }
    }
    // The function-response conversation as an OpenAI body, reviewed in full.
    let body = read("gemini_native/request_function_response.json");
    for (to, target) in [
        (WireFormat::OpenAiChat, "openai_chat"),
        (WireFormat::AnthropicMessages, "anthropic_messages"),
    ] {
        let out =
            translate_request_streaming(Dialect::Gemini, to, &body, "up-model", true).unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["stream"], true, "the URL's stream flag reaches {to:?}");
        let golden = format!("gemini_native/golden/request_function_response.{target}.json");
        check_json(&golden, &out).unwrap();
    }
}

#[test]
fn answers_have_googles_response_fields() {
    let expected: Value = serde_json::from_slice(&read("gemini/response_text.json")).unwrap();
    for from in FORMATS {
        let dir = fixtures().join(folder(from));
        let body = std::fs::read(dir.join("response_text.json")).unwrap();
        let (out, usage) = translate_response(from, Dialect::Gemini, &body, "public").unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        has_fields(&expected, &out, &format!("{from:?}"));
        assert!(usage.output_tokens > 0, "{from:?}");
        let candidate = &out["candidates"][0];
        assert_eq!(candidate["content"]["role"], "model", "{from:?}");
        assert_eq!(candidate["finishReason"], "STOP", "{from:?}");
        if from != WireFormat::Gemini {
            assert_eq!(out["modelVersion"], "public");
            let u = &out["usageMetadata"];
            assert_eq!(
                u["totalTokenCount"].as_u64(),
                Some(
                    u["promptTokenCount"].as_u64().unwrap()
                        + u["candidatesTokenCount"].as_u64().unwrap()
                        + u["thoughtsTokenCount"].as_u64().unwrap_or(0)
                ),
                "{from:?}: {u}"
            );
        }
    }
    // A call from OpenAI: a `functionCall` part with its id and arguments as an object.
    let body = read("openai_chat/response_tool_calls.json");
    let (out, _) = translate_response(WireFormat::OpenAiChat, Dialect::Gemini, &body, "m").unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    let reference: Value =
        serde_json::from_slice(&read("gemini/response_function_call.json")).unwrap();
    has_fields(&reference, &out, "tool call");
    let call = &out["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert!(call["args"].is_object() && call["id"].is_string(), "{out}");
}

/// The chunks of a Gemini SSE stream, response ids left out (made up per run for
/// upstreams without one).
fn chunks(sse: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(sse)
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| {
            let mut v: Value = serde_json::from_str(d).unwrap();
            if v.get("responseId").is_some() {
                v["responseId"] = json!("-");
            }
            v
        })
        .collect()
}

#[test]
fn streams_have_googles_chunk_fields_at_any_split() {
    // Google's first chunk (the cookbook's stream) is the reference of every chunk.
    let google = read("gemini/stream_text.sse");
    let reference = chunks(&google).remove(0);
    let streams = [
        (WireFormat::OpenAiChat, "stream_text.sse"),
        (WireFormat::OpenAiChat, "stream_tool_calls.sse"),
        (WireFormat::AnthropicMessages, "stream_text.sse"),
        (WireFormat::AnthropicMessages, "stream_tool_use.sse"),
        (WireFormat::AnthropicMessages, "stream_thinking.sse"),
        (WireFormat::Gemini, "stream_function_call.sse"),
    ];
    for (from, file) in streams {
        let input = read(&format!("{}/{file}", folder(from)));
        let whole = chunks(&feed(
            &mut *stream_translator(from, Dialect::Gemini, true, "public"),
            &input,
            &[usize::MAX],
        ));
        let bytewise = chunks(&feed(
            &mut *stream_translator(from, Dialect::Gemini, true, "public"),
            &input,
            &[1],
        ));
        assert_eq!(whole, bytewise, "{from:?} {file}: split changes the output");
        assert!(whole.len() > 1, "{from:?} {file}");
        if from == WireFormat::Gemini {
            // Same format: Google's bytes pass through.
            assert_eq!(whole, chunks(&input));
            continue;
        }
        for c in &whole {
            let mut expected = reference.clone();
            if c["candidates"][0]["content"]["parts"][0]
                .get("text")
                .is_none()
            {
                expected["candidates"][0]["content"]["parts"] = json!([]);
            }
            if c["candidates"][0].get("finishReason").is_none() {
                expected["candidates"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("finishReason");
            }
            has_fields(&expected, c, &format!("{from:?} {file}"));
        }
        let last = whole.last().unwrap();
        assert!(
            last["candidates"][0]["finishReason"].is_string(),
            "{from:?} {file}"
        );
        assert!(
            last["usageMetadata"]["promptTokenCount"].is_u64(),
            "{from:?} {file}"
        );
    }
    // An upstream's in-stream error ends the Gemini stream with Google's error body.
    for from in [WireFormat::OpenAiChat, WireFormat::AnthropicMessages] {
        let input = read(&format!("{}/stream_error.sse", folder(from)));
        let out = chunks(&feed(
            &mut *stream_translator(from, Dialect::Gemini, true, "public"),
            &input,
            &[7],
        ));
        let err = &out.last().unwrap()["error"];
        assert!(
            err["code"].is_u64() && err["message"].is_string() && err["status"].is_string(),
            "{from:?}: {out:?}"
        );
    }
}

#[test]
fn embeddings_keep_every_value_both_ways() {
    let request = read("gemini_native/request_embed_content.json");
    let openai: Value = serde_json::from_slice(
        &translate_embeddings_request(
            Dialect::Gemini,
            WireFormat::OpenAiChat,
            &request,
            "text-embedding-3-small",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        openai,
        json!({"model": "text-embedding-3-small", "input": ["What is the meaning of life?"], "encoding_format": "float"})
    );
    let gemini: Value = serde_json::from_slice(
        &translate_embeddings_request(
            Dialect::Gemini,
            WireFormat::Gemini,
            &request,
            "gemini-embedding-001",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(gemini["model"], "models/gemini-embedding-001");
    assert_eq!(gemini["taskType"], "RETRIEVAL_QUERY");

    // Google's answer, to an OpenAI client and back to a Gemini one.
    let answer = read("gemini_native/response_embed_content.json");
    let google: Value = serde_json::from_slice(&answer).unwrap();
    let values = &google["embedding"]["values"];
    let openai_request = br#"{"model":"e","input":"What is the meaning of life?"}"#;
    let (out, usage) = translate_embeddings_response(
        WireFormat::Gemini,
        Dialect::OpenAi,
        openai_request,
        &answer,
        "e",
    )
    .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(&out["data"][0]["embedding"], values);
    assert_eq!(out["usage"]["prompt_tokens"], usage.input_tokens);
    assert!(usage.input_tokens > 0, "estimated when Gemini reports none");
    let (back, _) =
        translate_embeddings_response(WireFormat::Gemini, Dialect::Gemini, &request, &answer, "e")
            .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&back).unwrap(), google);
    let batch = read("gemini_native/request_batch_embed_contents.json");
    let openai: Value = serde_json::from_slice(
        &translate_embeddings_request(Dialect::Gemini, WireFormat::OpenAiChat, &batch, "m")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(openai["input"].as_array().map(Vec::len), Some(3));
}
