//! The Redis backend: two gateway processes on one Redis share exact and semantic
//! entries; a Redis that dies is a miss (the request goes upstream) and never a hang,
//! and the cache works again once Redis is back. Needs `TOLLGATE_TEST_REDIS_URL`
//! and `redis-server` (scripts/test.sh provides both); without them the tests skip.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::common::{self, mock, wait_until, Gateway};
use super::semantic::{embeddings_mock, semantic_config};
use super::{openai_chat, post};

fn redis_head(url: &str, tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("tgtest:cache:{tag}:{}:{nanos}:", std::process::id());
    format!(
        "state: {{ backend: redis, redis_url: \"{url}\", timeout_ms: 200, key_prefix: \"{prefix}\" }}\ncache: {{ backend: redis, timeout_ms: 200 }}"
    )
}

/// Whether `gw`'s semantic index holds `n` entries (read from its metrics).
fn semantic_entries(gw: &Gateway, n: usize) -> bool {
    let page = common::http::get(&gw.admin, "/metrics").text();
    page.contains(&format!("tollgate_cache_semantic_entries {n}\n"))
}

fn ask(gw: &Gateway, prompt: &str) -> common::http::Response {
    post(
        &gw.addr,
        "/v1/chat/completions",
        &[],
        &openai_chat("m", prompt, json!({})),
    )
}

const QUESTION: &str = "Which river flows through the city of Paris in France, briefly";
const PARAPHRASE: &str = "which river flows through the city of Paris in France briefly please";

#[test]
fn two_gateways_on_one_redis_share_exact_and_semantic_entries() {
    let Some(url) = common::test_env("TOLLGATE_TEST_REDIS_URL", "shared cache test") else {
        return;
    };
    let up = mock("up");
    let emb = embeddings_mock();
    let cfg = semantic_config(&up.url(), &emb.url(), &redis_head(&url, "share"), "");
    let one = Gateway::start(&cfg);
    let two = Gateway::start(&cfg);

    let first = ask(&one, QUESTION);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-tollgate-cache"), Some("miss"));
    // The entry is written, then its semantic record announced; replica two reads
    // the record on its upkeep tick.
    assert!(
        wait_until(Duration::from_secs(10), || semantic_entries(&two, 1)),
        "replica two never learnt the semantic record"
    );

    let exact = ask(&two, QUESTION);
    assert_eq!(
        exact.header("x-tollgate-cache"),
        Some("hit"),
        "{}",
        exact.text()
    );
    assert_eq!(exact.json(), first.json());
    let similar = ask(&two, PARAPHRASE);
    assert_eq!(similar.header("x-tollgate-cache"), Some("semantic-hit"));
    assert_eq!(similar.json(), first.json());
    assert_eq!(
        up.hits(),
        1,
        "one upstream call for three answers on two replicas"
    );

    // Invalidation through one replica's admin plane empties the shared store.
    let del = common::http::request(&one.admin, "DELETE", "/admin/cache?route=m", &[], b"");
    assert_eq!(del.status, 200, "{}", del.text());
    assert_eq!(del.json()["entries_before"], 1);
    assert_eq!(ask(&two, QUESTION).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 2);
}

/// A private redis-server on `port`, killed when dropped.
struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Option<Redis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        wait_until(Duration::from_secs(5), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(Redis(child))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_dead_redis_is_a_miss_served_upstream_and_the_cache_comes_back_with_it() {
    if common::test_env("TOLLGATE_TEST_REDIS_URL", "cache outage test").is_none() {
        return;
    }
    let port = common::free_port();
    let Some(redis) = Redis::start(port) else {
        assert!(
            std::env::var_os("TOLLGATE_TEST_REQUIRE_ENV").is_none(),
            "redis-server is required here but could not be started"
        );
        return;
    };
    let up = mock("up");
    let emb = embeddings_mock();
    let url = format!("redis://127.0.0.1:{port}/");
    let gw = Gateway::start(&semantic_config(
        &up.url(),
        &emb.url(),
        &redis_head(&url, "outage"),
        "",
    ));
    assert_eq!(ask(&gw, QUESTION).header("x-tollgate-cache"), Some("miss"));
    assert!(wait_until(Duration::from_secs(10), || ask(&gw, QUESTION)
        .header("x-tollgate-cache")
        == Some("hit")));
    let before = up.hits();

    drop(redis);
    for i in 0..3 {
        let r = ask(&gw, QUESTION);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-tollgate-cache"), Some("miss"));
        assert_eq!(up.hits(), before + i + 1, "served upstream");
    }
    gw.metrics_with(r#"tollgate_cache_errors_total{backend="redis",op="get"}"#);
    let page = common::http::get(&gw.admin, "/metrics").text();
    assert!(
        !page.contains(r#"tollgate_cache_errors_total{backend="redis",op="get"} 0"#),
        "{page}"
    );

    // Redis is back (empty): the next answer is stored again and then a hit.
    let _redis = Redis::start(port).unwrap();
    assert!(wait_until(Duration::from_secs(15), || ask(&gw, QUESTION)
        .header("x-tollgate-cache")
        == Some("hit")));
}

#[test]
fn on_a_redis_cluster_entries_are_shared_and_invalidated() {
    let Some(seeds) = common::test_env("TOLLGATE_TEST_REDIS_CLUSTER_URLS", "cluster cache test")
    else {
        return;
    };
    let head = redis_head(&seeds, "cluster").replace(
        "state: { backend: redis,",
        "state: { backend: redis_cluster,",
    );
    let up = mock("up");
    let emb = embeddings_mock();
    let cfg = semantic_config(&up.url(), &emb.url(), &head, "");
    let one = Gateway::start(&cfg);
    let two = Gateway::start(&cfg);
    assert_eq!(ask(&one, QUESTION).header("x-tollgate-cache"), Some("miss"));
    assert!(wait_until(Duration::from_secs(10), || semantic_entries(
        &two, 1
    )));
    assert_eq!(ask(&two, QUESTION).header("x-tollgate-cache"), Some("hit"));
    assert_eq!(
        ask(&two, PARAPHRASE).header("x-tollgate-cache"),
        Some("semantic-hit")
    );
    // Invalidation scans the one slot every cache key shares.
    let del = common::http::request(&two.admin, "DELETE", "/admin/cache", &[], b"");
    assert_eq!(del.json()["entries_before"], 1, "{}", del.text());
    assert_eq!(ask(&one, QUESTION).header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 2);
}
