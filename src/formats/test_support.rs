//! Helpers for the unit tests of the translators: a fixed-seed PRNG, chunked
//! feeding, and an SSE reader for asserting on output.

use super::StreamTranslator;
use crate::sse::{SseDecoder, SseEvent};

pub(crate) use crate::test_rng::Rng;

/// Feed `input` cut into the given chunk lengths (cycled), then finish.
pub(crate) fn run(
    t: &mut dyn StreamTranslator,
    input: &[u8],
    lens: &mut dyn FnMut() -> usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + lens().max(1)).min(input.len());
        let _ = t.feed(&input[pos..end], &mut out);
        pos = end;
    }
    t.finish(&mut out);
    out
}

/// The same output whether fed whole, one byte at a time, or in random pieces
/// (compared with `created` timestamps blanked: runs may straddle a second).
pub(crate) fn run_all_ways(make: &dyn Fn() -> Box<dyn StreamTranslator>, input: &[u8]) -> Vec<u8> {
    let whole = run(&mut *make(), input, &mut || usize::MAX);
    let bytewise = run(&mut *make(), input, &mut || 1);
    assert_eq!(
        without_created(&bytewise),
        without_created(&whole),
        "1-byte splits differ"
    );
    let mut rng = Rng(0xC0FFEE);
    for _ in 0..20 {
        let random = run(&mut *make(), input, &mut || 1 + rng.below(40));
        assert_eq!(
            without_created(&random),
            without_created(&whole),
            "random splits differ"
        );
    }
    whole
}

/// The output as text with every `"created":<seconds>` set to 0.
fn without_created(out: &[u8]) -> String {
    static CREATED: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r#""created": ?\d+"#).unwrap());
    CREATED
        .replace_all(&String::from_utf8_lossy(out), r#""created":0"#)
        .into_owned()
}

/// Decode an SSE byte stream into events.
pub(crate) fn events(bytes: &[u8]) -> Vec<SseEvent> {
    let mut d = SseDecoder::new();
    let mut v = d.feed(bytes).unwrap_or_default();
    v.extend(d.finish());
    v
}

/// Data of every event parsed as JSON (`[DONE]` becomes the string "[DONE]").
pub(crate) fn json_events(bytes: &[u8]) -> Vec<serde_json::Value> {
    events(bytes)
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(serde_json::Value::String(e.data)))
        .collect()
}

/// Replace `\n` line ends by `\r\n`.
pub(crate) fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}
