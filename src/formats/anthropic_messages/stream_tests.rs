//! Anthropic events → OpenAI chunks (decoder here, encoder in `openai_chat`), over the
//! streams of Anthropic's streaming guide, under hostile chunking.

use serde_json::Value;

use crate::error::Dialect;
use crate::formats::test_support::*;
use crate::formats::{stream_translator, WireFormat};

const TOOL_USE: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/stream_tool_use.sse");
const THINKING: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/stream_thinking.sse");
const ERROR: &str = include_str!("../../../tests/fixtures/anthropic_messages/stream_error.sse");
const TEXT: &str = include_str!("../../../tests/fixtures/anthropic_messages/stream_text.sse");

fn to_openai(input: &str, include_usage: bool) -> Vec<Value> {
    let make = || {
        stream_translator(
            WireFormat::AnthropicMessages,
            Dialect::OpenAi,
            include_usage,
            "my-alias",
        )
    };
    json_events(&run_all_ways(&make, input.as_bytes()))
}

fn deltas(chunks: &[Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][field].as_str())
        .collect()
}

#[test]
fn tool_use_stream_becomes_openai_chunks() {
    let chunks = to_openai(TOOL_USE, true);
    let first = &chunks[0];
    assert_eq!(first["id"], "msg_014p7gG3wDgGV9EUtLvnow3U");
    assert_eq!(first["model"], "my-alias");
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        deltas(&chunks, "content"),
        "Okay, let's check the weather for San Francisco, CA:"
    );

    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls[0]["id"], "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert!(calls.iter().all(|c| c["index"] == 0));
    let args: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    let args: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(
        args,
        serde_json::json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );

    let n = chunks.len();
    assert_eq!(chunks[n - 3]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[n - 2]["choices"], serde_json::json!([]));
    assert_eq!(chunks[n - 2]["usage"]["prompt_tokens"], 472);
    assert_eq!(chunks[n - 2]["usage"]["completion_tokens"], 89);
    assert_eq!(chunks[n - 1], "[DONE]");
}

#[test]
fn crlf_stream_translates_the_same() {
    // `created` is the translation's clock (two runs may straddle a second).
    let without_created = |mut chunks: Vec<Value>| {
        for chunk in &mut chunks {
            if let Some(created) = chunk.get_mut("created") {
                *created = Value::from(0);
            }
        }
        chunks
    };
    assert_eq!(
        without_created(to_openai(&crlf(TOOL_USE), true)),
        without_created(to_openai(TOOL_USE, true))
    );
}

#[test]
fn usage_chunk_only_when_asked() {
    let chunks = to_openai(TEXT, false);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(chunks.last().unwrap(), "[DONE]");
    let mut t = stream_translator(WireFormat::AnthropicMessages, Dialect::OpenAi, false, "m");
    let _ = run(&mut *t, TEXT.as_bytes(), &mut || 7);
    let u = t.usage();
    assert_eq!((u.input_tokens, u.output_tokens), (25, 15));
}

#[test]
fn thinking_becomes_reasoning_content() {
    let chunks = to_openai(THINKING, false);
    assert_eq!(chunks[0]["id"], "msg_01...");
    let reasoning = deltas(&chunks, "reasoning_content");
    assert!(reasoning.starts_with("I need to find the GCD") && reasoning.ends_with("= 21."));
    assert_eq!(
        deltas(&chunks, "content"),
        "The greatest common divisor of 1071 and 462 is **21**."
    );
}

#[test]
fn in_stream_error_is_passed_on_in_band() {
    let chunks = to_openai(ERROR, true);
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["message"], "Overloaded");
    assert_eq!(deltas(&chunks, "content"), "Hello");
    assert!(!chunks.iter().any(|c| c == "[DONE]"));
}

#[test]
fn truncated_stream_ends_with_an_error() {
    let cut = &TOOL_USE[..TOOL_USE.find("event: content_block_stop").unwrap()];
    let chunks = to_openai(cut, false);
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["type"], "api_error");
    assert!(last["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ended before"));
}

#[test]
fn cut_after_message_delta_still_completes() {
    let cut = &TEXT[..TEXT.find("event: message_stop").unwrap()];
    let chunks = to_openai(cut, false);
    assert_eq!(chunks.last().unwrap(), "[DONE]");
}

#[test]
fn json_mode_tool_call_becomes_text() {
    let start = format!(
        r#"{{"type":"content_block_start","index":0,"content_block":{{"type":"tool_use","id":"toolu_1","name":"{}","input":{{}}}}}}"#,
        super::JSON_TOOL
    );
    let events = [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":10,"output_tokens":1}}}"#,
        ),
        ("content_block_start", start.as_str()),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" 1}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];
    let stream: String = events
        .iter()
        .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
        .collect();
    let chunks = to_openai(&stream, false);
    assert_eq!(deltas(&chunks, "content"), "{\"a\": 1}");
    assert!(chunks
        .iter()
        .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()));
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
}
