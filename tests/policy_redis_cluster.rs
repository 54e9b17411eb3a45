#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The policy layer on a Redis Cluster (`state.backend: redis_cluster`): limits and
//! spend shared by replicas through the cluster, with every script call routed to
//! the slot of the prefix's hash tag (no CROSSSLOT), and reports read back.
//!
//! Needs `TOLLGATE_TEST_REDIS_CLUSTER_URLS` (comma-separated seed URLs of a running
//! cluster; scripts/test.sh starts a three-primary one on loopback); without it every
//! test prints a skip line and passes, except under `TOLLGATE_TEST_REQUIRE_ENV`.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use tollgate::config::Governance;
use tollgate::error::ErrorKind;
use tollgate::model::Usage;
use tollgate::policy::{hash_key, Policy};

fn cluster_urls(test: &str) -> Option<String> {
    common::test_env("TOLLGATE_TEST_REDIS_CLUSTER_URLS", test)
}

fn governance(urls: &str, test: &str, limits: &str, budget: &str) -> Governance {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
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
    limits: {{rpm: 100000}}
state:
  backend: redis_cluster
  redis_url: "{urls}"
  key_prefix: "tgtest:{test}:{nanos}:"
  on_error: fail_closed
  timeout_ms: 2000
"#,
        hash = hash_key("sk-shared")
    );
    tollgate::config::load_str(&yaml, &|_| None)
        .unwrap_or_else(|e| panic!("{e}"))
        .governance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_rpm_limit_through_the_cluster() {
    let Some(urls) = cluster_urls("two_replicas_share_one_rpm_limit_through_the_cluster") else {
        return;
    };
    let g = governance(&urls, "rpm", "{rpm: 20, max_concurrent: 50}", "{}");
    let replicas = [
        Policy::from_config(&g).await.unwrap(),
        Policy::from_config(&g).await.unwrap(),
    ];
    let (mut admitted, mut limited) = (0, 0);
    for i in 0..40 {
        let p = &replicas[i % 2];
        let key = p.authenticate(Some("sk-shared")).unwrap();
        match p.admit(&key, 10).await {
            Ok(a) => {
                assert!(a.is_metered());
                admitted += 1;
                p.settle(a, "openai", "gpt-4o", &Usage::default()).await;
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
                limited += 1;
            }
        }
    }
    // The burst is the limit; a few more may refill while the loop runs.
    assert!((20..=22).contains(&admitted), "admitted {admitted}");
    assert_eq!(admitted + limited, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_recorded_on_the_cluster_is_seen_by_another_replica() {
    let Some(urls) = cluster_urls("spend_recorded_on_the_cluster_is_seen_by_another_replica")
    else {
        return;
    };
    let g = governance(&urls, "spend", "{}", "{daily_usd: 1.0}");
    let first = Policy::from_config(&g).await.unwrap();
    let key = first.authenticate(Some("sk-shared")).unwrap();
    let a = first.admit(&key, 10).await.unwrap();
    let usage = Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        ..Usage::default()
    };
    first.settle(a, "openai", "gpt-4o", &usage).await;
    let second = Policy::from_config(&g).await.unwrap();
    let key = second.authenticate(Some("sk-shared")).unwrap();
    let e = second.admit(&key, 10).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BudgetExceeded, "{e}");
    let report = second.usage_report().await;
    assert!(report["error"].is_null(), "{report}");
    assert!(report.to_string().contains("shared"), "{report}");
}
