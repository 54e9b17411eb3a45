//! Anthropic-shaped answers: Messages (`message` object and its SSE event sequence),
//! `count_tokens` and error bodies.
//!
//! Shapes follow docs.anthropic.com: "Messages" (response body), "Streaming messages"
//! (event flow `message_start`, `content_block_start`, `ping`, `content_block_delta`,
//! `content_block_stop`, `message_delta`, `message_stop`, with `text_delta` and
//! `input_json_delta`), "Count message tokens" and "Errors" (HTTP status → error
//! type, including 529 `overloaded_error`).

use super::reply::{quote, EventKind, Gen, Reply, StreamPlan};

fn usage_json(g: &Gen, output_tokens: usize) -> String {
    format!(
        r#"{{"input_tokens":{},"cache_creation_input_tokens":0,"cache_read_input_tokens":{},"output_tokens":{output_tokens}}}"#,
        g.prompt_tokens - g.cached_tokens.min(g.prompt_tokens),
        g.cached_tokens
    )
}

fn stop_reason(g: &Gen) -> &'static str {
    if g.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// A non-stream `message`: one text block, or one `tool_use` block when `g.tool` is set.
pub fn message(g: &Gen) -> Reply {
    let block = match g.tool {
        Some(_) => format!(
            r#"{{"type":"tool_use","id":"{}","name":{},"input":{}}}"#,
            g.id("toolu_"),
            g.tool_json(),
            g.tool_args()
        ),
        None => format!(r#"{{"type":"text","text":{}}}"#, quote(&g.text())),
    };
    Reply::json(format!(
        r#"{{"id":"{}","type":"message","role":"assistant","model":{},"content":[{}],"stop_reason":"{}","stop_sequence":null,"usage":{}}}"#,
        g.id("msg_"),
        g.model_json(),
        block,
        stop_reason(g),
        usage_json(g, g.tokens)
    ))
}

/// The streamed Messages events, each as `event: X\ndata: {...}\n\n`.
pub fn message_stream(g: &Gen) -> StreamPlan {
    let mut plan = StreamPlan::new("text/event-stream; charset=utf-8");
    let start = format!(
        r#"{{"type":"message_start","message":{{"id":"{}","type":"message","role":"assistant","model":{},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}}}}"#,
        g.id("msg_"),
        g.model_json(),
        usage_json(g, 1)
    );
    plan.named(EventKind::Preamble, "message_start", &start);
    let block = match g.tool {
        Some(_) => format!(
            r#"{{"type":"tool_use","id":"{}","name":{},"input":{{}}}}"#,
            g.id("toolu_"),
            g.tool_json()
        ),
        None => r#"{"type":"text","text":""}"#.to_owned(),
    };
    let block_start =
        format!(r#"{{"type":"content_block_start","index":0,"content_block":{block}}}"#);
    plan.named(EventKind::Preamble, "content_block_start", &block_start);
    plan.named(EventKind::Preamble, "ping", r#"{"type":"ping"}"#);
    let deltas: Vec<(EventKind, String)> = match g.tool {
        Some(_) => g
            .tool_fragments()
            .into_iter()
            .map(|(k, f)| {
                (
                    k,
                    format!(
                        r#"{{"type":"input_json_delta","partial_json":{}}}"#,
                        quote(&f)
                    ),
                )
            })
            .collect(),
        None => (0..g.tokens)
            .map(|i| {
                let text = quote(&g.token(i));
                (
                    EventKind::Token(i),
                    format!(r#"{{"type":"text_delta","text":{text}}}"#),
                )
            })
            .collect(),
    };
    for (kind, delta) in deltas {
        let event = format!(r#"{{"type":"content_block_delta","index":0,"delta":{delta}}}"#);
        plan.named(kind, "content_block_delta", &event);
    }
    plan.named(
        EventKind::Tail,
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    );
    let message_delta = format!(
        r#"{{"type":"message_delta","delta":{{"stop_reason":"{}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
        stop_reason(g),
        g.tokens
    );
    plan.named(EventKind::Tail, "message_delta", &message_delta);
    plan.named(
        EventKind::Tail,
        "message_stop",
        r#"{"type":"message_stop"}"#,
    );
    plan
}

/// `POST /v1/messages/count_tokens`.
pub fn count_tokens(g: &Gen) -> Reply {
    Reply::json(format!(r#"{{"input_tokens":{}}}"#, g.prompt_tokens))
}

/// The documented error type for `status`.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// An Anthropic error body for `status`.
pub fn error(status: u16, message: &str, seq: u64) -> Reply {
    Reply::json_status(
        status,
        format!(
            r#"{{"type":"error","error":{{"type":"{}","message":{}}},"request_id":"req_mock{seq:020}"}}"#,
            error_type(status),
            quote(message)
        ),
    )
}
