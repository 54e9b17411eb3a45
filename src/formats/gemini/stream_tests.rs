use serde_json::{json, Value};

use super::super::test_support::{events, redact, run, run_all_ways};
use crate::error::Dialect;
use crate::formats::{stream_translator, StreamTranslator, WireFormat};
use crate::model::Usage;

const TEXT: &str = include_str!("../../../tests/fixtures/gemini/stream_text.sse");
const SIGNED: &str = include_str!("../../../tests/fixtures/gemini/stream_signature.sse");
const CALLS: &str = include_str!("../../../tests/fixtures/gemini/stream_function_call.sse");

fn translator(to: Dialect, usage: bool) -> Box<dyn StreamTranslator> {
    stream_translator(WireFormat::Gemini, to, usage, "my-gemini")
}

fn openai(input: &str, usage: bool) -> Vec<Value> {
    let out = run_all_ways(&|| translator(Dialect::OpenAi, usage), input.as_bytes());
    events(&out).into_iter().map(|(_, d)| d).collect()
}

fn anthropic(input: &str) -> Vec<(String, Value)> {
    events(&run_all_ways(
        &|| translator(Dialect::Anthropic, true),
        input.as_bytes(),
    ))
}

/// The concatenated `delta.content` of OpenAI chunks.
fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[test]
fn old_style_stream_finishes_once_at_the_end() {
    // This model repeats `finishReason: STOP` on every chunk: one answer all the same.
    let chunks = openai(TEXT, false);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finishes: Vec<_> = chunks
        .iter()
        .filter(|c| !c["choices"][0]["finish_reason"].is_null())
        .collect();
    assert_eq!(finishes.len(), 1);
    assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[chunks.len() - 2], finishes[0].clone());
    assert_eq!(chunks.last().unwrap(), &json!("[DONE]"));
    let text = text_of(&chunks);
    assert!(text.starts_with("In the quaint, sunlit cottage"));
    assert!(text.contains("\"冒险伙伴\"") && text.ends_with("stronger than ever."));
    assert!(chunks
        .iter()
        .all(|c| c == "[DONE]" || c["model"] == "my-gemini"));

    let evs = anthropic(TEXT);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "message_start",
            "content_block_start",
            "content_block_delta"
        ]
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "content_block_start")
            .count(),
        1
    );
    assert_eq!(
        names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert_eq!(evs[evs.len() - 2].1["delta"]["stop_reason"], "end_turn");
}

#[test]
fn ids_model_and_usage_come_from_the_upstream() {
    let chunks = openai(SIGNED, true);
    assert!(chunks
        .iter()
        .all(|c| c == "[DONE]" || c["id"] == "tTCwacuEBMvnitYP06qsgQY"));
    assert_eq!(text_of(&chunks), "Hello! How can I help you today?");
    let usage_chunk = &chunks[chunks.len() - 2];
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 1);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 9);
    let evs = anthropic(SIGNED);
    assert_eq!(evs[0].1["message"]["id"], "tTCwacuEBMvnitYP06qsgQY");
    assert_eq!(evs[0].1["message"]["model"], "my-gemini");
    let delta = &evs[evs.len() - 2].1;
    assert_eq!(delta["usage"]["output_tokens"], 9);
    assert_eq!(delta["usage"]["input_tokens"], 1);
}

#[test]
fn thoughts_then_whole_calls() {
    let evs = anthropic(CALLS);
    let kinds: Vec<String> = evs
        .iter()
        .map(|(n, d)| match n.as_str() {
            "content_block_start" => {
                format!("start:{}", d["content_block"]["type"].as_str().unwrap())
            }
            "content_block_delta" => format!("delta:{}", d["delta"]["type"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "start:thinking",
            "delta:thinking_delta",
            "content_block_stop",
            "start:tool_use",
            "delta:input_json_delta",
            "content_block_stop",
            "start:tool_use",
            "delta:input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let first = &evs[4].1["content_block"];
    assert_eq!(first["name"], "find_theaters");
    assert_eq!(
        first["id"],
        "call_mD9BaOf0LqSNz7IPk9CHkQ4_0__thought__CiQBVKhc7nCTRDdM3ZMrxhZpIzNwN6Wx2y5VlpYcB0e2v0xfT0AK"
    );
    assert_eq!(
        evs[7].1["content_block"]["id"],
        "call_mD9BaOf0LqSNz7IPk9CHkQ4_1"
    );
    let args: Value =
        serde_json::from_str(evs[5].1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(args["location"], "Mountain View, CA");
    let end = &evs[10].1;
    assert_eq!(end["delta"]["stop_reason"], "tool_use");
    assert_eq!(end["usage"]["input_tokens"], 310 - 256);
    assert_eq!(end["usage"]["cache_read_input_tokens"], 256);
    assert_eq!(end["usage"]["output_tokens"], 52 + 28);

    let chunks = openai(CALLS, true);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls.len(), 4, "a start and the arguments per call");
    assert_eq!(
        (calls[0]["index"].as_u64(), calls[2]["index"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    assert!(reasoning.starts_with("The user wants Barbie"));
}

#[test]
fn metering_gets_geminis_own_accounting() {
    let mut t = translator(Dialect::OpenAi, false);
    run(&mut *t, CALLS.as_bytes(), &mut || 7);
    assert_eq!(
        t.usage(),
        Usage {
            input_tokens: 310,
            output_tokens: 80,
            cache_read_tokens: 256,
            cache_write_tokens: 0,
            reasoning_tokens: 28,
        }
    );
}

#[test]
fn a_cut_stream_ends_with_an_error_event() {
    // Everything but the chunk that carries the finish reason.
    let cut: String = SIGNED
        .split("\n\n")
        .take(3)
        .map(|e| format!("{e}\n\n"))
        .collect();
    let out = run_all_ways(&|| translator(Dialect::Anthropic, true), cut.as_bytes());
    let evs = events(&out);
    let (name, data) = evs.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "api_error");
    assert!(data["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ended before"));
    assert!(!evs.iter().any(|(n, _)| n == "message_stop"));
    let chunks = openai(&cut, true);
    assert!(chunks.last().unwrap()["error"]["message"].is_string());
    assert!(!chunks.contains(&json!("[DONE]")));
}

#[test]
fn in_stream_error_and_garbage() {
    let input = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n\
                 data: {\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n\
                 data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"late\"}]},\"finishReason\":\"STOP\"}]}\n\n";
    let chunks = openai(input, false);
    assert_eq!(text_of(&chunks), "Hi");
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["type"], "rate_limit_error");
    assert_eq!(last["error"]["message"], "Resource exhausted");
    let evs = anthropic("data: {not json\n\n");
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].0, "error");
    assert!(evs[0].1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid chunk"));
}

#[test]
fn crlf_framing_and_blank_data_are_fine() {
    let crlf = SIGNED.replace('\n', "\r\n");
    let a = run_all_ways(&|| translator(Dialect::OpenAi, true), crlf.as_bytes());
    let b = redact(&run(
        &mut *translator(Dialect::OpenAi, true),
        SIGNED.as_bytes(),
        &mut || usize::MAX,
    ));
    assert_eq!(a, b);
    let keepalive = format!(": ping\n\ndata: \n\n{SIGNED}");
    assert_eq!(
        run_all_ways(&|| translator(Dialect::OpenAi, true), keepalive.as_bytes()),
        b
    );
}
