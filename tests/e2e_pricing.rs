//! Models without a price (`unpriced:`), on one long-lived gateway: `warn` serves and
//! counts them but refuses them to keys with a budget, the warning is logged once per
//! model, and reloads switch to `block` and `default_price`. Bad `unpriced:` values
//! are refused with their key paths.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{http, mock, validate_config, wait_until, Gateway};
use serde_json::json;
use tollgate::policy::hash_key;
use tollgate_mock::MockServer;

const FREE: &str = "tg-pricing-free-71ac";
const CAPPED: &str = "tg-pricing-capped-93be";

fn config(up: &MockServer, unpriced: &str) -> String {
    format!(
        r#"
auth: {{ mode: keys }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - {{ name: m, targets: [{{ provider: p, model: gpt-4o-mini }}] }}
  - {{ name: in-house, targets: [{{ provider: p, model: in-house-model-7 }}] }}
keys:
  - {{ name: free, hash: "{}" }}
  - {{ name: capped, hash: "{}", budget: {{ daily_usd: 10 }} }}
{unpriced}
"#,
        up.url(),
        hash_key(FREE),
        hash_key(CAPPED),
    )
}

fn send(gw: &Gateway, key: &str, model: &str) -> http::Response {
    let body = serde_json::to_vec(
        &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    let auth = format!("Bearer {key}");
    http::request(
        &gw.addr,
        "POST",
        "/v1/chat/completions",
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        &body,
    )
}

#[test]
fn unpriced_models_follow_the_configured_action_across_reloads() {
    let up = mock("up");
    let gw = Gateway::start(&config(&up, ""));
    // Default `warn`: served to a key without a budget, refused to one with a budget.
    assert_eq!(send(&gw, FREE, "in-house").status, 200);
    assert_eq!(send(&gw, FREE, "in-house").status, 200);
    let refused = send(&gw, CAPPED, "in-house");
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(
        refused.text().contains("has no price"),
        "{}",
        refused.text()
    );
    assert_eq!(
        send(&gw, CAPPED, "m").status,
        200,
        "a priced model stays open"
    );
    let page = gw.metrics_with(
        "tollgate_unpriced_requests_total{action=\"warn\",outcome=\"served\",provider=\"p\"} 2",
    );
    assert!(
        page.contains("tollgate_unpriced_requests_total{action=\"warn\",outcome=\"refused\",provider=\"p\"} 1"),
        "{page}"
    );
    let warnings = gw
        .stderr()
        .matches("`in-house-model-7` (provider `p`) has no price")
        .count();
    assert_eq!(warnings, 1, "{}", gw.stderr());

    gw.write_config(&config(&up, "unpriced: { action: block }"));
    assert!(
        wait_until(Duration::from_secs(10), || send(&gw, FREE, "in-house")
            .status
            == 403),
        "block not applied by reload:\n{}",
        gw.stderr()
    );
    assert_eq!(send(&gw, FREE, "m").status, 200);

    gw.write_config(&config(
        &up,
        "unpriced: { action: default_price, input_per_mtok: 5, output_per_mtok: 15 }",
    ));
    assert!(
        wait_until(Duration::from_secs(10), || send(&gw, CAPPED, "in-house")
            .status
            == 200),
        "default_price not applied by reload:\n{}",
        gw.stderr()
    );
    // Charged at the default price: the access log's cost for that request is not null.
    let charged = |line: &&str| {
        line.contains("\"key\":\"capped\"")
            && line.contains("\"route\":\"in-house\"")
            && !line.contains("\"cost_usd\":null")
    };
    assert!(
        wait_until(Duration::from_secs(5), || gw
            .stdout()
            .lines()
            .any(|l| charged(&l))),
        "{}",
        gw.stdout()
    );
    gw.metrics_with(
        "tollgate_unpriced_requests_total{action=\"default_price\",outcome=\"served\",provider=\"p\"}",
    );
}

#[test]
fn bad_unpriced_settings_name_their_key() {
    let base = "providers: []\nmodels: []\n";
    for (section, path) in [
        ("unpriced: { action: allow }", "unpriced.action"),
        (
            "unpriced: { action: default_price, input_per_mtok: 1 }",
            "unpriced.output_per_mtok",
        ),
        (
            "unpriced: { action: default_price, input_per_mtok: -1, output_per_mtok: 1 }",
            "unpriced.input_per_mtok",
        ),
        (
            "unpriced: { action: warn, input_per_mtok: 1 }",
            "unpriced.input_per_mtok",
        ),
        ("unpriced: { action: warn, price: 1 }", "unpriced"),
    ] {
        let (ok, out) = validate_config(&format!("{base}{section}\n"), &[]);
        assert!(!ok, "{section} accepted");
        assert!(out.contains(path), "{section}: {out}");
    }
    let (ok, out) = validate_config(&format!("{base}unpriced: {{ action: block }}\n"), &[]);
    assert!(ok, "{out}");
}
