//! The response cache through the binary: exact hits across dialects and stream
//! modes, what is never stored, namespaces, client control, TTL, invalidation,
//! semantic hits, paced replay, and the Redis backend shared by two gateways.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "e2e_cache/control.rs"]
mod control;
#[path = "e2e_cache/exact.rs"]
mod exact;
#[path = "e2e_cache/semantic.rs"]
mod semantic;
#[path = "e2e_cache/shared.rs"]
mod shared;
#[path = "e2e_cache/streams.rs"]
mod streams;

use common::http;
use serde_json::{json, Value};

/// A chat request of the OpenAI dialect.
pub fn openai_chat(model: &str, prompt: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}]});
    merge(&mut body, extra);
    body
}

/// The same request in the Anthropic dialect.
pub fn anthropic_chat(model: &str, prompt: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}]});
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
}

/// POST `body` to `path` with `headers`.
pub fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> http::Response {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    http::request(addr, "POST", path, &all, &serde_json::to_vec(body).unwrap())
}

/// The text of an OpenAI or Anthropic SSE stream, concatenated, and its last usage.
pub fn stream_text(sse: &str) -> (String, Value) {
    let mut text = String::new();
    let mut usage = Value::Null;
    for line in sse.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if let Some(t) = v
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
        {
            text.push_str(t);
        }
        if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            usage = u.clone();
        }
    }
    (text, usage)
}
