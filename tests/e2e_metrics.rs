//! What clients can and cannot do to `/metrics`: label values come from the
//! configuration and from enums only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{http, mock, Gateway};
use serde_json::json;

#[test]
fn client_chosen_model_names_never_become_label_values() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: p, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: known
    targets: [{{ provider: p, model: gpt-4o-mini }}]
"#,
        up.url()
    ));
    for i in 0..20 {
        let body = json!({"model": format!("p/made-up-{i}"), "stream": i % 2 == 0,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    }
    let body = json!({"model": "known", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    let page = gw.metrics_with("model=\"known\"");
    assert!(
        !page.contains("made-up"),
        "client input in a label:\n{page}"
    );
    let series = page
        .lines()
        .filter(|l| l.starts_with("tollgate_requests_total{"))
        .count();
    assert!(
        series <= 2,
        "{series} request series for two model labels:\n{page}"
    );
    assert!(page.contains("model=\"other\""), "{page}");
    let _ = http::get(&gw.admin, "/metrics");
}
