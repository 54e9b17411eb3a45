//! Fuzz-style property tests (bounded iterations, fixed seeds): random bytes and
//! random mutations of the fixtures go through the SSE decoder, every stream
//! translator, and every body translation. Nothing may panic, translated streams
//! must stay well-formed (every event's data is JSON), pass-throughs must stay
//! byte-exact, and oversized events must fail instead of growing memory.

use super::test_support::{events, Rng};
use super::*;
use crate::sse::{SseDecoder, DEFAULT_MAX_EVENT_SIZE};

const STREAMS: &[(WireFormat, &str)] = &[
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/stream_text.sse"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/stream_tool_use.sse"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/stream_thinking.sse"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/stream_error.sse"),
    ),
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/stream_text.sse"),
    ),
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/stream_tool_calls.sse"),
    ),
    (
        WireFormat::OpenAiChat,
        include_str!("../../tests/fixtures/openai_chat/stream_error.sse"),
    ),
    (
        WireFormat::Gemini,
        include_str!("../../tests/fixtures/gemini/stream_text.sse"),
    ),
    (
        WireFormat::Gemini,
        include_str!("../../tests/fixtures/gemini/stream_function_call.sse"),
    ),
];

const REQUESTS: &[(Dialect, &str)] = &[
    (
        Dialect::Gemini,
        include_str!("../../tests/fixtures/gemini_native/request_function_response.json"),
    ),
    (
        Dialect::Gemini,
        include_str!("../../tests/fixtures/gemini_native/request_single_turn_tools.json"),
    ),
    (
        Dialect::OpenAi,
        include_str!("../../tests/fixtures/openai_chat/request_tool_results.json"),
    ),
    (
        Dialect::OpenAi,
        include_str!("../../tests/fixtures/openai_chat/request_image.json"),
    ),
    (
        Dialect::OpenAi,
        include_str!("../../tests/fixtures/openai_chat/request_json_schema.json"),
    ),
    (
        Dialect::Anthropic,
        include_str!("../../tests/fixtures/anthropic_messages/request_thinking.json"),
    ),
    (
        Dialect::Anthropic,
        include_str!("../../tests/fixtures/anthropic_messages/request_tool_error_and_image.json"),
    ),
    (
        Dialect::Anthropic,
        include_str!("../../tests/fixtures/anthropic_messages/request_system_multiturn.json"),
    ),
];

const RESPONSES: &[(WireFormat, &str)] = &[
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
        include_str!("../../tests/fixtures/anthropic_messages/response_thinking.json"),
    ),
    (
        WireFormat::AnthropicMessages,
        include_str!("../../tests/fixtures/anthropic_messages/response_tool_use.json"),
    ),
];

fn feed_randomly(rng: &mut Rng, t: &mut dyn StreamTranslator, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + 1 + rng.below(48)).min(input.len());
        let _ = t.feed(&input[pos..end], &mut out);
        pos = end;
    }
    t.finish(&mut out);
    out
}

/// Every combination the proxy can build.
fn translators() -> Vec<(WireFormat, Dialect, bool)> {
    let mut v = Vec::new();
    for from in [
        WireFormat::OpenAiChat,
        WireFormat::AnthropicMessages,
        WireFormat::Gemini,
    ] {
        for to in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini] {
            for usage in [false, true] {
                v.push((from, to, usage));
            }
        }
    }
    v
}

fn check_stream(from: WireFormat, to: Dialect, usage: bool, input: &[u8], rng: &mut Rng) {
    let mut t = stream_translator(from, to, usage, "m");
    let out = feed_randomly(rng, &mut *t, input);
    let _ = t.usage();
    if from.native_dialect() == Some(to) {
        if usage {
            // Untouched bytes, then at most a closing error event.
            assert!(out.starts_with(input), "pass-through changed the stream");
        }
        return;
    }
    let evs = events(&out);
    for e in &evs {
        if e.data != "[DONE]" {
            assert!(
                serde_json::from_str::<serde_json::Value>(&e.data).is_ok(),
                "broken event data: {:?}",
                e.data
            );
        }
    }
    // The stream always ends with a terminal event: done, stop, or an error.
    let last = evs.last().map(|e| (e.event.as_deref(), e.data.as_str()));
    let terminal = match last {
        Some((_, "[DONE]")) | Some((Some("message_stop"), _)) | Some((Some("error"), _)) => true,
        // Gemini chunks: the last carries the finish reason, or is an error.
        Some((None, data)) => data.starts_with("{\"error\"") || data.contains("\"finishReason\""),
        _ => false,
    };
    assert!(
        terminal,
        "no terminal event in {:?}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn mutated_streams_never_break_translators() {
    let mut rng = Rng(0xF022_0001);
    for &(from, fixture) in STREAMS {
        for _ in 0..40 {
            let input = rng.mutate(fixture.as_bytes());
            for (f, to, usage) in translators() {
                if f == from {
                    check_stream(from, to, usage, &input, &mut rng);
                }
            }
        }
    }
}

#[test]
fn random_bytes_never_break_translators() {
    let mut rng = Rng(0xF022_0002);
    for _ in 0..150 {
        let len = rng.below(400);
        let input = rng.noise(len);
        for (from, to, usage) in translators() {
            check_stream(from, to, usage, &input, &mut rng);
        }
        let mut dec = SseDecoder::with_max_event_size(128);
        let _ = dec.feed(&input);
        let _ = dec.finish();
    }
}

#[test]
fn mutated_bodies_never_panic() {
    let mut rng = Rng(0xF022_0003);
    for &(dialect, fixture) in REQUESTS {
        for _ in 0..150 {
            let body = rng.mutate(fixture.as_bytes());
            let env = match dialect {
                Dialect::Gemini => parse_gemini_envelope(&body, "m", false),
                _ => parse_envelope(dialect, &body),
            };
            if let Ok(env) = env {
                let out = rewrite_same_format(&body, &env, "other-model", true);
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&out).is_ok(),
                    "rewrite broke the JSON"
                );
            }
            let _ = estimate_prompt_tokens(dialect, &body);
            for to in [
                WireFormat::OpenAiChat,
                WireFormat::AnthropicMessages,
                WireFormat::Gemini,
            ] {
                if let Ok(out) = translate_request(dialect, to, &body, "m") {
                    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
                }
            }
        }
    }
    for &(from, fixture) in RESPONSES {
        for _ in 0..150 {
            let body = rng.mutate(fixture.as_bytes());
            let _ = usage_from_response(from, &body);
            let _ = upstream_error(from, 400 + rng.below(200) as u16, &body);
            for to in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini] {
                let translated = translate_response(from, to, &body, "m");
                if let (Ok((out, _)), false) = (translated, from.native_dialect() == Some(to)) {
                    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
                }
            }
        }
    }
}

#[test]
fn endless_event_is_an_error_not_unbounded_memory() {
    let chunk = vec![b'x'; 1 << 20];
    for (from, to, usage) in translators().into_iter().filter(|t| t.2) {
        let mut t = stream_translator(from, to, usage, "m");
        let mut out = Vec::new();
        let _ = t.feed(b"data: ", &mut out);
        let mut failed = false;
        for _ in 0..(DEFAULT_MAX_EVENT_SIZE >> 20) + 2 {
            out.clear();
            if t.feed(&chunk, &mut out).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "{from:?} -> {to:?} kept buffering");
        let tail = String::from_utf8_lossy(&out[out.len().saturating_sub(400)..]).into_owned();
        assert!(tail.contains("larger than"), "{tail}");
    }
}
