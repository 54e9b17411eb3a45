use super::*;
use crate::formats::gemini::stream::GeminiDecoder;
use crate::formats::stream::Translating;
use crate::formats::StreamTranslator;
use crate::model::CacheAccounting;

/// Google's own stream (the cookbook's `Streaming_REST` output, byte for byte) and
/// the function-call stream built on the cookbook's `find_theaters` example (see
/// tests/fixtures/gemini/README.md), decoded and written back for a Gemini client.
const COOKBOOK: &str = include_str!("../../../tests/fixtures/gemini/stream_text.sse");
const CALLS: &str = include_str!("../../../tests/fixtures/gemini/stream_function_call.sse");

fn chunks(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn translate(input: &[u8], split: usize) -> Vec<u8> {
    let mut t = Translating::new(
        GeminiDecoder::default(),
        GeminiEncoder::new("public-model"),
        CacheAccounting::Inclusive,
    );
    let mut out = Vec::new();
    t.feed(&input[..split], &mut out).unwrap();
    t.feed(&input[split..], &mut out).unwrap();
    t.finish(&mut out);
    out
}

#[test]
fn calls_text_finish_and_usage_at_every_split_point() {
    // Ids made up for an upstream without `responseId` differ per run: left out.
    let redacted = |out: Vec<u8>| {
        let mut c = chunks(&out);
        c.iter_mut()
            .for_each(|c| c["responseId"] = serde_json::Value::Null);
        c
    };
    for fixture in [COOKBOOK, CALLS] {
        let whole = redacted(translate(fixture.as_bytes(), 0));
        for split in 1..fixture.len() {
            let got = redacted(translate(fixture.as_bytes(), split));
            assert!(got == whole, "split at {split}");
        }
    }
    let text = chunks(&translate(COOKBOOK.as_bytes(), 0));
    let said: String = text
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert!(said.starts_with("In the quaint, sunlit cottage"), "{said}");
    assert_eq!(
        text.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
    let out = chunks(&translate(CALLS.as_bytes(), 0));
    let last = out.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(last["usageMetadata"]["promptTokenCount"].as_u64().unwrap() > 0);
    let calls: Vec<&serde_json::Value> = out
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0].get("functionCall"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["name"], "find_theaters");
    assert!(calls[0]["args"].is_object());
    assert!(calls[0]["id"].as_str().is_some_and(|i| !i.is_empty()));
    for c in &out {
        assert_eq!(c["modelVersion"], "public-model");
        assert_eq!(c["candidates"][0]["content"]["role"], "model");
    }
}

#[test]
fn arguments_streamed_in_pieces_go_out_as_one_call() {
    let mut enc = GeminiEncoder::new("m");
    let mut out = Vec::new();
    let events = [
        StreamEvent::MessageStart {
            id: "r1".into(),
            model: "up".into(),
            usage: Usage {
                input_tokens: 5,
                ..Usage::default()
            },
        },
        StreamEvent::TextDelta {
            index: 0,
            text: "Hel".into(),
        },
        StreamEvent::TextDelta {
            index: 0,
            text: "lo".into(),
        },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallArgsDelta {
            index: 1,
            json_fragment: "{\"a\":".into(),
        },
        StreamEvent::ToolCallArgsDelta {
            index: 1,
            json_fragment: "1}".into(),
        },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::Usage(Usage {
            output_tokens: 7,
            ..Usage::default()
        }),
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
            stop_sequence: None,
        },
        StreamEvent::Done,
    ];
    for e in events {
        enc.encode(e, &mut out);
    }
    let out = chunks(&out);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(
        out[0]["candidates"][0]["content"]["parts"][0]["text"],
        "Hel"
    );
    assert_eq!(out[0]["responseId"], "r1");
    assert_eq!(
        out[2]["candidates"][0]["content"]["parts"][0]["functionCall"],
        serde_json::json!({"id": "call_1", "name": "f", "args": {"a": 1}})
    );
    assert_eq!(out[3]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        out[3]["usageMetadata"],
        serde_json::json!({"promptTokenCount": 5, "candidatesTokenCount": 7, "totalTokenCount": 12})
    );
}

#[test]
fn an_upstream_failure_is_one_error_chunk_and_the_end() {
    let mut enc = GeminiEncoder::new("m");
    let mut out = Vec::new();
    enc.encode(
        StreamEvent::TextDelta {
            index: 0,
            text: "a".into(),
        },
        &mut out,
    );
    let err = crate::error::GatewayError::new(crate::error::ErrorKind::UpstreamTimeout, "stalled");
    enc.encode(StreamEvent::Error(err), &mut out);
    enc.encode(StreamEvent::Done, &mut out);
    let out = chunks(&out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["error"]["code"], 504);
    assert_eq!(out[1]["error"]["status"], "DEADLINE_EXCEEDED");
}
