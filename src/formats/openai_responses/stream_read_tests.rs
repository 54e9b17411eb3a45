//! The Responses decoder behind chat-completions and Messages clients, on a stream
//! built from the event shapes of OpenAI's streaming reference: text, a function
//! call, usage; fed at every split point.

use crate::formats::test_support::{json_events, run, run_all_ways};
use crate::formats::{stream_translator, Dialect, StreamTranslator, WireFormat};
use serde_json::Value;

const STREAM: &str = concat!(
    "event: response.created\n",
    r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67cc","object":"response","created_at":1741487325,"status":"in_progress","model":"gpt-4o-2024-08-06","output":[],"usage":null}}"#,
    "\n\n",
    "event: response.in_progress\n",
    r#"data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67cc","object":"response","status":"in_progress","output":[]}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_123","status":"in_progress","type":"message","role":"assistant","content":[]}}"#,
    "\n\n",
    "event: response.content_part.added\n",
    r#"data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_123","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_123","output_index":0,"content_index":0,"delta":"Hel"}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_123","output_index":0,"content_index":0,"delta":"lo \u00e9"}"#,
    "\n\n",
    "event: response.output_text.done\n",
    r#"data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_123","output_index":0,"content_index":0,"text":"Hello é"}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"msg_123","status":"completed","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello é","annotations":[]}]}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"","status":"in_progress"}}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_1","output_index":1,"delta":"{\"city\":"}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":10,"item_id":"fc_1","output_index":1,"delta":"\"Paris\"}"}"#,
    "\n\n",
    "event: response.function_call_arguments.done\n",
    r#"data: {"type":"response.function_call_arguments.done","sequence_number":11,"item_id":"fc_1","output_index":1,"arguments":"{\"city\":\"Paris\"}"}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":12,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":13,"response":{"id":"resp_67cc","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[],"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":4},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123}}}"#,
    "\n\n",
);

fn to(dialect: Dialect) -> Box<dyn StreamTranslator> {
    stream_translator(WireFormat::OpenAiResponses, dialect, true, "public")
}

/// Every way of cutting the stream in two gives the same output as feeding it whole.
fn at_every_split(dialect: Dialect) -> Vec<u8> {
    let whole = run_all_ways(&|| to(dialect), STREAM.as_bytes());
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(|c: char| c.is_ascii_digit(), "");
    for split in 1..STREAM.len() {
        let mut t = to(dialect);
        let mut first = true;
        let out = run(&mut *t, STREAM.as_bytes(), &mut || {
            if std::mem::replace(&mut first, false) {
                split
            } else {
                STREAM.len()
            }
        });
        assert_eq!(text(&out), text(&whole), "split at {split}");
    }
    whole
}

#[test]
fn chat_clients_get_text_call_finish_and_usage() {
    let out = at_every_split(Dialect::OpenAi);
    let chunks = json_events(&out);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello é");
    let call = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].as_str());
    assert_eq!(call, Some("get_weather"));
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, r#"{"city":"Paris"}"#);
    let finish = chunks
        .iter()
        .find_map(|c| c["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("tool_calls"));
    let usage = chunks.iter().find(|c| c["usage"].is_object()).unwrap();
    assert_eq!(usage["usage"]["prompt_tokens"], 36);
    assert_eq!(usage["usage"]["completion_tokens"], 87);
    assert_eq!(chunks.last().unwrap(), &Value::String("[DONE]".into()));
    assert_eq!(chunks[0]["model"], "public");
}

#[test]
fn messages_clients_get_blocks_and_stop_reason() {
    let out = at_every_split(Dialect::Anthropic);
    let events = json_events(&out);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"message_start"));
    assert_eq!(kinds.last(), Some(&"message_stop"));
    let tool = events
        .iter()
        .find(|e| e["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(tool["content_block"]["name"], "get_weather");
    assert_eq!(tool["content_block"]["id"], "call_1");
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 87);
    let text: String = events
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello é");
}

#[test]
fn a_cut_or_failed_stream_ends_with_an_error_event() {
    let cut = &STREAM[..STREAM.find("event: response.completed").unwrap()];
    let mut t = to(Dialect::OpenAi);
    let out = run(&mut *t, cut.as_bytes(), &mut || usize::MAX);
    let last = json_events(&out).pop().unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
    let failed = concat!(
        "event: response.failed\n",
        r#"data: {"type":"response.failed","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed"},"output":[]}}"#,
        "\n\n"
    );
    let mut t = to(Dialect::Anthropic);
    let out = run(&mut *t, failed.as_bytes(), &mut || usize::MAX);
    let events = json_events(&out);
    let err = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(err["error"]["message"], "The model failed");
}

#[test]
fn reasoning_items_carry_summary_and_encrypted_content() {
    let stream = concat!(
        "event: response.output_item.added\n",
        r#"data: {"type":"response.output_item.added","sequence_number":0,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}"#,
        "\n\n",
        "event: response.reasoning_summary_text.delta\n",
        r#"data: {"type":"response.reasoning_summary_text.delta","sequence_number":1,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"think"}"#,
        "\n\n",
        "event: response.output_item.done\n",
        r#"data: {"type":"response.output_item.done","sequence_number":2,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}],"encrypted_content":"gAAA"}}"#,
        "\n\n",
        "event: response.completed\n",
        r#"data: {"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}}"#,
        "\n\n",
    );
    let out = run_all_ways(&|| to(Dialect::Anthropic), stream.as_bytes());
    let events = json_events(&out);
    let thinking: String = events
        .iter()
        .filter_map(|e| e["delta"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, "think");
    let sig = events.iter().find_map(|e| e["delta"]["signature"].as_str());
    assert_eq!(sig, Some("gAAA"));
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
}
