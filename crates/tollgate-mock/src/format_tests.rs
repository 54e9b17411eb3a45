//! Shape checks of every format's answers: each body or event is parsed back with
//! serde_json and its documented field names and values are checked.

use serde_json::Value;

use super::reply::{EventKind, Gen, Reply, StreamPlan};
use super::{anthropic, gemini, openai};

pub(super) fn gen(tool: Option<&'static str>) -> Gen<'static> {
    let mut g = Gen::new("model-x", 3, 40, 7);
    g.tool = tool;
    g
}

pub(super) fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

/// `(event name, data JSON)` per SSE event; `[DONE]` becomes a JSON string.
fn sse(plan: &StreamPlan) -> Vec<(Option<String>, Value)> {
    plan.events
        .iter()
        .map(|e| {
            let text = std::str::from_utf8(&e.bytes).unwrap();
            assert!(
                text.ends_with("\n\n"),
                "event ends with a blank line: {text:?}"
            );
            let mut name = None;
            let mut data = None;
            for line in text.trim_end().lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(v).unwrap_or(Value::String(v.to_owned())));
                } else {
                    panic!("unexpected line {line:?}");
                }
            }
            (name, data.unwrap())
        })
        .collect()
}

#[test]
fn openai_chat_text() {
    let v = json(&openai::chat(&gen(None)));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["model"], "model-x");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "tok0 tok1 tok2");
    assert_eq!(choice["finish_reason"], "stop");
    let usage = &v["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(10), Some(3))
    );
    assert_eq!(usage["total_tokens"], 13);
}

#[test]
fn openai_chat_tool_call() {
    let v = json(&openai::chat(&gen(Some("get_weather"))));
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(
        (&call["type"], &call["function"]["name"]),
        (&Value::from("function"), &Value::from("get_weather"))
    );
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["input"], "tok0 tok1 tok2");
}

#[test]
fn openai_stream_text_without_and_with_usage() {
    let mut g = gen(None);
    let events = sse(&openai::chat_stream(&g));
    assert_eq!(events.len(), 1 + 3 + 1 + 1);
    assert_eq!(events[0].1["choices"][0]["delta"]["role"], "assistant");
    let text: String = events[1..4]
        .iter()
        .map(|(_, v)| v["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "tok0 tok1 tok2");
    assert!(events
        .iter()
        .take(5)
        .all(|(_, v)| v["object"] == "chat.completion.chunk" && v.get("usage").is_none()));
    assert_eq!(events[4].1["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[5].1, "[DONE]");

    g.include_usage = true;
    let events = sse(&openai::chat_stream(&g));
    assert_eq!(events.len(), 7);
    assert!(events
        .iter()
        .take(5)
        .all(|(_, v)| v["usage"].is_null() && v.get("usage").is_some()));
    let usage_chunk = &events[5].1;
    assert_eq!(usage_chunk["choices"].as_array().unwrap().len(), 0);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 3);
    assert_eq!(events[6].1, "[DONE]");
}

#[test]
fn openai_stream_tool_call_deltas() {
    let plan = openai::chat_stream(&gen(Some("lookup")));
    let events = sse(&plan);
    let first = &events[0].1["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(
        (&first["index"], &first["type"]),
        (&Value::from(0), &Value::from("function"))
    );
    assert!(first["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(first["function"]["name"], "lookup");
    let args: String = events[1..events.len() - 2]
        .iter()
        .map(|(_, v)| {
            let call = &v["choices"][0]["delta"]["tool_calls"][0];
            assert!(call.get("id").is_none() && call["index"] == 0);
            call["function"]["arguments"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap()["input"],
        "tok0 tok1 tok2"
    );
    assert_eq!(
        events[events.len() - 2].1["choices"][0]["finish_reason"],
        "tool_calls"
    );
    let tokens = plan
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Token(_)))
        .count();
    assert_eq!(tokens, 3);
}

#[test]
fn openai_embeddings_float_and_base64() {
    let g = gen(None);
    let input: Value = serde_json::json!(["a", "b"]);
    let v = json(&openai::embeddings(&g, &input, 8, false).unwrap());
    assert_eq!(
        (&v["object"], &v["model"]),
        (&Value::from("list"), &Value::from("model-x"))
    );
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let vec0: Vec<f64> = data[0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(
        (vec0.len(), &data[1]["index"], &data[0]["object"]),
        (8, &Value::from(1), &Value::from("embedding"))
    );
    assert!(
        (vec0.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-4,
        "unit length"
    );
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    assert_eq!(v["usage"]["prompt_tokens"], v["usage"]["total_tokens"]);

    let b64 = json(&openai::embeddings(&g, &Value::from("a"), 16, true).unwrap());
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw.len(), 16 * 4);
    assert!(openai::embeddings(&g, &serde_json::json!({"x": 1}), 8, false).is_none());
    let tokens = json(&openai::embeddings(&g, &serde_json::json!([1, 2, 3]), 4, false).unwrap());
    assert_eq!(tokens["data"].as_array().unwrap().len(), 1);
}

#[test]
fn openai_models_and_errors() {
    let v = json(&openai::models(&["a".to_owned(), "b".to_owned()], 5));
    assert_eq!(v["object"], "list");
    assert_eq!(
        (&v["data"][1]["id"], &v["data"][1]["object"]),
        (&Value::from("b"), &Value::from("model"))
    );
    let e = openai::error(429, "slow down");
    assert_eq!(e.status, 429);
    let v = json(&e);
    assert_eq!(v["error"]["message"], "slow down");
    assert_eq!(
        (&v["error"]["type"], &v["error"]["code"]),
        (
            &Value::from("requests"),
            &Value::from("rate_limit_exceeded")
        )
    );
    assert!(v["error"]["param"].is_null());
    assert_eq!(
        json(&openai::error(500, "x"))["error"]["type"],
        "server_error"
    );
}

#[test]
fn anthropic_message_text_and_tool() {
    let v = json(&anthropic::message(&gen(None)));
    assert_eq!(
        (&v["type"], &v["role"], &v["model"]),
        (
            &Value::from("message"),
            &Value::from("assistant"),
            &Value::from("model-x")
        )
    );
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        v["content"][0],
        serde_json::json!({"type": "text", "text": "tok0 tok1 tok2"})
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    assert_eq!(
        (
            v["usage"]["input_tokens"].as_u64(),
            v["usage"]["output_tokens"].as_u64()
        ),
        (Some(10), Some(3))
    );

    let t = json(&anthropic::message(&gen(Some("search"))));
    assert_eq!(t["stop_reason"], "tool_use");
    let block = &t["content"][0];
    assert_eq!(
        (&block["type"], &block["name"]),
        (&Value::from("tool_use"), &Value::from("search"))
    );
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["input"]["input"], "tok0 tok1 tok2");
}

#[test]
fn anthropic_stream_event_sequence() {
    let events = sse(&anthropic::message_stream(&gen(None)));
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(
        events
            .iter()
            .all(|(n, v)| v["type"] == n.as_deref().unwrap()),
        "data.type matches the event name"
    );
    let start = &events[0].1["message"];
    assert_eq!(
        (&start["role"], &start["model"]),
        (&Value::from("assistant"), &Value::from("model-x"))
    );
    assert_eq!(start["usage"]["input_tokens"], 10);
    assert_eq!(events[1].1["content_block"]["type"], "text");
    let text: String = events[3..6]
        .iter()
        .map(|(_, v)| {
            assert_eq!(v["delta"]["type"], "text_delta");
            v["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "tok0 tok1 tok2");
    assert_eq!(events[7].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[7].1["usage"]["output_tokens"], 3);
}

#[test]
fn anthropic_stream_tool_use() {
    let events = sse(&anthropic::message_stream(&gen(Some("search"))));
    let block = &events[1].1["content_block"];
    assert_eq!(
        (&block["type"], &block["name"]),
        (&Value::from("tool_use"), &Value::from("search"))
    );
    assert_eq!(block["input"], serde_json::json!({}));
    let partial: String = events
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("content_block_delta"))
        .map(|(_, v)| {
            assert_eq!(v["delta"]["type"], "input_json_delta");
            v["delta"]["partial_json"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap()["input"],
        "tok0 tok1 tok2"
    );
    let delta = events
        .iter()
        .find(|(n, _)| n.as_deref() == Some("message_delta"))
        .unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
}

#[test]
fn anthropic_count_tokens_and_errors() {
    assert_eq!(
        json(&anthropic::count_tokens(&gen(None))),
        serde_json::json!({"input_tokens": 10})
    );
    let e = anthropic::error(529, "busy", 3);
    assert_eq!(e.status, 529);
    let v = json(&e);
    assert_eq!(v["type"], "error");
    assert_eq!(
        (&v["error"]["type"], &v["error"]["message"]),
        (&Value::from("overloaded_error"), &Value::from("busy"))
    );
    assert_eq!(
        json(&anthropic::error(429, "x", 3))["error"]["type"],
        "rate_limit_error"
    );
}

#[test]
fn gemini_generate_text_and_function_call() {
    let v = json(&gemini::generate(&gen(None)));
    let cand = &v["candidates"][0];
    assert_eq!(
        (&cand["content"]["role"], &cand["finishReason"]),
        (&Value::from("model"), &Value::from("STOP"))
    );
    assert_eq!(cand["content"]["parts"][0]["text"], "tok0 tok1 tok2");
    let usage = &v["usageMetadata"];
    assert_eq!(
        (
            usage["promptTokenCount"].as_u64(),
            usage["candidatesTokenCount"].as_u64()
        ),
        (Some(10), Some(3))
    );
    assert_eq!(usage["totalTokenCount"], 13);
    assert_eq!(v["modelVersion"], "model-x");

    let t = json(&gemini::generate(&gen(Some("find"))));
    let call = &t["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(
        (&call["name"], &call["args"]["input"]),
        (&Value::from("find"), &Value::from("tok0 tok1 tok2"))
    );
}

#[test]
fn gemini_stream_sse_and_json_array() {
    let events = sse(&gemini::generate_stream(&gen(None), true));
    assert!(events.iter().all(|(n, _)| n.is_none()));
    let text: String = events
        .iter()
        .map(|(_, v)| {
            v["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "tok0 tok1 tok2");
    let last = &events.last().unwrap().1;
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 3);
    assert!(events[0].1["candidates"][0].get("finishReason").is_none());

    let plan = gemini::generate_stream(&gen(None), false);
    let all: Vec<u8> = plan.events.iter().flat_map(|e| e.bytes.clone()).collect();
    let array: Value = serde_json::from_slice(&all).unwrap();
    assert_eq!(array.as_array().unwrap().len(), 4);
}

#[test]
fn gemini_errors() {
    let v = json(&gemini::error(429, "quota"));
    assert_eq!(
        v["error"],
        serde_json::json!({"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"})
    );
}

#[test]
fn gemini_embeddings_single_and_batch() {
    let single: crate::envelope::Envelope<'_> = serde_json::from_str(
        r#"{"model":"models/text-embedding-004","content":{"parts":[{"text":"What is the meaning of life?"}]},"outputDimensionality":4}"#,
    )
    .unwrap();
    let v = json(&gemini::embeddings(&single, false, 4).unwrap());
    assert_eq!(v["embedding"]["values"].as_array().map(Vec::len), Some(4));
    let batch: crate::envelope::Envelope<'_> = serde_json::from_str(
        r#"{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}"#,
    )
    .unwrap();
    let v = json(&gemini::embeddings(&batch, true, 3).unwrap());
    assert_eq!(v["embeddings"].as_array().map(Vec::len), Some(2));
    assert_ne!(v["embeddings"][0], v["embeddings"][1]);
    let empty: crate::envelope::Envelope<'_> = serde_json::from_str(r#"{"requests":[]}"#).unwrap();
    assert!(gemini::embeddings(&empty, true, 3).is_none());
    assert_eq!(
        json(&gemini::count_tokens(&gen(None)))["totalTokens"],
        gen(None).prompt_tokens
    );
}

#[test]
fn zero_tokens_still_form_valid_streams() {
    let mut g = gen(None);
    g.tokens = 0;
    assert_eq!(
        json(&openai::chat(&g))["choices"][0]["message"]["content"],
        ""
    );
    assert_eq!(sse(&openai::chat_stream(&g)).len(), 3);
    g.tool = Some("t");
    let partial: String = sse(&anthropic::message_stream(&g))
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("content_block_delta"))
        .map(|(_, v)| v["delta"]["partial_json"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap()["input"],
        ""
    );
}

#[test]
fn embeddings_of_paraphrases_are_close_and_of_unrelated_texts_far() {
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let q = "Please tell me what the capital city of France is, in one short sentence";
    let para = "please tell me what the capital city of France is in one short sentence today";
    let other = "Write a haiku about autumn leaves falling on a quiet pond";
    let (a, b, c) = (
        openai::bag_of_words(q, 512),
        openai::bag_of_words(para, 512),
        openai::bag_of_words(other, 512),
    );
    assert_eq!(a, openai::bag_of_words(q, 512), "deterministic");
    assert!(cos(&a, &b) > 0.9, "{}", cos(&a, &b));
    assert!(cos(&a, &c) < 0.5, "{}", cos(&a, &c));
    assert!((cos(&a, &a) - 1.0).abs() < 1e-4);
}
