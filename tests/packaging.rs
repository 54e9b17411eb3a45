//! The shipped files: the default config validates, the Grafana dashboard queries only
//! metrics a live gateway exposes, and the deployment files agree with the config
//! (grace periods, probes, the ports the image exposes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{http, mock, Gateway};
use serde_json::{json, Value};

fn repo_file(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn the_default_config_validates() {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["-t", "-c"])
        .arg(format!("{}/conf/tollgate.yaml", env!("CARGO_MANIFEST_DIR")))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Metric names in the dashboard's queries (histogram series by their base name).
fn dashboard_metrics() -> BTreeSet<String> {
    let dash: Value = serde_json::from_str(&repo_file("deploy/grafana/tollgate.json")).unwrap();
    assert_eq!(dash["uid"], "tollgate");
    let mut names = BTreeSet::new();
    for panel in dash["panels"].as_array().unwrap() {
        assert!(panel["title"].is_string());
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(i) = rest.find("tollgate_") {
                let name: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[i + name.len()..];
                names.insert(name.trim_end_matches("_bucket").to_string());
            }
        }
    }
    names
}

#[test]
fn every_metric_the_dashboard_queries_exists_on_a_live_gateway() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: tcp, interval_ms: 200 }} }}
models:
  - name: gpt-4o-mini
    targets: [{{ provider: p, model: gpt-4o-mini }}]
auth: {{ mode: keys }}
keys:
  - name: dash
    hash: "sha256:073a6510a457cec9f3ad0450addbccb549627f4e7b5a18310e566abed3dbe7d0"
    limits: {{ rpm: 2 }}
    budget: {{ daily_usd: 5 }}
"#,
        up.url()
    ));
    let auth = [("authorization", "Bearer tg-dashboard-key")];
    let body = serde_json::to_vec(&json!({"model": "gpt-4o-mini", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let resp = common::http::Conn::open(&gw.addr).request(
            "POST",
            "/v1/chat/completions",
            &auth,
            &body,
        );
        statuses.push(resp.status);
    }
    assert_eq!(statuses, [200, 200, 429]);
    let wanted = dashboard_metrics();
    assert!(wanted.len() >= 15, "{wanted:?}");
    let mut page = String::new();
    let all_there = common::wait_until(std::time::Duration::from_secs(10), || {
        page = http::get(&gw.admin, "/metrics").text();
        wanted.iter().all(|m| page.contains(m.as_str()))
    });
    let missing: Vec<_> = wanted
        .iter()
        .filter(|m| !page.contains(m.as_str()))
        .collect();
    assert!(
        all_there,
        "the dashboard queries metrics /metrics lacks: {missing:?}"
    );
}

#[test]
fn kubernetes_grace_covers_the_config_grace_and_probes_use_the_admin_plane() {
    let docs: Vec<serde_yaml::Value> =
        serde_yaml::Deserializer::from_str(&repo_file("deploy/kubernetes/tollgate.yaml"))
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler"
        ]
    );
    let config: serde_yaml::Value =
        serde_yaml::from_str(docs[0]["data"]["tollgate.yaml"].as_str().unwrap()).unwrap();
    let grace = config["server"]["grace_period_seconds"].as_u64().unwrap();
    let pod = &docs[1]["spec"]["template"]["spec"];
    let termination = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(termination > grace, "{termination} <= {grace}");
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    // The embedded config is a valid tollgate config (secrets from the environment).
    let (ok, out) = common::validate_config(
        docs[0]["data"]["tollgate.yaml"].as_str().unwrap(),
        &[
            ("TOLLGATE_ADMIN_TOKEN", "t"),
            ("OPENAI_API_KEY", "k"),
            ("ANTHROPIC_API_KEY", "k"),
            ("REDIS_URL", "redis://127.0.0.1:6379/"),
        ],
    );
    assert!(ok, "{out}");
}

#[test]
fn the_image_exposes_the_listeners_and_checks_livez() {
    let dockerfile = repo_file("Dockerfile");
    assert!(dockerfile.contains("EXPOSE 8080 9090"));
    assert!(dockerfile.contains("/livez"));
    assert!(dockerfile.contains("USER 10001"));
    let unit = repo_file("deploy/systemd/tollgate.service");
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&repo_file("deploy/compose.yaml")).unwrap();
    for service in ["tollgate", "redis", "prometheus", "grafana"] {
        assert!(compose["services"][service].is_mapping(), "{service}");
    }
}
