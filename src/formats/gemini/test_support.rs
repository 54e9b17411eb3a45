//! Helpers for the Gemini and Bedrock translator tests: a fixed-seed PRNG, feeding a
//! stream translator in chunks of any size, redaction of generated ids and
//! timestamps, and reading the SSE it wrote.

use crate::formats::StreamTranslator;
use crate::sse::SseDecoder;

pub(crate) use crate::formats::test_support::{run, Rng};

/// Generated ids and `created` timestamps replaced by fixed text.
pub(crate) fn redact(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    static IDS: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r"(bedrock-|gen-?)[0-9a-f]{24}").unwrap());
    static CREATED: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r#""created": ?\d+"#).unwrap());
    let (ids, created) = (&*IDS, &*CREATED);
    let text = ids.replace_all(&text, "${1}ID");
    created.replace_all(&text, r#""created":0"#).into_owned()
}

/// The output, which must be the same whether `input` is fed whole, one byte at a
/// time, or in random pieces (redacted, since each run makes up its own ids).
pub(crate) fn run_all_ways(make: &dyn Fn() -> Box<dyn StreamTranslator>, input: &[u8]) -> String {
    let whole = redact(&run(&mut *make(), input, &mut || usize::MAX));
    let bytewise = redact(&run(&mut *make(), input, &mut || 1));
    assert_eq!(bytewise, whole, "1-byte splits differ");
    let mut rng = Rng(0x5EED_0FC0_FFEE);
    for _ in 0..25 {
        let random = redact(&run(&mut *make(), input, &mut || 1 + rng.below(48)));
        assert_eq!(random, whole, "random splits differ");
    }
    whole
}

/// (event name, data as JSON; `[DONE]` and other non-JSON data as a string).
pub(crate) fn events(text: &str) -> Vec<(String, serde_json::Value)> {
    let mut d = SseDecoder::new();
    let mut v = d.feed(text.as_bytes()).unwrap();
    v.extend(d.finish());
    v.into_iter()
        .map(|e| {
            let data = serde_json::from_str(&e.data).unwrap_or(serde_json::Value::String(e.data));
            (e.event.unwrap_or_default(), data)
        })
        .collect()
}
