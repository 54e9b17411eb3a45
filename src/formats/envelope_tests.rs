use serde_json::{json, Value};

use super::*;
use crate::error::ErrorKind;

fn env(body: &str) -> Envelope {
    parse_envelope(Dialect::OpenAi, body.as_bytes()).unwrap()
}

fn err(dialect: Dialect, body: &str) -> GatewayError {
    parse_envelope(dialect, body.as_bytes()).unwrap_err()
}

fn rewrite(body: &str, model: &str, force: bool) -> Value {
    let e = env(body);
    let out = rewrite_same_format(body.as_bytes(), &e, model, force);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn reads_model_stream_usage_and_user() {
    let e = env(
        r#"{"model":"gpt-4o","messages":[],"stream":true,"stream_options":{"include_usage":true},"user":"u-1"}"#,
    );
    assert_eq!(e.model, "gpt-4o");
    assert!(e.stream && e.include_usage);
    assert_eq!(e.user.as_deref(), Some("u-1"));

    let e = env(r#"{"messages":[{"role":"user","content":"hi"}],"model":"m\u00e9","stream":null}"#);
    assert_eq!(e.model, "mé");
    assert!(!e.stream && !e.include_usage && e.user.is_none());

    let a = parse_envelope(
        Dialect::Anthropic,
        br#"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[],"metadata":{"user_id":"abc"},"stream":true}"#,
    )
    .unwrap();
    assert_eq!(a.user.as_deref(), Some("abc"));
    assert!(a.stream && !a.include_usage);
}

#[test]
fn malformed_bodies_are_400_with_param() {
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("{\"model\":", None),
        ("not json", None),
        ("[1,2]", None),
        ("\"model\"", None),
        (r#"{"messages":[]}"#, Some("model")),
        (r#"{"model":42,"messages":[]}"#, Some("model")),
        (
            r#"{"model":"m","messages":[],"stream":"yes"}"#,
            Some("stream"),
        ),
        (r#"{"model":"m"}"#, Some("messages")),
        (r#"{"model":"m","messages":{}}"#, Some("messages")),
        (r#"{"model":"a","model":"b","messages":[]}"#, Some("model")),
        (r#"{"model":"m","messages":[]} x"#, None),
    ];
    for (body, param) in cases {
        let e = err(Dialect::OpenAi, body);
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{body}");
        assert_eq!(e.param.as_deref(), *param, "{body}: {}", e.message);
    }
    let bad_utf8 =
        parse_envelope(Dialect::Anthropic, b"{\"model\":\"\xff\",\"messages\":[]}").unwrap_err();
    assert_eq!(bad_utf8.status(), 400);
}

#[test]
fn embeddings_need_no_messages() {
    let e = parse_envelope_with(
        Dialect::OpenAi,
        br#"{"model":"text-embedding-3-small","input":"x"}"#,
        false,
    )
    .unwrap();
    assert_eq!(e.model, "text-embedding-3-small");
}

#[test]
fn rewrite_replaces_only_the_model_bytes() {
    let body = "{ \"model\" : \"alias\" ,\n \"messages\":[{\"role\":\"user\",\"content\":\"x\"}], \"temperature\": 1.50 }";
    let e = env(body);
    let out = rewrite_same_format(body.as_bytes(), &e, "gpt-4o-2024-08-06", false);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        body.replace("\"alias\"", "\"gpt-4o-2024-08-06\"")
    );
    let escaped = rewrite(body, "we\"ird\\name", false);
    assert_eq!(escaped["model"], "we\"ird\\name");
}

#[test]
fn rewrite_forces_include_usage_on_streams_only() {
    let base = r#""model":"a","messages":[]"#;
    let cases = [
        (
            format!("{{{base},\"stream\":true}}"),
            json!({"include_usage": true}),
        ),
        (
            format!("{{{base},\"stream\":true,\"stream_options\":null}}"),
            json!({"include_usage": true}),
        ),
        (
            format!("{{{base},\"stream\":true,\"stream_options\":{{}}}}"),
            json!({"include_usage": true}),
        ),
        (
            format!("{{{base},\"stream\":true,\"stream_options\":{{\"include_usage\":false}}}}"),
            json!({"include_usage": true}),
        ),
        (
            format!("{{{base},\"stream\":true,\"stream_options\":{{ \"x\" : 1 }}}}"),
            json!({"include_usage": true, "x": 1}),
        ),
    ];
    for (body, expected) in cases {
        let v = rewrite(&body, "b", true);
        assert_eq!(v["stream_options"], expected, "{body}");
        assert_eq!(v["model"], "b");
    }
    // Not streaming, or already asked: untouched apart from the model.
    for body in [
        format!("{{{base}}}"),
        format!("{{{base},\"stream\":true,\"stream_options\":{{\"include_usage\":true}}}}"),
    ] {
        let e = env(&body);
        let out = rewrite_same_format(body.as_bytes(), &e, "a", true);
        assert_eq!(out, body.as_bytes());
    }
}

#[test]
fn anthropic_bodies_never_get_stream_options() {
    let body = br#"{"model":"a","max_tokens":5,"messages":[],"stream":true}"#;
    let e = parse_envelope(Dialect::Anthropic, body).unwrap();
    let out = rewrite_same_format(body, &e, "claude-x", true);
    assert_eq!(
        out,
        br#"{"model":"claude-x","max_tokens":5,"messages":[],"stream":true}"#
    );
}

#[test]
fn gemini_envelopes_take_model_and_stream_from_the_path() {
    let body = br#"{"contents":[{"parts":[{"text":"hi"}]}], "model": "ignored",
        "generationConfig": {"temperature": 0.1, "maxOutputTokens": 77}}"#;
    let e = parse_gemini_envelope(body, "via-openai", true).unwrap();
    assert_eq!(
        (e.model.as_str(), e.stream, e.max_tokens),
        ("via-openai", true, Some(77))
    );
    assert_eq!(e.user, None);
    // The model is in the URL: a same-format body goes upstream byte for byte.
    assert_eq!(rewrite_same_format(body, &e, "gemini-upstream", true), body);
    let snake = br#"{"generation_config":{"max_output_tokens":5}}"#;
    assert_eq!(
        parse_gemini_envelope(snake, "m", false).unwrap().max_tokens,
        Some(5)
    );
    for bad in [
        &b"[]"[..],
        b"{",
        br#"{"generationConfig":{},"generation_config":{}}"#,
    ] {
        assert_eq!(
            parse_gemini_envelope(bad, "m", false).unwrap_err().status(),
            400
        );
    }
}

#[test]
fn the_skim_counts_the_text_as_the_text_walk_does() {
    for body in [
        r#"{"model":"m","messages":[{"role":"user","content":"héllo"}]}"#,
        r#"{"model":"m","messages":[{"content":[{"type":"text","text":"a\nb \u00e9 \"q\""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#,
        r#"{"model":"m","system":"be brief","messages":[],"tools":[{"name":"f","description":"d","parameters":{"type":"object"}}]}"#,
        r#" { "model" : "m" , "messages" : [ ] , "user" : "u-1" , "max_tokens" : 5 } "#,
    ] {
        let counted = env(body).text_bytes;
        assert_eq!(Ok(counted), crate::json::text_bytes(body), "{body}");
    }
    assert_eq!(env(r#"{"model":"m","messages":[]}"#).text_bytes, 0);
    let gemini = parse_gemini_envelope(br#"{"contents":[{"parts":[{"text":"hi"}]}]}"#, "g", false);
    assert_eq!(gemini.map(|e| e.text_bytes), Ok(2));
}

#[test]
fn a_rewritten_body_is_allocated_at_its_exact_length() {
    // Both edits (model, include_usage), each growing the body: the buffer is exactly
    // the new body, so it becomes `Bytes` without a second allocation.
    let body = r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let out = rewrite_same_format(body.as_bytes(), &env(body), "gpt-4o-mini", true);
    assert_eq!(out.capacity(), out.len());
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["stream_options"]["include_usage"], true);
    // A name that needs escapes is still written as a JSON string.
    assert_eq!(rewrite(body, "a\"b\\c", false)["model"], "a\"b\\c");
}
