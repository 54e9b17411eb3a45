//! A held answer's usage read from its end (`usage_from_end`) agrees with the whole
//! parse (`usage_probe`) on every provider's documented answers, as sent and
//! re-serialised (keys in another order, compact).

use super::*;

const ANSWERS: &[(WireFormat, &str)] = &[
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/response_text.json"),
    ),
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/response_tool_calls.json"),
    ),
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/response_cached_usage.json"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/response_text.json"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/response_tool_use.json"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/response_thinking.json"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/response_cache_usage.json"),
    ),
    (
        WireFormat::Gemini,
        include_str!("../../tests/fixtures/gemini/response_text.json"),
    ),
    (
        WireFormat::Gemini,
        include_str!("../../tests/fixtures/gemini/response_function_call.json"),
    ),
    (
        WireFormat::Gemini,
        include_str!("../../tests/fixtures/gemini/response_thinking.json"),
    ),
    (
        WireFormat::BedrockConverse,
        include_str!("../../tests/fixtures/bedrock_converse/response_text.json"),
    ),
    (
        WireFormat::BedrockConverse,
        include_str!("../../tests/fixtures/bedrock_converse/response_tool_use.json"),
    ),
    (
        WireFormat::BedrockConverse,
        include_str!("../../tests/fixtures/bedrock_converse/response_reasoning_cache.json"),
    ),
    (
        WireFormat::OpenAiResponses,
        include_str!("../../tests/fixtures/openai_responses/response.json"),
    ),
    (
        WireFormat::OpenAiResponses,
        include_str!("../../tests/fixtures/openai_responses/response_function.json"),
    ),
];

#[test]
fn usage_read_from_the_end_is_the_usage_of_the_whole_answer() {
    let mut metered = 0;
    for (i, (format, doc)) in ANSWERS.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(doc).unwrap();
        for body in [doc.to_string(), value.to_string()] {
            let whole = usage_probe(*format, body.as_bytes()).unwrap();
            metered += usize::from(whole.total() > 0);
            let from_end = usage_from_end(*format, body.as_bytes());
            // An answer without usage is found by the whole parse only (zero).
            assert_eq!(from_end.unwrap_or_default(), whole, "answer {i}");
        }
    }
    // Two of the documented answers carry no usage; the others all do.
    assert_eq!(metered, 2 * (ANSWERS.len() - 2));
}

#[test]
fn an_answer_without_usage_or_with_null_usage_reads_as_none_or_zero() {
    let f = WireFormat::OpenAiChat;
    assert_eq!(usage_from_end(f, br#"{"id":"x","choices":[]}"#), None);
    assert_eq!(
        usage_from_end(f, br#"{"id":"x","usage":null}"#),
        Some(Usage::default())
    );
    // A value that is not usage: the caller falls back to the whole parse.
    assert_eq!(usage_from_end(f, br#"{"usage":"lots"}"#), None);
}
