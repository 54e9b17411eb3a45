//! OpenAI-shaped answers: Chat Completions (`chat.completion` and
//! `chat.completion.chunk` SSE), embeddings, the models list and error bodies.
//!
//! Shapes follow the API reference at platform.openai.com/docs/api-reference
//! (chat/object, chat/streaming, embeddings/object, models/list) and the error
//! guide (`{"error":{"message","type","param","code"}}`). Field order follows the
//! documented examples.

use base64::Engine;

use super::record::fnv1a64;
use super::reply::{quote, EventKind, Gen, Reply, StreamPlan};

const FINGERPRINT: &str = "fp_mock";

fn usage_json(g: &Gen) -> String {
    format!(
        concat!(
            r#"{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{},"#,
            r#""prompt_tokens_details":{{"cached_tokens":{},"audio_tokens":0}},"#,
            r#""completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"#,
            r#""accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#
        ),
        g.prompt_tokens,
        g.tokens,
        g.total_tokens(),
        g.cached_tokens
    )
}

/// A non-stream `chat.completion`: text, or one tool call when `g.tool` is set.
pub fn chat(g: &Gen) -> Reply {
    let (message, finish) = match g.tool {
        Some(_) => (
            format!(
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"id":"{}","type":"function","function":{{"name":{},"arguments":{}}}}}],"refusal":null,"annotations":[]}}"#,
                g.id("call_"),
                g.tool_json(),
                quote(&g.tool_args())
            ),
            "tool_calls",
        ),
        None => (
            format!(
                r#"{{"role":"assistant","content":{},"refusal":null,"annotations":[]}}"#,
                quote(&g.text())
            ),
            "stop",
        ),
    };
    Reply::json(format!(
        r#"{{"id":"{}","object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,"message":{},"logprobs":null,"finish_reason":"{}"}}],"usage":{},"service_tier":"default","system_fingerprint":"{FINGERPRINT}"}}"#,
        g.id("chatcmpl-"),
        g.created,
        g.model_json(),
        message,
        finish,
        usage_json(g)
    ))
}

/// One `chat.completion.chunk` with a single choice.
fn chunk(g: &Gen, delta: &str, finish: Option<&str>) -> String {
    let finish = finish.map_or_else(|| "null".to_owned(), |f| format!("\"{f}\""));
    // With include_usage every chunk carries `"usage":null` until the usage chunk.
    let usage = if g.include_usage {
        r#","usage":null"#
    } else {
        ""
    };
    format!(
        r#"{{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},"system_fingerprint":"{FINGERPRINT}","choices":[{{"index":0,"delta":{},"logprobs":null,"finish_reason":{}}}]{}}}"#,
        g.id("chatcmpl-"),
        g.created,
        g.model_json(),
        delta,
        finish,
        usage
    )
}

/// The streamed `chat.completion.chunk` events, ending with `data: [DONE]`.
pub fn chat_stream(g: &Gen) -> StreamPlan {
    let mut plan = StreamPlan::new("text/event-stream; charset=utf-8");
    let finish = match g.tool {
        Some(_) => {
            let first = format!(
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"index":0,"id":"{}","type":"function","function":{{"name":{},"arguments":""}}}}],"refusal":null}}"#,
                g.id("call_"),
                g.tool_json()
            );
            plan.data(EventKind::Preamble, &chunk(g, &first, None));
            for (kind, frag) in g.tool_fragments() {
                let delta = format!(
                    r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                    quote(&frag)
                );
                plan.data(kind, &chunk(g, &delta, None));
            }
            "tool_calls"
        }
        None => {
            let first = r#"{"role":"assistant","content":"","refusal":null}"#;
            plan.data(EventKind::Preamble, &chunk(g, first, None));
            for i in 0..g.tokens {
                let delta = format!(r#"{{"content":{}}}"#, quote(&g.token(i)));
                plan.data(EventKind::Token(i), &chunk(g, &delta, None));
            }
            "stop"
        }
    };
    plan.data(EventKind::Tail, &chunk(g, "{}", Some(finish)));
    if g.include_usage {
        let usage = format!(
            r#"{{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},"system_fingerprint":"{FINGERPRINT}","choices":[],"usage":{}}}"#,
            g.id("chatcmpl-"),
            g.created,
            g.model_json(),
            usage_json(g)
        );
        plan.data(EventKind::Tail, &usage);
    }
    plan.push(EventKind::Tail, b"data: [DONE]\n\n".to_vec());
    plan
}

/// The inputs of an embeddings request, one per vector to return.
fn embedding_items(input: &serde_json::Value) -> Option<Vec<String>> {
    use serde_json::Value;
    match input {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if items.iter().all(Value::is_number) => Some(vec![input.to_string()]),
        Value::Array(items) if !items.is_empty() => {
            Some(items.iter().map(Value::to_string).collect())
        }
        _ => None,
    }
}

/// A deterministic unit vector of `dims` floats seeded by `seed` (xorshift64*).
pub(crate) fn vector(seed: u64, dims: usize) -> Vec<f32> {
    let mut state = seed | 1;
    let raw: Vec<f32> = (0..dims)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (x as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|v| v * v)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    raw.into_iter().map(|v| v / norm).collect()
}

/// The embedding of `text`: a hashed bag of words — the sum of one deterministic
/// random unit vector per lower-cased alphanumeric word, scaled to unit length. Texts
/// sharing most of their words are therefore close (cosine ≈ the share of common
/// words), unrelated texts nearly orthogonal, as with a real embeddings model for a
/// paraphrase; the same text always gives the same vector.
pub fn bag_of_words(text: &str, dims: usize) -> Vec<f32> {
    let mut sum = vec![0f32; dims];
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    for word in words {
        let w = vector(fnv1a64(word.to_lowercase().as_bytes()), dims);
        for (s, x) in sum.iter_mut().zip(w) {
            *s += x;
        }
    }
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm == 0.0 {
        // No words (empty or punctuation only): a fixed vector of the text itself.
        return vector(fnv1a64(text.as_bytes()), dims);
    }
    sum.into_iter().map(|v| v / norm).collect()
}

/// `POST /v1/embeddings`: one vector per input item (see [`bag_of_words`]), `float`
/// or `base64` encoded.
/// `None` when the input is missing or not a string, string array or token array.
pub fn embeddings(g: &Gen, input: &serde_json::Value, dims: usize, base64: bool) -> Option<Reply> {
    let items = embedding_items(input)?;
    let data: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let v = bag_of_words(item, dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                quote(&base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                serde_json::to_string(&v).unwrap_or_else(|_| "[]".to_owned())
            };
            format!(r#"{{"object":"embedding","index":{i},"embedding":{embedding}}}"#)
        })
        .collect();
    Some(Reply::json(format!(
        r#"{{"object":"list","data":[{}],"model":{},"usage":{{"prompt_tokens":{},"total_tokens":{}}}}}"#,
        data.join(","),
        g.model_json(),
        g.prompt_tokens,
        g.prompt_tokens
    )))
}

/// `GET /v1/models`.
pub fn models(ids: &[String], created: u64) -> Reply {
    let data: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":{},"object":"model","created":{created},"owned_by":"mock"}}"#,
                quote(id)
            )
        })
        .collect();
    Reply::json(format!(
        r#"{{"object":"list","data":[{}]}}"#,
        data.join(",")
    ))
}

/// `(type, code)` as OpenAI reports them for `status`.
fn error_kind(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        404 => ("invalid_request_error", Some("model_not_found")),
        429 => ("requests", Some("rate_limit_exceeded")),
        s if s >= 500 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

/// An OpenAI error body for `status`.
pub fn error(status: u16, message: &str) -> Reply {
    let (kind, code) = error_kind(status);
    let code = code.map_or_else(|| "null".to_owned(), quote);
    Reply::json_status(
        status,
        format!(
            r#"{{"error":{{"message":{},"type":"{kind}","param":null,"code":{code}}}}}"#,
            quote(message)
        ),
    )
}
