#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The policy layer on a real Redis: limits shared by replicas, spend that survives a
//! restart, and bounded failure handling when Redis is down or silent.
//!
//! Needs `TOLLGATE_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6390/0`); without it every
//! test prints a skip line and passes, except where `TOLLGATE_TEST_REQUIRE_ENV` is set
//! (scripts/test.sh), where it fails. Each test uses its own key prefix, so runs do
//! not see each other's state. Unreachable-Redis tests only use 127.0.0.1.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tollgate::config::Governance;
use tollgate::error::ErrorKind;
use tollgate::model::Usage;
use tollgate::policy::{hash_key, Policy};

fn redis_url(test: &str) -> Option<String> {
    common::test_env("TOLLGATE_TEST_REDIS_URL", test)
}

/// A prefix no other run has used.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tgtest:{test}:{}:{nanos}:", std::process::id())
}

/// Deletes every key of a test's prefix (the totals have no TTL).
async fn cleanup(url: &str, prefix: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

fn config(
    url: &str,
    prefix: &str,
    on_error: &str,
    timeout_ms: u64,
    limits: &str,
    budget: &str,
) -> Governance {
    let yaml = format!(
        r#"
keys:
  - name: shared
    hash: "{hash}"
    team: t
    limits: {limits}
    budget: {budget}
teams:
  - name: t
state:
  backend: redis
  redis_url: "{url}"
  key_prefix: "{prefix}"
  on_error: {on_error}
  timeout_ms: {timeout_ms}
"#,
        hash = hash_key("sk-shared")
    );
    tollgate::config::load_str(&yaml, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"))
        .governance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_rpm_limit() {
    let Some(url) = redis_url("two_replicas_share_one_rpm_limit") else {
        return;
    };
    const LIMIT: u64 = 300;
    let prefix = unique_prefix("rpm");
    let file = config(
        &url,
        &prefix,
        "fail_closed",
        1000,
        &format!("{{rpm: {LIMIT}}}"),
        "{}",
    );
    let replicas = [
        Policy::from_config(&file).await.unwrap(),
        Policy::from_config(&file).await.unwrap(),
    ];
    let admitted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let p = replicas[i % 2].clone();
        let (admitted, errors) = (admitted.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let key = p.authenticate(Some("sk-shared")).unwrap();
            for _ in 0..25 {
                match p.admit(&key, 10).await {
                    Ok(a) => {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        p.settle(a, "openai", "gpt-4o", &Usage::default()).await;
                    }
                    Err(e) if e.kind == ErrorKind::RateLimited => {}
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    let admitted = admitted.load(Ordering::Relaxed);
    // GCRA refills continuously: over the test's duration LIMIT/60 per second more may pass.
    let refill = elapsed.as_secs_f64() * LIMIT as f64 / 60.0;
    let bound = ((LIMIT as f64 + refill) * 1.01).floor() as u64;
    println!("admitted {admitted} of 800 attempts in {elapsed:?} (limit {LIMIT}, bound {bound})");
    assert_eq!(
        errors.load(Ordering::Relaxed),
        0,
        "store errors during the run"
    );
    assert!(admitted <= bound, "admitted {admitted} > {bound}");
    assert!(
        admitted >= LIMIT,
        "admitted only {admitted} of a {LIMIT} burst"
    );
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn spend_persists_across_policy_instances() {
    let Some(url) = redis_url("spend_persists_across_policy_instances") else {
        return;
    };
    let prefix = unique_prefix("spend");
    let file = config(
        &url,
        &prefix,
        "fail_closed",
        1000,
        "{rpm: 100, tpm: 100000, max_concurrent: 2}",
        "{daily_usd: 1.0}",
    );
    {
        let p = Policy::from_config(&file).await.unwrap();
        let key = p.authenticate(Some("sk-shared")).unwrap();
        let a = p.admit(&key, 5_000).await.unwrap();
        assert_eq!(
            a.headers
                .iter()
                .find(|(n, _)| *n == "x-ratelimit-remaining-tokens")
                .unwrap()
                .1,
            "95000"
        );
        // gpt-4o list price: 200k in × $2.50 + 60k out × $10 = $1.10.
        let usage = Usage {
            input_tokens: 200_000,
            output_tokens: 60_000,
            ..Usage::default()
        };
        p.settle(a, "openai", "gpt-4o", &usage).await;
    }
    // A "restarted" gateway: new Policy, new connection, same Redis.
    let p = Policy::from_config(&file).await.unwrap();
    let report = p.usage_report().await;
    let key = &report["keys"][0];
    assert_eq!(report["backend"], "redis");
    assert!(
        (key["spend_usd"]["today"].as_f64().unwrap() - 1.10).abs() < 1e-9,
        "{report}"
    );
    assert_eq!(key["requests"], 1);
    assert_eq!(key["tokens"], 260_000);
    assert_eq!(report["models"][0]["model"], "gpt-4o");
    assert_eq!(key["limits"]["max_concurrent"]["in_flight"], 0);
    let k = p.authenticate(Some("sk-shared")).unwrap();
    let e = p.admit(&k, 10).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BudgetExceeded);
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn concurrency_slots_are_shared_and_released() {
    let Some(url) = redis_url("concurrency_slots_are_shared_and_released") else {
        return;
    };
    let prefix = unique_prefix("cc");
    let file = config(
        &url,
        &prefix,
        "fail_closed",
        1000,
        "{max_concurrent: 2}",
        "{}",
    );
    let (a, b) = (
        Policy::from_config(&file).await.unwrap(),
        Policy::from_config(&file).await.unwrap(),
    );
    let ka = a.authenticate(Some("sk-shared")).unwrap();
    let kb = b.authenticate(Some("sk-shared")).unwrap();
    let first = a.admit(&ka, 1).await.unwrap();
    let second = b.admit(&kb, 1).await.unwrap();
    assert!(a
        .admit(&ka, 1)
        .await
        .unwrap_err()
        .message
        .contains("concurrent"));
    b.settle(second, "p", "m", &Usage::default()).await;
    let third = a.admit(&ka, 1).await.unwrap();
    drop(first); // released by a spawned task
    drop(third);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if b.admit(&kb, 1).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dropped admissions never released their slots"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn burst_refusal_and_refund_match_the_memory_store() {
    let Some(url) = redis_url("burst_refusal_and_refund_match_the_memory_store") else {
        return;
    };
    let prefix = unique_prefix("gcra");
    let file = config(
        &url,
        &prefix,
        "fail_closed",
        1000,
        "{rpm: 5, tpm: 1000}",
        "{}",
    );
    let p = Policy::from_config(&file).await.unwrap();
    let k = p.authenticate(Some("sk-shared")).unwrap();
    let e = p.admit(&k, 1_001).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after),
        (ErrorKind::RateLimited, None),
        "{e:?}"
    );
    let big = p.admit(&k, 900).await.unwrap();
    assert!(p.admit(&k, 200).await.is_err());
    p.settle(
        big,
        "p",
        "m",
        &Usage {
            input_tokens: 50,
            output_tokens: 50,
            ..Usage::default()
        },
    )
    .await;
    let mut last = p.admit(&k, 200).await.unwrap();
    assert_eq!(
        last.headers
            .iter()
            .find(|(n, _)| *n == "x-ratelimit-remaining-tokens")
            .unwrap()
            .1,
        "700"
    );
    for _ in 0..2 {
        last = p.admit(&k, 1).await.unwrap();
    }
    assert_eq!(
        last.headers
            .iter()
            .find(|(n, _)| *n == "x-ratelimit-remaining-requests")
            .unwrap()
            .1,
        "1"
    );
    p.admit(&k, 1).await.unwrap();
    let e = p.admit(&k, 1).await.unwrap_err();
    let retry = e.retry_after.unwrap();
    assert!(
        retry > Duration::from_secs(11) && retry <= Duration::from_secs(12),
        "{retry:?}"
    );
    cleanup(&url, &prefix).await;
}

/// Admission against an unusable Redis must end within the timeout either way.
async fn check_unreachable(url: &str, what: &str) {
    for (on_error, admits) in [("fail_open", true), ("fail_closed", false)] {
        let file = config(
            url,
            &unique_prefix("down"),
            on_error,
            150,
            "{rpm: 10}",
            "{daily_usd: 5}",
        );
        let start = Instant::now();
        let p = Policy::from_config(&file).await.unwrap();
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{what}: building took {:?}",
            start.elapsed()
        );
        let k = p.authenticate(Some("sk-shared")).unwrap();
        for attempt in 0..4 {
            let t = Instant::now();
            let r = p.admit(&k, 1).await;
            let took = t.elapsed();
            assert!(
                took < Duration::from_millis(600),
                "{what} {on_error} attempt {attempt}: {took:?}"
            );
            match (&r, admits) {
                (Ok(a), true) => assert!(!a.is_metered()),
                (Err(e), false) => assert_eq!(e.kind, ErrorKind::Overloaded),
                _ => panic!("{what} {on_error}: unexpected {r:?}"),
            }
            if let Ok(a) = r {
                let t = Instant::now();
                p.settle(
                    a,
                    "p",
                    "m",
                    &Usage {
                        input_tokens: 1,
                        ..Usage::default()
                    },
                )
                .await;
                assert!(
                    t.elapsed() < Duration::from_millis(600),
                    "{what}: settle hung"
                );
            }
        }
        let t = Instant::now();
        assert!(p.usage_report().await["error"].is_string());
        assert!(
            t.elapsed() < Duration::from_millis(600),
            "{what}: report hung"
        );
    }
}

#[tokio::test]
async fn closed_port_follows_on_error_without_hanging() {
    if redis_url("closed_port_follows_on_error_without_hanging").is_none() {
        return;
    }
    // Bind then drop a listener: the port is now closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    check_unreachable(&format!("redis://127.0.0.1:{port}/0"), "closed port").await;
}

#[tokio::test]
async fn silent_server_follows_on_error_without_hanging() {
    if redis_url("silent_server_follows_on_error_without_hanging").is_none() {
        return;
    }
    // Accepts connections and never answers: every call must time out, not hang.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    check_unreachable(&format!("redis://127.0.0.1:{port}/0"), "silent server").await;
    server.abort();
}

/// `rediss://` with `state.tls_ca_file`: the store speaks TLS (here through a TLS
/// front with the fixture certificate, piped to the test Redis) and verifies the
/// server against the configured CA; another CA is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_server_against_the_configured_ca() {
    let Some(url) = redis_url("rediss_verifies_the_server_against_the_configured_ca") else {
        return;
    };
    let plain: std::net::SocketAddr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let front = common::tls::TlsFront::start(plain);
    let prefix = unique_prefix("tls");
    let governance = |ca: &str| {
        let yaml = format!(
            "keys:\n  - name: k\n    hash: \"{hash}\"\n    limits: {{rpm: 1000}}\n\
             state:\n  backend: redis\n  redis_url: \"rediss://127.0.0.1:{port}/\"\n  \
             tls_ca_file: \"{dir}/{ca}\"\n  key_prefix: \"{prefix}\"\n  on_error: fail_closed\n  \
             timeout_ms: 2000\n",
            hash = hash_key("sk-k"),
            port = front.addr.port(),
            dir = common::tls::FIXTURES,
        );
        tollgate::config::load_str(&yaml, &|_| None)
            .unwrap_or_else(|e| panic!("{e}"))
            .governance
    };
    let p = Policy::from_config(&governance("ca.pem")).await.unwrap();
    let key = p.authenticate(Some("sk-k")).unwrap();
    let a = p.admit(&key, 1).await.unwrap();
    assert!(a.is_metered(), "admitted through the store");
    p.settle(a, "openai", "gpt-4o", &Usage::default()).await;
    assert!(front.handshakes() >= 1);

    let wrong = Policy::from_config(&governance("other-ca.pem"))
        .await
        .unwrap();
    let key = wrong.authenticate(Some("sk-k")).unwrap();
    let e = wrong.admit(&key, 1).await.unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Overloaded,
        "an unverified server is a store failure"
    );
    cleanup(&url, &prefix).await;
}
