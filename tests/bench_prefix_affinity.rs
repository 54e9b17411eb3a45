//! Prefix-affinity benchmark, a bounded run through the real binary: 4 mock replicas
//! with the simulated prefix cache (64-character blocks, an LRU roomy enough for the
//! whole working set, 20 µs of prefill per uncached token before the first token),
//! 200 tenants each with a long system prompt (about 1,500 tokens), 3 conversations
//! per tenant, 4 turns each, sent turn by turn over 8 concurrent client connections.
//!
//! For round robin (`weighted`), consistent hash on `user` (one user per
//! conversation), `prefix_affinity` in both modes (`hash`: the bounded-load hash of
//! the leading window; `estimate`, the default: the replica that was sent the longest
//! prefix), and everything to one replica, it prints the
//! prompt-cache hit ratio (cached prompt characters / all, from the replicas), the
//! mean and p99 time to first token (first SSE chunk, seen by the client) and the load
//! imbalance (max / mean requests per replica). It checks the targets: prefix-aware
//! (estimate mode) reaches ≥ 90 % of the one-replica hit ratio with imbalance ≤ 1.25.
//!
//! `TOLLGATE_PREFIX_BENCH_TENANTS` sets a smaller or larger tenant count. Run:
//! `cargo test --release --test bench_prefix_affinity -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tollgate_mock::{MockServer, PrefixCacheConfig};

use common::http::Conn;
use common::Gateway;

const REPLICAS: usize = 4;
const CONVERSATIONS: usize = 3;
const TURNS: usize = 4;
const CLIENTS: usize = 8;
/// The mock's answer with its default 8 tokens, kept as the assistant turn.
const ANSWER: &str = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";

struct Run {
    name: &'static str,
    hit_ratio: f64,
    mean_ttft: Duration,
    p99_ttft: Duration,
    imbalance: f64,
}

/// Deterministic words: a tenant's system prompt and a turn's question differ from
/// every other's from their first characters.
fn words(seed: u64, n: usize) -> String {
    const VOCAB: [&str; 16] = [
        "policy", "refund", "account", "shipping", "invoice", "warranty", "escalate", "customer",
        "order", "support", "billing", "priority", "ticket", "region", "limit", "contract",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            VOCAB[(x % 16) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn system_prompt(tenant: usize) -> String {
    format!(
        "You are the assistant of tenant {tenant}. Follow these rules. {}",
        words(tenant as u64 + 1, 700)
    )
}

/// Conversation `c` of tenant `t` up to and including user turn `turn`.
fn request(t: usize, c: usize, turn: usize, model: &str) -> Vec<u8> {
    let mut messages = vec![json!({"role": "system", "content": system_prompt(t)})];
    for k in 0..=turn {
        let q = format!(
            "Question {k} of conversation {c}: {}",
            words((t * 1000 + c * 10 + k) as u64 + 7, 30)
        );
        messages.push(json!({"role": "user", "content": q}));
        if k < turn {
            messages.push(json!({"role": "assistant", "content": ANSWER}));
        }
    }
    let body: Value = json!({"model": model, "stream": true,
        "user": format!("tenant-{t}-user-{c}"), "messages": messages});
    serde_json::to_vec(&body).unwrap()
}

fn run(gw: &Gateway, replicas: &[MockServer], model: &'static str, tenants: usize) -> Run {
    for r in replicas {
        r.reset();
    }
    let conversations: Vec<(usize, usize)> = (0..tenants)
        .flat_map(|t| (0..CONVERSATIONS).map(move |c| (t, c)))
        .collect();
    let ttfts = Mutex::new(Vec::new());
    for turn in 0..TURNS {
        // A fixed shuffle per turn, so a tenant's conversations interleave with others'.
        let mut order: Vec<usize> = (0..conversations.len()).collect();
        order.sort_by_key(|&i| (i as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ turn as u64);
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..CLIENTS {
                s.spawn(|| {
                    let mut conn = Conn::open(&gw.addr);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&k) = order.get(i) else { break };
                        let (t, c) = conversations[k];
                        let body = request(t, c, turn, model);
                        let r = conn.request(
                            "POST",
                            "/v1/chat/completions",
                            &[("content-type", "application/json")],
                            &body,
                        );
                        assert_eq!(r.status, 200, "{}", r.text());
                        let first = r.chunks.first().map(|(at, _)| *at).unwrap();
                        ttfts.lock().unwrap().push(first);
                    }
                });
            }
        });
    }
    let (mut cached, mut all) = (0u64, 0u64);
    let mut hits = Vec::new();
    for r in replicas {
        let (c, a) = r.prefix_cache_stats();
        cached += c;
        all += a;
        hits.push(r.hits());
    }
    let used: Vec<usize> = hits.iter().copied().filter(|h| *h > 0).collect();
    let mean = used.iter().sum::<usize>() as f64 / used.len() as f64;
    let imbalance = *used.iter().max().unwrap() as f64 / mean;
    let mut t = ttfts.into_inner().unwrap();
    t.sort();
    let mean_ttft = t.iter().sum::<Duration>() / t.len() as u32;
    let p99_ttft = t[(t.len() * 99 / 100).min(t.len() - 1)];
    assert_eq!(
        hits.iter().sum::<usize>(),
        tenants * CONVERSATIONS * TURNS,
        "{model}: every request reached a replica once"
    );
    Run {
        name: model,
        hit_ratio: cached as f64 / all as f64,
        mean_ttft,
        p99_ttft,
        imbalance,
    }
}

#[test]
fn prefix_affinity_keeps_the_cache_hit_ratio_with_balanced_replicas() {
    let tenants: usize = std::env::var("TOLLGATE_PREFIX_BENCH_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cache = PrefixCacheConfig {
        block_chars: 64,
        capacity_blocks: 1 << 17,
        us_per_uncached_token: 20,
    };
    let replicas: Vec<MockServer> = (0..REPLICAS)
        .map(|i| common::mock_with(&format!("r{i}"), |c| c.prefix_cache = Some(cache)))
        .collect();
    let urls: Vec<String> = replicas
        .iter()
        .map(|r| format!("\"{}\"", r.url()))
        .collect();
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
logging: {{ access_log: false }}
providers:
  - {{ name: pool, format: openai, base_urls: [{pool}] }}
  - {{ name: one, format: openai, base_url: "{one}" }}
models:
  - {{ name: round_robin, strategy: weighted, targets: [{{ provider: pool, model: llama }}] }}
  - {{ name: hash_user, strategy: consistent_hash, targets: [{{ provider: pool, model: llama }}] }}
  - {{ name: prefix_hash, strategy: prefix_affinity, balance: {{ prefix_mode: hash }}, targets: [{{ provider: pool, model: llama }}] }}
  - {{ name: prefix_aware, strategy: prefix_affinity, targets: [{{ provider: pool, model: llama }}] }}
  - {{ name: one_replica, targets: [{{ provider: one, model: llama }}] }}
"#,
        pool = urls.join(", "),
        one = replicas[0].url()
    ));
    let runs: Vec<Run> = [
        "one_replica",
        "round_robin",
        "hash_user",
        "prefix_hash",
        "prefix_aware",
    ]
    .into_iter()
    .map(|m| run(&gw, &replicas, m, tenants))
    .collect();
    println!(
        "\n{tenants} tenants x {CONVERSATIONS} conversations x {TURNS} turns, {REPLICAS} replicas"
    );
    println!("| strategy | hit ratio | mean TTFT | p99 TTFT | imbalance |");
    println!("|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {:.1} % | {:.2} ms | {:.2} ms | {:.2} |",
            r.name,
            r.hit_ratio * 100.0,
            r.mean_ttft.as_secs_f64() * 1e3,
            r.p99_ttft.as_secs_f64() * 1e3,
            r.imbalance
        );
    }
    let single = &runs[0];
    let prefix = &runs[4];
    assert!(
        prefix.hit_ratio >= 0.9 * single.hit_ratio,
        "prefix-aware {:.3} vs one replica {:.3}",
        prefix.hit_ratio,
        single.hit_ratio
    );
    assert!(
        prefix.imbalance <= 1.25,
        "imbalance {:.3}",
        prefix.imbalance
    );
    assert!(
        prefix.hit_ratio > runs[1].hit_ratio,
        "prefix-aware beats round robin"
    );
}
