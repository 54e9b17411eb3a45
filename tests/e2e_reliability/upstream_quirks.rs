//! Upstreams that misbehave in the ways real providers do: refusals that call for a
//! bigger model, stale pooled connections, deaths mid-stream, silent streams, and the
//! keepalives and clocks that must cope with them.

use super::*;

/// An upstream that answers every request with one fixed response (then closes).
fn fixed_upstream(status: u16, body: &'static str) -> (String, Arc<AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(stream) = stream else { continue };
            counter.fetch_add(1, Ordering::Relaxed);
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body_in = vec![0; len];
            let _ = reader.read_exact(&mut body_in);
            let resp = format!(
                "HTTP/1.1 {status} Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(resp.as_bytes());
        }
    });
    (url, hits)
}

#[test]
fn context_window_refusal_falls_back_to_a_bigger_model() {
    // OpenAI's documented error for a prompt over the context window.
    let (small, small_hits) = fixed_upstream(
        400,
        r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    );
    let big = mock_with("big", |_| {});
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: small, format: openai, base_url: "{small}", health_check: {{ kind: none }} }}
  - {{ name: big, format: anthropic, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: small, model: gpt-small }}]
    fallbacks: [large]
    fallback_on: [context_window_exceeded]
  - name: large
    targets: [{{ provider: big, model: claude-large }}]
"#,
        big.url()
    ));
    for stream in [false, true] {
        let resp = gw.post("/v1/chat/completions", &chat(stream));
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-provider"), Some("big"));
        assert_eq!(resp.header("x-tollgate-attempts"), Some("2"));
        assert!(resp.text().contains("tok0"));
    }
    // Refusals are not retried on the same route: one attempt each.
    assert_eq!(small_hits.load(Ordering::Relaxed), 2);

    // Without a fallback for it, the client gets the upstream's error in its dialect.
    let (plain, _) = fixed_upstream(
        400,
        r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    );
    let gw = Gateway::start(&format!(
        "auth: {{ mode: open }}\nproviders:\n  - {{ name: small, format: openai, base_url: \"{plain}\", health_check: {{ kind: none }} }}\nmodels:\n  - {{ name: m, targets: [{{ provider: small, model: x }}] }}\n"
    ));
    let resp = common::http::request(
        &gw.addr,
        "POST",
        "/v1/messages",
        &[],
        json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert_eq!(resp.json()["type"], "error", "{}", resp.text());
}

/// An upstream that answers the first request of each connection (keep-alive) and
/// drops the connection, unanswered, when a second request arrives on it: what a
/// provider does when it closes an idle connection just as the gateway reuses it.
fn connection_dropping_upstream() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                for n in 0..2 {
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    if n == 1 {
                        return; // the second request: dropped unanswered
                    }
                    let answer = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
                    let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}", answer.len());
                    let _ = reader.get_mut().write_all(resp.as_bytes());
                }
            });
        }
    });
    url
}

#[test]
fn a_stale_pooled_upstream_connection_is_retried_not_fatal() {
    let url = connection_dropping_upstream();
    let gw = Gateway::start(&pool_config(&[url], "    health_check: { kind: none }", ""));
    for i in 0..8 {
        let resp = gw.post("/v1/chat/completions", &chat(false));
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!gw.stderr().contains("panicked"), "{}", gw.stderr());
}

#[test]
fn an_upstream_dying_mid_stream_ends_with_an_in_band_error_and_keeps_the_connection() {
    let up = mock_with("up", |c| c.tokens = 8);
    let gw = Gateway::start(&pool_config(&[up.url()], "", ""));
    let body = serde_json::to_vec(&chat(true)).unwrap();
    let mut conn = Conn::open(&gw.addr);
    for round in 0..3 {
        // The mock closes the connection abruptly after three tokens.
        let resp = conn.request(
            "POST",
            "/v1/chat/completions",
            &[("x-mock-abort-after", "3")],
            &body,
        );
        assert_eq!(resp.status, 200);
        let text = resp.text();
        assert!(text.contains("tok2") && !text.contains("tok3"), "{text}");
        assert!(
            text.trim_end().ends_with(r#""type":"api_error"}}"#),
            "{text}"
        );
        assert!(text.contains("in the middle of the stream"), "{text}");
        assert!(!text.contains("[DONE]"), "{text}");
        // The body was terminated properly, and the client's next request on the same
        // connection is served.
        let next = conn.request("POST", "/v1/chat/completions", &[], &body);
        assert_eq!(next.status, 200, "round {round}");
        assert!(next.text().contains("[DONE]"), "{}", next.text());
    }
    // The failure is in the access log and the error metric, and counts against the
    // endpoint's passive health.
    gw.metrics_with(r#"tollgate_upstream_attempts_total{outcome="failed",provider="pool"} 3"#);
    assert!(common::wait_until(Duration::from_secs(5), || gw
        .stdout()
        .contains("upstream_protocol")));
}

#[test]
fn first_token_and_idle_timeouts_of_a_stream_are_separate_clocks() {
    let up = mock_with("up", |c| c.tokens = 3);
    let gw = Gateway::start(&pool_config(
        &[up.url()],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 3000, idle_ms: 300 }",
        "    retry: { attempts: 1 }",
    ));
    let body = serde_json::to_vec(&chat(true)).unwrap();
    // A first token after 800 ms is within the first-byte clock; the idle clock only
    // starts with it.
    let slow_start = http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("x-mock-ttft-ms", "800")],
        &body,
    );
    let text = slow_start.text();
    assert_eq!(slow_start.status, 200, "{text}");
    assert!(text.contains("[DONE]") && !text.contains("error"), "{text}");
    // A stall after two tokens is cut by the idle clock, long before the first-byte one.
    let started = Instant::now();
    let stalled = http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("x-mock-stall-after", "2")],
        &body,
    );
    let text = stalled.text();
    assert!(text.contains("tok1"), "{text}");
    assert!(text.contains("idle timeout"), "{text}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn keepalives_flow_before_the_first_token_and_errors_after_them_go_in_band() {
    let up = mock_with("up", |c| c.tokens = 3);
    let gw = Gateway::start(&pool_config(
        &[up.url()],
        "    health_check: { kind: none }\n    timeouts: { sse_keepalive_ms: 150 }",
        "    retry: { attempts: 1 }",
    ));
    let stream = serde_json::to_vec(&chat(true)).unwrap();
    let mut conn = Conn::open(&gw.addr);
    // The upstream answers after 700 ms: the client hears comments meanwhile.
    let slow = conn.request(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-latency-ms", "700")],
        &stream,
    );
    let text = slow.text();
    assert_eq!(slow.status, 200, "{text}");
    assert_eq!(slow.header("content-type"), Some("text/event-stream"));
    assert!(slow.header("x-request-id").is_some());
    let first_data = text.find("data:").unwrap_or_else(|| panic!("{text}"));
    assert!(
        text[..first_data].matches(": keepalive\n\n").count() >= 2,
        "{text}"
    );
    assert!(text.contains("tok2") && text.contains("[DONE]"), "{text}");
    // The committed response was framed properly: the connection serves the next one.
    let quick = conn.request("POST", "/v1/chat/completions", &[], &stream);
    assert_eq!(quick.status, 200);
    assert!(!quick.text().contains("keepalive"), "{}", quick.text());
    // An upstream error after the commit arrives as the stream's in-band error event.
    let failed = conn.request(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-latency-ms", "500"), ("x-mock-status", "400")],
        &stream,
    );
    let text = failed.text();
    assert_eq!(failed.status, 200, "{text}");
    assert!(text.starts_with(": keepalive\n\n"), "{text}");
    assert!(text.contains("data: {\"error\""), "{text}");
    assert!(text.contains("mock: forced status 400"), "{text}");
    // Non-streaming requests never get comments.
    let whole = conn.request(
        "POST",
        "/v1/chat/completions",
        &[("x-mock-latency-ms", "400")],
        &serde_json::to_vec(&chat(false)).unwrap(),
    );
    assert_eq!(whole.status, 200);
    assert_eq!(whole.json()["object"], "chat.completion");
}

#[test]
fn a_retry_after_a_keepalive_commit_still_serves_the_stream() {
    let failing = mock_with("failing", |c| {
        c.status = Some(503);
        c.latency_ms = 400;
    });
    let healthy = mock_with("healthy", |c| {
        c.tokens = 3;
        c.latency_ms = 400;
    });
    let gw = Gateway::start(&pool_config(
        &[failing.url(), healthy.url()],
        "    health_check: { kind: none }\n    timeouts: { sse_keepalive_ms: 100 }",
        "    retry: { attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }",
    ));
    let stream = serde_json::to_vec(&chat(true)).unwrap();
    // Round robin: one of the two requests starts on the failing endpoint.
    for _ in 0..2 {
        let resp = http::request(&gw.addr, "POST", "/v1/chat/completions", &[], &stream);
        let text = resp.text();
        assert_eq!(resp.status, 200, "{text}");
        assert!(text.starts_with(": keepalive\n\n"), "{text}");
        assert!(!text.contains("error"), "{text}");
        assert!(text.contains("tok2") && text.contains("[DONE]"), "{text}");
    }
    assert!(failing.hits() >= 1, "the failing endpoint was never tried");
}
