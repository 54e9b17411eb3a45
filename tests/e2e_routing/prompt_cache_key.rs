//! `balance.prompt_cache_key`: requests to an OpenAI-format target get a
//! `prompt_cache_key` from the hash of their prompt's leading part when the client
//! sent none — the same for conversations sharing a long prefix, different for
//! another tenant's — and a client's own key is left alone.

use serde_json::{json, Value};

use crate::common::{self, Gateway};

fn config(url: &str, setting: &str) -> String {
    format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{url}" }}
models:
  - name: hosted
    balance: {{ prompt_cache_key: {setting} }}
    targets: [{{ provider: up, model: gpt-4o-mini }}]
  - name: plain
    targets: [{{ provider: up, model: gpt-4o-mini }}]
"#
    )
}

fn body(model: &str, system: &str, user: &str, extra: Value) -> Value {
    let mut b = json!({"model": model, "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": user}]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// The `prompt_cache_key` the mock received last, if any.
fn sent_key(up: &tollgate_mock::MockServer) -> Option<String> {
    let last = up.requests().last().cloned().unwrap();
    let prefix = last.body_prefix;
    let start = prefix.find(r#""prompt_cache_key":""#)? + r#""prompt_cache_key":""#.len();
    let end = prefix[start..].find('"')? + start;
    Some(prefix[start..end].to_string())
}

#[test]
fn shared_prefixes_share_a_prompt_cache_key_and_client_keys_win() {
    let up = common::mock("up");
    let gw = Gateway::start(&config(&up.url(), "true"));
    let tenant_a = format!(
        "You are the support assistant of Acme. {}",
        "Policy. ".repeat(800)
    );
    let tenant_b = format!(
        "You are the billing assistant of Initech. {}",
        "Rules. ".repeat(800)
    );
    let mut keys = Vec::new();
    for (system, user) in [
        (&tenant_a, "hi"),
        (&tenant_a, "where is my order?"),
        (&tenant_b, "hi"),
    ] {
        let r = gw.post(
            "/v1/chat/completions",
            &body("hosted", system, user, json!({})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        keys.push(sent_key(&up).expect("a prompt_cache_key was set"));
    }
    assert!(keys[0].starts_with("tg-"), "{keys:?}");
    assert_eq!(keys[0], keys[1], "one tenant's conversations share a key");
    assert_ne!(keys[0], keys[2], "another tenant gets another key");

    // A short prompt, so the client's key (serialised last) is in the recorded prefix.
    let own = json!({"prompt_cache_key": "client-chosen"});
    let r = gw.post(
        "/v1/chat/completions",
        &body("hosted", "Be brief.", "hi", own),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sent_key(&up).as_deref(), Some("client-chosen"));

    let r = gw.post(
        "/v1/chat/completions",
        &body("plain", "Be brief.", "hi", json!({})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        sent_key(&up),
        None,
        "routes without the setting are untouched"
    );

    let (ok, out) = common::validate_config(&config(&up.url(), "\"yes\""), &[]);
    assert!(!ok);
    assert!(out.contains("models[0].balance.prompt_cache_key"), "{out}");
}
