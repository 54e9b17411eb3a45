use serde_json::{json, Value};

use crate::error::Dialect;
use crate::formats::gemini::test_support::{events, run, run_all_ways};
use crate::formats::{stream_translator, StreamTranslator, WireFormat};
use crate::model::Usage;
use tollgate_mock::eventstream::{encode_frame, message};

/// The frames of a fixture stream: one per `NN-<eventType>.json` payload file.
fn frames(dir: &str) -> Vec<Vec<u8>> {
    let root = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap();
            let kind = stem.split_once('-').unwrap().1;
            let payload = std::fs::read(path).unwrap();
            message(kind, &payload)
        })
        .collect()
}

fn stream(dir: &str) -> Vec<u8> {
    frames(dir).concat()
}

fn translator(to: Dialect) -> Box<dyn StreamTranslator> {
    stream_translator(WireFormat::BedrockConverse, to, true, "my-claude")
}

fn openai(input: &[u8]) -> Vec<Value> {
    let out = run_all_ways(&|| translator(Dialect::OpenAi), input);
    events(&out).into_iter().map(|(_, d)| d).collect()
}

fn anthropic(input: &[u8]) -> Vec<(String, Value)> {
    events(&run_all_ways(&|| translator(Dialect::Anthropic), input))
}

#[test]
fn text_stream_to_openai() {
    let chunks = openai(&stream("aws/bedrock_converse_stream/text"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let id = chunks[0]["id"].as_str().unwrap();
    assert_eq!(id, "bedrock-ID", "made up once, redacted here");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        text,
        "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."
    );
    let n = chunks.len();
    assert_eq!(chunks[n - 3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        chunks[n - 2]["usage"],
        json!({"prompt_tokens": 461, "completion_tokens": 16, "total_tokens": 477,
               "prompt_tokens_details": {"cached_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 0}})
    );
    assert_eq!(chunks[n - 1], json!("[DONE]"));
}

#[test]
fn one_id_per_stream_and_a_new_one_per_stream() {
    let input = stream("aws/bedrock_converse_stream/text");
    let ids = |out: Vec<u8>| -> Vec<String> {
        events(&String::from_utf8(out).unwrap())
            .into_iter()
            .filter_map(|(_, d)| d["id"].as_str().map(str::to_owned))
            .collect()
    };
    let a = ids(run(&mut *translator(Dialect::OpenAi), &input, &mut || 5));
    let b = ids(run(&mut *translator(Dialect::OpenAi), &input, &mut || 5));
    assert!(a.len() > 3 && a.iter().all(|i| *i == a[0]));
    assert!(a[0].starts_with("bedrock-") && a[0] != b[0]);
}

#[test]
fn tool_use_stream_to_anthropic() {
    let evs = anthropic(&stream("aws/bedrock_converse_stream/tool_use"));
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(evs[0].1["message"]["model"], "my-claude");
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "tool_use", "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {}})
    );
    let args: String = evs[2..4]
        .iter()
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"sign": "WZPZ"})
    );
    assert_eq!(evs[5].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(evs[5].1["usage"]["input_tokens"], 375);
    assert_eq!(evs[5].1["usage"]["output_tokens"], 54);
}

#[test]
fn reasoning_text_and_call_with_padding() {
    let input = stream("bedrock_converse/stream_reasoning");
    let evs = anthropic(&input);
    let kinds: Vec<String> = evs
        .iter()
        .map(|(n, d)| match n.as_str() {
            "content_block_start" => {
                format!("start:{}", d["content_block"]["type"].as_str().unwrap())
            }
            "content_block_delta" => format!("delta:{}", d["delta"]["type"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "start:thinking",
            "delta:thinking_delta",
            "delta:thinking_delta",
            "delta:signature_delta",
            "content_block_stop",
            "start:text",
            "delta:text_delta",
            "content_block_stop",
            "start:tool_use",
            "delta:input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        evs[4].1["delta"]["signature"],
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    );
    assert_eq!(evs[9].1["index"], 2);
    assert_eq!(evs[12].1["usage"]["cache_read_input_tokens"], 1600);
    let chunks = openai(&input);
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    assert_eq!(reasoning, "The user wants the top song; call top_song.");
    assert!(chunks.iter().any(
        |c| c["choices"][0]["delta"]["tool_calls"][0]["id"] == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
    ));
    assert!(
        chunks.iter().all(|c| !c.to_string().contains("abcdefgh")),
        "padding leaked"
    );
    let mut t = translator(Dialect::OpenAi);
    run(&mut *t, &input, &mut || 64);
    assert_eq!(
        t.usage(),
        Usage {
            input_tokens: 42,
            output_tokens: 71,
            cache_read_tokens: 1600,
            ..Usage::default()
        }
    );
}

#[test]
fn exception_frame_ends_the_stream_in_band() {
    let input = stream("aws/bedrock_converse_stream/exception");
    let evs = anthropic(&input);
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].0, "message_start");
    assert_eq!(evs[1].0, "error");
    assert_eq!(evs[1].1["error"]["type"], "rate_limit_error");
    assert_eq!(
        evs[1].1["error"]["message"],
        "Your request was denied due to exceeding the account quotas for Amazon Bedrock."
    );
    let chunks = openai(&input);
    assert_eq!(chunks.last().unwrap()["error"]["type"], "rate_limit_error");
    assert!(!chunks.contains(&json!("[DONE]")));
}

#[test]
fn corrupt_or_cut_streams() {
    let mut fs = frames("aws/bedrock_converse_stream/text");
    let at = fs[2].len() - 6;
    fs[2][at] ^= 0x20;
    let evs = anthropic(&fs.concat());
    let text: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(
        text, "The most popular song on WZPZ is ",
        "frames before the bad one"
    );
    let (name, data) = evs.last().unwrap();
    assert_eq!(name, "error");
    assert!(data["error"]["message"]
        .as_str()
        .unwrap()
        .contains("checksum"));

    // Cut inside the last frame, after messageStop: the answer is whole, usage is not.
    let whole = stream("aws/bedrock_converse_stream/text");
    let chunks = openai(&whole[..whole.len() - 10]);
    assert_eq!(chunks.last().unwrap(), &json!("[DONE]"));
    // Cut before messageStop: an error, never a silent end.
    let fs = frames("aws/bedrock_converse_stream/text");
    let early = [fs[0].as_slice(), &fs[1], &fs[2][..9]].concat();
    let evs = anthropic(&early);
    let (name, data) = evs.last().unwrap();
    assert_eq!(name, "error");
    assert!(data["error"]["message"].as_str().unwrap().contains("cut"));
    let evs = anthropic(&[fs[0].as_slice(), &fs[1]].concat());
    assert!(evs.last().unwrap().1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ended before"));
}

#[test]
fn json_tool_stream_is_text() {
    let fs = [
        message("messageStart", br#"{"role":"assistant"}"#),
        message(
            "contentBlockStart",
            br#"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"json_response_format"}}}"#,
        ),
        message(
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"a\":"}}}"#,
        ),
        message(
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"1}"}}}"#,
        ),
        message("contentBlockStop", br#"{"contentBlockIndex":0}"#),
        message("messageStop", br#"{"stopReason":"tool_use"}"#),
        message("metadata", br#"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#),
    ];
    let chunks = openai(&fs.concat());
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, r#"{"a":1}"#);
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    assert!(!chunks
        .iter()
        .any(|c| c["choices"][0]["delta"].get("tool_calls").is_some()));
}

#[test]
fn broken_payload_and_error_message_frames() {
    let fs = [
        message("messageStart", br#"{"role":"assistant"}"#),
        message("contentBlockDelta", b"{oops"),
    ];
    let evs = anthropic(&fs.concat());
    assert!(evs.last().unwrap().1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid contentBlockDelta event"));
    let err = encode_frame(
        &[
            (":message-type", "error"),
            (":error-code", "InternalServerException"),
            (":error-message", "internal"),
        ],
        b"",
    );
    let chunks = openai(&err);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["error"]["message"], "internal");
}
