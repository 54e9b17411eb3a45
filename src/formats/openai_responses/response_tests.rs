use super::*;
use std::borrow::Cow;

#[test]
fn text_and_call_items_with_usage_details() {
    let resp = ChatResponse {
        id: Cow::Borrowed("chatcmpl-abc"),
        content: vec![
            ContentPart::Text("Hello".into()),
            ContentPart::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
        ],
        finish_reason: Some(FinishReason::ToolCalls),
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
            cache_read_tokens: 4,
            reasoning_tokens: 2,
            ..Usage::default()
        },
        ..ChatResponse::default()
    };
    let v: Value = serde_json::from_slice(&write(&resp, "public").unwrap()).unwrap();
    assert_eq!(v["id"], "resp_abc");
    assert_eq!(v["object"], "response");
    assert_eq!(v["model"], "public");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(v["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(v["output"][1]["call_id"], "call_1");
    assert_eq!(v["output"][1]["id"], "fc_1");
    // Canonical input excludes cached tokens; Responses counts them in.
    assert_eq!(v["usage"]["input_tokens"], 14);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
    assert_eq!(v["usage"]["total_tokens"], 19);
}

#[test]
fn length_is_incomplete() {
    let resp = ChatResponse {
        content: vec![ContentPart::Text("cut".into())],
        finish_reason: Some(FinishReason::Length),
        ..ChatResponse::default()
    };
    let v: Value = serde_json::from_slice(&write(&resp, "m").unwrap()).unwrap();
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
}
