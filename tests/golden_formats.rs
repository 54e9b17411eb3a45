#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden tests of the OpenAI and Anthropic translations: a table of (fixture,
//! translation) over payloads reproduced from the providers' API docs (see the README
//! in each fixture folder), compared as JSON with `<format>/golden/` through the
//! shared harness (`common/golden.rs`, which documents naming and blessing).
//!
//! Only the `created` timestamp the gateway stamps on OpenAI output is redacted; ids
//! and models must match exactly. Streams are also checked to translate the same
//! when fed one byte at a time.

#[path = "common/golden.rs"]
mod golden;

use golden::{check_json, dialect_name, feed, fixtures, folder, golden_path};
use serde_json::{json, Value};
use tollgate::formats::{
    stream_translator, translate_request, translate_response, upstream_error, Dialect, WireFormat,
};
use tollgate::sse::SseDecoder;

use Dialect::{Anthropic, OpenAi};
use WireFormat::{AnthropicMessages, OpenAiChat};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Request(Dialect, WireFormat),
    /// A request the target cannot express: must be a 400.
    Rejected(Dialect, WireFormat),
    Response(WireFormat, Dialect),
    /// Stream translation; the flag is whether the client asked for usage.
    Stream(WireFormat, Dialect, bool),
    Error(WireFormat, u16),
}

use Kind::*;

/// (fixture folder, fixture file, translation)
const CASES: &[(&str, &str, Kind)] = &[
    (
        "openai_chat",
        "request_simple.json",
        Request(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "request_tools.json",
        Request(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "request_tool_results.json",
        Request(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "request_image.json",
        Request(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "request_json_schema.json",
        Request(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "request_audio.json",
        Rejected(OpenAi, AnthropicMessages),
    ),
    (
        "openai_chat",
        "response_text.json",
        Response(OpenAiChat, Anthropic),
    ),
    (
        "openai_chat",
        "response_tool_calls.json",
        Response(OpenAiChat, Anthropic),
    ),
    (
        "openai_chat",
        "response_cached_usage.json",
        Response(OpenAiChat, Anthropic),
    ),
    (
        "openai_chat",
        "stream_text.sse",
        Stream(OpenAiChat, Anthropic, true),
    ),
    (
        "openai_chat",
        "stream_tool_calls.sse",
        Stream(OpenAiChat, Anthropic, true),
    ),
    (
        "openai_chat",
        "stream_error.sse",
        Stream(OpenAiChat, Anthropic, true),
    ),
    (
        "openai_chat",
        "error_invalid_api_key.json",
        Error(OpenAiChat, 401),
    ),
    (
        "openai_chat",
        "error_context_length.json",
        Error(OpenAiChat, 400),
    ),
    (
        "openai_chat",
        "error_rate_limit.json",
        Error(OpenAiChat, 429),
    ),
    (
        "anthropic_messages",
        "request_simple.json",
        Request(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "request_system_multiturn.json",
        Request(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "request_tools_results.json",
        Request(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "request_tool_error_and_image.json",
        Request(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "request_thinking.json",
        Request(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "request_server_tool.json",
        Rejected(Anthropic, OpenAiChat),
    ),
    (
        "anthropic_messages",
        "response_text.json",
        Response(AnthropicMessages, OpenAi),
    ),
    (
        "anthropic_messages",
        "response_tool_use.json",
        Response(AnthropicMessages, OpenAi),
    ),
    (
        "anthropic_messages",
        "response_cache_usage.json",
        Response(AnthropicMessages, OpenAi),
    ),
    (
        "anthropic_messages",
        "response_thinking.json",
        Response(AnthropicMessages, OpenAi),
    ),
    (
        "anthropic_messages",
        "stream_text.sse",
        Stream(AnthropicMessages, OpenAi, true),
    ),
    (
        "anthropic_messages",
        "stream_tool_use.sse",
        Stream(AnthropicMessages, OpenAi, true),
    ),
    (
        "anthropic_messages",
        "stream_thinking.sse",
        Stream(AnthropicMessages, OpenAi, false),
    ),
    (
        "anthropic_messages",
        "stream_error.sse",
        Stream(AnthropicMessages, OpenAi, true),
    ),
    (
        "anthropic_messages",
        "error_overloaded.json",
        Error(AnthropicMessages, 529),
    ),
    (
        "anthropic_messages",
        "error_not_found.json",
        Error(AnthropicMessages, 404),
    ),
    (
        "anthropic_messages",
        "error_prompt_too_long.json",
        Error(AnthropicMessages, 400),
    ),
    (
        "anthropic_messages",
        "error_rate_limit.json",
        Error(AnthropicMessages, 429),
    ),
];

/// The model name the client used, shown back to it.
const PUBLIC_MODEL: &str = "public-alias";
/// The model name sent upstream.
const UPSTREAM_MODEL: &str = "upstream-model";

/// The expected file of a case.
fn expected_path(dir: &str, file: &str, kind: Kind) -> String {
    let target = match kind {
        Request(_, to) | Rejected(_, to) => folder(to),
        Response(_, to) | Stream(_, to, _) => dialect_name(to),
        Error(..) => "gateway_error",
    };
    golden_path(dir, file, target, "json")
}

/// Replace the timestamps the gateway stamps itself.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "created" && val.is_u64() {
                    *val = json!("<created>");
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn sse_to_json(bytes: &[u8]) -> Value {
    let mut dec = SseDecoder::new();
    let mut events = dec.feed(bytes).unwrap();
    events.extend(dec.finish());
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let data = serde_json::from_str(&e.data).unwrap_or(Value::String(e.data));
            json!({"event": e.event, "data": data})
        })
        .collect();
    Value::Array(events)
}

fn usage_json(u: tollgate::model::Usage) -> Value {
    serde_json::to_value(u).unwrap()
}

fn actual(input: &[u8], kind: Kind) -> Value {
    match kind {
        Request(from, to) => parse(&translate_request(from, to, input, UPSTREAM_MODEL).unwrap()),
        Rejected(from, to) => {
            let e = translate_request(from, to, input, UPSTREAM_MODEL).unwrap_err();
            json!({"status": e.status(), "message": e.message})
        }
        Response(from, to) => {
            let (body, usage) = translate_response(from, to, input, PUBLIC_MODEL).unwrap();
            json!({"body": parse(&body), "usage": usage_json(usage)})
        }
        Stream(from, to, wants_usage) => {
            let whole = feed(
                &mut *stream_translator(from, to, wants_usage, PUBLIC_MODEL),
                input,
                &[usize::MAX],
            );
            let mut bytewise = stream_translator(from, to, wants_usage, PUBLIC_MODEL);
            let by_byte = feed(&mut *bytewise, input, &[1]);
            assert_eq!(
                String::from_utf8_lossy(&by_byte),
                String::from_utf8_lossy(&whole),
                "1-byte chunks translate differently"
            );
            json!({"events": sse_to_json(&whole), "usage": usage_json(bytewise.usage())})
        }
        Error(from, status) => {
            let e = upstream_error(from, status, input);
            json!({
                "metric_label": e.metric_label(),
                "status_openai": e.status_for(OpenAi),
                "status_anthropic": e.status_for(Anthropic),
                "openai": e.to_json(OpenAi),
                "anthropic": e.to_json(Anthropic),
            })
        }
    }
}

#[test]
fn golden_translations() {
    let mut failures = Vec::new();
    for &(dir, file, kind) in CASES {
        let input = std::fs::read(fixtures().join(dir).join(file)).unwrap();
        let mut got = actual(&input, kind);
        redact(&mut got);
        if let Err(diff) = check_json(&expected_path(dir, file, kind), &got) {
            failures.push(format!("{dir}/{file} ({kind:?}): {diff}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every fixture file is in the table (so none is silently left untested).
#[test]
fn every_fixture_is_used() {
    for folder in ["openai_chat", "anthropic_messages"] {
        for entry in std::fs::read_dir(fixtures().join(folder)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".json") || name.ends_with(".sse") {
                assert!(
                    CASES.iter().any(|(f, n, _)| *f == folder && *n == name),
                    "{folder}/{name} is not in the golden table"
                );
            }
        }
    }
}
