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

/// The access-log line of the response with this request id.
fn logged(gw: &Gateway, r: &http::Response) -> serde_json::Value {
    let id = r.header("x-request-id").unwrap().to_string();
    let mut line = serde_json::Value::Null;
    assert!(wait_until(Duration::from_secs(5), || {
        line = gw
            .stdout()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["request_id"] == id.as_str())
            .unwrap_or(serde_json::Value::Null);
        !line.is_null()
    }));
    line
}

#[test]
fn a_price_file_prices_requests_and_is_followed_when_edited() {
    let up = mock("up");
    let dir = common::temp_dir("prices");
    let prices = dir.join("prices.yaml");
    let write = |text: &str| {
        let tmp = dir.join("next.yaml");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &prices).unwrap();
    };
    // The whole table from the file: the built-in price of gpt-4o-mini is gone, the
    // file's own one counts, and a model it does not list is unpriced.
    write("builtin: replace\nprices:\n  - { model: \"gpt-4o-mini*\", input_per_mtok: 1000, output_per_mtok: 1000 }\n");
    let gw = Gateway::start(&config(
        &up,
        &format!("pricing_file: \"{}\"", prices.display()),
    ));
    let r = send(&gw, FREE, "m");
    assert_eq!(r.status, 200);
    let line = logged(&gw, &r);
    let tokens = line["input_tokens"].as_f64().unwrap() + line["output_tokens"].as_f64().unwrap();
    let cost = line["cost_usd"].as_f64().unwrap();
    assert!((cost - tokens * 1000.0 / 1e6).abs() < 1e-6, "{line}");

    // Editing only the price file reloads it (file watch).
    write("builtin: keep\nprices:\n  - { model: \"gpt-4o-mini*\", input_per_mtok: 2000, output_per_mtok: 2000 }\n");
    let mut line = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(10), || {
            line = logged(&gw, &send(&gw, FREE, "m"));
            let tokens =
                line["input_tokens"].as_f64().unwrap() + line["output_tokens"].as_f64().unwrap();
            (line["cost_usd"].as_f64().unwrap() - tokens * 2000.0 / 1e6).abs() < 1e-6
        }),
        "the edited price never applied: {line}"
    );

    // A broken price file is rejected like a broken config: the old prices stay.
    write("prices:\n  - { model: \"gpt-4o-mini*\", input_per_mtok: -5 }\n");
    gw.metrics_with("tollgate_config_reloads_total{result=\"failure\"} 1");
    let line = logged(&gw, &send(&gw, FREE, "m"));
    let tokens = line["input_tokens"].as_f64().unwrap() + line["output_tokens"].as_f64().unwrap();
    assert!(
        (line["cost_usd"].as_f64().unwrap() - tokens * 2000.0 / 1e6).abs() < 1e-6,
        "{line}"
    );
    let (ok, out) = validate_config(&format!("pricing_file: \"{}\"\n", prices.display()), &[]);
    assert!(!ok && out.contains("prices[0].input_per_mtok"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
