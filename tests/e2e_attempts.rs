//! The attempt lifecycle through the real binary: a rate limit is not an outage,
//! faults are kept where they are, leases are returned on every path, and the retry
//! budget bounds the load on a failing provider.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::http::{self, Conn};
use common::{mock, mock_with, wait_until, Gateway};
use serde_json::{json, Value};

fn chat(model: &str, stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello"}]
    }))
    .unwrap()
}

fn post(gw: &Gateway, model: &str, headers: &[(&str, &str)]) -> http::Response {
    Conn::open(&gw.addr).request("POST", "/v1/chat/completions", headers, &chat(model, false))
}

fn upstreams(gw: &Gateway) -> Value {
    http::get(&gw.admin, "/admin/upstreams").json()
}

/// Every endpoint's `in_flight`, over all providers.
fn in_flight(gw: &Gateway) -> Vec<u64> {
    upstreams(gw)["providers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["endpoints"].as_array().unwrap().clone())
        .map(|e| e["in_flight"].as_u64().unwrap())
        .collect()
}

/// One provider with ONE endpoint and two models on it, as most users configure
/// api.openai.com.
fn single_endpoint(url: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{url}", health_check: {{ kind: none }} }}
models:
  - name: a
    targets: [{{ provider: p, model: gpt-4o-mini }}]
    retry: {{ attempts: 3, backoff_ms: 5, max_backoff_ms: 20 }}
    timeouts: {{ first_byte_ms: 300 }}
  - name: b
    targets: [{{ provider: p, model: gpt-4.1 }}]
    retry: {{ attempts: 3, backoff_ms: 5, max_backoff_ms: 20 }}
"#
    )
}

#[test]
fn a_rate_limit_on_one_model_is_no_outage() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    // Three requests for `a` rate limited on every attempt: the client gets the
    // upstream's own 429, after the configured three attempts.
    for _ in 0..3 {
        let resp = post(&gw, "a", &[("x-mock-status", "429")]);
        assert_eq!(resp.status, 429, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("3"));
    }
    // Nine 429s tripped the (endpoint, gpt-4o-mini) breaker, not the endpoint's.
    let view = upstreams(&gw);
    let p = &view["providers"][0];
    assert_eq!(p["endpoints"][0]["breaker"]["state"], "closed", "{view}");
    let cooldowns = p["model_cooldowns"].as_array().unwrap();
    assert_eq!(cooldowns.len(), 1, "{view}");
    assert_eq!(cooldowns[0]["model"], "gpt-4o-mini");
    assert_eq!(cooldowns[0]["reason"], "rate_limit");
    assert!(cooldowns[0]["remaining_ms"].as_u64().unwrap() > 0);
    // The provider answers again: `b` was never affected, and `a` is served too
    // (its only candidate is cooling down, so it is tried anyway: panic mode).
    for model in ["b", "a", "b", "a"] {
        let resp = post(&gw, model, &[]);
        assert_eq!(resp.status, 200, "{model}: {}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("1"), "{model}");
    }
    gw.metrics_with("tollgate_panic_routing_total{provider=\"p\"}");
    gw.metrics_with("tollgate_breaker_trips_total{provider=\"p\",scope=\"model\"}");
    // The success closed the breaker.
    assert_eq!(upstreams(&gw)["providers"][0]["model_cooldowns"], json!([]));
}

#[test]
fn retry_after_cools_exactly_that_model_for_that_long() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    let resp = post(
        &gw,
        "a",
        &[("x-mock-status", "429"), ("x-mock-retry-after", "7")],
    );
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("7"));
    let view = upstreams(&gw);
    let cooldown = &view["providers"][0]["model_cooldowns"][0];
    assert_eq!(cooldown["model"], "gpt-4o-mini", "{view}");
    let remaining = cooldown["remaining_ms"].as_u64().unwrap();
    assert!((5_000..=7_000).contains(&remaining), "{remaining}");
    let resp = post(&gw, "b", &[]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-tollgate-attempts"), Some("1"));
}

#[test]
fn timeouts_on_a_single_endpoint_never_refuse_the_next_request() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    // Two requests that time out on each of their three attempts: six timeouts trip
    // the endpoint's breaker.
    for _ in 0..2 {
        let resp = post(&gw, "a", &[("x-mock-hang", "1")]);
        assert_eq!(resp.status, 504, "{}", resp.text());
    }
    let view = upstreams(&gw);
    assert_eq!(
        view["providers"][0]["endpoints"][0]["breaker"]["reason"], "timeout",
        "{view}"
    );
    // The upstream answers again: the next requests, of both models, are served.
    for model in ["a", "b"] {
        let resp = post(&gw, model, &[]);
        assert_eq!(resp.status, 200, "{model}: {}", resp.text());
    }
}

#[test]
fn leases_are_returned_after_retries_fallbacks_timeouts_and_disconnects() {
    let failing = mock_with("failing", |c| c.status = Some(503));
    let healthy = mock_with("healthy", |c| c.delay_ms = 20);
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: f, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
  - {{ name: g, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: a
    targets: [{{ provider: f, model: m }}]
    retry: {{ attempts: 3, backoff_ms: 1, max_backoff_ms: 5 }}
    fallbacks: [b]
  - name: b
    targets: [{{ provider: g, model: m }}]
    timeouts: {{ first_byte_ms: 300 }}
    retry: {{ attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }}
"#,
        failing.url(),
        healthy.url()
    ));
    // Retries on `f`, then the fallback serves.
    for _ in 0..5 {
        let resp = post(&gw, "a", &[]);
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-provider"), Some("g"));
    }
    // Timeouts.
    let resp = post(&gw, "b", &[("x-mock-hang", "1")]);
    assert_eq!(resp.status, 504);
    // A client that goes away in the middle of a stream.
    let mut s = TcpStream::connect(&gw.addr).unwrap();
    let body = chat("b", true);
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-mock-tokens: 200\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut first = [0u8; 256];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(s.read(&mut first).unwrap() > 0);
    drop(s);
    let settled = wait_until(Duration::from_secs(10), || {
        in_flight(&gw).iter().all(|n| *n == 0)
    });
    assert!(settled, "in_flight never returned to 0: {}", upstreams(&gw));
}

#[test]
fn the_retry_budget_bounds_attempts_on_a_failing_provider() {
    let dead = mock_with("dead", |c| c.status = Some(500));
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - name: p
    format: openai
    base_url: "{}"
    health_check: {{ kind: none }}
    breaker: {{ consecutive_failures: 100000, failure_ratio: 0 }}
    retry_budget: {{ percent: 20, min_concurrency: 0 }}
models:
  - name: a
    targets: [{{ provider: p, model: m }}]
    retry: {{ attempts: 3, backoff_ms: 1, max_backoff_ms: 2 }}
"#,
        dead.url()
    ));
    let requests = 50;
    for _ in 0..requests {
        let resp = post(&gw, "a", &[]);
        assert_eq!(resp.status, 500, "{}", resp.text());
    }
    let attempts = dead.hits();
    assert!(
        attempts <= requests + requests / 5,
        "{attempts} upstream attempts for {requests} requests"
    );
    assert!(attempts > requests, "the budget allowed no retry at all");
    gw.metrics_with("tollgate_retry_budget_exhausted_total{provider=\"p\"}");
}

/// A stream as its client assembles it: text, ids, finish reasons, error events.
#[derive(Debug, Default)]
struct Assembled {
    text: String,
    ids: Vec<String>,
    finishes: usize,
    starts: usize,
    errors: usize,
    done: bool,
}

fn assemble(dialect: &str, sse: &str) -> Assembled {
    let mut a = Assembled::default();
    for line in sse.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            a.done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        if v.get("error").is_some_and(|e| !e.is_null()) || v["type"] == "error" {
            a.errors += 1;
        }
        if dialect == "openai" {
            let id = v["id"].as_str().unwrap_or_default().to_string();
            if !a.ids.contains(&id) {
                a.ids.push(id);
            }
            if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
                a.text.push_str(t);
            }
            if v["choices"][0]["delta"]["role"].is_string() {
                a.starts += 1;
            }
            if v["choices"][0]["finish_reason"].is_string() {
                a.finishes += 1;
            }
        } else {
            match v["type"].as_str().unwrap_or_default() {
                "message_start" => {
                    a.starts += 1;
                    a.ids
                        .push(v["message"]["id"].as_str().unwrap_or_default().into());
                }
                "content_block_delta" => a
                    .text
                    .push_str(v["delta"]["text"].as_str().unwrap_or_default()),
                "message_delta" => a.finishes += 1,
                "message_stop" => a.done = true,
                _ => {}
            }
        }
    }
    a
}

/// The text a mock streams with `n` tokens.
fn mock_text(n: usize) -> String {
    (0..n)
        .map(|i| format!("tok{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_stream_that_dies_mid_way_continues_on_the_fallback_as_one_stream() {
    // The dying endpoint closes its connection after three tokens; the fallback
    // answers in full. Every client dialect × (same format, translated).
    let dying = mock_with("dying", |c| c.abort_after = Some(3));
    let spare = mock("spare");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: d-oai, format: openai, base_url: "{d}", health_check: {{ kind: none }} }}
  - {{ name: d-ant, format: anthropic, base_url: "{d}", health_check: {{ kind: none }} }}
  - {{ name: s-oai, format: openai, base_url: "{s}", health_check: {{ kind: none }} }}
  - {{ name: s-ant, format: anthropic, base_url: "{s}", health_check: {{ kind: none }} }}
models:
  - {{ name: oai-dies, targets: [{{ provider: d-oai, model: m }}], failover_mid_stream: true, fallbacks: [oai-spare], retry: {{ attempts: 1 }} }}
  - {{ name: ant-dies, targets: [{{ provider: d-ant, model: m }}], failover_mid_stream: true, fallbacks: [ant-spare], retry: {{ attempts: 1 }} }}
  - {{ name: oai-spare, targets: [{{ provider: s-oai, model: m }}] }}
  - {{ name: ant-spare, targets: [{{ provider: s-ant, model: m }}] }}
  - {{ name: oai-dies-off, targets: [{{ provider: d-oai, model: m }}], fallbacks: [oai-spare] }}
"#,
        d = dying.url(),
        s = spare.url()
    ));
    let first = mock_text(3);
    let rest = mock_text(8);
    for (dialect, path, model) in [
        ("openai", "/v1/chat/completions", "oai-dies"),
        ("openai", "/v1/chat/completions", "ant-dies"),
        ("anthropic", "/v1/messages", "ant-dies"),
        ("anthropic", "/v1/messages", "oai-dies"),
    ] {
        let body = json!({
            "model": model, "stream": true, "max_tokens": 64,
            "messages": [{"role": "user", "content": "hello"}]
        });
        let mut conn = Conn::open(&gw.addr);
        let resp = conn.request("POST", path, &[], &serde_json::to_vec(&body).unwrap());
        assert_eq!(resp.status, 200, "{dialect} {model}");
        let a = assemble(dialect, &resp.text());
        let case = format!("{dialect} via {model}: {a:?}\n{}", resp.text());
        assert_eq!(a.errors, 0, "{case}");
        assert_eq!((a.starts, a.finishes, a.ids.len()), (1, 1, 1), "{case}");
        assert!(a.done, "{case}");
        // The first three tokens, then the fallback's whole answer.
        assert_eq!(a.text, format!("{first}{rest}"), "{case}");
        // The connection stays usable.
        let again = conn.request("POST", path, &[], &serde_json::to_vec(&body).unwrap());
        assert_eq!(again.status, 200);
    }
    gw.metrics_with("tollgate_mid_stream_failovers_total{provider=\"d-oai\"}");
    // Off (the default): the stream ends with the in-band error, as before.
    let body = json!({"model": "oai-dies-off", "stream": true,
        "messages": [{"role": "user", "content": "hello"}]});
    let resp = Conn::open(&gw.addr).request(
        "POST",
        "/v1/chat/completions",
        &[],
        &serde_json::to_vec(&body).unwrap(),
    );
    let a = assemble("openai", &resp.text());
    assert_eq!(a.errors, 1, "{a:?}");
    assert_eq!(a.text, first);
}

/// An endpoint stops counting an attempt in flight when the upstream's answer is in,
/// not when the client has read it: a client's next request, sent the moment it has
/// the answer, is balanced without it. Made visible with a held answer (same format,
/// not streamed) far larger than the socket buffers, asked for by a client that does
/// not read: the gateway has all of it from the upstream but cannot finish writing.
#[test]
fn an_answered_attempt_stops_counting_before_the_client_has_read_it() {
    let up = mock("up");
    let gw = Gateway::start(&single_endpoint(&up.url()));
    let body = chat("b", false);
    let mut client = TcpStream::connect(&gw.addr).unwrap();
    write!(
        client,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         x-mock-tokens: 1000000\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    client.write_all(&body).unwrap();
    let serving =
        |gw: &Gateway| http::get(&gw.admin, "/admin/status").json()["traffic"]["in_flight"].clone();
    let answered = wait_until(Duration::from_secs(20), || {
        up.hits() == 1 && in_flight(&gw) == [0]
    });
    assert!(answered, "still counted in flight: {}", upstreams(&gw));
    assert_eq!(serving(&gw), 1, "the client has not read the answer yet");

    // The client reads it all: the whole answer, then the same connection serves on.
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = std::io::BufReader::new(client);
    let (status, length) = read_head(&mut reader);
    assert_eq!(status, 200);
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer).unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert!(answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .ends_with("tok999999"));
    assert!(wait_until(Duration::from_secs(5), || serving(&gw) == 0));
    assert_eq!(in_flight(&gw), [0], "taken off once, not twice");
    let next = post(&gw, "b", &[]);
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(in_flight(&gw), [0]);
}

/// Status and Content-Length of an HTTP/1.1 answer head.
fn read_head(reader: &mut impl std::io::BufRead) -> (u16, usize) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse().unwrap());
            }
        }
    }
    (
        status,
        length.expect("a held answer goes out with its length"),
    )
}
