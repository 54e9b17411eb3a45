//! `prefix_affinity` in estimate mode, through the binary with four mock replicas:
//! the gateway remembers which blocks of which prompts it sent to each replica, so a
//! conversation's later turns and a tenant's next conversation go where their prefix
//! already is, a prompt nobody has seen is placed by the hash, and a prefix holder
//! with too many requests in flight is passed over for the least loaded replica.

use std::time::Duration;

use serde_json::{json, Value};
use tollgate_mock::MockServer;

use crate::common::{self, http, Gateway};

fn chat(system: &str, turns: &[&str]) -> Value {
    let mut messages = vec![json!({"role": "system", "content": system})];
    for (i, t) in turns.iter().enumerate() {
        if i > 0 {
            messages.push(json!({"role": "assistant", "content": "tok0 tok1"}));
        }
        messages.push(json!({"role": "user", "content": t}));
    }
    json!({"model": "pool", "messages": messages})
}

/// Send `body`; the replica that served it and the route explanation.
fn send(
    gw: &Gateway,
    replicas: &[MockServer],
    body: &Value,
    extra: &[(&str, &str)],
) -> (usize, String) {
    let before: Vec<usize> = replicas.iter().map(|r| r.hits()).collect();
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let r = http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &headers,
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let served = replicas
        .iter()
        .zip(before)
        .position(|(r, b)| r.hits() > b)
        .expect("a replica served it");
    (
        served,
        r.header("x-tollgate-route").unwrap_or_default().to_string(),
    )
}

/// `n` mock replicas behind one `prefix_affinity` model `pool` with these `balance`
/// settings.
fn pool(n: usize, balance: &str) -> (Vec<MockServer>, Gateway) {
    let replicas: Vec<MockServer> = (0..n).map(|i| common::mock(&format!("r{i}"))).collect();
    let urls: Vec<String> = replicas
        .iter()
        .map(|r| format!("\"{}\"", r.url()))
        .collect();
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: vllm, format: openai, base_urls: [{urls}] }}
models:
  - name: pool
    strategy: prefix_affinity
    balance: {{ {balance} }}
    targets: [{{ provider: vllm, model: llama }}]
"#,
        urls = urls.join(", ")
    ));
    (replicas, gw)
}

#[test]
fn later_turns_and_a_tenants_next_conversation_follow_their_prefix() {
    let (replicas, gw) = pool(
        4,
        "prefix_block_tokens: 16, prefix_tokens: 16, prefix_min_match: 0.5",
    );
    // 16-token (64-character) blocks; every tenant's prompt starts alike for more
    // than the 64-character hash window, so only the remembered blocks tell them apart.
    let preamble = "You are a careful assistant of a platform team; answer briefly. ";
    let system = |t: usize| format!("{preamble}Tenant {t}: {}", "house rules apply. ".repeat(12));
    let (first, why) = send(
        &gw,
        &replicas,
        &chat(&system(1), &["Where is my order?"]),
        &[],
    );
    assert!(why.contains("reason=no cached prefix of"), "{why}");
    let (second, why) = send(
        &gw,
        &replicas,
        &chat(&system(1), &["Where is my order?", "And the invoice?"]),
        &[],
    );
    assert_eq!(second, first, "a later turn goes where its conversation is");
    assert!(why.contains("reason=longest cached prefix"), "{why}");
    let (next, why) = send(&gw, &replicas, &chat(&system(1), &["New question"]), &[]);
    assert_eq!(next, first, "the tenant's next conversation too");
    assert!(why.contains("reason=longest cached prefix"), "{why}");
    // Other tenants share the first block (the hash window) but not the rest: the
    // window's hash would put them all on one replica; the remembered blocks do not
    // hold them, so they are placed by the bounded-load hash and spread out.
    let mut used = std::collections::BTreeSet::new();
    for t in 2..14 {
        let (at, why) = send(&gw, &replicas, &chat(&system(t), &["hello"]), &[]);
        used.insert(at);
        assert!(why.contains("strategy=prefix_affinity"), "{why}");
        // Each then keeps its own replica.
        let (again, _) = send(&gw, &replicas, &chat(&system(t), &["hello", "more"]), &[]);
        assert_eq!(again, at, "tenant {t}");
    }
    assert!(used.len() >= 2, "12 tenants on {used:?}");
}

#[test]
fn a_busy_prefix_holder_is_passed_over_for_the_least_loaded() {
    let (replicas, gw) = pool(3, "prefix_block_tokens: 16, in_flight_factor: 2");
    let system = format!("Shared assistant. {}", "Follow the handbook. ".repeat(20));
    let (holder, _) = send(&gw, &replicas, &chat(&system, &["warm up"]), &[]);
    // Three slow requests of the same prefix in flight on the holder (the first two
    // are within 2 x (0 + 1) and stay there; later ones may spill).
    let slow: Vec<_> = (0..3)
        .map(|i| {
            let addr = gw.addr.clone();
            let body = chat(&system, &[&format!("slow {i}")]).to_string();
            std::thread::spawn(move || {
                http::request(
                    &addr,
                    "POST",
                    "/v1/chat/completions",
                    &[
                        ("content-type", "application/json"),
                        ("x-mock-latency-ms", "3000"),
                    ],
                    body.as_bytes(),
                )
                .status
            })
        })
        .collect();
    // All three reached the replicas (and stay in flight for 3 s).
    let in_flight = common::wait_until(Duration::from_secs(10), || {
        replicas.iter().map(|r| r.hits()).sum::<usize>() == 4
    });
    assert!(in_flight, "the slow requests did not arrive");
    let (at, why) = send(&gw, &replicas, &chat(&system, &["quick one"]), &[]);
    assert_ne!(at, holder, "the busy holder was passed over: {why}");
    assert!(
        why.contains("reason=prefix holder over 2x the least in flight"),
        "{why}"
    );
    for s in slow {
        assert_eq!(s.join().unwrap(), 200);
    }
    // Idle again: back to a replica holding the prefix (the holder, or the one the
    // passed-over request taught it to).
    let (back, why) = send(&gw, &replicas, &chat(&system, &["later"]), &[]);
    assert!(back == holder || back == at, "{back}: {why}");
    assert!(why.contains("reason=longest cached prefix"), "{why}");
}
