use serde_json::{json, Value};

use super::*;
use crate::error::Dialect;
use crate::formats::{translate_response, usage_from_response, WireFormat};

const TEXT: &str = include_str!("../../../tests/fixtures/bedrock_converse/response_text.json");
const TOOL: &str = include_str!("../../../tests/fixtures/bedrock_converse/response_tool_use.json");
const REASONING: &str =
    include_str!("../../../tests/fixtures/bedrock_converse/response_reasoning_cache.json");
const JSON_ANSWER: &str =
    include_str!("../../../tests/fixtures/bedrock_converse/response_json_tool.json");

fn translate(body: &str, to: Dialect) -> (Value, Usage) {
    let (out, usage) = translate_response(
        WireFormat::BedrockConverse,
        to,
        body.as_bytes(),
        "my-claude",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (serde_json::from_slice(&out).unwrap(), usage)
}

#[test]
fn text_answer_with_a_made_up_id() {
    let (oai, usage) = translate(TEXT, Dialect::OpenAi);
    assert_eq!(
        oai["choices"][0]["message"]["content"],
        "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."
    );
    assert_eq!(oai["choices"][0]["finish_reason"], "stop");
    assert_eq!(oai["model"], "my-claude");
    assert_eq!(oai["usage"]["prompt_tokens"], 461);
    assert_eq!(oai["usage"]["completion_tokens"], 16);
    assert_eq!(oai["usage"]["total_tokens"], 477);
    let id = oai["id"].as_str().unwrap();
    assert!(
        id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 24,
        "{id}"
    );
    assert_ne!(translate(TEXT, Dialect::OpenAi).0["id"], oai["id"]);
    assert_eq!(
        usage,
        usage_from_response(WireFormat::BedrockConverse, TEXT.as_bytes())
    );
    let (anth, _) = translate(TEXT, Dialect::Anthropic);
    assert_eq!(anth["stop_reason"], "end_turn");
    assert_eq!(anth["model"], "my-claude");
    assert_eq!(
        anth["usage"],
        json!({"input_tokens": 461, "output_tokens": 16,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );
}

#[test]
fn tool_use_keeps_its_id() {
    let (oai, _) = translate(TOOL, Dialect::OpenAi);
    let call = &oai["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
    assert_eq!(call["function"]["name"], "top_song");
    assert_eq!(call["function"]["arguments"], r#"{"sign":"WZPZ"}"#);
    assert_eq!(oai["choices"][0]["finish_reason"], "tool_calls");
    let (anth, _) = translate(TOOL, Dialect::Anthropic);
    assert_eq!(
        anth["content"],
        json!([{"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                "name": "top_song", "input": {"sign": "WZPZ"}}])
    );
    assert_eq!(anth["stop_reason"], "tool_use");
}

#[test]
fn reasoning_stop_sequence_and_cache_usage() {
    let resp = read(REASONING.as_bytes()).unwrap();
    assert_eq!(resp.content.len(), 3);
    assert!(
        matches!(&resp.content[0], ContentPart::Reasoning { signature: Some(s), .. } if s.starts_with("EqQB"))
    );
    assert!(matches!(&resp.content[1], ContentPart::RedactedReasoning(d) if d.starts_with("EmwK")));
    assert_eq!(resp.finish_reason, Some(FinishReason::StopSequence));
    assert_eq!(resp.stop_sequence.as_deref(), Some("END"));
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 96,
            cache_read_tokens: 1600,
            cache_write_tokens: 450,
            reasoning_tokens: 0,
        }
    );
    let (anth, usage) = translate(REASONING, Dialect::Anthropic);
    assert_eq!(
        usage, resp.usage,
        "Bedrock counts as the canonical model does"
    );
    assert_eq!(anth["content"][0]["type"], "thinking");
    assert_eq!(anth["content"][1]["type"], "redacted_thinking");
    assert_eq!(anth["stop_reason"], "stop_sequence");
    assert_eq!(anth["stop_sequence"], "END");
    assert_eq!(anth["usage"]["cache_creation_input_tokens"], 450);
    let (oai, _) = translate(REASONING, Dialect::OpenAi);
    // OpenAI's prompt count includes the cached tokens.
    assert_eq!(oai["usage"]["prompt_tokens"], 12 + 1600 + 450);
    assert_eq!(oai["usage"]["prompt_tokens_details"]["cached_tokens"], 1600);
    assert_eq!(oai["choices"][0]["finish_reason"], "stop");
}

#[test]
fn json_tool_call_is_the_answer() {
    let (oai, _) = translate(JSON_ANSWER, Dialect::OpenAi);
    let msg = &oai["choices"][0]["message"];
    assert!(msg.get("tool_calls").is_none() || msg["tool_calls"] == json!([]));
    let answer: Value = serde_json::from_str(msg["content"].as_str().unwrap()).unwrap();
    assert_eq!(answer["participants"], json!(["Alice", "Bob"]));
    assert_eq!(oai["choices"][0]["finish_reason"], "stop");
}

#[test]
fn stop_reasons() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("tool_use", FinishReason::ToolCalls),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("stop_sequence", FinishReason::StopSequence),
        ("guardrail_intervened", FinishReason::ContentFilter),
        ("content_filtered", FinishReason::ContentFilter),
        (
            "malformed_tool_use",
            FinishReason::Other("malformed_tool_use".into()),
        ),
    ];
    for (wire, canonical) in cases {
        assert_eq!(stop_reason(wire), canonical, "{wire}");
    }
}

#[test]
fn broken_bodies() {
    let e = read(b"[]").unwrap_err();
    assert_eq!(e.kind, crate::error::ErrorKind::UpstreamProtocol);
    let resp = read(b"{}").unwrap();
    assert!(resp.content.is_empty() && resp.finish_reason.is_none());
    assert_eq!(usage_probe(b"{\"usage\": 1}"), None);
}
