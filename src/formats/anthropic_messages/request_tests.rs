//! Anthropic requests: reading into the canonical model, and writing OpenAI requests
//! as Anthropic bodies (system hoisting, role merging, tool results, JSON mode).

use serde_json::{json, Value};

use super::*;
use crate::error::Dialect;
use crate::formats::{anthropic_messages::JSON_TOOL, translate_request, WireFormat};

const SYSTEM: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_system_multiturn.json");
const THINKING: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_thinking.json");
const SERVER_TOOL: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_server_tool.json");
const OAI_TOOL_RESULTS: &str =
    include_str!("../../../tests/fixtures/openai_chat/request_tool_results.json");
const OAI_JSON: &str = include_str!("../../../tests/fixtures/openai_chat/request_json_schema.json");
const OAI_SIMPLE: &str = include_str!("../../../tests/fixtures/openai_chat/request_simple.json");

fn to_anthropic(openai: &str) -> Value {
    let out = translate_request(
        Dialect::OpenAi,
        WireFormat::AnthropicMessages,
        openai.as_bytes(),
        "claude-x",
    )
    .unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn reads_system_cache_breakpoints_and_metadata() {
    let req = read(SYSTEM.as_bytes()).unwrap();
    assert_eq!(req.messages[0].role, Role::System);
    assert!(matches!(
        req.messages[0].content[..],
        [
            ContentPart::Text(_),
            ContentPart::Text(_),
            ContentPart::CacheBreakpoint(CacheTtl::Default)
        ]
    ));
    assert_eq!(
        req.user.as_deref(),
        Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b")
    );
    assert_eq!(req.messages.len(), 4);
    assert_eq!(req.max_tokens, Some(1024));
}

#[test]
fn reads_thinking_with_signature() {
    let req = read(THINKING.as_bytes()).unwrap();
    let r = req.reasoning.as_ref().unwrap();
    assert!(r.enabled);
    assert_eq!(r.budget_tokens, Some(10000));
    match &req.messages[1].content[..] {
        [ContentPart::Reasoning {
            signature: Some(s), ..
        }, ContentPart::RedactedReasoning(_), ContentPart::ToolCall(c)] => {
            assert!(s.starts_with("BDaL4VrbR2Oj"));
            assert_eq!(c.arguments, r#"{"location":"Paris"}"#);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_tools_cannot_be_translated() {
    let e = translate_request(
        Dialect::Anthropic,
        WireFormat::OpenAiChat,
        SERVER_TOOL.as_bytes(),
        "gpt",
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        e.message.contains("server tool 'web_search_20250305'"),
        "{}",
        e.message
    );
}

#[test]
fn tool_results_merge_into_one_user_turn() {
    let v = to_anthropic(OAI_TOOL_RESULTS);
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "You are a weather assistant."}])
    );
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(
        msgs[1]["content"][0]["input"],
        json!({"latitude": 48.8566, "longitude": 2.3522})
    );
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "call_12345xyz", "content": [{"type": "text", "text": "15.2"}]},
            {"type": "tool_result", "tool_use_id": "call_67890abc", "content": [{"type": "text", "text": "18.4"}]}
        ])
    );
    assert_eq!(v["max_tokens"], 4096);
    assert_eq!(
        v["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(v["stop_sequences"], json!(["\n\nUser:"]));
    assert_eq!(v["metadata"], json!({"user_id": "user-1234"}));
    assert_eq!(v["temperature"], 0.2);
    assert_eq!(
        v["tools"][0]["input_schema"]["required"],
        json!(["latitude", "longitude"])
    );
}

#[test]
fn json_schema_becomes_a_tool_and_effort_a_budget() {
    let v = to_anthropic(OAI_JSON);
    let tool = v["tools"].as_array().unwrap().last().unwrap();
    assert_eq!(tool["name"], JSON_TOOL);
    assert_eq!(
        tool["input_schema"]["required"],
        json!(["name", "date", "participants"])
    );
    // Thinking allows no forced tool choice: the JSON tool is offered instead.
    assert_eq!(v["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        v["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert_eq!(v["max_tokens"], 16000);
    let no_thinking = OAI_JSON.replace(r#""reasoning_effort": "high","#, r#""temperature": 0.3,"#);
    let v = to_anthropic(&no_thinking);
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
    assert!(v.get("thinking").is_none());
    assert_eq!(v["temperature"], 0.3);
}

#[test]
fn sampling_that_thinking_forbids_is_dropped() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","temperature":0.2,"top_p":0.5,"top_k":5}"#;
    let v = to_anthropic(body);
    assert!(v.get("temperature").is_none() && v.get("top_p").is_none() && v.get("top_k").is_none());
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","top_p":0.97}"#;
    assert_eq!(to_anthropic(body)["top_p"], 0.97);
}

#[test]
fn developer_message_is_hoisted_and_roles_alternate() {
    let v = to_anthropic(OAI_SIMPLE);
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "You are a helpful assistant."}])
    );
    assert_eq!(
        v["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}])
    );
    let two_users = r#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":""},{"role":"assistant","content":"c"}]}"#;
    let v = to_anthropic(two_users);
    assert_eq!(
        v["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "c"}]}
        ])
    );
}

#[test]
fn budget_stays_below_max_tokens() {
    let small = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high","max_completion_tokens":2000}"#;
    assert_eq!(to_anthropic(small)["thinking"]["budget_tokens"], 1999);
    let tiny = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","max_tokens":500}"#;
    let v = to_anthropic(tiny);
    assert!(v.get("thinking").is_none());
    assert_eq!(v["max_tokens"], 500);
    let default =
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium"}"#;
    let v = to_anthropic(default);
    assert_eq!(v["thinking"]["budget_tokens"], 2048);
    assert_eq!(v["max_tokens"], 2048 + 4096);
}

#[test]
fn n_above_one_is_refused() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#;
    let e = translate_request(
        Dialect::OpenAi,
        WireFormat::AnthropicMessages,
        body.as_bytes(),
        "c",
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(e.param.as_deref(), Some("n"));
}

#[test]
fn reasoning_without_signature_is_left_out() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y","reasoning_content":"hmm"},{"role":"user","content":"z"}]}"#;
    let v = to_anthropic(body);
    assert_eq!(
        v["messages"][1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "y"}]})
    );
}
