//! Failures the client must see in its own dialect with the right status (413, 502,
//! 503, 504, upstream 4xx), endpoint faults that must cost no request, and the admin
//! plane, `-t` and upstream TLS.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn body_over_the_limit_is_413_before_reading() {
    let up = mock("up");
    let config = one_provider_config(&[up.url()], "", "")
        .replace("max_body_bytes: 33554432", "max_body_bytes: 1048576");
    let gw = Gateway::start(&config);
    // Declared length over the limit: refused without sending the body.
    let mut conn = Conn::open(&gw.addr);
    conn.send_raw(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
    );
    let resp = conn.read_response(std::time::Instant::now(), false);
    assert_openai_error(&resp, 413, "invalid_request_error");
    // Chunked body growing over the limit.
    let body = chat_body_of_size("gpt-4o-mini", 2 * 1024 * 1024);
    let mut conn = Conn::open(&gw.addr);
    let mut raw =
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for part in body.chunks(256 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        raw.extend_from_slice(part);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    conn.send_raw(&raw);
    let resp = conn.read_response(std::time::Instant::now(), false);
    assert_openai_error(&resp, 413, "invalid_request_error");
    assert_eq!(up.hits(), 0);
}

#[test]
fn unreachable_upstream_is_502() {
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&one_provider_config(
        &[dead],
        "    health_check: { kind: none }",
        "",
    ));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 502, "api_error");
}

#[test]
fn no_healthy_upstream_is_503_quickly() {
    let sick = common::mock_with("sick", |c| c.unhealthy = true);
    let gw = Gateway::start(&one_provider_config(
        &[sick.url()],
        "    health_check: { kind: http, path: /health, interval_ms: 200 }",
        "",
    ));
    // Wait for the first health check to mark it down.
    assert!(common::wait_until(Duration::from_secs(10), || {
        gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": []}),
        )
        .status
            == 503
    }));
    let started = std::time::Instant::now();
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 503, "api_error");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn hanging_upstream_is_504_after_the_first_byte_timeout() {
    let hung = common::mock_with("hung", |c| c.hang = true);
    let gw = Gateway::start(&one_provider_config(
        &[hung.url()],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 500 }",
        "    retry: { attempts: 1 }",
    ));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_openai_error(&resp, 504, "timeout_error");
}

/// Accepts connections and never reads from them, until `stop` is set (20 s at most).
fn upstream_that_never_reads(stop: Arc<AtomicBool>) -> (String, std::thread::JoinHandle<usize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let keeper = std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        let mut held = Vec::new();
        while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((conn, _)) if held.len() < 16 => held.push(conn),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        held.len()
    });
    (url, keeper)
}

#[test]
fn an_upstream_that_stops_reading_the_body_is_504_after_the_first_byte_timeout() {
    // The upstream's socket buffers fill long before 24 MiB, so the gateway's write
    // blocks: the attempt's first-byte clock (the only clock on an upstream's reads
    // and writes) must end it, not the client giving up.
    let stop = Arc::new(AtomicBool::new(false));
    let (url, keeper) = upstream_that_never_reads(stop.clone());
    let gw = Gateway::start(&one_provider_config(
        &[url],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 500 }",
        "    retry: { attempts: 1 }",
    ));
    let body = chat_body_of_size("gpt-4o-mini", 24 * 1024 * 1024);
    let started = std::time::Instant::now();
    let resp = common::http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        &body,
    );
    assert_openai_error(&resp, 504, "timeout_error");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    stop.store(true, Ordering::Relaxed);
    assert!(keeper.join().unwrap() >= 1, "the gateway never connected");
}

#[test]
fn upstream_client_errors_pass_through_with_their_status() {
    let up = common::mock_with("strict", |c| c.status = Some(400));
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    );
    assert_eq!(resp.status, 400);
    assert!(resp.json()["error"].is_object());
}

#[test]
fn a_dead_endpoint_in_the_pool_costs_no_request() {
    let alive = mock("alive");
    let doomed = mock("doomed");
    let gw = Gateway::start(&one_provider_config(
        &[alive.url(), doomed.url()],
        "    health_check: { kind: none }",
        "",
    ));
    doomed.stop();
    for i in 0..10 {
        let resp = gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
    }
    assert_eq!(alive.hits(), 10);
}

#[test]
fn admin_plane_serves_metrics_health_and_upstreams() {
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(&[up.url()], "", ""));
    gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(http::get(&gw.admin, "/healthz").status, 200);
    assert!(common::wait_until(Duration::from_secs(10), || http::get(
        &gw.admin, "/readyz"
    )
    .status
        == 200));
    let metrics = gw.metrics_with(r#"status="2xx""#);
    assert!(metrics.contains("tollgate_requests_total"), "{metrics}");
    assert!(metrics.contains("tollgate_request_duration_seconds"));
    let upstreams = http::get(&gw.admin, "/admin/upstreams").json();
    assert_eq!(upstreams["providers"][0]["provider"], "local");
    let config = http::get(&gw.admin, "/admin/config").text();
    assert!(!config.contains("sk-upstream-secret"), "{config}");
    // The access log has one JSON line per request, without secrets.
    assert!(common::wait_until(Duration::from_secs(5), || gw
        .stdout()
        .contains("\"request_id\"")));
    let log = gw.stdout();
    assert!(!log.contains("sk-upstream-secret"));
    let line = log.lines().find(|l| l.contains("\"request_id\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["status"], 200);
}

#[test]
fn config_check_flag() {
    let (ok, out) = common::validate_config(
        &one_provider_config(&["http://127.0.0.1:9".into()], "", ""),
        &[],
    );
    assert!(ok, "{out}");
    let bad = r#"
providers:
  - { name: a, format: openai, base_url: "htp:/broken", api_key: "${MISSING_KEY_FOR_TEST}" }
models:
  - name: m
    targets: [{ provider: nobody, model: x }]
"#;
    let (ok, out) = common::validate_config(bad, &[]);
    assert!(!ok);
    assert!(out.contains("providers[0].base_url"), "{out}");
    assert!(out.contains("MISSING_KEY_FOR_TEST"), "{out}");
    assert!(out.contains("models[0].targets[0].provider"), "{out}");
    assert!(!out.contains("panicked"));
}

#[test]
fn https_upstreams_are_verified_against_the_configured_ca() {
    use common::tls::{TlsFront, FIXTURES};
    let up = mock("up");
    let front = TlsFront::start(up.addr);
    let https = format!("https://127.0.0.1:{}", front.addr.port());
    let chat = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let stream = json!({"model": "gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    // Trusting the CA that signed the endpoint's certificate (SAN 127.0.0.1): served,
    // through TLS, streams included.
    let trusted = Gateway::start(&one_provider_config(
        std::slice::from_ref(&https),
        &format!("    health_check: {{ kind: none }}\n    tls_ca_file: \"{FIXTURES}/ca.pem\""),
        "",
    ));
    let resp = trusted.post("/v1/chat/completions", &chat);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = trusted.post("/v1/chat/completions", &stream);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains("[DONE]"), "{}", resp.text());
    assert!(front.handshakes() >= 1);
    assert_eq!(up.hits(), 2);
    // Another CA, or the OS trust store (which does not know the test CA): the
    // certificate is refused, nothing reaches the upstream, the client gets a 502.
    for extra in [
        format!("    health_check: {{ kind: none }}\n    tls_ca_file: \"{FIXTURES}/other-ca.pem\""),
        "    health_check: { kind: none }".to_string(),
    ] {
        let refused = Gateway::start(&one_provider_config(
            std::slice::from_ref(&https),
            &extra,
            "",
        ));
        let resp = refused.post("/v1/chat/completions", &chat);
        assert_eq!(resp.status, 502, "{extra}: {}", resp.text());
        assert_eq!(resp.json()["error"]["type"], "api_error", "{}", resp.text());
    }
    assert_eq!(up.hits(), 2);
    // A CA file that cannot be used is a config error naming the key.
    let (ok, out) = common::validate_config(
        &one_provider_config(&[https], "    tls_ca_file: /nonexistent/ca.pem", ""),
        &[],
    );
    assert!(!ok);
    assert!(out.contains("providers[0].tls_ca_file"), "{out}");
}

#[test]
fn connect_timeout_moves_on_to_the_next_endpoint_or_is_a_504() {
    let blackhole = common::SynBlackhole::start();
    assert!(
        blackhole.swallows_connects(),
        "the kernel completed a connect to a full accept queue"
    );
    let dark = format!("http://{}", blackhole.addr);
    let timeouts = "    health_check: { kind: none }\n    timeouts: { connect_ms: 300 }";
    // Alone: the connect times out, the client gets a 504 soon after.
    let gw = Gateway::start(&one_provider_config(
        std::slice::from_ref(&dark),
        timeouts,
        "    retry: { attempts: 1 }",
    ));
    let started = std::time::Instant::now();
    let resp = gw.post(
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_openai_error(&resp, 504, "timeout_error");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // With a healthy endpoint beside it, every request is served.
    let up = mock("up");
    let gw = Gateway::start(&one_provider_config(
        &[dark, up.url()],
        timeouts,
        "    retry: { attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }",
    ));
    for i in 0..4 {
        let resp = gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text());
    }
    assert_eq!(up.hits(), 4);
}
