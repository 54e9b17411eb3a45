use std::net::SocketAddr;

use super::*;
use crate::routing::health::Admit;
use crate::routing::Signals;

fn openai(system: &str, user: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"model": "m", "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": user}]}))
    .unwrap()
}

#[test]
fn the_key_covers_the_leading_part_in_any_dialect() {
    let system = "You are the support assistant of tenant 17. ".repeat(40);
    let a = key(Dialect::OpenAi, &openai(&system, "first question"), 1024).unwrap();
    let b = key(Dialect::OpenAi, &openai(&system, "another question"), 1024).unwrap();
    assert_eq!(a, b, "past the window the rest does not matter");
    let c = key(Dialect::OpenAi, &openai(&system, "x"), 1_000_000).unwrap();
    let d = key(Dialect::OpenAi, &openai(&system, "y"), 1_000_000).unwrap();
    assert_ne!(c, d, "within the window it does");
    let other = key(
        Dialect::OpenAi,
        &openai("Tenant 18.", "first question"),
        1024,
    )
    .unwrap();
    assert_ne!(a, other);
    let anthropic = serde_json::to_vec(&serde_json::json!({"model": "m", "max_tokens": 5,
        "system": system, "messages": [{"role": "user", "content": "first question"}]}))
    .unwrap();
    assert_eq!(key(Dialect::Anthropic, &anthropic, 1024).unwrap(), a);
    assert_eq!(key(Dialect::OpenAi, b"not json", 1024), None);
}

fn cand(e: usize, recent: u64) -> Candidate {
    Candidate {
        target_index: 0,
        endpoint_index: e,
        addr: SocketAddr::from(([127, 0, 0, 1], 1000 + e as u16)),
        weight: 1,
        in_flight: 0,
        latency_us: 0,
        admit: Admit::Closed,
        last_failure_ms: 0,
        signals: Signals {
            recent,
            load_factor: 1.25,
            ..Signals::default()
        },
    }
}

#[test]
fn keys_stick_and_loads_stay_within_the_factor() {
    let mut loads = [0u64; 4];
    let mut first_choice = std::collections::HashMap::new();
    // 50 keys, one very hot: sticky while within bounds, spilling when not.
    for i in 0..20_000u64 {
        let k = if i % 3 == 0 { 0 } else { 1 + i % 49 };
        let cs: Vec<Candidate> = (0..4).map(|e| cand(e, loads[e])).collect();
        let c = bounded_rendezvous(&cs, format!("key-{k}").as_bytes()).unwrap();
        loads[c.endpoint_index] += 1;
        first_choice.entry(k).or_insert(c.endpoint_index);
    }
    let mean = loads.iter().sum::<u64>() as f64 / 4.0;
    let max = *loads.iter().max().unwrap() as f64;
    assert!(max / mean <= 1.25 + 1e-9, "{loads:?}");
    // Without load, a key always lands on the same candidate.
    let idle: Vec<Candidate> = (0..4).map(|e| cand(e, 0)).collect();
    for k in 0..50 {
        let key = format!("key-{k}");
        let a = bounded_rendezvous(&idle, key.as_bytes()).unwrap();
        assert_eq!(bounded_rendezvous(&idle, key.as_bytes()).unwrap(), a);
    }
}

#[test]
fn counts_halve_after_the_half_life() {
    let yaml = r#"
auth: { mode: open }
providers:
  - name: p
    format: openai
    base_urls: ["http://127.0.0.1:1", "http://127.0.0.1:2"]
models:
  - { name: m, strategy: prefix_affinity, targets: [{ provider: p, model: x }] }
"#;
    let config = crate::config::load_str(yaml, &|_| None).expect("valid");
    let loads = RouteLoads::for_route(config.model("m").unwrap());
    for _ in 0..HALF_LIFE - 1 {
        loads.note("p", 0);
    }
    loads.note("p", 1);
    assert_eq!(
        (loads.recent("p", 0), loads.recent("p", 1)),
        ((HALF_LIFE - 1) / 2, 0)
    );
    assert_eq!(loads.recent("q", 0), 0);
}

#[test]
fn prompt_cache_key_is_added_only_when_absent() {
    let body = br#"{"model":"gpt-4o","messages":[]}"#.to_vec();
    let out = with_prompt_cache_key(body, "00ff");
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["prompt_cache_key"], "tg-00ff");
    assert_eq!(v["model"], "gpt-4o");
    let own = br#"{"prompt_cache_key":"mine","model":"m"}"#.to_vec();
    assert_eq!(with_prompt_cache_key(own.clone(), "00ff"), own);
    let empty: serde_json::Value =
        serde_json::from_slice(&with_prompt_cache_key(b"{ }".to_vec(), "1")).unwrap();
    assert_eq!(empty["prompt_cache_key"], "tg-1");
    assert_eq!(with_prompt_cache_key(b"[1]".to_vec(), "1"), b"[1]".to_vec());
}
