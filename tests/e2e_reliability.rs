//! Reliability end to end: faults in the upstreams, timeouts, retries and
//! fallbacks, client disconnects, config reloads and a binary upgrade under a
//! bounded load. Every load loop is bounded in count and time, and targets
//! 127.0.0.1 only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::{self, Conn};
use common::{mock_with, Gateway};
use serde_json::json;

fn chat(stream: bool) -> serde_json::Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "hello"}]})
}

/// Run `threads` client loops for at most `duration` (and at most `max_each`
/// requests each); returns (ok, failed, failure samples).
fn bounded_load(
    addr: &str,
    threads: usize,
    duration: Duration,
    max_each: usize,
    stream_every: usize,
) -> (usize, usize, Vec<String>) {
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let deadline = Instant::now() + duration;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (addr, ok, failed, samples) = (
                addr.to_string(),
                ok.clone(),
                failed.clone(),
                samples.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..max_each {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let stream = stream_every > 0 && (i + t) % stream_every == 0;
                    let body = serde_json::to_vec(&chat(stream)).unwrap();
                    let result = std::panic::catch_unwind(|| {
                        http::request(&addr, "POST", "/v1/chat/completions", &[], &body)
                    });
                    match result {
                        Ok(r) if r.status == 200 && (!stream || r.text().contains("[DONE]")) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            samples
                                .lock()
                                .unwrap()
                                .push(format!("{} {}", r.status, r.text()));
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            samples.lock().unwrap().push("transport error".into());
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        samples,
    )
}

fn pool_config(urls: &[String], provider_extra: &str, route_extra: &str) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - name: pool
    format: openai
    base_urls: [{}]
{provider_extra}
models:
  - name: m
    targets: [{{ provider: pool, model: pooled }}]
{route_extra}
"#,
        urls.join(", ")
    )
}

#[test]
fn faulty_endpoints_cost_no_client_request() {
    let healthy = mock_with("healthy", |_| {});
    let flaky = mock_with("flaky", |c| c.fail_ratio = 0.5);
    let hung = mock_with("hung", |c| c.hang = true);
    let refused = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&pool_config(
        &[healthy.url(), flaky.url(), hung.url(), refused],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 300, idle_ms: 300 }",
        "    retry: { attempts: 4, backoff_ms: 1, max_backoff_ms: 5 }",
    ));
    let (ok, failed, samples) = bounded_load(&gw.addr, 4, Duration::from_secs(6), 40, 3);
    assert_eq!(failed, 0, "{samples:?}");
    assert!(ok >= 40, "only {ok} requests completed");
    assert!(flaky.hits() > 0 && healthy.hits() > 0);
}

#[test]
fn an_endpoint_the_health_check_marks_down_gets_no_request() {
    let healthy = mock_with("healthy", |_| {});
    let refused = format!("http://127.0.0.1:{}", common::free_port());
    let gw = Gateway::start(&pool_config(
        &[refused.clone(), healthy.url()],
        "    health_check: { kind: tcp, interval_ms: 100 }",
        "",
    ));
    let down = format!("endpoint=\"{refused}\"");
    // The list of ready endpoints is made again after each check: once the refused
    // endpoint is out of it, round robin has one endpoint left and no request pays a
    // failed attempt there (the passive breaker would need a failure first).
    assert!(common::wait_until(Duration::from_secs(5), || {
        gw.metrics_with("tollgate_upstream_healthy")
            .lines()
            .any(|l| l.contains(&down) && l.ends_with(" 0"))
    }));
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..6 {
        let resp = gw.post("/v1/chat/completions", &chat(false));
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-tollgate-attempts"), Some("1"));
    }
    assert_eq!(healthy.hits(), 6);
}

#[test]
fn rate_limited_upstream_goes_to_the_fallback_at_once_or_waits_its_retry_after() {
    let limited = mock_with("limited", |c| {
        c.status = Some(429);
        c.retry_after = Some(1);
    });
    let spare = mock_with("spare", |_| {});
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: a, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
  - {{ name: b, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: a, model: a-model }}]
    retry: {{ attempts: 2, backoff_ms: 10, max_backoff_ms: 3000 }}
    fallbacks: [spare]
  - name: spare
    targets: [{{ provider: b, model: b-model }}]
  - name: alone
    targets: [{{ provider: a, model: other-model }}]
    retry: {{ attempts: 2, backoff_ms: 10, max_backoff_ms: 3000 }}
"#,
        limited.url(),
        spare.url()
    ));
    // `a` asked for 1 s: with a fallback at hand, nobody waits for it.
    let resp = gw.post("/v1/chat/completions", &chat(false));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("x-tollgate-provider"), Some("b"));
    assert_eq!(resp.header("x-tollgate-attempts"), Some("2"));
    assert_eq!(limited.hits(), 1);
    // Without a fallback the second try waits the retry-after, then the client
    // gets the upstream's own 429 and retry-after.
    let started = Instant::now();
    let mut body = chat(false);
    body["model"] = json!("alone");
    let resp = gw.post("/v1/chat/completions", &body);
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert_eq!(resp.header("x-tollgate-attempts"), Some("2"));
    assert_eq!(limited.hits(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn stalled_stream_ends_with_an_in_band_error_and_a_clean_close() {
    let staller = mock_with("staller", |c| {
        c.tokens = 10;
        c.stall_after = Some(2);
    });
    let gw = Gateway::start(&pool_config(
        &[staller.url()],
        "    health_check: { kind: none }\n    timeouts: { first_byte_ms: 600, idle_ms: 600 }",
        "    retry: { attempts: 1 }",
    ));
    // The chunked body must be terminated properly (the client panics otherwise).
    let resp = gw.post("/v1/chat/completions", &chat(true));
    assert_eq!(resp.status, 200);
    let text = resp.text();
    assert!(text.contains("tok1"), "{text}");
    assert!(text.contains(r#""error""#), "{text}");
    assert!(text.contains("timeout_error"), "{text}");
}

#[test]
fn total_timeout_ends_a_slow_stream() {
    let slow = mock_with("slow", |c| {
        c.tokens = 50;
        c.delay_ms = 100;
    });
    let gw = Gateway::start(&pool_config(
        &[slow.url()],
        "    timeouts: { total_ms: 700 }",
        "",
    ));
    let started = Instant::now();
    let resp = gw.post("/v1/chat/completions", &chat(true));
    let text = resp.text();
    assert!(text.contains("timeout_error"), "{text}");
    assert!(!text.contains("tok49"));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn client_disconnect_cancels_the_upstream_request() {
    let slow = mock_with("slow", |c| {
        c.tokens = 40;
        c.delay_ms = 100;
    });
    let gw = Gateway::start(&pool_config(&[slow.url()], "", ""));
    {
        let mut conn = Conn::open(&gw.addr);
        let body = serde_json::to_vec(&chat(true)).unwrap();
        conn.send("POST", "/v1/chat/completions", &[], &body);
        std::thread::sleep(Duration::from_millis(400));
        // Dropping the connection: the client goes away mid-stream.
    }
    let cancelled = common::wait_until(Duration::from_secs(3), || {
        slow.requests().iter().any(|r| r.cancelled)
    });
    assert!(
        cancelled,
        "the upstream never saw the cancellation: {:?}",
        slow.requests()
    );
    assert!(common::wait_until(Duration::from_secs(3), || {
        http::get(&gw.admin, "/metrics")
            .text()
            .contains("tollgate_client_disconnects_total 1")
    }));
}

#[test]
fn reloads_under_load_drop_nothing_and_invalid_files_are_rejected() {
    let a = mock_with("a", |c| c.delay_ms = 5);
    let b = mock_with("b", |c| c.delay_ms = 5);
    let base = pool_config(&[a.url()], "", "");
    let gw = Gateway::start(&base);
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, stop_load) = (gw.addr.clone(), stop.clone());
    let load = std::thread::spawn(move || {
        let mut total = (0, 0, Vec::new());
        while !stop_load.load(Ordering::Relaxed) {
            let (ok, failed, samples) = bounded_load(&addr, 4, Duration::from_millis(500), 50, 2);
            total.0 += ok;
            total.1 += failed;
            total.2.extend(samples);
        }
        total
    });
    let variants = [
        pool_config(&[a.url(), b.url()], "", ""),
        "providers: [ {name: broken".to_string(), // invalid: rejected, old config keeps serving
        pool_config(&[b.url()], "", ""),
        pool_config(&[a.url(), b.url()], "", "    strategy: least_inflight"),
        pool_config(&[a.url()], "", ""),
    ];
    for (i, text) in variants.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(600));
        gw.write_config(text);
        if i == 2 {
            // Also through the admin API.
            std::thread::sleep(Duration::from_millis(300));
            let r = http::request(&gw.admin, "POST", "/admin/reload", &[], b"");
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    std::thread::sleep(Duration::from_millis(600));
    stop.store(true, Ordering::Relaxed);
    let (ok, failed, samples) = load.join().unwrap();
    assert_eq!(failed, 0, "{samples:?}");
    assert!(ok > 50, "{ok}");
    let metrics = gw.metrics_with(r#"tollgate_config_reloads_total{result="failure"} 1"#);
    assert!(metrics.contains(r#"tollgate_config_reloads_total{result="success"}"#));
    assert!(b.hits() > 0, "the reloaded config never routed to b");
}

#[test]
fn graceful_upgrade_under_load_completes_every_request_and_stream() {
    let up = mock_with("up", |c| c.delay_ms = 2);
    let slow = mock_with("slow", |c| {
        // 8 s: still streaming when the old process stops accepting (5 s after
        // SIGQUIT) and starts its grace period.
        c.tokens = 32;
        c.delay_ms = 250;
    });
    let config = format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: fast, format: openai, base_url: "{}" }}
  - {{ name: slow, format: openai, base_url: "{}" }}
models:
  - name: m
    targets: [{{ provider: fast, model: x }}]
  - name: long
    targets: [{{ provider: slow, model: y }}]
"#,
        up.url(),
        slow.url()
    );
    let mut gw = Gateway::start_full(&config, &[], 8);
    // Long streams in flight on the old process.
    let streams: Vec<_> = (0..3)
        .map(|_| {
            let addr = gw.addr.clone();
            std::thread::spawn(move || {
                http::post_json(&addr, "/v1/chat/completions", &json!({"model": "long", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
            })
        })
        .collect();
    let addr = gw.addr.clone();
    let load = std::thread::spawn(move || upgrade_load(&addr, 3, Duration::from_secs(10), 3000));
    std::thread::sleep(Duration::from_millis(800));

    // Exactly the documented command (README, "Reload and zero-downtime upgrade").
    let log_path = gw.dir.join("upgrade.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut script = Command::new("scripts/upgrade.sh")
        .arg(&gw.config_path)
        .arg(env!("CARGO_BIN_EXE_tollgate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TOLLGATE_OLD_PID", gw.pid().to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // The new process is a daemon: stop it whatever happens below.
    let _new = DaemonGuard(gw.dir.join("tollgate.pid"));
    // Reap the old process as it exits (the script must not mistake a zombie for a
    // running process) while the script waits for it.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut old_exited = false;
    let script_status = loop {
        old_exited |= matches!(gw.child.try_wait(), Ok(Some(_)));
        if let Some(status) = script.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = script.kill();
            let _ = script.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    old_exited |= matches!(gw.child.try_wait(), Ok(Some(_)));
    let script_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    eprintln!("OLDERR {}", gw.stderr());

    let (ok, failed, resent, samples) = load.join().unwrap();
    for s in streams {
        let resp = s.join().unwrap();
        assert_eq!(resp.status, 200);
        assert!(
            resp.text().contains("tok31") && resp.text().contains("[DONE]"),
            "stream cut: {}",
            resp.text()
        );
    }
    assert!(
        script_status.is_some_and(|s| s.success()),
        "upgrade.sh failed ({script_status:?}):\n{script_log}"
    );
    assert!(script_log.contains("old process exited"), "{script_log}");
    assert!(old_exited, "old process did not exit:\n{script_log}");
    // The new process serves after the old one is gone.
    let after = gw.post("/v1/chat/completions", &chat(false));
    assert_eq!(after.status, 200);
    assert_eq!(failed, 0, "{samples:?}");
    assert!(ok > 20, "{ok}");
    // Pingora's old process drops, unread, the connections it accepted in the last
    // instant before it stops listening; a client sends those again (see README).
    assert!(resent <= 3, "{resent} requests refused unread");
}

/// Sequential clients for at most `duration` (and `max_each` requests each), sending a
/// request once more when its connection was closed before any answer; returns (ok,
/// failed, sent again, failure samples).
fn upgrade_load(
    addr: &str,
    threads: usize,
    duration: Duration,
    max_each: usize,
) -> (usize, usize, usize, Vec<String>) {
    let deadline = Instant::now() + duration;
    let body = serde_json::to_vec(&chat(false)).unwrap();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (addr, body) = (addr.to_string(), body.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut resent, mut samples) = (0, 0, 0, Vec::new());
                for _ in 0..max_each {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let send = || {
                        http::request_unless_unanswered(
                            &addr,
                            "POST",
                            "/v1/chat/completions",
                            &[],
                            &body,
                        )
                    };
                    let resp = send().or_else(|| {
                        resent += 1;
                        send()
                    });
                    match resp {
                        Some(r) if r.status == 200 => ok += 1,
                        Some(r) => {
                            failed += 1;
                            samples.push(format!("{} {}", r.status, r.text()));
                        }
                        None => {
                            failed += 1;
                            samples.push("closed unanswered twice".into());
                        }
                    }
                }
                (ok, failed, resent, samples)
            })
        })
        .collect();
    handles.into_iter().fold((0, 0, 0, Vec::new()), |acc, h| {
        let (ok, failed, resent, samples) = h.join().unwrap();
        let mut all = acc.3;
        all.extend(samples);
        (acc.0 + ok, acc.1 + failed, acc.2 + resent, all)
    })
}

/// Kills the daemonized process named by a pid file when dropped.
struct DaemonGuard(std::path::PathBuf);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.trim()).status();
        }
    }
}

#[path = "e2e_reliability/upstream_quirks.rs"]
mod upstream_quirks;
