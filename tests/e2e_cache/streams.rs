//! Streams both ways: a stored stream answers later non-stream and stream requests
//! (any dialect) exactly; a stream cut mid-way is never stored.

use serde_json::json;

use super::common::{mock, Gateway};
use super::{anthropic_chat, openai_chat, post, stream_text};

#[test]
fn a_stored_stream_answers_json_and_streams_and_a_cut_stream_is_not_stored() {
    let up = mock("up");
    let gw = Gateway::start(&format!(
        r#"
auth: {{ mode: open }}
providers:
  - {{ name: up, format: openai, base_url: "{}", health_check: {{ kind: none }} }}
models:
  - name: m
    targets: [{{ provider: up, model: gpt-4o-mini }}]
    cache: {{}}
"#,
        up.url()
    ));
    let live = openai_chat(
        "m",
        "Tell me a story",
        json!({"stream": true, "stream_options": {"include_usage": true}}),
    );
    let first = post(&gw.addr, "/v1/chat/completions", &[], &live);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-tollgate-cache"), Some("miss"));
    let (live_text, live_usage) = stream_text(&first.text());
    assert!(!live_text.is_empty());
    assert_eq!(up.hits(), 1);

    // The same request without streaming: the assembled answer.
    let json_req = openai_chat("m", "Tell me a story", json!({}));
    let r = post(&gw.addr, "/v1/chat/completions", &[], &json_req);
    assert_eq!(r.header("x-tollgate-cache"), Some("hit"), "{}", r.text());
    let body = r.json();
    assert_eq!(body["choices"][0]["message"]["content"], live_text.as_str());
    assert_eq!(
        body["usage"]["completion_tokens"],
        live_usage["completion_tokens"]
    );
    assert_eq!(body["usage"]["prompt_tokens"], live_usage["prompt_tokens"]);

    // Streamed again, in both dialects.
    let r = post(&gw.addr, "/v1/chat/completions", &[], &live);
    assert_eq!(r.header("x-tollgate-cache"), Some("hit"));
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    let sse = r.text();
    assert!(sse.trim_end().ends_with("data: [DONE]"), "{sse}");
    let (text, usage) = stream_text(&sse);
    assert_eq!(text, live_text);
    assert_eq!(usage["completion_tokens"], live_usage["completion_tokens"]);
    let ant = anthropic_chat("m", "Tell me a story", json!({"stream": true}));
    let r = post(&gw.addr, "/v1/messages", &[], &ant);
    assert_eq!(r.header("x-tollgate-cache"), Some("hit"));
    let sse = r.text();
    assert!(sse.contains("event: message_stop"), "{sse}");
    assert_eq!(stream_text(&sse).0, live_text);
    assert_eq!(up.hits(), 1);

    // A stream the upstream cuts mid-way is never stored.
    let mut cfg = up.config();
    cfg.abort_after = Some(3);
    up.set_config(cfg);
    let cut = openai_chat("m", "An interrupted story", json!({"stream": true}));
    let _ = post(&gw.addr, "/v1/chat/completions", &[], &cut);
    let after_cut = up.hits();
    let mut cfg = up.config();
    cfg.abort_after = None;
    up.set_config(cfg);
    let r = post(&gw.addr, "/v1/chat/completions", &[], &cut);
    assert_eq!(r.header("x-tollgate-cache"), Some("miss"));
    assert_eq!(up.hits(), after_cut + 1);
}
