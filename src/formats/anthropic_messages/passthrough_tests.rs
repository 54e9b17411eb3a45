use crate::error::Dialect;
use crate::formats::test_support::*;
use crate::formats::{stream_translator, WireFormat};

const TOOL_USE: &str =
    include_str!("../../../tests/fixtures/anthropic_messages/stream_tool_use.sse");

#[test]
fn bytes_pass_untouched_and_cumulative_usage_is_kept() {
    let make = || {
        stream_translator(
            WireFormat::AnthropicMessages,
            Dialect::Anthropic,
            true,
            "alias",
        )
    };
    assert_eq!(
        run_all_ways(&make, TOOL_USE.as_bytes()),
        TOOL_USE.as_bytes()
    );
    let mut t = make();
    let _ = run(&mut *t, TOOL_USE.as_bytes(), &mut || 2);
    // message_start said 2 output tokens, message_delta 89 in total (not 91).
    assert_eq!((t.usage().input_tokens, t.usage().output_tokens), (472, 89));
}

#[test]
fn truncated_stream_gets_an_error_event() {
    let cut = &TOOL_USE[..TOOL_USE.find("event: message_delta").unwrap()];
    let mut t = stream_translator(WireFormat::AnthropicMessages, Dialect::Anthropic, true, "a");
    let out = run(&mut *t, cut.as_bytes(), &mut || 13);
    assert!(out.starts_with(cut.as_bytes()));
    let tail = String::from_utf8_lossy(&out[cut.len()..]).into_owned();
    let evs = events(tail.as_bytes());
    assert_eq!(evs.len(), 1, "{tail}");
    assert_eq!(evs[0].event.as_deref(), Some("error"));
    let v: serde_json::Value = serde_json::from_str(&evs[0].data).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "api_error");
    // Cut inside an event: the error still arrives as an event of its own.
    let mid = &TOOL_USE[..TOOL_USE.find("renheit").unwrap()];
    let mut t = stream_translator(WireFormat::AnthropicMessages, Dialect::Anthropic, true, "a");
    let out = run(&mut *t, mid.as_bytes(), &mut || 13);
    let last = events(&out).pop().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
}
