use super::*;
use crate::error::ErrorKind;
use std::borrow::Cow;

/// (event name, data) of every event written.
fn events(out: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_string();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn run(evs: Vec<StreamEvent<'static>>) -> Vec<(String, Value)> {
    let mut enc = ResponsesEncoder::new("public");
    let mut out = Vec::new();
    for ev in evs {
        enc.encode(ev, &mut out);
    }
    let evs = events(&out);
    for (i, (_, d)) in evs.iter().enumerate() {
        assert_eq!(d["sequence_number"], i as u64);
    }
    evs
}

fn start() -> StreamEvent<'static> {
    StreamEvent::MessageStart {
        id: Cow::Borrowed("msg_1"),
        model: Cow::Borrowed("up"),
        usage: Usage {
            input_tokens: 7,
            ..Usage::default()
        },
    }
}

#[test]
fn text_stream_event_sequence() {
    let evs = run(vec![
        start(),
        StreamEvent::TextDelta {
            index: 0,
            text: "Hel".into(),
        },
        StreamEvent::TextDelta {
            index: 0,
            text: "lo".into(),
        },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::Usage(Usage {
            output_tokens: 2,
            ..Usage::default()
        }),
        StreamEvent::Finish {
            reason: FinishReason::Stop,
            stop_sequence: None,
        },
        StreamEvent::Done,
    ]);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(evs[6].1["text"], "Hello");
    let done = &evs[9].1["response"];
    assert_eq!(done["id"], "resp_1");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(done["usage"]["input_tokens"], 7);
    assert_eq!(done["usage"]["output_tokens"], 2);
}

#[test]
fn function_call_stream() {
    let evs = run(vec![
        start(),
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_9".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallArgsDelta {
            index: 0,
            json_fragment: "{\"a\"".into(),
        },
        StreamEvent::ToolCallArgsDelta {
            index: 0,
            json_fragment: ":1}".into(),
        },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
            stop_sequence: None,
        },
        StreamEvent::Done,
    ]);
    assert_eq!(evs[2].1["item"]["type"], "function_call");
    assert_eq!(evs[2].1["item"]["call_id"], "call_9");
    assert_eq!(evs[3].0, "response.function_call_arguments.delta");
    assert_eq!(evs[5].0, "response.function_call_arguments.done");
    assert_eq!(evs[5].1["arguments"], "{\"a\":1}");
    assert_eq!(evs[6].1["item"]["arguments"], "{\"a\":1}");
    assert_eq!(evs[7].1["response"]["output"][0]["name"], "f");
}

#[test]
fn error_fails_the_response() {
    let evs = run(vec![
        start(),
        StreamEvent::TextDelta {
            index: 0,
            text: "x".into(),
        },
        StreamEvent::Error(GatewayError::new(ErrorKind::UpstreamProtocol, "cut")),
    ]);
    let n = evs.len();
    assert_eq!(evs[n - 2].0, "response.failed");
    assert_eq!(evs[n - 2].1["response"]["status"], "failed");
    assert_eq!(evs[n - 1].0, "error");
    assert_eq!(evs[n - 1].1["message"], "cut");
    assert_eq!(evs[n - 1].1["error"]["message"], "cut");
}
