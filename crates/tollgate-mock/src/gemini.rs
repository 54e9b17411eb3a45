//! Gemini-shaped answers: `generateContent` and `streamGenerateContent`
//! (`GenerateContentResponse` objects, as SSE with `?alt=sse` or as a streamed JSON
//! array without it) and error bodies.
//!
//! Shapes follow ai.google.dev/api/generate-content (`candidates[].content.parts`,
//! `finishReason`, `usageMetadata`, `modelVersion`, `responseId`; function calls as
//! `functionCall` parts, finishing with `STOP`) and the API troubleshooting guide for
//! errors (`{"error":{"code","message","status"}}`).

use super::envelope::Envelope;
use super::openai::vector;
use super::record::fnv1a64;
use super::reply::{quote, EventKind, Gen, Reply, StreamPlan};

fn usage_json(g: &Gen, candidates: usize) -> String {
    format!(
        r#"{{"promptTokenCount":{},"candidatesTokenCount":{candidates},"totalTokenCount":{}}}"#,
        g.prompt_tokens,
        g.prompt_tokens + candidates
    )
}

/// One `GenerateContentResponse` with a single candidate holding `part`.
fn response(g: &Gen, part: &str, finish: bool, candidates: usize) -> String {
    let finish = if finish {
        r#","finishReason":"STOP""#
    } else {
        ""
    };
    format!(
        r#"{{"candidates":[{{"content":{{"parts":[{part}],"role":"model"}}{finish},"index":0}}],"usageMetadata":{},"modelVersion":{},"responseId":"{}"}}"#,
        usage_json(g, candidates),
        g.model_json(),
        g.id("resp_")
    )
}

fn function_call_part(g: &Gen) -> String {
    format!(
        r#"{{"functionCall":{{"name":{},"args":{}}}}}"#,
        g.tool_json(),
        g.tool_args()
    )
}

/// A non-stream `generateContent` answer.
pub fn generate(g: &Gen) -> Reply {
    let part = match g.tool {
        Some(_) => function_call_part(g),
        None => format!(r#"{{"text":{}}}"#, quote(&g.text())),
    };
    Reply::json(response(g, &part, true, g.tokens))
}

/// The `streamGenerateContent` chunks: one per token, then a finishing chunk; a
/// function call arrives whole in one chunk, as Gemini sends it.
fn chunks(g: &Gen) -> Vec<(EventKind, String)> {
    if g.tool.is_some() {
        return vec![(
            EventKind::Token(0),
            response(g, &function_call_part(g), true, g.tokens),
        )];
    }
    let mut out: Vec<(EventKind, String)> = (0..g.tokens)
        .map(|i| {
            let part = format!(r#"{{"text":{}}}"#, quote(&g.token(i)));
            (EventKind::Token(i), response(g, &part, false, i + 1))
        })
        .collect();
    out.push((
        EventKind::Tail,
        response(g, r#"{"text":""}"#, true, g.tokens),
    ));
    out
}

/// `streamGenerateContent`: SSE (`data: {...}\n\n`) with `alt=sse`, else a JSON array
/// streamed element by element.
pub fn generate_stream(g: &Gen, sse: bool) -> StreamPlan {
    if sse {
        let mut plan = StreamPlan::new("text/event-stream");
        for (kind, json) in chunks(g) {
            plan.data(kind, &json);
        }
        return plan;
    }
    let mut plan = StreamPlan::new("application/json; charset=UTF-8");
    for (i, (kind, json)) in chunks(g).into_iter().enumerate() {
        let sep = if i == 0 { "[" } else { ",\r\n" };
        plan.push(kind, format!("{sep}{json}").into_bytes());
    }
    plan.push(EventKind::Tail, b"]".to_vec());
    plan
}

/// The canonical status name Google APIs use for an HTTP status.
fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// A Gemini error body for `status`.
pub fn error(status: u16, message: &str) -> Reply {
    Reply::json_status(
        status,
        format!(
            r#"{{"error":{{"code":{status},"message":{},"status":"{}"}}}}"#,
            quote(message),
            status_name(status)
        ),
    )
}

/// `countTokens`: `{"totalTokens": n}`, n the prompt tokens the mock counts.
pub fn count_tokens(g: &Gen) -> Reply {
    Reply::json(format!(r#"{{"totalTokens":{}}}"#, g.prompt_tokens))
}

/// The text of a Gemini embeddings `content`: its text parts, joined.
fn content_text(content: &serde_json::Value) -> Option<String> {
    let parts = content.get("parts")?.as_array()?;
    let texts: Vec<&str> = parts
        .iter()
        .map(|p| p.get("text").and_then(|t| t.as_str()))
        .collect::<Option<_>>()?;
    (!texts.is_empty()).then(|| texts.join(" "))
}

/// `embedContent` (`{"embedding":{"values":[...]}}`) or `batchEmbedContents`
/// (`{"embeddings":[...]}`, one per request), deterministic vectors seeded by each
/// text (the same text gives the vector the OpenAI endpoint gives it first).
pub fn embeddings(env: &Envelope<'_>, batch: bool, dims: usize) -> Option<Reply> {
    // (text, dimensions): a batch's requests each say their own.
    let texts: Vec<(String, usize)> = if batch {
        let requests = env.requests.as_ref().filter(|r| !r.is_empty())?;
        requests
            .iter()
            .map(|r| {
                let dims = r
                    .get("outputDimensionality")
                    .and_then(serde_json::Value::as_u64)
                    .map_or(dims, |d| (d as usize).max(1));
                Some((r.get("content").and_then(content_text)?, dims))
            })
            .collect::<Option<_>>()?
    } else {
        vec![(content_text(env.content.as_ref()?)?, dims)]
    };
    let values: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, (t, dims))| {
            let v = vector(fnv1a64(t.as_bytes()) ^ i as u64, *dims);
            let json = serde_json::to_string(&v).unwrap_or_else(|_| "[]".to_owned());
            format!(r#"{{"values":{json}}}"#)
        })
        .collect();
    Some(Reply::json(if batch {
        format!(r#"{{"embeddings":[{}]}}"#, values.join(","))
    } else {
        format!(r#"{{"embedding":{}}}"#, values[0])
    }))
}
