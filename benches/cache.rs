//! Costs of the response cache that `scripts/bench.sh` cannot isolate: the exact key
//! of a request (parse into the canonical model + SHA-256), a memory-store lookup,
//! the semantic index's search — `exact` (every row compared) against `ann` (the
//! LSH buckets a scope keeps from `ANN_MIN_ENTRIES` rows on) — at 256 to 100 000
//! entries (1536-float vectors, the size of OpenAI's `text-embedding-3-small`, all
//! in one scope; the query is a paraphrase at similarity 0.95 of one stored
//! question, so the lookup is a hit), and the memory each kind of entry takes
//! (printed once, measured as the process's resident-set growth, with freed heap
//! memory given back to the system before each reading so one group's leftovers do
//! not hide the other's growth).
//!
//! `cargo bench --bench cache` runs it in about a minute.

#![allow(clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

use tollgate::cache::semantic::{Record, SemanticIndex, ANN_MIN_ENTRIES};
use tollgate::cache::{request_key, CacheStore, Entry};
use tollgate::config::load_str;
use tollgate::error::Dialect;
use tollgate::formats::WireFormat;
use tollgate::model::Usage;

const DIMS: usize = 1536;

/// The ~300-byte chat request of `scripts/bench/chat.json.tmpl`.
const REQUEST: &[u8] = br#"{"model":"bench-cached","stream":false,"max_tokens":64,"temperature":0.2,"messages":[{"role":"system","content":"You are a concise assistant for a platform team."},{"role":"user","content":"Summarise in two sentences why an LLM gateway should stream tokens as they arrive instead of buffering the answer."}]}"#;

/// A ~700-byte OpenAI chat completion, the size of the mock's answers.
const ANSWER: &str = r#"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Streaming lets the client show the first words after the time to first token instead of after the whole generation, which is what users perceive as speed. It also keeps idle timeouts of proxies and load balancers from cutting long answers.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}"#;

/// Deterministic pseudo-random unit vectors (xorshift64*).
struct Vectors(u64);

impl Vectors {
    fn next(&mut self) -> Vec<f32> {
        let v: Vec<f32> = (0..DIMS)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
                (x as f32 / (1u64 << 23) as f32) - 1.0
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Resident set size of this process in bytes, after freed heap memory went back to
/// the system.
fn rss() -> u64 {
    // SAFETY: malloc_trim only releases free memory of glibc's heap; it has no
    // preconditions and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn index_of(entries: usize) -> SemanticIndex {
    let index = SemanticIndex::new(entries);
    let mut gen = Vectors(0x9e37_79b9_7f4a_7c15);
    let expires_ms = now_ms() + 3_600_000;
    let (route, namespace): (Arc<str>, Arc<str>) = (Arc::from("m"), Arc::from("team:t"));
    for i in 0..entries {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        index.insert(
            &Record {
                scope: [1; 32],
                key,
                expires_ms,
                route: route.clone(),
                namespace: namespace.clone(),
                vector: gen.next().into(),
            },
            0,
        );
    }
    index
}

/// A unit vector at similarity `s` to the unit vector `x`.
fn paraphrase(x: &[f32], s: f32, noise: &[f32]) -> Vec<f32> {
    let along: f32 = noise.iter().zip(x).map(|(n, x)| n * x).sum();
    let ortho: Vec<f32> = noise.iter().zip(x).map(|(n, x)| n - along * x).collect();
    let n = ortho.iter().map(|o| o * o).sum::<f32>().sqrt();
    let t = (1.0 - s * s).sqrt();
    x.iter()
        .zip(&ortho)
        .map(|(x, o)| s * x + t * o / n)
        .collect()
}

fn semantic_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("semantic_lookup");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    eprintln!("ANN_MIN_ENTRIES = {ANN_MIN_ENTRIES}");
    // `cargo test --benches` runs each bench once in an unoptimised build: building
    // the large indexes there (every insert hashed by 168 hyperplanes) would take
    // minutes, so it checks the small ones only.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if benchmarking {
        &[256, 512, 1_024, 2_048, 10_000, 100_000]
    } else {
        &[256, 2_048]
    };
    for &entries in sizes {
        let before = rss();
        let index = index_of(entries);
        let grown = rss().saturating_sub(before);
        eprintln!(
            "semantic index, {entries} entries of {DIMS} floats: {} bytes per entry (RSS growth)",
            grown / entries as u64
        );
        // Entry `entries / 2` was the generator's (entries/2 + 1)-th vector.
        let mut gen = Vectors(0x9e37_79b9_7f4a_7c15);
        let stored = (0..=entries / 2)
            .map(|_| gen.next())
            .last()
            .unwrap_or_default();
        let query = paraphrase(&stored, 0.95, &Vectors(42).next());
        let now = now_ms();
        let want = index
            .lookup_exact(&[1; 32], &query, 0.9, now)
            .map(|m| m.key);
        assert_eq!(
            index.lookup(&[1; 32], &query, 0.9, now).map(|m| m.key),
            want
        );
        assert!(want.is_some());
        g.bench_with_input(BenchmarkId::new("exact", entries), &entries, |b, _| {
            b.iter(|| black_box(index.lookup_exact(&[1; 32], black_box(&query), 0.9, now)))
        });
        if entries >= ANN_MIN_ENTRIES {
            g.bench_with_input(BenchmarkId::new("ann", entries), &entries, |b, _| {
                b.iter(|| black_box(index.lookup(&[1; 32], black_box(&query), 0.9, now)))
            });
        }
    }
    g.finish();
}

fn exact(c: &mut Criterion) {
    let cfg = load_str(
        "providers:\n  - {name: p, format: openai, base_url: \"http://127.0.0.1:1\"}\nmodels:\n  - name: bench-cached\n    targets: [{provider: p, model: x}]\n    cache: {}\n",
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let route = cfg
        .model("bench-cached")
        .cloned()
        .unwrap_or_else(|| panic!("route"));
    let rc = route.cache.clone().unwrap_or_else(|| panic!("cache"));
    let mut g = c.benchmark_group("exact");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    g.bench_function("key", |b| {
        b.iter(|| request_key(Dialect::OpenAi, black_box(REQUEST), &route, &rc, "team:t"))
    });

    let entries = 100_000u32;
    let store = CacheStore::in_memory(4 << 30);
    let before = rss();
    for i in 0..entries {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&i.to_le_bytes());
        let entry = Entry::new(
            WireFormat::OpenAiChat,
            Bytes::from(ANSWER.as_bytes().to_vec()),
            Usage::default(),
            Arc::from("gpt-4o"),
            Arc::from("bench-cached"),
            Arc::from("team:t"),
            Duration::from_secs(3600),
            Vec::new(),
        );
        store.insert(key, entry, None);
    }
    let grown = rss().saturating_sub(before);
    eprintln!(
        "memory store, {entries} entries of a {}-byte answer: {} bytes per entry (RSS growth)",
        ANSWER.len(),
        grown / u64::from(entries)
    );
    let key = {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&777u32.to_le_bytes());
        k
    };
    g.bench_function("memory_get", |b| {
        b.iter(|| futures::executor::block_on(store.get("bench-cached", "team:t", black_box(&key))))
    });
    g.finish();
}

criterion_group!(benches, semantic_lookup, exact);
criterion_main!(benches);
