//! The official Python SDKs run their scenarios (chat, streams, tools, embeddings,
//! Anthropic native and translated, upstream 400/429/500/529/timeout, failover,
//! fallback, a large body, a client leaving mid-stream) one after the other on ONE
//! long-lived gateway, forward and then in reverse: every scenario expects what it
//! expects on a fresh gateway. A rate limit, a timeout or a client error on one
//! request must not turn into refusals of the requests after it, nor into a
//! connection the next request cannot use.
//!
//! Needs `TOLLGATE_TEST_PYTHON` pointing at a Python with `openai` and `anthropic`
//! installed (scripts/test.sh sets it up); without it the test says so and skips (it
//! fails instead where `TOLLGATE_TEST_REQUIRE_ENV` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{self, Conn};
use common::{wait_until, Gateway};
use serde_json::json;

/// The whole script, one order, on a gateway that is already warm. Well above what
/// it takes (a few seconds); a hung scenario is bounded by the SDK clients' 10 s.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(90);

fn python() -> Option<String> {
    common::test_env("TOLLGATE_TEST_PYTHON", "SDK sequence test")
}

/// One provider `p` with ONE base_url and two models on it (as most users configure
/// api.openai.com), an Anthropic-format provider on the same upstream, a provider
/// with a dead endpoint next to a live one, a provider that always answers 503 and
/// a second provider `q` for the fallback. Retries, breakers and timeouts are the
/// defaults, except the short first-byte timeout of `a-fast`.
fn config(p: &str, q: &str, down: &str, dead: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{p}" }}
  - {{ name: ant, format: anthropic, base_url: "{p}", api_key: sk-ant-upstream }}
  - {{ name: q, format: openai, base_url: "{q}" }}
  - {{ name: down, format: openai, base_url: "{down}", health_check: {{ kind: none }} }}
  - {{ name: pair, format: openai, base_urls: ["{dead}", "{q}"], health_check: {{ kind: none }} }}
models:
  - name: a
    # The mock takes the multi-MiB prompt of `large_body`; the real gpt-4o-mini's
    # 128k window would have it skipped (capability-aware targets) with a 400.
    targets: [{{ provider: p, model: gpt-4o-mini, capabilities: {{ context_window: 10000000 }} }}]
  - name: b
    targets: [{{ provider: p, model: gpt-4.1 }}]
  - name: a-fast
    targets: [{{ provider: p, model: gpt-4o-mini }}]
    timeouts: {{ first_byte_ms: 400 }}
  - name: emb
    targets: [{{ provider: p, model: text-embedding-3-small }}]
  - name: claude-translated
    targets: [{{ provider: p, model: gpt-4o-mini }}]
  - name: claude-native
    targets: [{{ provider: ant, model: claude-upstream }}]
  - name: pooled
    targets: [{{ provider: pair, model: gpt-4o-mini }}]
  - name: fb
    targets: [{{ provider: down, model: gpt-4o-mini }}]
    fallbacks: [c]
  - name: c
    targets: [{{ provider: q, model: gpt-4o }}]
"#
    )
}

/// Run `tests/sdk/scenarios.py` in `order`; (success, its output).
fn run_scenarios(python: &str, gw: &Gateway, order: &str) -> (bool, String) {
    let path = format!("{}/tests/sdk/scenarios.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(python)
        .arg(&path)
        .arg(&gw.addr)
        .arg(order)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    match status {
        Some(s) => (s.success(), text),
        None => (false, format!("{text}\n(killed after {SCRIPT_DEADLINE:?})")),
    }
}

/// `in_flight` of every endpoint and the retry slots of every provider, by name.
fn leases(gw: &Gateway) -> Vec<(String, u64)> {
    let view = http::get(&gw.admin, "/admin/upstreams").json();
    let mut out = Vec::new();
    for p in view["providers"].as_array().unwrap() {
        let name = p["provider"].as_str().unwrap_or("?");
        for e in p["endpoints"].as_array().unwrap() {
            let url = e["url"].as_str().unwrap_or("?");
            out.push((format!("{name} {url}"), e["in_flight"].as_u64().unwrap()));
        }
        if let Some(n) = p["retries_in_flight"].as_u64() {
            out.push((format!("{name} retries"), n));
        }
    }
    out
}

#[test]
fn sdk_scenarios_in_sequence_forward_then_reverse_on_one_gateway() {
    let Some(py) = python() else { return };
    let p = common::mock("p");
    let q = common::mock("q");
    let down = common::mock_with("down", |c| c.status = Some(503));
    // Nothing listens there: every connect is refused.
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&config(&p.url(), &q.url(), &down.url(), &dead));

    let mut failures = Vec::new();
    for order in ["forward", "reverse"] {
        let (ok, text) = run_scenarios(&py, &gw, order);
        eprintln!("--- {order}\n{text}");
        if !ok {
            failures.push(format!("--- {order}\n{text}"));
        }
        // Every lease came back: after retries, fallbacks, timeouts and the client
        // that left, nothing is in flight.
        let mut view = Vec::new();
        let idle = wait_until(Duration::from_secs(5), || {
            view = leases(&gw);
            view.iter().all(|(_, n)| *n == 0)
        });
        if !idle {
            failures.push(format!("--- {order}: leases still held: {view:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\ngateway stderr (tail):\n{}",
        failures.join("\n"),
        tail(&gw.stderr(), 40)
    );
}

/// The SDK clients keep one connection pool for all the scenarios, so an answer that
/// leaves its connection open (HTTP/1.1 without `connection: close`) must leave it
/// usable for the next request. The 504 the gateway answers after its own timeout is
/// where the scenario after `upstream_timeout` can fail with a connection error,
/// depending on a race with the close; this is the same check without the race.
#[test]
fn a_timeout_answer_that_says_keep_alive_keeps_the_connection() {
    let p = common::mock("p");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}" }}
models:
  - name: a
    targets: [{{ provider: p, model: gpt-4o-mini }}]
  - name: a-fast
    targets: [{{ provider: p, model: gpt-4o-mini }}]
    timeouts: {{ first_byte_ms: 400 }}
"#,
        p.url()
    ));
    let chat = |model: &str| {
        serde_json::to_vec(&json!({
            "model": model,
            "messages": [{"role": "user", "content": "Say hi"}]
        }))
        .unwrap()
    };
    let mut conn = Conn::open(&gw.addr);
    conn.set_read_timeout(Duration::from_secs(10));
    let resp = conn.request(
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json"), ("x-mock-hang", "1")],
        &chat("a-fast"),
    );
    assert_eq!(resp.status, 504, "{}", resp.text());
    let says_close = resp
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    if says_close {
        return;
    }
    assert!(
        !conn.is_closed(),
        "the 504 did not say `connection: close` ({:?}), yet the gateway closed the connection",
        resp.headers
    );
    conn.set_read_timeout(Duration::from_secs(10));
    let next = conn.request(
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        &chat("a"),
    );
    assert_eq!(next.status, 200, "{}", next.text());
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
