#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests of the Gemini and Bedrock Converse translators over the fixtures in
//! `tests/fixtures/gemini/` and `tests/fixtures/bedrock_converse/` (provider payloads
//! from the providers' docs, see the READMEs there), each against both client
//! dialects, streams cut at every byte and at random; bounded fixed-seed fuzzing of
//! every translator (`golden_gemini_bedrock/fuzz.rs`); and a round trip through the
//! mock upstream's Gemini and Bedrock endpoints.
//!
//! Expected outputs live in `golden/` beside the fixtures, compared byte for byte with
//! generated ids and timestamps redacted, through the shared harness
//! (`common/golden.rs`, which documents naming and blessing).

use std::path::PathBuf;

use serde_json::{json, Value};
use tollgate::formats::{
    stream_translator, translate_request, translate_response, upstream_error, Dialect, WireFormat,
};

#[path = "common/golden.rs"]
mod golden;
#[path = "common/http.rs"]
#[allow(dead_code)]
mod http;

use golden::{check_text as check, dialect_name, feed, fixtures, folder, golden_path, read};

/// Bounded fixed-seed fuzzing of every translator, and hostile sizes.
#[path = "golden_gemini_bedrock/fuzz.rs"]
mod fuzz;

use fuzz::Rng;

const DIALECTS: [Dialect; 2] = [Dialect::OpenAi, Dialect::Anthropic];

/// Generated ids and `created` timestamps replaced by fixed text.
fn redact(text: &str) -> String {
    static IDS: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r"(bedrock-|gen-?)[0-9a-f]{24}").unwrap());
    static CREATED: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r#""created": ?\d+"#).unwrap());
    let (ids, created) = (&*IDS, &*CREATED);
    let text = ids.replace_all(text, "${1}ID");
    created.replace_all(&text, r#""created": 0"#).into_owned()
}

fn pretty(v: &Value) -> String {
    redact(&serde_json::to_string_pretty(v).unwrap()) + "\n"
}

// ------------------------------------------------------------------ requests

#[test]
fn golden_requests() {
    let table = [
        (WireFormat::Gemini, "client_openai.json", Dialect::OpenAi),
        (
            WireFormat::Gemini,
            "client_anthropic.json",
            Dialect::Anthropic,
        ),
        (
            WireFormat::BedrockConverse,
            "client_openai.json",
            Dialect::OpenAi,
        ),
        (
            WireFormat::BedrockConverse,
            "client_anthropic.json",
            Dialect::Anthropic,
        ),
    ];
    for (format, fixture, from) in table {
        let dir = folder(format);
        let body = read(&format!("{dir}/{fixture}"));
        let out = translate_request(from, format, &body, "upstream-model")
            .unwrap_or_else(|e| panic!("{dir}/{fixture}: {e}"));
        let out: Value = serde_json::from_slice(&out).unwrap();
        check(&golden_path(dir, fixture, dir, "json"), &pretty(&out));
    }
}

// ------------------------------------------------------------------ responses

#[test]
fn golden_responses() {
    let table = [
        (WireFormat::Gemini, "response_text.json"),
        (WireFormat::Gemini, "response_function_call.json"),
        (WireFormat::Gemini, "response_thinking.json"),
        (WireFormat::Gemini, "response_blocked.json"),
        (WireFormat::BedrockConverse, "response_text.json"),
        (WireFormat::BedrockConverse, "response_tool_use.json"),
        (WireFormat::BedrockConverse, "response_reasoning_cache.json"),
        (WireFormat::BedrockConverse, "response_json_tool.json"),
    ];
    for (format, fixture) in table {
        let dir = folder(format);
        let body = read(&format!("{dir}/{fixture}"));
        for to in DIALECTS {
            let (out, usage) = translate_response(format, to, &body, "public-model")
                .unwrap_or_else(|e| panic!("{dir}/{fixture}: {e}"));
            let out: Value = serde_json::from_slice(&out).unwrap();
            let golden = golden_path(dir, fixture, dialect_name(to), "json");
            check(&golden, &pretty(&json!({"body": out, "usage": usage})));
        }
    }
}

// ------------------------------------------------------------------ streams

/// A Bedrock stream fixture: one JSON payload per file, `NN-<eventType>.json`,
/// encoded into event-stream frames as Bedrock sends them.
fn bedrock_stream(dir: &str) -> Vec<u8> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let kind = stem.split_once('-').unwrap().1;
        let payload = std::fs::read(&path).unwrap();
        out.extend(tollgate_mock::eventstream::message(kind, &payload));
    }
    out
}

fn stream_inputs() -> Vec<(WireFormat, String, Vec<u8>)> {
    let mut inputs = Vec::new();
    for f in [
        "stream_text.sse",
        "stream_signature.sse",
        "stream_function_call.sse",
    ] {
        inputs.push((
            WireFormat::Gemini,
            f.to_owned(),
            read(&format!("gemini/{f}")),
        ));
    }
    for d in [
        "aws/bedrock_converse_stream/text",
        "aws/bedrock_converse_stream/tool_use",
        "aws/bedrock_converse_stream/exception",
        "bedrock_converse/stream_reasoning",
    ] {
        let name = d.rsplit('/').next().unwrap();
        let name = format!("stream_{}", name.trim_start_matches("stream_"));
        inputs.push((WireFormat::BedrockConverse, name, bedrock_stream(d)));
    }
    inputs
}

#[test]
fn golden_streams_survive_any_split() {
    let mut rng = Rng(0xB0A7_5EED);
    for (format, name, input) in stream_inputs() {
        for to in DIALECTS {
            let make = || stream_translator(format, to, true, "public-model");
            let mut t = make();
            let whole = redact(&String::from_utf8(feed(&mut *t, &input, &[usize::MAX])).unwrap());
            let usage = t.usage();
            let bytewise = redact(&String::from_utf8_lossy(&feed(&mut *make(), &input, &[1])));
            assert_eq!(bytewise, whole, "{name} -> {to:?}: 1-byte splits");
            for _ in 0..30 {
                let lens: Vec<usize> = (0..16).map(|_| 1 + rng.below(64)).collect();
                let random = redact(&String::from_utf8_lossy(&feed(&mut *make(), &input, &lens)));
                assert_eq!(random, whole, "{name} -> {to:?}: splits {lens:?}");
            }
            let golden = golden_path(folder(format), &name, dialect_name(to), "sse");
            let usage = serde_json::to_string(&usage).unwrap();
            check(&golden, &format!("{whole}: usage {usage}\n"));
        }
    }
}

/// Two pieces, cut at every position: each split point of each stream, for both
/// dialects, gives the same output as the whole stream.
#[test]
fn every_split_point() {
    for (format, name, input) in stream_inputs() {
        for to in DIALECTS {
            let make = || stream_translator(format, to, true, "public-model");
            let whole = redact(&String::from_utf8_lossy(&feed(
                &mut *make(),
                &input,
                &[usize::MAX],
            )));
            for k in 0..=input.len() {
                let mut t = make();
                let mut out = Vec::new();
                let _ = t.feed(&input[..k], &mut out);
                let _ = t.feed(&input[k..], &mut out);
                t.finish(&mut out);
                let split = redact(&String::from_utf8_lossy(&out));
                assert_eq!(split, whole, "{name} -> {to:?}: cut at byte {k}");
            }
        }
    }
}

// ------------------------------------------------------------------ errors

#[test]
fn golden_errors() {
    let table = [
        (WireFormat::Gemini, "error_rate_limit.json", 429),
        (WireFormat::Gemini, "error_invalid_key.json", 400),
        (WireFormat::Gemini, "error_overloaded.json", 503),
        (WireFormat::BedrockConverse, "error_throttling.json", 429),
        (WireFormat::BedrockConverse, "error_validation.json", 400),
        (WireFormat::BedrockConverse, "error_access_denied.json", 403),
    ];
    for (format, fixture, status) in table {
        let dir = folder(format);
        let e = upstream_error(format, status, &read(&format!("{dir}/{fixture}")));
        for to in DIALECTS {
            let out = json!({
                "status": e.status_for(to),
                "retry_after_secs": e.retry_after.map(|d| d.as_secs_f64()),
                "body": e.to_json(to),
            });
            check(
                &golden_path(dir, fixture, dialect_name(to), "json"),
                &pretty(&out),
            );
        }
    }
}

// ------------------------------------------------------------------ mock upstream

/// Client requests through the translators to the mock's Gemini and Bedrock
/// endpoints and back: what the mock understood (a tool call when tools are
/// declared, text otherwise) must come back in the client's dialect.
#[test]
fn round_trip_through_the_mock_upstream() {
    let mock = tollgate_mock::MockServer::start(tollgate_mock::MockConfig::default(), 0).unwrap();
    let addr = mock.addr.to_string();
    let openai = json!({"model": "m", "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object"}}}]});
    let anthropic = json!({"model": "m", "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello"}]});
    let responses = json!({"model": "m", "input": "Weather?",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]});
    let cases = [
        (WireFormat::Gemini, Dialect::OpenAi, &openai, true),
        (
            WireFormat::Gemini,
            Dialect::OpenAiResponses,
            &responses,
            true,
        ),
        (
            WireFormat::BedrockConverse,
            Dialect::OpenAiResponses,
            &responses,
            true,
        ),
        (WireFormat::Gemini, Dialect::Anthropic, &anthropic, false),
        (WireFormat::BedrockConverse, Dialect::OpenAi, &openai, true),
        (
            WireFormat::BedrockConverse,
            Dialect::Anthropic,
            &anthropic,
            false,
        ),
    ];
    for (format, dialect, request, tools) in cases {
        let body =
            translate_request(dialect, format, request.to_string().as_bytes(), "mm").unwrap();
        let (plain, streaming) = match format {
            WireFormat::Gemini => (
                "/v1beta/models/mm:generateContent",
                "/v1beta/models/mm:streamGenerateContent?alt=sse",
            ),
            _ => ("/model/mm/converse", "/model/mm/converse-stream"),
        };
        let headers = [("content-type", "application/json")];
        let resp = http::request(&addr, "POST", plain, &headers, &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        let (out, usage) = translate_response(format, dialect, &resp.body, "public").unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert!(
            usage.input_tokens > 0 && usage.output_tokens > 0,
            "{usage:?}"
        );
        let answer = match (dialect, tools) {
            (Dialect::OpenAi, true) => {
                out["choices"][0]["message"]["tool_calls"][0]["function"]["name"].clone()
            }
            (Dialect::OpenAi, false) => out["choices"][0]["message"]["content"].clone(),
            (Dialect::Anthropic, true) => out["content"][0]["name"].clone(),
            (Dialect::Anthropic, false) => out["content"][0]["text"].clone(),
            (Dialect::OpenAiResponses, true) => out["output"][0]["name"].clone(),
            (Dialect::OpenAiResponses, false) => out["output"][0]["content"][0]["text"].clone(),
            (Dialect::Gemini, true) => {
                out["candidates"][0]["content"]["parts"][0]["functionCall"]["name"].clone()
            }
            (Dialect::Gemini, false) => out["candidates"][0]["content"]["parts"][0]["text"].clone(),
        };
        if tools {
            assert_eq!(answer, "get_weather", "{out}");
        } else {
            assert!(answer.as_str().unwrap().starts_with("tok0"), "{out}");
        }

        let resp = http::request(&addr, "POST", streaming, &headers, &body);
        assert_eq!(resp.status, 200);
        let mut t = stream_translator(format, dialect, true, "public");
        let mut sse = Vec::new();
        for (_, chunk) in &resp.chunks {
            t.feed(chunk, &mut sse).unwrap();
        }
        t.finish(&mut sse);
        let sse = String::from_utf8(sse).unwrap();
        assert!(
            // A Responses object carries `"error":null`; an error is an object.
            !sse.contains("\"error\":{") && !sse.contains("\"type\":\"error\""),
            "{format:?} -> {dialect:?}: {sse}"
        );
        match dialect {
            Dialect::OpenAi => assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}"),
            Dialect::Anthropic => assert!(
                sse.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
                "{sse}"
            ),
            Dialect::OpenAiResponses => assert!(
                sse.rsplit("\n\n")
                    .nth(1)
                    .is_some_and(|e| e.starts_with("event: response.completed\n")),
                "{sse}"
            ),
            Dialect::Gemini => assert!(
                sse.rsplit("\n\n")
                    .nth(1)
                    .is_some_and(|e| e.contains("\"finishReason\"")),
                "{sse}"
            ),
        }
        assert!(
            sse.contains(if tools { "get_weather" } else { "tok0" }),
            "{sse}"
        );
        assert_eq!(
            t.usage(),
            usage,
            "{format:?}: stream and answer meter alike"
        );
    }
    mock.stop();
}
