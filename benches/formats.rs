#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hot-path benchmarks of the format layer: envelope skim and same-format rewrite
//! (raced against a naive full `serde_json::Value` parse), cross-format request and
//! response translation, and stream translation per event in both directions.
//!
//! Run: `cargo bench --bench formats` (needs `[[bench]] name = "formats"`,
//! `harness = false` in Cargo.toml).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tollgate::formats::{
    parse_envelope, rewrite_same_format, stream_translator, translate_request, translate_response,
    Dialect, WireFormat,
};

const OAI_TOOLS: &str = include_str!("../tests/fixtures/openai_chat/request_tool_results.json");
const ANTH_THINKING: &str =
    include_str!("../tests/fixtures/anthropic_messages/request_thinking.json");
const ANTH_RESPONSE: &str =
    include_str!("../tests/fixtures/anthropic_messages/response_tool_use.json");
const OAI_RESPONSE: &str = include_str!("../tests/fixtures/openai_chat/response_tool_calls.json");
const ANTH_STREAM: &str = include_str!("../tests/fixtures/anthropic_messages/stream_tool_use.sse");
const OAI_STREAM: &str = include_str!("../tests/fixtures/openai_chat/stream_tool_calls.sse");
const GEMINI_CLIENT: &str =
    include_str!("../tests/fixtures/gemini_native/request_function_response.json");

/// An OpenAI chat body of about `size` bytes: a coding-agent-like conversation whose
/// text has the escapes real prompts have (newlines, quotes).
fn body_of_size(size: usize) -> Vec<u8> {
    let line = "    let x = \\\"value\\\"; // a line of code with \\\"quotes\\\"\\n";
    let mut text = String::new();
    while text.len() < size.saturating_sub(300) {
        text.push_str(line);
    }
    format!(
        r#"{{"model":"gpt-4o","stream":true,"messages":[{{"role":"system","content":"You are a coding agent."}},{{"role":"user","content":"{text}"}}],"temperature":0.2}}"#
    )
    .into_bytes()
}

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope");
    for (name, body) in [
        ("1KiB", body_of_size(1024)),
        ("1MiB", body_of_size(1 << 20)),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("parse_envelope", name),
            &body,
            |b, body| b.iter(|| parse_envelope(Dialect::OpenAi, black_box(body))),
        );
        g.bench_with_input(
            BenchmarkId::new("naive_serde_value", name),
            &body,
            |b, body| {
                b.iter(|| {
                    serde_json::from_slice::<serde_json::Value>(black_box(body))
                        .map(|v| v["model"].clone())
                })
            },
        );
        let env = parse_envelope(Dialect::OpenAi, &body).unwrap_or_else(|e| panic!("{e}"));
        g.bench_with_input(
            BenchmarkId::new("rewrite_same_format", name),
            &body,
            |b, body| {
                b.iter(|| rewrite_same_format(black_box(body), &env, "gpt-4o-2024-08-06", true))
            },
        );
    }
    g.finish();
}

fn requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_request");
    let big = body_of_size(1 << 20);
    for (name, from, to, body) in [
        (
            "openai_to_anthropic/tools",
            Dialect::OpenAi,
            WireFormat::AnthropicMessages,
            OAI_TOOLS.as_bytes(),
        ),
        (
            "openai_to_anthropic/1MiB",
            Dialect::OpenAi,
            WireFormat::AnthropicMessages,
            &big[..],
        ),
        (
            "anthropic_to_openai/thinking",
            Dialect::Anthropic,
            WireFormat::OpenAiChat,
            ANTH_THINKING.as_bytes(),
        ),
        (
            "gemini_to_openai/function_response",
            Dialect::Gemini,
            WireFormat::OpenAiChat,
            GEMINI_CLIENT.as_bytes(),
        ),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| translate_request(from, to, black_box(body), "upstream-model"))
        });
    }
    g.finish();
}

fn responses(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_response");
    g.bench_function("anthropic_to_openai", |b| {
        b.iter(|| {
            translate_response(
                WireFormat::AnthropicMessages,
                Dialect::OpenAi,
                black_box(ANTH_RESPONSE.as_bytes()),
                "alias",
            )
        })
    });
    g.bench_function("openai_to_anthropic", |b| {
        b.iter(|| {
            translate_response(
                WireFormat::OpenAiChat,
                Dialect::Anthropic,
                black_box(OAI_RESPONSE.as_bytes()),
                "alias",
            )
        })
    });
    g.bench_function("openai_to_gemini", |b| {
        b.iter(|| {
            translate_response(
                WireFormat::OpenAiChat,
                Dialect::Gemini,
                black_box(OAI_RESPONSE.as_bytes()),
                "alias",
            )
        })
    });
    g.finish();
}

/// Whole streams fed event by event; throughput is reported per event.
fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream");
    for (name, from, to, input) in [
        (
            "anthropic_to_openai",
            WireFormat::AnthropicMessages,
            Dialect::OpenAi,
            ANTH_STREAM,
        ),
        (
            "openai_to_anthropic",
            WireFormat::OpenAiChat,
            Dialect::Anthropic,
            OAI_STREAM,
        ),
        (
            "openai_passthrough_strip_usage",
            WireFormat::OpenAiChat,
            Dialect::OpenAi,
            OAI_STREAM,
        ),
        (
            "anthropic_passthrough",
            WireFormat::AnthropicMessages,
            Dialect::Anthropic,
            ANTH_STREAM,
        ),
        (
            "anthropic_to_gemini",
            WireFormat::AnthropicMessages,
            Dialect::Gemini,
            ANTH_STREAM,
        ),
    ] {
        let events: Vec<&[u8]> = input.split_inclusive("\n\n").map(str::as_bytes).collect();
        g.throughput(Throughput::Elements(events.len() as u64));
        let mut out = Vec::with_capacity(64 * 1024);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut t = stream_translator(from, to, false, "alias");
                out.clear();
                for e in &events {
                    let _ = t.feed(black_box(e), &mut out);
                }
                t.finish(&mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, envelope, requests, responses, streams);
criterion_main!(benches);
