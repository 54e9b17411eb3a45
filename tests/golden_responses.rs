#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests of the Responses dialect against OpenAI's API reference examples
//! (`tests/fixtures/openai_responses/`, see its README): the reference requests read
//! into every provider format, and every answer and stream event tollgate writes
//! (from the other formats' reference fixtures) has every field the reference's
//! example of that object has, recursively. Streams are also fed one byte at a time
//! and at every split point of a small stream, which must not change the output.

#[path = "common/golden.rs"]
mod golden;

use golden::{feed, fixtures, folder, read};
use serde_json::{json, Value};
use tollgate::formats::{
    stream_translator, translate_request, translate_response, Dialect, WireFormat,
};

const FORMATS: [WireFormat; 4] = [
    WireFormat::OpenAiChat,
    WireFormat::AnthropicMessages,
    WireFormat::Gemini,
    WireFormat::BedrockConverse,
];

/// Fields of the reference's older `response.completed` example that the current
/// Response object no longer has.
const RETIRED: &[&str] = &["input", "reasoning_effort"];

fn reference(file: &str) -> Value {
    serde_json::from_slice(&read(&format!("openai_responses/{file}"))).unwrap()
}

/// Every key of `expected` is in `actual`, recursively through objects and the first
/// element of arrays (objects of another `type` are skipped); `path` names the place
/// for the failure message.
fn has_fields(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        // An example of another kind of item or part says nothing about this one.
        (Value::Object(e), Value::Object(a)) if e.get("type") != a.get("type") => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                if RETIRED.contains(&k.as_str()) {
                    continue;
                }
                let Some(got) = a.get(k) else {
                    panic!("{path}.{k} missing in {actual}");
                };
                has_fields(v, got, &format!("{path}.{k}"));
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
fn reference_requests_reach_every_format() {
    let cases = [
        ("request_text.json", &["bedtime story about a unicorn"][..]),
        ("request_function.json", &["get_current_weather"][..]),
        (
            "request_streaming.json",
            &["You are a helpful assistant.", "Hello!"][..],
        ),
    ];
    for (file, needles) in cases {
        let body = read(&format!("openai_responses/{file}"));
        for to in FORMATS {
            let out = translate_request(Dialect::OpenAiResponses, to, &body, "up-model")
                .unwrap_or_else(|e| panic!("{file} -> {to:?}: {}", e.message));
            let text = String::from_utf8(out).unwrap();
            for needle in needles {
                assert!(text.contains(needle), "{file} -> {to:?}: {text}");
            }
        }
    }
    let body = read("openai_responses/request_function.json");
    let chat: Value = serde_json::from_slice(
        &translate_request(Dialect::OpenAiResponses, WireFormat::OpenAiChat, &body, "m").unwrap(),
    )
    .unwrap();
    assert_eq!(
        chat["messages"][0],
        json!({"role": "user", "content": "What is the weather like in Boston today?"})
    );
    assert_eq!(chat["tools"][0]["function"]["name"], "get_current_weather");
    assert_eq!(chat["tool_choice"], "auto");
}

/// Each format's reference answer with a tool call, by folder.
fn tool_call_answer(to: WireFormat) -> &'static str {
    match to {
        WireFormat::OpenAiChat => "response_tool_calls.json",
        WireFormat::Gemini => "response_function_call.json",
        _ => "response_tool_use.json",
    }
}

#[test]
fn function_call_answers_have_the_reference_fields() {
    let expected = reference("response_function.json");
    for to in FORMATS {
        let dir = fixtures().join(folder(to));
        let body = std::fs::read(dir.join(tool_call_answer(to))).unwrap();
        let (out, _) = translate_response(to, Dialect::OpenAiResponses, &body, "public").unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        let call = out["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "function_call")
            .unwrap_or_else(|| panic!("{to:?}: no function_call item in {out}"));
        has_fields(&expected["output"][0], call, &format!("{to:?} output"));
        assert!(call["call_id"].as_str().is_some_and(|c| !c.is_empty()));
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert!(
            args.is_object(),
            "{to:?}: arguments are a JSON object's text"
        );
        has_fields(&expected["usage"], &out["usage"], &format!("{to:?} usage"));
        assert_eq!(out["status"], "completed");
        assert!(out["completed_at"].is_u64(), "{to:?}: {out}");
    }
}

#[test]
fn answers_have_the_reference_response_fields() {
    let expected = reference("response.json");
    for to in FORMATS {
        let dir = fixtures().join(folder(to));
        let body = std::fs::read(dir.join("response_text.json")).unwrap();
        let (out, usage) =
            translate_response(to, Dialect::OpenAiResponses, &body, "public").unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        has_fields(&expected, &out, &format!("{to:?}"));
        assert_eq!(out["status"], "completed");
        assert_eq!(out["model"], "public");
        assert!(
            !out["output_text"].is_string(),
            "output_text is the SDK's, not the wire's"
        );
        assert!(usage.output_tokens > 0, "{to:?}");
        let total = out["usage"]["total_tokens"].as_u64().unwrap();
        assert_eq!(
            total,
            out["usage"]["input_tokens"].as_u64().unwrap()
                + out["usage"]["output_tokens"].as_u64().unwrap()
        );
    }
}

/// The events of a translated stream, as (type, data).
fn events(sse: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8(sse.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let data = e.split_once("data: ").unwrap().1;
            let v: Value = serde_json::from_str(data).unwrap();
            (v["type"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

#[test]
fn stream_events_have_the_reference_fields() {
    let reference = reference("streaming_events.json");
    let mut seen = std::collections::BTreeSet::new();
    let streams = [
        (WireFormat::OpenAiChat, "stream_text.sse"),
        (WireFormat::OpenAiChat, "stream_tool_calls.sse"),
        (WireFormat::OpenAiChat, "stream_error.sse"),
        (WireFormat::AnthropicMessages, "stream_text.sse"),
        (WireFormat::AnthropicMessages, "stream_tool_use.sse"),
        (WireFormat::AnthropicMessages, "stream_thinking.sse"),
        (WireFormat::Gemini, "stream_text.sse"),
        (WireFormat::Gemini, "stream_function_call.sse"),
    ];
    for (from, file) in streams {
        let input = std::fs::read(fixtures().join(folder(from)).join(file)).unwrap();
        let mut whole = stream_translator(from, Dialect::OpenAiResponses, true, "public");
        let out = feed(whole.as_mut(), &input, &[input.len()]);
        let mut bytewise = stream_translator(from, Dialect::OpenAiResponses, true, "public");
        let one_by_one = feed(bytewise.as_mut(), &input, &[1]);
        assert_eq!(
            normalize(&out),
            normalize(&one_by_one),
            "{from:?} {file}: split points change the output"
        );
        let evs = events(&out);
        for (i, (kind, data)) in evs.iter().enumerate() {
            assert_eq!(data["sequence_number"], i as u64, "{from:?} {file}");
            if let Some(example) = reference
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["type"] == kind.as_str())
            {
                has_fields(example, data, &format!("{from:?} {file} {kind}"));
                seen.insert(kind.clone());
            }
        }
        let kinds: Vec<&str> = evs.iter().map(|(k, _)| k.as_str()).collect();
        let end = &kinds[kinds.len().saturating_sub(2)..];
        assert!(
            end.last() == Some(&"response.completed") || end == ["response.failed", "error"],
            "{from:?} {file}: ends with {end:?}"
        );
    }
    let all: std::collections::BTreeSet<String> = reference
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, all, "every reference event type was produced");
}

/// What a stream says, without the ids and `created_at` that differ per translator
/// (formats without response ids get generated ones): each event's type and text.
fn normalize(sse: &[u8]) -> Vec<(String, Value)> {
    events(sse)
        .into_iter()
        .map(|(kind, v)| {
            let said = json!([
                v["delta"],
                v["text"],
                v["arguments"],
                v["response"]["usage"]
            ]);
            (kind, said)
        })
        .collect()
}
