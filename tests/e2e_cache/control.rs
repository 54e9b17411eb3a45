//! Namespaces, client control (`no-store`, `no-cache`, `x-tollgate-cache-ttl`), the
//! per-key switch that forbids bypassing, TTL expiry and `DELETE /admin/cache`.

use std::time::Duration;

use serde_json::json;
use tollgate::policy::hash_key;

use super::common::{http, mock, Gateway};
use super::{openai_chat, post};

const ALICE: &str = "sk-tg-alice-cache-1";
const BOB: &str = "sk-tg-bob-cache-2";
const CAROL: &str = "sk-tg-carol-cache-3";

#[test]
fn teams_client_control_ttl_and_invalidation() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: up, format: openai, base_url: "{url}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{ namespace: team, ttl_seconds: 600 }}
teams:
  - {{ name: red }}
  - {{ name: blue }}
keys:
  - {{ name: alice, hash: "{alice}", team: red }}
  - {{ name: bob, hash: "{bob}", team: blue }}
  - {{ name: carol, hash: "{carol}", team: red, cache_bypass: false }}
"#,
        url = up.url(),
        alice = hash_key(ALICE),
        bob = hash_key(BOB),
        carol = hash_key(CAROL),
    ));
    let send = |key: &str, prompt: &str, more: &[(&str, &str)]| {
        let auth = format!("Bearer {key}");
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(more);
        let r = post(
            &gw.addr,
            "/v1/chat/completions",
            &headers,
            &openai_chat("m", prompt, json!({})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("x-tollgate-cache").unwrap_or("").to_string()
    };
    // Two teams: two misses; a key of the same team: a hit.
    assert_eq!(send(ALICE, "shared question", &[]), "miss");
    assert_eq!(send(BOB, "shared question", &[]), "miss");
    assert_eq!(up.hits(), 2);
    assert_eq!(send(CAROL, "shared question", &[]), "hit");
    assert_eq!(up.hits(), 2);

    // no-store: neither read nor written.
    let no_store = [("cache-control", "no-store")];
    assert_eq!(send(ALICE, "private", &no_store), "bypass");
    assert_eq!(send(ALICE, "private", &[]), "miss");
    assert_eq!(up.hits(), 4);
    // no-cache: the lookup is skipped and the fresh answer stored.
    let no_cache = [("cache-control", "no-cache")];
    assert_eq!(send(ALICE, "shared question", &no_cache), "bypass");
    assert_eq!(up.hits(), 5);
    assert_eq!(send(ALICE, "shared question", &[]), "hit");
    // A key that may not bypass: its no-cache is ignored.
    assert_eq!(send(CAROL, "shared question", &no_cache), "hit");
    assert_eq!(up.hits(), 5);

    // A shorter TTL asked by the client; the entry expires.
    assert_eq!(
        send(ALICE, "short lived", &[("x-tollgate-cache-ttl", "1")]),
        "miss"
    );
    assert_eq!(send(ALICE, "short lived", &[]), "hit");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(send(ALICE, "short lived", &[]), "miss");

    // Invalidation on the admin plane, by namespace then for everything.
    let deleted = http::request(
        &gw.admin,
        "DELETE",
        "/admin/cache?namespace=team:blue",
        &[],
        b"",
    );
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(send(BOB, "shared question", &[]), "miss");
    assert_eq!(send(ALICE, "shared question", &[]), "hit");
    let deleted = http::request(&gw.admin, "DELETE", "/admin/cache?route=m", &[], b"");
    assert_eq!(deleted.status, 200);
    assert_eq!(send(ALICE, "shared question", &[]), "miss");
    let deleted = http::request(&gw.admin, "DELETE", "/admin/cache", &[], b"");
    assert_eq!(deleted.status, 200);
    assert_eq!(send(BOB, "shared question", &[]), "miss");
}

const DAVE: &str = "sk-tg-dave-cache-4";
const ERIN: &str = "sk-tg-erin-cache-5";

/// The tokens left in `key`'s TPM bucket when `prompt` on `model` was admitted.
fn remaining_tokens(addr: &str, key: &str, model: &str, prompt: &str) -> (i64, String) {
    let auth = format!("Bearer {key}");
    let r = post(
        addr,
        "/v1/chat/completions",
        &[("authorization", &auth)],
        &openai_chat(model, prompt, json!({})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let left = r
        .header("x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    (left, r.header("x-tollgate-cache").unwrap_or("").to_string())
}

#[test]
fn hits_count_against_tpm_only_where_the_route_says_so() {
    let up = mock("up");
    // 6000 TPM refills 0.1 token per ms: the few ms between requests stay far below
    // the ~45 tokens of an answer.
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: up, format: openai, base_url: "{url}", health_check: {{ kind: none }} }}
models:
  - name: free
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{}}
  - name: counted
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{ tpm_on_hits: true }}
keys:
  - {{ name: dave, hash: "{dave}", limits: {{ tpm: 6000 }} }}
  - {{ name: erin, hash: "{erin}", limits: {{ tpm: 6000 }} }}
"#,
        url = up.url(),
        dave = hash_key(DAVE),
        erin = hash_key(ERIN),
    ));
    // Per key: a miss, a hit of the same question, then another question; the third
    // admission shows what the first two left charged.
    let spent = |key: &str, model: &str| {
        let (_, first) = remaining_tokens(&gw.addr, key, model, "What is a token bucket?");
        let (_, second) = remaining_tokens(&gw.addr, key, model, "What is a token bucket?");
        assert_eq!((first.as_str(), second.as_str()), ("miss", "hit"));
        remaining_tokens(&gw.addr, key, model, "And a leaky bucket?").0
    };
    let free = spent(DAVE, "free");
    let counted = spent(ERIN, "counted");
    let answer_tokens = free - counted;
    // The hit's input + output tokens as the mock counts them (a few dozen); a
    // little refill between requests may shave one or two.
    assert!((20..=120).contains(&answer_tokens), "{free} vs {counted}");
}
