//! Bedrock Converse-shaped answers: `converse` (JSON) and `converse-stream`
//! (event-stream frames) plus error bodies.
//!
//! Shapes follow the Bedrock Runtime API reference: `Converse` response
//! (`output.message.content`, `stopReason`, `usage.{inputTokens,outputTokens,totalTokens}`,
//! `metrics.latencyMs`), `ConverseStreamOutput` events (`messageStart`,
//! `contentBlockStart`, `contentBlockDelta`, `contentBlockStop`, `messageStop`,
//! `metadata`) and the documented error names, sent in `x-amzn-errortype` with a
//! `{"message": ...}` body as the AWS JSON protocol does.

use super::eventstream;
use super::reply::{quote, EventKind, Gen, Reply, StreamPlan};

fn usage_json(g: &Gen) -> String {
    format!(
        r#"{{"inputTokens":{},"outputTokens":{},"totalTokens":{}}}"#,
        g.prompt_tokens,
        g.tokens,
        g.total_tokens()
    )
}

fn stop_reason(g: &Gen) -> &'static str {
    if g.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// A `converse` answer: one text block, or one `toolUse` block when `g.tool` is set.
pub fn converse(g: &Gen) -> Reply {
    let block = match g.tool {
        Some(_) => format!(
            r#"{{"toolUse":{{"toolUseId":"{}","name":{},"input":{}}}}}"#,
            g.id("tooluse_"),
            g.tool_json(),
            g.tool_args()
        ),
        None => format!(r#"{{"text":{}}}"#, quote(&g.text())),
    };
    Reply::json(format!(
        r#"{{"output":{{"message":{{"role":"assistant","content":[{block}]}}}},"stopReason":"{}","usage":{},"metrics":{{"latencyMs":0}}}}"#,
        stop_reason(g),
        usage_json(g)
    ))
}

/// The `converse-stream` frames.
pub fn converse_stream(g: &Gen) -> StreamPlan {
    let mut plan = StreamPlan::new("application/vnd.amazon.eventstream");
    let frame = |plan: &mut StreamPlan, kind, event_type: &str, json: &str| {
        plan.push(kind, eventstream::event(event_type, json));
    };
    frame(
        &mut plan,
        EventKind::Preamble,
        "messageStart",
        r#"{"role":"assistant"}"#,
    );
    let deltas: Vec<(EventKind, String)> = match g.tool {
        Some(_) => {
            let start = format!(
                r#"{{"contentBlockIndex":0,"start":{{"toolUse":{{"toolUseId":"{}","name":{}}}}}}}"#,
                g.id("tooluse_"),
                g.tool_json()
            );
            frame(&mut plan, EventKind::Preamble, "contentBlockStart", &start);
            g.tool_fragments()
                .into_iter()
                .map(|(k, f)| (k, format!(r#"{{"toolUse":{{"input":{}}}}}"#, quote(&f))))
                .collect()
        }
        None => (0..g.tokens)
            .map(|i| {
                (
                    EventKind::Token(i),
                    format!(r#"{{"text":{}}}"#, quote(&g.token(i))),
                )
            })
            .collect(),
    };
    for (kind, delta) in deltas {
        let json = format!(r#"{{"contentBlockIndex":0,"delta":{delta}}}"#);
        frame(&mut plan, kind, "contentBlockDelta", &json);
    }
    frame(
        &mut plan,
        EventKind::Tail,
        "contentBlockStop",
        r#"{"contentBlockIndex":0}"#,
    );
    let stop = format!(r#"{{"stopReason":"{}"}}"#, stop_reason(g));
    frame(&mut plan, EventKind::Tail, "messageStop", &stop);
    let metadata = format!(
        r#"{{"usage":{},"metrics":{{"latencyMs":0}}}}"#,
        usage_json(g)
    );
    frame(&mut plan, EventKind::Tail, "metadata", &metadata);
    plan
}

/// The documented exception name for `status`.
fn error_type(status: u16) -> &'static str {
    match status {
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        s if s >= 500 => "InternalServerException",
        _ => "ValidationException",
    }
}

/// A Bedrock error answer for `status`.
pub fn error(status: u16, message: &str) -> Reply {
    let mut reply = Reply::json_status(status, format!(r#"{{"message":{}}}"#, quote(message)));
    let kind = format!(
        "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        error_type(status)
    );
    reply.headers.push(("x-amzn-errortype", kind));
    reply
}
