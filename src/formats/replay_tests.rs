use super::*;

/// An OpenAI chat completion with a text and a tool call (shape from the OpenAI API
/// reference, "Create chat completion" response).
const OPENAI_BODY: &str = r#"{"id":"chatcmpl-123","object":"chat.completion","created":1677652288,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there","tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#;

#[test]
fn a_synthesised_stream_assembles_back_to_the_same_answer() {
    for dialect in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini] {
        let sse = synthesize_stream(
            WireFormat::OpenAiChat,
            OPENAI_BODY.as_bytes(),
            dialect,
            true,
            "m",
        )
        .unwrap();
        let from = match dialect {
            Dialect::OpenAi => WireFormat::OpenAiChat,
            Dialect::Anthropic | Dialect::OpenAiResponses => WireFormat::AnthropicMessages,
            Dialect::Gemini => WireFormat::Gemini,
        };
        let mut asm = stream_assembler(from);
        // Arbitrary splits: the assembler survives them.
        for chunk in sse.chunks(7) {
            asm.feed(chunk);
        }
        let body = asm.finish("m").unwrap();
        let back = crate::formats::read_response(WireFormat::AnthropicMessages, &body).unwrap();
        let orig =
            crate::formats::read_response(WireFormat::OpenAiChat, OPENAI_BODY.as_bytes()).unwrap();
        assert_eq!(back.content, orig.content, "{dialect:?}");
        assert_eq!(back.finish_reason, orig.finish_reason);
        assert_eq!(back.usage.output_tokens, 12);
        assert_eq!(back.usage.input_tokens, 9);
    }
}

#[test]
fn a_cut_stream_is_not_assembled() {
    let sse = synthesize_stream(
        WireFormat::OpenAiChat,
        OPENAI_BODY.as_bytes(),
        Dialect::Anthropic,
        true,
        "m",
    )
    .unwrap();
    let mut asm = stream_assembler(WireFormat::AnthropicMessages);
    asm.feed(&sse[..sse.len() / 2]);
    assert!(asm.finish("m").is_none());
}
