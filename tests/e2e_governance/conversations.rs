//! Governance of continued Responses conversations (`previous_response_id`).

use std::time::Duration;

use super::{common, config, CAROL};
use common::{http, Gateway};
use serde_json::json;
use tollgate::policy::hash_key;

/// A continued Responses conversation is governed as the whole conversation it sends:
/// a guardrail added by a reload blocks a turn whose stored history breaks it (the
/// conversation itself survives the reload), and the token limit is admitted on the
/// history too.
#[test]
fn a_continued_responses_conversation_is_checked_whole() {
    let up = common::mock_with("mock", |c| c.tokens = 5);
    let carol = format!(
        "  - name: carol\n    hash: \"{}\"\n    limits: {{ tpm: 2500 }}\n",
        hash_key(CAROL)
    );
    let gw = Gateway::start(&config(&up, &carol, ""));
    let ask = |body: serde_json::Value| {
        http::request(
            &gw.addr,
            "POST",
            "/v1/responses",
            &[("authorization", &format!("Bearer {CAROL}"))],
            body.to_string().as_bytes(),
        )
    };
    // ~2 000 tokens of input (estimated at 4 characters a token): it fits carol's
    // 2 500 TPM, but not together with another ~750.
    let long = "word ".repeat(1600);
    let first = ask(
        json!({"model": "gpt-4o-mini", "max_output_tokens": 16, "input": format!("Project Falcon. {long}")}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let id = first.json()["id"].as_str().unwrap().to_string();
    let guardrails = "guardrails:\n  - { name: codenames, kind: deny_pattern, patterns: ['(?i)project\\s+falcon'], action: block, global: true }\n";
    gw.write_config(&config(&up, &carol, guardrails));
    let hits = up.hits();
    let blocked = common::wait_until(Duration::from_secs(10), || {
        let next =
            ask(json!({"model": "gpt-4o-mini", "input": "Go on.", "previous_response_id": id}));
        next.status == 400 && next.json()["error"]["code"] == "guardrail_blocked"
    });
    assert!(
        blocked,
        "continuation not blocked; gateway log:\n{}",
        gw.stderr()
    );
    assert_eq!(up.hits(), hits, "a blocked turn never reaches the upstream");
    // Without the guardrail, the continuation's history counts against the TPM
    // limit: ~750 tokens of new input alone fit, with the history they cannot.
    gw.write_config(&config(&up, &carol, ""));
    let more = "word ".repeat(600);
    let limited = common::wait_until(Duration::from_secs(10), || {
        let next = ask(
            json!({"model": "gpt-4o-mini", "max_output_tokens": 16, "input": more, "previous_response_id": id}),
        );
        next.status == 429 && next.text().contains("request too large")
    });
    assert!(
        limited,
        "continuation not limited; gateway log:\n{}",
        gw.stderr()
    );
}
