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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::format_tests::{gen, json};

    #[test]
    fn bedrock_converse_text_and_tool() {
        let v = json(&super::converse(&gen(None)));
        assert_eq!(v["output"]["message"]["role"], "assistant");
        assert_eq!(
            v["output"]["message"]["content"][0]["text"],
            "tok0 tok1 tok2"
        );
        assert_eq!(v["stopReason"], "end_turn");
        assert_eq!(
            v["usage"],
            serde_json::json!({"inputTokens": 10, "outputTokens": 3, "totalTokens": 13})
        );
        assert!(v["metrics"]["latencyMs"].is_u64());
        let t = json(&super::converse(&gen(Some("spec"))));
        let tool = &t["output"]["message"]["content"][0]["toolUse"];
        assert_eq!(
            (&tool["name"], &tool["input"]["input"]),
            (&Value::from("spec"), &Value::from("tok0 tok1 tok2"))
        );
        assert!(tool["toolUseId"].as_str().unwrap().starts_with("tooluse_"));
        assert_eq!(t["stopReason"], "tool_use");
    }

    /// `(:event-type, payload)` per frame (CRCs are checked in `eventstream`'s tests).
    fn frames(plan: &StreamPlan) -> Vec<(String, Value)> {
        plan.events
            .iter()
            .map(|e| {
                let f = &e.bytes;
                let be = |at: usize| {
                    u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]) as usize
                };
                let (total, headers_len) = (be(0), be(4));
                assert_eq!(total, f.len());
                let mut at = 12;
                let mut event_type = String::new();
                while at < 12 + headers_len {
                    let n = f[at] as usize;
                    let name = std::str::from_utf8(&f[at + 1..at + 1 + n])
                        .unwrap()
                        .to_owned();
                    let len = u16::from_be_bytes([f[at + 2 + n], f[at + 3 + n]]) as usize;
                    let value = std::str::from_utf8(&f[at + 4 + n..at + 4 + n + len]).unwrap();
                    if name == ":event-type" {
                        event_type = value.to_owned();
                    }
                    at += 4 + n + len;
                }
                (
                    event_type,
                    serde_json::from_slice(&f[at..total - 4]).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn bedrock_converse_stream_frames() {
        let plan = super::converse_stream(&gen(None));
        assert_eq!(plan.content_type, "application/vnd.amazon.eventstream");
        let events = frames(&plan);
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        assert_eq!(events[0].1["role"], "assistant");
        let text: String = events[1..4]
            .iter()
            .map(|(_, v)| v["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, "tok0 tok1 tok2");
        assert_eq!(events[5].1["stopReason"], "end_turn");
        assert_eq!(events[6].1["usage"]["outputTokens"], 3);

        let tool = frames(&super::converse_stream(&gen(Some("spec"))));
        assert_eq!(tool[1].0, "contentBlockStart");
        assert_eq!(tool[1].1["start"]["toolUse"]["name"], "spec");
        let input: String = tool
            .iter()
            .filter(|(n, _)| n == "contentBlockDelta")
            .map(|(_, v)| v["delta"]["toolUse"]["input"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&input).unwrap()["input"],
            "tok0 tok1 tok2"
        );
    }

    #[test]
    fn bedrock_errors_name_the_exception() {
        let e = super::error(429, "too many");
        assert_eq!(json(&e), serde_json::json!({"message": "too many"}));
        let (name, value) = &e.headers[0];
        assert_eq!(*name, "x-amzn-errortype");
        assert!(value.starts_with("ThrottlingException:"));
    }
}
