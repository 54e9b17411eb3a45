//! OpenAI requests: reading into the canonical model, and writing Anthropic requests
//! as OpenAI bodies.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::*;
use crate::error::Dialect;
use crate::formats::{translate_request, translate_request_with, RequestOptions, WireFormat};

const TOOL_RESULTS: &str =
    include_str!("../../../tests/fixtures/openai_chat/request_tool_results.json");
const IMAGE: &str = include_str!("../../../tests/fixtures/openai_chat/request_image.json");
const AUDIO: &str = include_str!("../../../tests/fixtures/openai_chat/request_audio.json");
const ANTH_TOOLS: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_tools_results.json");
const ANTH_MIXED: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_tool_error_and_image.json");
const ANTH_SYSTEM: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_system_multiturn.json");
const ANTH_THINKING: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/request_thinking.json");

fn to_openai(anthropic: &str) -> Value {
    let out = translate_request(
        Dialect::Anthropic,
        WireFormat::OpenAiChat,
        anthropic.as_bytes(),
        "gpt-4o",
    )
    .unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn reads_tool_calls_and_results() {
    let req = read(TOOL_RESULTS.as_bytes()).unwrap();
    assert_eq!(req.messages.len(), 5);
    assert_eq!(req.messages[0].role, Role::System);
    let calls: Vec<&ToolCall> = req.messages[2]
        .content
        .iter()
        .filter_map(|p| match p {
            ContentPart::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1].arguments,
        r#"{"latitude":4.711,"longitude":-74.0721}"#
    );
    match &req.messages[3].content[..] {
        [ContentPart::ToolResult(r)] => {
            assert_eq!(r.tool_call_id, "call_12345xyz");
            assert_eq!(r.content, vec![ContentPart::Text("15.2".into())]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert_eq!(req.sampling.stop, vec!["\n\nUser:"]);
    assert!(req.stream && req.include_usage);
    assert_eq!(req.tools[0].strict, Some(true));
}

#[test]
fn data_url_images_are_borrowed_base64() {
    let req = read(IMAGE.as_bytes()).unwrap();
    let parts = &req.messages[0].content;
    assert!(matches!(
        &parts[1],
        ContentPart::Image(Image {
            source: ImageSource::Url(_),
            detail: None
        })
    ));
    match &parts[2] {
        ContentPart::Image(Image {
            source: ImageSource::Base64 { media_type, data },
            detail,
        }) => {
            assert_eq!(media_type, "image/png");
            assert!(
                matches!(data, Cow::Borrowed(_)),
                "base64 data must not be copied"
            );
            assert_eq!(detail.as_deref(), Some("high"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(req.max_tokens, Some(300));
}

#[test]
fn audio_cannot_be_translated() {
    let e = read(AUDIO.as_bytes()).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("audio output"), "{}", e.message);
    let no_modalities = AUDIO.replace(r#""modalities": ["text", "audio"],"#, "");
    let e = read(no_modalities.as_bytes()).unwrap_err();
    assert!(
        e.message.contains("content part 'input_audio'"),
        "{}",
        e.message
    );
}

#[test]
fn malformed_fields_are_400() {
    for body in [
        r#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#,
        r#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
        r#"{"model":"m","messages":[],"tool_choice":"sometimes"}"#,
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:nonsense"}}]}]}"#,
        r#"{"model":"m","messages":"no"}"#,
    ] {
        assert_eq!(read(body.as_bytes()).unwrap_err().status(), 400, "{body}");
    }
}

#[test]
fn anthropic_tool_turns_become_tool_messages() {
    let v = to_openai(ANTH_TOOLS);
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(
        msgs[1]["tool_calls"][0]["id"],
        "toolu_01A09q90qw90lq917835lq9"
    );
    let args: Value = serde_json::from_str(
        msgs[1]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(
        msgs[2],
        json!({"role": "tool", "content": "15 degrees", "tool_call_id": "toolu_01A09q90qw90lq917835lq9"})
    );
    assert_eq!(v["tool_choice"], "required");
    assert_eq!(v["parallel_tool_calls"], false);
    assert_eq!(v["max_completion_tokens"], 1024);
    assert_eq!(
        v["tools"][0]["function"]["parameters"]["required"],
        json!(["location"])
    );
}

#[test]
fn tool_images_follow_as_user_content() {
    let v = to_openai(ANTH_MIXED);
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs[2]["role"], "tool");
    assert_eq!(
        msgs[2]["content"],
        "ConnectionError: the weather service API is not available (HTTP 500)"
    );
    assert_eq!(msgs[3]["role"], "user");
    let parts = msgs[3]["content"].as_array().unwrap();
    assert_eq!(
        parts[0]["image_url"]["url"],
        "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
    );
    assert!(parts[1]["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBOR"));
    assert_eq!(
        parts[2],
        json!({"type": "text", "text": "Describe this image."})
    );
}

#[test]
fn system_blocks_stream_and_user() {
    let v = to_openai(ANTH_SYSTEM);
    assert_eq!(v["messages"][0]["role"], "system");
    assert!(v["messages"][0]["content"]
        .as_str()
        .unwrap()
        .contains("Pride and Prejudice"));
    assert_eq!(v["stream"], true);
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
    assert_eq!(v["user"], "13803d75-b4b5-4c3e-b2a2-6f21399b021b");
    assert_eq!(v["stop"], json!(["\n\nHuman:"]));
}

#[test]
fn thinking_maps_to_effort_and_is_not_sent_back() {
    let v = to_openai(ANTH_THINKING);
    assert_eq!(v["reasoning_effort"], "high");
    let assistant = &v["messages"][1];
    assert!(assistant.get("reasoning_content").is_none());
    assert_eq!(assistant["content"], Value::Null);
    assert_eq!(
        assistant["tool_calls"][0]["id"],
        "toolu_01CswdEQBMshySk6Y9DFKrfq"
    );
}

#[test]
fn options_for_older_servers() {
    let opts = RequestOptions {
        legacy_max_tokens: true,
        stream_usage: false,
        ..RequestOptions::default()
    };
    let out = translate_request_with(
        Dialect::Anthropic,
        WireFormat::OpenAiChat,
        ANTH_SYSTEM.as_bytes(),
        "m",
        &opts,
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["max_tokens"], 1024);
    assert!(v.get("max_completion_tokens").is_none());
    // An Anthropic client always gets usage, so it is asked for regardless.
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
}
