use crate::error::Dialect;
use crate::formats::test_support::*;
use crate::formats::{stream_translator, WireFormat};

const TEXT: &str = include_str!("../../../tests/fixtures/openai_chat/stream_text.sse");

fn usage_event_removed() -> String {
    let start = TEXT.find("data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\", \"system_fingerprint\": \"fp_44709d6fcb\", \"choices\":[],").unwrap();
    let end = start + TEXT[start..].find("\n\n").unwrap() + 2;
    format!("{}{}", &TEXT[..start], &TEXT[end..])
}

#[test]
fn bytes_pass_untouched_and_usage_is_seen() {
    let make = || stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, true, "alias");
    let out = run_all_ways(&make, TEXT.as_bytes());
    assert_eq!(out, TEXT.as_bytes());
    let mut t = make();
    let _ = run(&mut *t, TEXT.as_bytes(), &mut || 3);
    assert_eq!((t.usage().input_tokens, t.usage().output_tokens), (19, 10));
}

#[test]
fn forced_usage_chunk_is_the_only_thing_stripped() {
    let make = || stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, false, "alias");
    let out = run_all_ways(&make, TEXT.as_bytes());
    assert_eq!(String::from_utf8(out).unwrap(), usage_event_removed());
    let mut t = make();
    let _ = run(&mut *t, TEXT.as_bytes(), &mut || 1);
    assert_eq!(t.usage().output_tokens, 10);
    // CRLF framing is preserved byte for byte too.
    let crlf_in = crlf(TEXT);
    let out = run_all_ways(&make, crlf_in.as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        crlf(&usage_event_removed())
    );
}

#[test]
fn truncated_stream_gets_an_error_event() {
    let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").unwrap() - 200];
    for wants_usage in [true, false] {
        let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, wants_usage, "a");
        let out = run(&mut *t, cut.as_bytes(), &mut || 11);
        let evs = json_events(&out);
        assert!(evs.last().unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ended before"));
    }
    // A finish reason without [DONE] is complete enough.
    let no_done = TEXT.replace("data: [DONE]\n\n", "");
    let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, true, "a");
    assert_eq!(
        run(&mut *t, no_done.as_bytes(), &mut || 64),
        no_done.as_bytes()
    );
}

#[test]
fn member_names_inside_content_do_not_count() {
    let chunk = br#"{"id":"x","choices":[{"index":0,"delta":{"content":"say \"usage\": {} and \"finish_reason\": \"stop\""},"finish_reason":null}],"usage":null}"#;
    let m = super::Members::scan(chunk);
    assert!(m.usage_at.is_none() && !m.finish_reason && !m.error);
    let real = br#"{"choices":[], "usage" : {"prompt_tokens":1}, "error":null}"#;
    let m = super::Members::scan(real);
    assert_eq!(m.usage_at, Some(25));
    assert_eq!(&real[25..27], b"{\"");
    assert!(!m.error && !m.finish_reason);
}

/// The usage object alone is read; whether the chunk is usage-only is decided by
/// its choices, as OpenAI sends them (usage chunk: `"choices":[]`).
#[test]
fn usage_is_read_from_its_object_alone() {
    let seen = |data: &[u8]| {
        let mut usage = crate::model::Usage::default();
        let mut complete = false;
        let event = crate::sse::SseEventRef {
            event: b"",
            data,
            id: None,
            end: data.len(),
        };
        let kind = super::watch(&event, &mut usage, &mut complete);
        (
            matches!(kind, super::Seen::UsageOnly),
            usage.input_tokens,
            usage.output_tokens,
        )
    };
    let usage_only = br#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#;
    assert_eq!(seen(usage_only), (true, 9, 12));
    let with_choice = br#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
    assert_eq!(seen(with_choice), (false, 3, 4));
    let null_choices = br#"{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
    assert_eq!(seen(null_choices), (true, 1, 2));
    let broken_usage = br#"{"choices":[],"usage":{"prompt_tokens":"x"}}"#;
    assert_eq!(seen(broken_usage), (false, 0, 0));
}
