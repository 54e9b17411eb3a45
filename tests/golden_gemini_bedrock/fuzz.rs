//! Bounded fixed-seed fuzzing of the Gemini and Bedrock translators: random bytes
//! and mutated fixtures into every stream translator, response translation, error
//! parsing and request translation. Nothing may panic, output stays bounded and
//! well-formed, malformed requests are 4xx; oversized events are refused early.

use serde_json::Value;
use tollgate::formats::{
    stream_translator, translate_request, translate_response, upstream_error, Dialect, WireFormat,
};

use super::{feed, read, stream_inputs, DIALECTS};

/// The project's one test PRNG and mutator (`src/test_rng.rs`).
#[path = "../../src/test_rng.rs"]
#[allow(dead_code)]
mod test_rng;

pub(crate) use test_rng::Rng;

/// Output a translator may produce for `input` bytes: generous, but bounded.
fn bound(input: usize) -> usize {
    64 * input + 64 * 1024
}

#[test]
fn fuzz_stream_translators() {
    let inputs = stream_inputs();
    let mut rng = Rng(0x00F0_22ED);
    for round in 0..600 {
        let (format, name, base) = &inputs[round % inputs.len()];
        let input = if round % 3 == 0 {
            {
                let n = rng.below(2048);
                rng.noise(n)
            }
        } else {
            rng.mutate(base)
        };
        let to = DIALECTS[round % 2];
        let mut t = stream_translator(*format, to, round % 4 == 0, "m");
        let lens: Vec<usize> = (0..8).map(|_| 1 + rng.below(300)).collect();
        let out = feed(&mut *t, &input, &lens);
        assert!(
            out.len() <= bound(input.len()),
            "{name} round {round}: output too large"
        );
        // Whatever came in, what goes out is well-formed SSE that ends the stream.
        let text =
            String::from_utf8(out).unwrap_or_else(|_| panic!("{name} round {round}: not UTF-8"));
        assert!(
            text.is_empty() || text.ends_with("\n\n"),
            "{name} round {round}"
        );
        let _ = t.usage();
    }
}

#[test]
fn fuzz_responses_errors_and_requests() {
    let mut rng = Rng(0x0BAD_C0DE);
    let responses: Vec<(WireFormat, Vec<u8>)> = [
        (WireFormat::Gemini, "gemini/response_text.json"),
        (WireFormat::Gemini, "gemini/response_function_call.json"),
        (WireFormat::Gemini, "gemini/response_thinking.json"),
        (WireFormat::Gemini, "gemini/error_rate_limit.json"),
        (
            WireFormat::BedrockConverse,
            "bedrock_converse/response_reasoning_cache.json",
        ),
        (
            WireFormat::BedrockConverse,
            "bedrock_converse/response_tool_use.json",
        ),
        (
            WireFormat::BedrockConverse,
            "bedrock_converse/error_access_denied.json",
        ),
    ]
    .into_iter()
    .map(|(f, p)| (f, read(p)))
    .collect();
    for round in 0..800 {
        let (format, base) = &responses[round % responses.len()];
        let body = if round % 4 == 0 {
            {
                let n = rng.below(1024);
                rng.noise(n)
            }
        } else {
            rng.mutate(base)
        };
        let to = DIALECTS[round % 2];
        if let Ok((out, _)) = translate_response(*format, to, &body, "m") {
            assert!(out.len() <= bound(body.len()));
            serde_json::from_slice::<Value>(&out).expect("a translated body is JSON");
        }
        let e = upstream_error(*format, [400, 429, 500, 503][round % 4], &body);
        assert!(
            e.message.len() <= body.len() + 512,
            "error messages stay short"
        );
    }
    let clients: Vec<(Dialect, Vec<u8>)> = [
        (Dialect::OpenAi, "gemini/client_openai.json"),
        (Dialect::Anthropic, "gemini/client_anthropic.json"),
        (Dialect::OpenAi, "bedrock_converse/client_openai.json"),
        (Dialect::Anthropic, "bedrock_converse/client_anthropic.json"),
    ]
    .into_iter()
    .map(|(d, p)| (d, read(p)))
    .collect();
    for round in 0..800 {
        let (from, base) = &clients[round % clients.len()];
        let body = rng.mutate(base);
        for format in [WireFormat::Gemini, WireFormat::BedrockConverse] {
            match translate_request(*from, format, &body, "m") {
                Ok(out) => {
                    serde_json::from_slice::<Value>(&out).expect("a translated body is JSON");
                }
                // Malformed input is the client's fault: a 4xx, never a 5xx.
                Err(e) => assert!((400..500).contains(&e.status()), "{e}"),
            }
        }
    }
}

/// A hostile upstream cannot make a translator buffer without bound: an SSE event
/// past the 16 MiB limit and an event-stream prelude announcing 1 GiB both end the
/// stream with an in-band error as soon as they are seen.
#[test]
fn oversized_events_are_refused_early() {
    let mut t = stream_translator(WireFormat::Gemini, Dialect::OpenAi, false, "m");
    let mut out = Vec::new();
    t.feed(b"data: ", &mut out).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let failed_at = (1..=17).find(|_| t.feed(&chunk, &mut out).is_err());
    assert_eq!(failed_at, Some(16), "refused once past 16 MiB");
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("larger than"), "{text}");
    t.feed(&chunk, &mut out).unwrap();
    t.finish(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        text,
        "nothing after the error"
    );

    // total length 1 GiB, no headers, and the prelude's own (valid) CRC32.
    let mut prelude = Vec::new();
    prelude.extend_from_slice(&(1u32 << 30).to_be_bytes());
    prelude.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&prelude);
    prelude.extend_from_slice(&crc.to_be_bytes());
    let mut t = stream_translator(WireFormat::BedrockConverse, Dialect::Anthropic, true, "m");
    let mut out = Vec::new();
    assert!(t.feed(&prelude, &mut out).is_err());
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("event: error\n") && text.contains("exceeds"),
        "{text}"
    );
}
