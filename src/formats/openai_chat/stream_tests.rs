//! OpenAI chunks → Anthropic events (decoder here, encoder in `anthropic_messages`),
//! over the streams of OpenAI's API reference and function-calling guide.

use serde_json::{json, Value};

use crate::error::Dialect;
use crate::formats::test_support::*;
use crate::formats::{stream_translator, WireFormat};
use crate::sse::SseEvent;

const TEXT: &str = include_str!("../../../tests/fixtures/openai_chat/stream_text.sse");
const TOOLS: &str = include_str!("../../../tests/fixtures/openai_chat/stream_tool_calls.sse");
const ERROR: &str = include_str!("../../../tests/fixtures/openai_chat/stream_error.sse");

fn to_anthropic(input: &str) -> Vec<(String, Value)> {
    let make = || {
        stream_translator(
            WireFormat::OpenAiChat,
            Dialect::Anthropic,
            true,
            "claude-alias",
        )
    };
    events(&run_all_ways(&make, input.as_bytes()))
        .into_iter()
        .map(|SseEvent { event, data, .. }| {
            let v: Value = serde_json::from_str(&data).unwrap();
            let name = event.unwrap_or_default();
            // Anthropic puts the event name in `type` too.
            assert_eq!(v["type"], name.as_str());
            (name, v)
        })
        .collect()
}

fn names(evs: &[(String, Value)]) -> Vec<&str> {
    evs.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn tool_call_stream_becomes_anthropic_events() {
    let evs = to_anthropic(TOOLS);
    let mut expected = vec!["message_start", "content_block_start"];
    expected.extend(std::iter::repeat_n("content_block_delta", 7));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names(&evs), expected);
    let start = &evs[0].1["message"];
    assert_eq!(start["id"], "chatcmpl-abc123");
    assert_eq!(start["model"], "claude-alias");
    assert_eq!(start["content"], json!([]));
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "tool_use", "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "name": "get_weather", "input": {}})
    );
    let args: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(args, r#"{"location":"Paris, France"}"#);
    let delta = &evs[evs.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    // 82 prompt tokens of which 64 cached: Anthropic counts them apart.
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 18, "output_tokens": 17, "cache_read_input_tokens": 64, "cache_creation_input_tokens": 0})
    );
}

#[test]
fn text_stream_and_usage_accounting() {
    let evs = to_anthropic(TEXT);
    let text: String = evs
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello!");
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let delta = &evs[evs.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["input_tokens"], 19);
    assert_eq!(delta["usage"]["output_tokens"], 10);
    let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::Anthropic, true, "m");
    let _ = run(&mut *t, TEXT.as_bytes(), &mut || 5);
    // Reported in OpenAI's own accounting: prompt tokens include the cached ones.
    assert_eq!((t.usage().input_tokens, t.usage().output_tokens), (19, 10));
}

#[test]
fn crlf_and_missing_done_still_complete() {
    assert_eq!(to_anthropic(&crlf(TEXT)), to_anthropic(TEXT));
    let no_done = TEXT.replace("data: [DONE]\n\n", "");
    let evs = to_anthropic(&no_done);
    assert_eq!(evs.last().unwrap().0, "message_stop");
}

#[test]
fn error_chunk_becomes_error_event() {
    let evs = to_anthropic(ERROR);
    let (name, err) = evs.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(err["error"]["type"], "api_error");
    assert_eq!(
        err["error"]["message"],
        "The server had an error while processing your request. Sorry about that!"
    );
    assert!(!names(&evs).contains(&"message_stop"));
}

#[test]
fn truncated_stream_ends_with_error_event() {
    let cut = &TOOLS[..TOOLS.find("\"finish_reason\":\"tool_calls\"").unwrap() - 100];
    let evs = to_anthropic(&cut[..cut.rfind("\n\n").unwrap() + 2]);
    assert_eq!(evs.last().unwrap().0, "error");
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-x", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    let mut out = Vec::new();
    crate::sse::write_data(&mut out, c.to_string().as_bytes());
    String::from_utf8(out).unwrap()
}

#[test]
fn text_then_parallel_interleaved_tool_calls() {
    let call = |i: u32, id: Option<&str>, name: Option<&str>, args: &str| json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": args}}]});
    let mut s = chunk(json!({"role": "assistant", "content": "Checking."}), None);
    s += &chunk(call(0, Some("call_a"), Some("f"), "{\"x\":"), None);
    s += &chunk(call(1, Some("call_b"), Some("g"), "{\"y\":"), None);
    s += &chunk(call(0, None, None, "1}"), None);
    s += &chunk(call(1, None, None, "2}"), None);
    s += &chunk(json!({}), Some("tool_calls"));
    s += "data: [DONE]\n\n";
    let evs = to_anthropic(&s);
    let starts: Vec<&Value> = evs
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[0]["index"], 0);
    assert_eq!(starts[1]["content_block"]["id"], "call_a");
    assert_eq!(starts[2]["content_block"]["id"], "call_b");
    let args_of = |index: u64| -> String {
        evs.iter()
            .filter(|(_, v)| v["index"] == index)
            .filter_map(|(_, v)| v["delta"]["partial_json"].as_str())
            .collect()
    };
    assert_eq!(args_of(1), "{\"x\":1}");
    assert_eq!(args_of(2), "{\"y\":2}");
}

#[test]
fn reasoning_content_becomes_thinking_block() {
    let mut s = chunk(
        json!({"role": "assistant", "reasoning_content": "Let me think"}),
        None,
    );
    s += &chunk(json!({"content": "42"}), None);
    s += &chunk(json!({}), Some("stop"));
    s += "data: [DONE]\n\n";
    let evs = to_anthropic(&s);
    assert_eq!(evs[1].1["content_block"]["type"], "thinking");
    assert_eq!(
        evs[2].1["delta"],
        json!({"type": "thinking_delta", "thinking": "Let me think"})
    );
    assert_eq!(evs[3].0, "content_block_stop");
    assert_eq!(evs[4].1["content_block"]["type"], "text");
}
