//! Helpers for the Gemini and Bedrock translator tests: a fixed-seed PRNG, feeding a
//! stream translator in chunks of any size, redaction of generated ids and
//! timestamps, and reading the SSE it wrote.

use crate::formats::StreamTranslator;
use crate::sse::SseDecoder;

/// xorshift64*: deterministic, so a failing case can be replayed.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Feed `input` in chunks of the lengths `lens` gives, then finish.
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

/// Generated ids and `created` timestamps replaced by fixed text.
pub(crate) fn redact(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let ids = regex::Regex::new(r"(bedrock-|gen-)[0-9a-f]{24}").unwrap();
    let created = regex::Regex::new(r#""created":\d+"#).unwrap();
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
