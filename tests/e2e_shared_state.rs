//! Shared state on Redis across gateway processes: one limit for two replicas,
//! spend that survives a restart, and the configured behaviour when Redis dies.
//! Needs `TOLLGATE_TEST_REDIS_URL` (scripts/test.sh starts a redis-server and sets
//! it) and `redis-server` on the PATH for the outage test; without them the tests
//! say so and skip (fail where `TOLLGATE_TEST_REQUIRE_ENV` is set, as in scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{http, Gateway};
use serde_json::json;
use tollgate::policy::hash_key;
use tollgate_mock::MockServer;

const KEY: &str = "sk-tg-shared-state-test-key";

fn redis_url() -> Option<String> {
    common::test_env("TOLLGATE_TEST_REDIS_URL", "shared-state test")
}

fn config(up: &MockServer, redis: &str, prefix: &str, on_error: &str, limits: &str) -> String {
    format!(
        r#"
auth: {{ mode: keys }}
state: {{ backend: redis, redis_url: "{redis}", on_error: {on_error}, timeout_ms: 200, key_prefix: "{prefix}" }}
providers:
  - {{ name: up, format: openai, base_url: "{url}" }}
models:
  - {{ name: m, targets: [{{ provider: up, model: gpt-4o-mini }}] }}
pricing:
  - {{ model: gpt-4o-mini, input_per_mtok: 1000, output_per_mtok: 1000 }}
keys:
  - name: shared
    hash: "{hash}"
    {limits}
"#,
        url = up.url(),
        hash = hash_key(KEY),
    )
}

fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tgtest:{tag}:{}:{nanos}:", std::process::id())
}

fn ask(addr: &str) -> u16 {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    http::request(
        addr,
        "POST",
        "/v1/chat/completions",
        &[("authorization", &format!("Bearer {KEY}"))],
        body.as_bytes(),
    )
    .status
}

#[test]
fn two_replicas_enforce_one_request_limit() {
    let Some(redis) = redis_url() else { return };
    let up = common::mock("mock");
    let limit = 200u64;
    let cfg = config(
        &up,
        &redis,
        &unique_prefix("rpm"),
        "fail_closed",
        &format!("limits: {{ rpm: {limit} }}"),
    );
    let gateways = [Gateway::start(&cfg), Gateway::start(&cfg)];
    let ok = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let addr = gateways[t % 2].addr.clone();
            let (ok, limited) = (ok.clone(), limited.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                for _ in 0..60 {
                    if Instant::now() > deadline {
                        break;
                    }
                    match ask(&addr) {
                        200 => ok.fetch_add(1, Ordering::Relaxed),
                        429 => limited.fetch_add(1, Ordering::Relaxed),
                        other => panic!("unexpected status {other}"),
                    };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed) as f64;
    // The bucket refills continuously at limit/60 per second during the run.
    let allowed = (limit as f64 + elapsed * limit as f64 / 60.0) * 1.01;
    assert!(
        ok <= allowed,
        "admitted {ok} > {allowed:.1} over {elapsed:.1}s"
    );
    assert!(ok >= limit as f64 * 0.99, "admitted only {ok}");
    assert!(limited.load(Ordering::Relaxed) > 0);
    assert_eq!(
        up.hits() as f64,
        ok,
        "every admitted request reached the upstream, no other did"
    );
}

#[test]
fn spend_survives_a_gateway_restart() {
    let Some(redis) = redis_url() else { return };
    let up = common::mock("mock");
    let cfg = config(
        &up,
        &redis,
        &unique_prefix("spend"),
        "fail_closed",
        "budget: { daily_usd: 1000000 }",
    );
    let spent_before = {
        let gw = Gateway::start(&cfg);
        for _ in 0..3 {
            assert_eq!(ask(&gw.addr), 200);
        }
        std::thread::sleep(Duration::from_millis(300));
        spend_of(&gw)
    };
    assert!(spent_before > 0.0);
    let gw = Gateway::start(&cfg);
    let spent_after = spend_of(&gw);
    assert!(
        (spent_after - spent_before).abs() < 1e-9,
        "{spent_before} vs {spent_after}"
    );
}

/// The key's spend today from `/admin/usage`.
fn spend_of(gw: &Gateway) -> f64 {
    let report = http::get(&gw.admin, "/admin/usage").json();
    let keys = report["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"));
    let key = keys
        .iter()
        .find(|k| k["name"] == "shared")
        .unwrap_or_else(|| panic!("{report}"));
    key["spend_usd"]["today"]
        .as_f64()
        .unwrap_or_else(|| panic!("{key}"))
}

struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Option<Redis> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        common::wait_until(Duration::from_secs(5), || {
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
fn redis_outage_follows_the_configured_choice_without_hanging() {
    if redis_url().is_none() {
        return;
    }
    let up = common::mock("mock");
    for (on_error, expected) in [("fail_closed", 503), ("fail_open", 200)] {
        let port = common::free_port();
        let Some(redis) = Redis::start(port) else {
            assert!(
                std::env::var_os("TOLLGATE_TEST_REQUIRE_ENV").is_none(),
                "redis-server is required here but could not be started"
            );
            eprintln!("redis-server not found: outage test skipped");
            return;
        };
        let url = format!("redis://127.0.0.1:{port}/");
        let gw = Gateway::start(&config(
            &up,
            &url,
            &unique_prefix("outage"),
            on_error,
            "limits: { rpm: 1000 }",
        ));
        assert_eq!(ask(&gw.addr), 200);
        drop(redis);
        let started = Instant::now();
        for _ in 0..3 {
            assert_eq!(ask(&gw.addr), expected, "{on_error}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "requests hung on the dead store"
        );
        gw.metrics_with("tollgate_state_errors_total");
    }
}

/// One Responses call on `addr` with the shared key.
fn responses_call(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> http::Response {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    http::request(
        addr,
        method,
        path,
        &[
            ("authorization", &format!("Bearer {KEY}")),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
}

/// The `response` of a stream's `response.completed` event.
fn completed_response(stream: &str) -> serde_json::Value {
    stream
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .find(|v| v["type"] == "response.completed")
        .map(|v| v["response"].clone())
        .unwrap_or_else(|| panic!("no response.completed in:\n{stream}"))
}

/// A Responses conversation kept in Redis: started on one replica, continued (plain
/// and streamed), fetched and deleted on the other.
#[test]
fn a_responses_conversation_continues_on_another_replica() {
    let Some(redis) = redis_url() else { return };
    let up = common::mock("mock");
    let cfg = config(&up, &redis, &unique_prefix("conv"), "fail_closed", "");
    let [a, b] = [Gateway::start(&cfg), Gateway::start(&cfg)];
    let first = responses_call(
        &a.addr,
        "POST",
        "/v1/responses",
        Some(json!({"model": "m", "input": "My name is Ada."})),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let id1 = first.json()["id"].as_str().unwrap().to_string();
    let second = responses_call(
        &b.addr,
        "POST",
        "/v1/responses",
        Some(json!({"model": "m", "input": "What is my name?", "previous_response_id": id1})),
    );
    assert_eq!(second.status, 200, "{}", second.text());
    let id2 = second.json()["id"].as_str().unwrap().to_string();
    let third = responses_call(
        &a.addr,
        "POST",
        "/v1/responses",
        Some(
            json!({"model": "m", "input": "Once more?", "previous_response_id": id2, "stream": true}),
        ),
    );
    assert_eq!(third.status, 200, "{}", third.text());
    let id3 = completed_response(&third.text())["id"]
        .as_str()
        .unwrap()
        .to_string();
    let last = up.requests().pop().unwrap();
    assert!(
        last.body_prefix.contains("My name is Ada.")
            && last.body_prefix.contains("What is my name?"),
        "{last:?}"
    );
    let got = responses_call(&b.addr, "GET", &format!("/v1/responses/{id3}"), None);
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["previous_response_id"], id2.as_str());
    let deleted = responses_call(&b.addr, "DELETE", &format!("/v1/responses/{id3}"), None);
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(
        deleted.json(),
        json!({"id": id3, "object": "response", "deleted": true})
    );
    let gone = responses_call(&a.addr, "GET", &format!("/v1/responses/{id3}"), None);
    assert_eq!(gone.status, 404, "{}", gone.text());
    assert_eq!(gone.json()["error"]["type"], "invalid_request_error");
    let still = responses_call(&a.addr, "GET", &format!("/v1/responses/{id1}"), None);
    assert_eq!(still.status, 200, "{}", still.text());
}
