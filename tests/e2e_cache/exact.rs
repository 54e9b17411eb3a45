//! Exact hits on one long-lived gateway: the same request twice, across dialects,
//! parameters that change the answer, and upstream errors that are never stored.

use serde_json::json;

use super::common::{mock, Gateway};
use super::{anthropic_chat, openai_chat, post};

#[test]
fn one_upstream_call_answers_both_dialects_and_errors_are_never_stored() {
    let up = mock("up");
    let mut gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{ ttl_seconds: 600 }}
  - name: plain
    targets: [{{ provider: up, model: gpt-4o-mini }}]
pricing:
  - {{ model: gpt-4o-mini, input_per_mtok: 1000000, output_per_mtok: 1000000 }}
"#,
        up.url()
    ));
    let req = openai_chat(
        "m",
        "What is the capital of France?",
        json!({"temperature": 0.2}),
    );
    let first = post(&gw.addr, "/v1/chat/completions", &[], &req);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 1);

    let second = post(&gw.addr, "/v1/chat/completions", &[], &req);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-tollgate-cache"), Some("hit"));
    assert!(second.header("age").is_some());
    assert_eq!(up.hits(), 1, "a hit must not call the upstream");
    assert_eq!(second.json(), first.json(), "body and usage equal");

    // The same question in the Anthropic dialect: the same entry, in Anthropic shape.
    let ant = anthropic_chat(
        "m",
        "What is the capital of France?",
        json!({"temperature": 0.2}),
    );
    let third = post(&gw.addr, "/v1/messages", &[], &ant);
    assert_eq!(third.status, 200, "{}", third.text());
    assert_eq!(third.header("x-tollgate-cache"), Some("hit"));
    assert_eq!(up.hits(), 1);
    let a = third.json();
    assert_eq!(a["type"], "message");
    assert_eq!(
        a["content"][0]["text"],
        first.json()["choices"][0]["message"]["content"]
    );
    assert_eq!(
        a["usage"]["output_tokens"],
        first.json()["usage"]["completion_tokens"]
    );

    // Another temperature asks something else.
    let warmer = openai_chat(
        "m",
        "What is the capital of France?",
        json!({"temperature": 0.9}),
    );
    let r = post(&gw.addr, "/v1/chat/completions", &[], &warmer);
    assert_eq!(r.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), 2);

    // A route without a cache says nothing and always goes upstream.
    let plain = openai_chat("plain", "What is the capital of France?", json!({}));
    for n in 3..5 {
        let r = post(&gw.addr, "/v1/chat/completions", &[], &plain);
        assert_eq!(r.header("x-tollgate-cache"), None);
        assert_eq!(up.hits(), n);
    }

    // Upstream errors are never stored: each repeat goes upstream again.
    for status in [429u16, 500] {
        let mut cfg = up.config();
        cfg.status = Some(status);
        up.set_config(cfg);
        let failing = openai_chat("m", &format!("failing {status}"), json!({}));
        let before = up.hits();
        for _ in 0..2 {
            let r = post(&gw.addr, "/v1/chat/completions", &[], &failing);
            assert_ne!(r.status, 200);
        }
        assert!(
            up.hits() >= before + 2,
            "a {status} was served from the cache"
        );
        let mut cfg = up.config();
        cfg.status = None;
        up.set_config(cfg);
        let r = post(&gw.addr, "/v1/chat/completions", &[], &failing);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-tollgate-cache"), Some("miss"));
    }

    let page = gw.metrics_with("tollgate_cache_requests_total");
    assert!(
        page.contains("tollgate_cache_requests_total{result=\"hit\",route=\"m\"} 2"),
        "{page}"
    );
    // Two hits, each saving the first answer's tokens at $1 per token.
    let tokens = first.json()["usage"]["total_tokens"].as_u64().unwrap();
    let saved = |name: &str| {
        page.lines()
            .find(|l| l.starts_with(&format!("{name}{{route=\"m\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(-1.0)
    };
    assert_eq!(
        saved("tollgate_cache_tokens_saved_total"),
        (2 * tokens) as f64,
        "{page}"
    );
    assert_eq!(
        saved("tollgate_cache_saved_usd_total"),
        (2 * tokens) as f64,
        "{page}"
    );

    // The access log names the cache outcome of each request.
    assert!(
        gw.terminate(std::time::Duration::from_secs(20)),
        "{}",
        gw.stderr()
    );
    let log = gw.stdout();
    let outcomes: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("cache").and_then(|c| c.as_str()).map(str::to_string))
        .collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "hit").count(), 2, "{log}");
    assert!(outcomes.iter().any(|o| o == "miss"), "{log}");
}

#[test]
fn a_reload_keeps_entries_unless_the_routes_targets_change() {
    let up = mock("up");
    let config = |model: &str| {
        format!(
            r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: {model} }}]
    cache: {{}}
"#,
            up.url()
        )
    };
    let gw = Gateway::start(&config("gpt-4o-mini"));
    let req = openai_chat("m", "Reload me", json!({}));
    let outcome = || {
        let r = post(&gw.addr, "/v1/chat/completions", &[], &req);
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("x-tollgate-cache").unwrap_or("").to_string()
    };
    let reload = || {
        let r = super::common::http::request(&gw.admin, "POST", "/admin/reload", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
    };
    assert_eq!(outcome(), "miss");
    assert_eq!(outcome(), "hit");
    // An unchanged route keeps its entries across a reload.
    gw.write_config(&config("gpt-4o-mini"));
    reload();
    assert_eq!(outcome(), "hit");
    // Another target model: the old answers are not this route's any more.
    gw.write_config(&config("gpt-4o"));
    reload();
    assert_eq!(outcome(), "miss");
    assert_eq!(outcome(), "hit");
    assert_eq!(up.hits(), 2);
}

#[test]
fn responses_api_requests_are_cached_and_share_entries_with_chat() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{}}
"#,
        up.url()
    ));
    let ask = |body: &serde_json::Value| post(&gw.addr, "/v1/responses", &[], body);
    let req = json!({"model": "m", "input": "Name three primary colours", "max_output_tokens": 64});
    let first = ask(&req);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-tollgate-cache"), Some("miss"));
    let second = ask(&req);
    assert_eq!(
        second.header("x-tollgate-cache"),
        Some("hit"),
        "{}",
        second.text()
    );
    assert_eq!(up.hits(), 1);
    let (a, b) = (first.json(), second.json());
    assert_eq!(b["object"], "response");
    assert_eq!(
        a["output"][0]["content"][0]["text"],
        b["output"][0]["content"][0]["text"]
    );
    assert_eq!(a["usage"]["output_tokens"], b["usage"]["output_tokens"]);

    // The same question from a Chat Completions client: the same entry.
    let chat = openai_chat("m", "Name three primary colours", json!({}));
    let c = post(&gw.addr, "/v1/chat/completions", &[], &chat);
    assert_eq!(c.header("x-tollgate-cache"), Some("hit"), "{}", c.text());
    assert_eq!(
        c.json()["choices"][0]["message"]["content"],
        a["output"][0]["content"][0]["text"]
    );

    // A streaming Responses request: a synthesised Responses event stream.
    let mut streaming = req.clone();
    streaming["stream"] = json!(true);
    let s = ask(&streaming);
    assert_eq!(s.header("x-tollgate-cache"), Some("hit"));
    assert!(
        s.text().contains("event: response.completed"),
        "{}",
        s.text()
    );
    assert_eq!(up.hits(), 1);
}
