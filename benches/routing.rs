//! Cost of routing decisions per request: the complexity classifier on a 4 KiB
//! prompt (text and code mixed, as a chat turn with a pasted snippet), and the whole
//! rule pass of a router (reading the body's facts, classifying, matching rules); the
//! capability check's two paths (the marker scan that spares most requests a parse,
//! and the parse into the request's shape) and the prefix-affinity key, placement
//! (estimate mode) and longest match.
//!
//! `cargo bench --bench routing`. Short measurement times: the machine is small and
//! shared; these numbers catch regressions, they are not for publishing.

#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use tollgate::config::{load_str, ComplexityThresholds};
use tollgate::error::Dialect;
use tollgate::policy::keys::KeyInfo;
use tollgate::routing::complexity::{classify, Shape};
use tollgate::routing::{facts, rules};

/// About 4 KiB of prompt: prose with questions, a fenced code block and some math.
fn prompt_4k() -> String {
    let unit = "Could you explain why this function is slow? ```rust\nfn sum(v: &[u64]) -> u64 { v.iter().sum() }\n```\nThe cost should be O(n) where n = v.len() and 2*n + 1 bytes are read. ";
    let mut text = String::new();
    while text.len() + unit.len() <= 4096 {
        text.push_str(unit);
    }
    text
}

fn classifier(c: &mut Criterion) {
    let text = prompt_4k();
    let mut g = c.benchmark_group("complexity");
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("classify_4KiB", |b| {
        b.iter(|| {
            classify(
                black_box(&text),
                Shape {
                    tools: true,
                    turns: 3,
                },
                ComplexityThresholds::default(),
            )
        })
    });
    g.finish();
}

const CONFIG: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - { name: small, targets: [{ provider: a, model: s }] }
  - { name: big, targets: [{ provider: a, model: b }] }
routers:
  - name: auto
    rules:
      - { name: free, route: small, when: { key_metadata: { tier: [free] } } }
      - { name: images, route: big, when: { images: true } }
      - { name: sql, route: big, when: { last_user_message: "(?i)\\bselect\\b.+\\bfrom\\b" } }
      - { name: hard, route: big, when: { complexity: [complex] } }
    default: small
"#;

fn rule_pass(c: &mut Criterion) {
    let config = load_str(CONFIG, &|_| None).expect("bench config");
    let router = config.router("auto").expect("router");
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "auto",
        "messages": [{"role": "system", "content": "You are helpful."},
                     {"role": "user", "content": prompt_4k()}]
    }))
    .expect("body");
    let key = KeyInfo::anonymous();
    let headers = http::HeaderMap::new();
    let mut g = c.benchmark_group("router");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("facts_and_rules_4KiB", |b| {
        b.iter(|| {
            let facts = facts::read(Dialect::OpenAi, black_box(&body));
            let inputs = rules::Inputs {
                key: &key,
                headers: &headers,
                user: None,
                prompt_tokens: 1000,
                max_tokens: None,
                stream: false,
                body: &facts,
            };
            rules::decide(
                router,
                &inputs,
                &tollgate::routing::semantic::Embedded::default(),
            )
        })
    });
    g.finish();
}

fn chat_body(content: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "model": "chat",
        "messages": [{"role": "system", "content": "You are helpful."},
                     {"role": "user", "content": content}]
    }))
    .expect("body")
}

fn capability_and_prefix(c: &mut Criterion) {
    let small = chat_body(&prompt_4k());
    let large = chat_body(&prompt_4k().repeat(256));
    let mut g = c.benchmark_group("capability");
    g.measurement_time(Duration::from_secs(3));
    for (name, body) in [("4KiB", &small), ("1MiB", &large)] {
        g.bench_function(format!("quick_check_{name}"), |b| {
            b.iter(|| tollgate::routing::capability::quick_shape(black_box(body), Some(100)))
        });
        g.bench_function(format!("request_shape_{name}"), |b| {
            b.iter(|| tollgate::formats::request_shape(Dialect::OpenAi, black_box(body)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("prefix");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("key_4KiB", |b| {
        b.iter(|| tollgate::routing::prefix::key(Dialect::OpenAi, black_box(&small), 4096))
    });
    // Estimate mode: the window key and the block hashes in one walk, and the longest
    // match against a full set of one endpoint.
    let balance = tollgate::config::balance::Balance::default();
    g.bench_function("placement_4KiB", |b| {
        b.iter(|| {
            tollgate::routing::prefix::placement(Dialect::OpenAi, black_box(&small), &balance)
        })
    });
    let (_, blocks) = tollgate::routing::prefix::placement(Dialect::OpenAi, &small, &balance);
    let mut set = tollgate::routing::prefix_index::BlockSet::new(balance.prefix_lru_blocks);
    for i in 0..balance.prefix_lru_blocks as u64 {
        set.insert(&[i.wrapping_mul(0x9e37_79b9_7f4a_7c15)]);
    }
    set.insert(&blocks);
    g.bench_function("matched_4KiB", |b| {
        b.iter(|| set.matched(black_box(&blocks)))
    });
    g.finish();
}

criterion_group!(benches, classifier, rule_pass, capability_and_prefix);
criterion_main!(benches);
