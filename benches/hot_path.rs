//! Micro-benchmarks of the per-request hot path, the pieces `scripts/bench.sh`
//! cannot see one by one: reading the request envelope and splicing the upstream
//! model into same-format bodies (1 KiB, and 1 MiB as coding agents send), reading a
//! held answer's usage (the whole parse, or from its end), OpenAI ↔ Anthropic
//! translation of requests, responses and streams, SSE decoding under
//! hostile chunking, rendering an error body, choosing a candidate with each
//! balancing strategy, and validating a whole config file (the cost of a reload).
//!
//! `cargo bench --bench hot_path` runs everything in about a minute and a half;
//! `cargo bench --bench hot_path -- envelope` runs one group. Measurement times are
//! short on purpose: the machine is small and shared, and these numbers are for
//! spotting regressions and hot spots, not for publishing.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use tollgate::config::Strategy;
use tollgate::error::{Dialect, ErrorKind, GatewayError};
use tollgate::formats::{self, WireFormat};
use tollgate::routing::select::{choose, Candidate};
use tollgate::sse::{SseDecoder, SseError};

const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("1MiB", 1024 * 1024)];

/// A chat request of `size` bytes (± a few): a system turn, one user turn of escaped
/// source code as agents send it, a tool, and `model` near the end so the envelope
/// skim walks the whole body before it finds it.
fn chat_body(size: usize, stream: bool) -> Vec<u8> {
    let head = r#"{"messages":[{"role":"system","content":"You are a careful coding assistant."},{"role":"user","content":""#;
    let tail = format!(
        r#""}}],"tools":[{{"type":"function","function":{{"name":"read_file","description":"Read a file","parameters":{{"type":"object","properties":{{"path":{{"type":"string"}}}},"required":["path"]}}}}}}],"max_tokens":512,"model":"gpt-4o-mini","stream":{stream}}}"#
    );
    let unit: &[u8] = br#"fn main() {\n    println!(\"hello, world\");\n}\n"#;
    let target = size.saturating_sub(tail.len());
    let mut body = Vec::with_capacity(size + unit.len());
    body.extend_from_slice(head.as_bytes());
    while body.len() + unit.len() <= target {
        body.extend_from_slice(unit);
    }
    body.resize(target.max(body.len()), b'x');
    body.extend_from_slice(tail.as_bytes());
    body
}

/// Non-streaming Anthropic Messages response: the example of the Messages API
/// reference (<https://docs.anthropic.com/en/api/messages>, "Response").
const ANTHROPIC_RESPONSE: &str = r#"{"content":[{"text":"Hi! My name is Claude.","type":"text"}],"id":"msg_013Zva2CMHLNnXjEJJKqJ2EF","model":"claude-3-5-sonnet-20241022","role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message","usage":{"input_tokens":2095,"output_tokens":503}}"#;

/// Anthropic stream: the "Basic streaming request" example of
/// <https://docs.anthropic.com/en/docs/build-with-claude/streaming>, with its
/// `content_block_delta` event repeated `deltas` times to make an answer of
/// realistic length.
fn anthropic_stream(deltas: usize) -> Vec<u8> {
    let mut s = String::new();
    s.push_str("event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-3-5-sonnet-20241022\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1}}}\n\n");
    s.push_str("event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n");
    s.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    for _ in 0..deltas {
        s.push_str("event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}\n\n");
    }
    s.push_str(
        "event: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\n",
    );
    s.push_str("event: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n");
    s.push_str("event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n");
    s.into_bytes()
}

/// OpenAI chat stream: the streaming example of the Chat Completions reference
/// (<https://platform.openai.com/docs/api-reference/chat/streaming>), with its
/// content chunk repeated `deltas` times, then the usage chunk that
/// `stream_options.include_usage` adds and `[DONE]`.
fn openai_stream(deltas: usize) -> Vec<u8> {
    let chunk = |delta: &str, finish: &str| {
        format!("data: {{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n")
    };
    let mut s = chunk(r#"{"role":"assistant","content":""}"#, "null");
    for _ in 0..deltas {
        s.push_str(&chunk(r#"{"content":"Hello"}"#, "null"));
    }
    s.push_str(&chunk("{}", "\"stop\""));
    s.push_str("data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}}\n\n");
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// Splits `bytes` at SSE event boundaries, as the mock and most providers write
/// them (one event per chunk).
fn event_chunks(bytes: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 1..bytes.len() {
        if bytes[i - 1] == b'\n' && bytes[i] == b'\n' {
            chunks.push(&bytes[start..=i]);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        chunks.push(&bytes[start..]);
    }
    chunks
}

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope");
    for (label, size) in SIZES {
        let body = chat_body(size, false);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse", label), &body, |b, body| {
            b.iter(|| formats::parse_envelope(Dialect::OpenAi, black_box(body)))
        });
        let env = match formats::parse_envelope(Dialect::OpenAi, &body) {
            Ok(env) if env.model == "gpt-4o-mini" => env,
            other => {
                eprintln!("envelope/{label}: the benchmark body does not parse as expected ({other:?}); skipped");
                continue;
            }
        };
        g.bench_with_input(
            BenchmarkId::new("rewrite_same_format", label),
            &body,
            |b, body| {
                b.iter(|| {
                    formats::rewrite_same_format(black_box(body), &env, "upstream-mini", false)
                })
            },
        );
        let stream_body = chat_body(size, true);
        if let Ok(senv) = formats::parse_envelope(Dialect::OpenAi, &stream_body) {
            // The stream case also splices `stream_options.include_usage`.
            g.bench_with_input(
                BenchmarkId::new("rewrite_same_format+usage", label),
                &stream_body,
                |b, body| {
                    b.iter(|| {
                        formats::rewrite_same_format(black_box(body), &senv, "upstream-mini", true)
                    })
                },
            );
        }
    }
    g.finish();
}

/// Reading the usage of a held same-format answer: the whole parse that also proves
/// it complete, and the read from its end used when its Content-Length was met.
fn usage(c: &mut Criterion) {
    let mut g = c.benchmark_group("usage");
    let answers = [
        (
            "openai",
            WireFormat::OpenAiChat,
            include_str!("../tests/fixtures/openai_chat/response_cached_usage.json"),
        ),
        (
            "anthropic",
            WireFormat::AnthropicMessages,
            include_str!("../tests/fixtures/anthropic_messages/response_cache_usage.json"),
        ),
    ];
    for (label, format, answer) in answers {
        let body = answer.as_bytes();
        if formats::usage_from_end(format, body) != formats::usage_probe(format, body) {
            eprintln!("usage/{label}: the two reads disagree; skipped");
            continue;
        }
        g.bench_with_input(BenchmarkId::new("whole_parse", label), body, |b, body| {
            b.iter(|| formats::usage_probe(format, black_box(body)))
        });
        g.bench_with_input(BenchmarkId::new("from_end", label), body, |b, body| {
            b.iter(|| formats::usage_from_end(format, black_box(body)))
        });
    }
    g.finish();
}

fn translate(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate");
    for (label, size) in SIZES {
        let body = chat_body(size, false);
        let once = formats::translate_request(
            Dialect::OpenAi,
            WireFormat::AnthropicMessages,
            &body,
            "claude",
        );
        if !usable(
            &format!("translate/request/{label}"),
            once.map(|out| out.len()),
        ) {
            continue;
        }
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("request_openai_to_anthropic", label),
            &body,
            |b, body| {
                b.iter(|| {
                    formats::translate_request(
                        Dialect::OpenAi,
                        WireFormat::AnthropicMessages,
                        black_box(body),
                        "claude-3-5-sonnet-20241022",
                    )
                })
            },
        );
    }
    let resp = ANTHROPIC_RESPONSE.as_bytes();
    let once = formats::translate_response(
        WireFormat::AnthropicMessages,
        Dialect::OpenAi,
        resp,
        "bench",
    );
    if usable("translate/response", once.map(|(out, _)| out.len())) {
        g.throughput(Throughput::Bytes(resp.len() as u64));
        g.bench_function("response_anthropic_to_openai", |b| {
            b.iter(|| {
                formats::translate_response(
                    WireFormat::AnthropicMessages,
                    Dialect::OpenAi,
                    black_box(resp),
                    "bench",
                )
            })
        });
    }
    g.finish();
}

/// Reports a hot-path call that fails on the benchmark's input: benchmarking its
/// error path would give a meaningless number.
fn usable<E: std::fmt::Display>(name: &str, result: Result<usize, E>) -> bool {
    match result {
        Ok(len) if len > 0 => true,
        Ok(_) => {
            eprintln!("{name}: empty output; skipped");
            false
        }
        Err(e) => {
            eprintln!("{name}: fails on the benchmark input ({e}); skipped");
            false
        }
    }
}

/// Feeds a whole stream, one event per chunk, through a fresh translator (created
/// per response in the proxy, so its construction is part of the cost).
fn run_stream(from: WireFormat, to: Dialect, chunks: &[&[u8]], out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut t = formats::stream_translator(from, to, false, "bench");
    for chunk in chunks {
        if t.feed(chunk, out).is_err() {
            break;
        }
    }
    t.finish(out);
    out.len()
}

fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream");
    let anthropic = anthropic_stream(100);
    let openai = openai_stream(100);
    let cases: [(&str, WireFormat, Dialect, &[u8]); 3] = [
        (
            "anthropic_to_openai_100_deltas",
            WireFormat::AnthropicMessages,
            Dialect::OpenAi,
            &anthropic,
        ),
        (
            "openai_passthrough_100_deltas",
            WireFormat::OpenAiChat,
            Dialect::OpenAi,
            &openai,
        ),
        (
            "openai_to_anthropic_100_deltas",
            WireFormat::OpenAiChat,
            Dialect::Anthropic,
            &openai,
        ),
    ];
    let mut out = Vec::with_capacity(64 * 1024);
    for (name, from, to, bytes) in cases {
        let chunks = event_chunks(bytes);
        // A translator that failed on the first event would be measured doing nothing.
        run_stream(from, to, &chunks, &mut out);
        let end: &[u8] = if to == Dialect::OpenAi {
            b"data: [DONE]\n\n"
        } else {
            b"event: message_stop\n"
        };
        if !out.windows(end.len()).any(|w| w == end) {
            eprintln!("stream/{name}: the translated stream does not end properly; skipped");
            continue;
        }
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| run_stream(from, to, black_box(&chunks), &mut out))
        });
    }
    // The SSE decoder alone, with the stream cut into 1-byte and 7-byte pieces: the
    // worst splits a TCP stream can produce.
    for piece in [1usize, 7] {
        g.bench_function(BenchmarkId::new("sse_decode_split", piece), |b| {
            b.iter(|| {
                let mut dec = SseDecoder::new();
                let mut events = 0usize;
                for chunk in anthropic.chunks(piece) {
                    let _ = dec.feed_with(chunk, |_| {
                        events += 1;
                        Ok::<(), SseError>(())
                    });
                }
                events
            })
        });
    }
    g.finish();
}

fn errors(c: &mut Criterion) {
    let mut g = c.benchmark_group("error_body");
    let e = GatewayError::new(
        ErrorKind::ModelNotFound,
        "The model `gpt-5-ultra` does not exist",
    )
    .with_param("model");
    for (name, dialect) in [
        ("openai", Dialect::OpenAi),
        ("anthropic", Dialect::Anthropic),
    ] {
        g.bench_function(name, |b| b.iter(|| black_box(&e).body(dialect)));
    }
    g.finish();
}

fn candidates(n: usize) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            target_index: i % 3,
            endpoint_index: i,
            addr: SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
            weight: 1 + (i as u64 % 3),
            in_flight: (i as u64 * 7) % 5,
            latency_us: 800 + (i as u64 * 331) % 1000,
            admit: Default::default(),
            last_failure_ms: 0,
            signals: Default::default(),
        })
        .collect()
}

fn select(c: &mut Criterion) {
    let mut g = c.benchmark_group("select");
    let strategies = [
        ("weighted", Strategy::Weighted),
        ("least_inflight", Strategy::LeastInflight),
        ("latency", Strategy::Latency),
        ("consistent_hash", Strategy::ConsistentHash),
    ];
    for n in [3usize, 8] {
        let cs = candidates(n);
        for (name, strategy) in strategies {
            let mut ticket = 0u64;
            g.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    ticket = ticket.wrapping_add(1);
                    choose(
                        strategy,
                        black_box(&cs),
                        ticket,
                        Some(b"user-1234".as_slice()),
                    )
                })
            });
        }
    }
    g.finish();
}

fn config(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/demo.yaml");
    let yaml = match std::fs::read_to_string(path) {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("config: cannot read {path}: {e}; skipped");
            return;
        }
    };
    // `${VAR}` references resolve to a placeholder, as with a populated environment.
    let env = |_: &str| Some("bench-secret".to_string());
    if let Err(e) = tollgate::config::load_str(&yaml, &env) {
        eprintln!("config: conf/demo.yaml does not validate: {e}; skipped");
        return;
    }
    let mut g = c.benchmark_group("config");
    g.bench_function("load_str_demo_yaml", |b| {
        b.iter(|| tollgate::config::load_str(black_box(&yaml), &env))
    });
    g.finish();
}

fn settings() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = hot_path;
    config = settings();
    targets = envelope, usage, translate, streams, errors, select, config
}
criterion_main!(hot_path);
