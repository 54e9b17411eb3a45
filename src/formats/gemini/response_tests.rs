use serde_json::{json, Value};

use super::*;
use crate::error::Dialect;
use crate::formats::{translate_response, usage_from_response, WireFormat};

const TEXT: &str = include_str!("../../../tests/fixtures/gemini/response_text.json");
const CALL: &str = include_str!("../../../tests/fixtures/gemini/response_function_call.json");
const THINKING: &str = include_str!("../../../tests/fixtures/gemini/response_thinking.json");
const BLOCKED: &str = include_str!("../../../tests/fixtures/gemini/response_blocked.json");

fn translate(body: &str, to: Dialect) -> (Value, Usage) {
    let (out, usage) = translate_response(WireFormat::Gemini, to, body.as_bytes(), "my-gemini")
        .unwrap_or_else(|e| panic!("{e}"));
    (serde_json::from_slice(&out).unwrap(), usage)
}

#[test]
fn text_answer_in_both_dialects() {
    let (oai, usage) = translate(TEXT, Dialect::OpenAi);
    assert_eq!(oai["model"], "my-gemini");
    assert_eq!(oai["object"], "chat.completion");
    let text = oai["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.starts_with("```python\n# Example list") && text.ends_with("```"));
    assert_eq!(oai["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        oai["usage"],
        json!({"prompt_tokens": 9, "completion_tokens": 87, "total_tokens": 96,
               "prompt_tokens_details": {"cached_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 0}})
    );
    // No responseId in this answer: one is made up, never a fixed placeholder.
    let id = oai["id"].as_str().unwrap();
    assert!(id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 24);
    assert_ne!(translate(TEXT, Dialect::OpenAi).0["id"], oai["id"]);
    assert_eq!(
        usage,
        Usage {
            input_tokens: 9,
            output_tokens: 87,
            ..Usage::default()
        }
    );
    let (anth, _) = translate(TEXT, Dialect::Anthropic);
    assert_eq!(anth["type"], "message");
    assert_eq!(anth["content"][0]["type"], "text");
    assert_eq!(anth["content"][0]["text"], text);
    assert_eq!(anth["stop_reason"], "end_turn");
    assert_eq!(anth["usage"]["input_tokens"], 9);
    assert_eq!(anth["usage"]["output_tokens"], 87);
}

#[test]
fn function_call_gets_an_id_and_tool_finish() {
    let (oai, _) = translate(CALL, Dialect::OpenAi);
    let call = &oai["choices"][0]["message"]["tool_calls"][0];
    let id = call["id"].as_str().unwrap();
    assert!(id.starts_with("call_") && id.ends_with("_0"), "{id}");
    assert_eq!(call["function"]["name"], "find_theaters");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        args,
        json!({"movie": "Barbie", "location": "Mountain View, CA"})
    );
    assert_eq!(oai["choices"][0]["finish_reason"], "tool_calls");
    let (anth, _) = translate(CALL, Dialect::Anthropic);
    assert_eq!(anth["content"][0]["type"], "tool_use");
    assert_eq!(anth["content"][0]["input"]["movie"], "Barbie");
    assert_eq!(anth["stop_reason"], "tool_use");
}

#[test]
fn thoughts_usage_and_ids_from_upstream() {
    let resp = read(THINKING.as_bytes()).unwrap();
    assert_eq!(resp.id, "7Q5BaNnAE8ymz7IP-L-qwQc");
    assert_eq!(resp.model, "gemini-2.5-pro");
    assert!(
        matches!(&resp.content[0], ContentPart::Reasoning { signature: None, text } if text.starts_with("**Sorting"))
    );
    assert!(matches!(&resp.content[1], ContentPart::Text(t) if t.starts_with("Use `sorted")));
    assert_eq!(resp.finish_reason, Some(FinishReason::Length));
    // Canonical: uncached input only; output counts the thoughts Gemini bills as output.
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 1200 - 1024,
            output_tokens: 23 + 120,
            cache_read_tokens: 1024,
            cache_write_tokens: 0,
            reasoning_tokens: 120,
        }
    );
    let (oai, usage) = translate(THINKING, Dialect::OpenAi);
    assert_eq!(oai["id"], "7Q5BaNnAE8ymz7IP-L-qwQc");
    assert_eq!(oai["choices"][0]["finish_reason"], "length");
    assert!(oai["choices"][0]["message"]["reasoning_content"]
        .as_str()
        .unwrap()
        .contains("sorted()"));
    assert_eq!(oai["usage"]["prompt_tokens"], 1200);
    assert_eq!(oai["usage"]["prompt_tokens_details"]["cached_tokens"], 1024);
    assert_eq!(oai["usage"]["completion_tokens"], 143);
    assert_eq!(
        oai["usage"]["completion_tokens_details"]["reasoning_tokens"],
        120
    );
    // What metering gets is Gemini's own (inclusive) accounting, as for a same-format body.
    assert_eq!(
        usage,
        usage_from_response(WireFormat::Gemini, THINKING.as_bytes())
    );
    assert_eq!(usage.input_tokens, 1200);
    let (anth, _) = translate(THINKING, Dialect::Anthropic);
    assert_eq!(anth["content"][0]["type"], "thinking");
    assert_eq!(anth["usage"]["input_tokens"], 176);
    assert_eq!(anth["usage"]["cache_read_input_tokens"], 1024);
    assert_eq!(anth["stop_reason"], "max_tokens");
}

#[test]
fn blocked_prompt_is_a_content_filter_finish() {
    let (oai, usage) = translate(BLOCKED, Dialect::OpenAi);
    assert_eq!(oai["choices"][0]["finish_reason"], "content_filter");
    assert!(oai["choices"][0]["message"]["content"].is_null());
    assert_eq!(usage.input_tokens, 12);
    let (anth, _) = translate(BLOCKED, Dialect::Anthropic);
    assert_eq!(anth["stop_reason"], "refusal");
    assert_eq!(anth["content"], json!([]));
}

#[test]
fn finish_reasons() {
    assert_eq!(finish_reason_of("STOP"), Some(FinishReason::Stop));
    assert_eq!(finish_reason_of("MAX_TOKENS"), Some(FinishReason::Length));
    for r in [
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
    ] {
        assert_eq!(
            finish_reason_of(r),
            Some(FinishReason::ContentFilter),
            "{r}"
        );
    }
    assert_eq!(
        finish_reason_of("MALFORMED_FUNCTION_CALL"),
        Some(FinishReason::Other("malformed_function_call".into()))
    );
    assert_eq!(finish_reason_of("FINISH_REASON_UNSPECIFIED"), None);
    assert_eq!(
        with_calls(FinishReason::Stop, true),
        FinishReason::ToolCalls
    );
    assert_eq!(with_calls(FinishReason::Length, true), FinishReason::Length);
    assert_eq!(with_calls(FinishReason::Stop, false), FinishReason::Stop);
}

#[test]
fn second_candidate_and_odd_parts_are_ignored() {
    let body = br#"{"candidates":[
        {"index":1,"content":{"parts":[{"text":"other"}]},"finishReason":"STOP"},
        {"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"x"}},{"text":""},
          {"executableCode":{"language":"PYTHON","code":"1"}},{"text":"mine"},
          {"functionCall":{"name":"f","id":"fc-9"},"thoughtSignature":"QUJD"}]},
         "finishReason":"STOP"}],"responseId":"r-1"}"#;
    let resp = read(body).unwrap();
    assert_eq!(resp.content.len(), 2);
    assert!(matches!(&resp.content[0], ContentPart::Text(t) if t == "mine"));
    let ContentPart::ToolCall(c) = &resp.content[1] else {
        panic!("{:?}", resp.content[1])
    };
    // The upstream's own call id is kept, the signature rides along.
    assert_eq!(c.id, "fc-9__thought__QUJD");
    assert_eq!(c.arguments, "{}");
    assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn broken_and_error_bodies() {
    let e = read(b"{\"candidates\": 3}").unwrap_err();
    assert_eq!(e.kind, crate::error::ErrorKind::UpstreamProtocol);
    let e = read(br#"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#).unwrap_err();
    assert_eq!(e.kind, crate::error::ErrorKind::Overloaded);
    assert_eq!(usage_probe(b"not json"), None);
}
