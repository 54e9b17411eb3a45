//! The response model and finish reasons of an attempt, read off the upstream's
//! bytes as they pass, for the span's `gen_ai.response.model` and
//! `gen_ai.response.finish_reasons`. Only sampled requests pay for it.
//!
//! A byte scan rather than a parse, so it works the same for every format and for
//! streams split anywhere, without touching the translators: it finds the keys the
//! formats use (`model`, Gemini's `modelVersion`; `finish_reason`, `stop_reason`,
//! `finishReason`, `stopReason`) followed by a string value. A key inside a JSON
//! string is escaped (`\"model\"`) and so never matches; `null` values (Anthropic's
//! `message_start`, OpenAI's intermediate chunks) are skipped. The model is the first
//! one seen (formats put it before the content). Bedrock Converse names no model in
//! its answer: no response model there.

/// Bytes kept from the previous chunk, so a key split across chunks is still found.
const CARRY: usize = 192;
/// Longest value kept.
const MAX_VALUE: usize = 128;
/// Distinct finish reasons kept (a choice each; `n` is small in practice).
const MAX_REASONS: usize = 8;

const MODEL_KEYS: &[&[u8]] = &[b"\"model\"", b"\"modelVersion\""];
const REASON_KEYS: &[&[u8]] = &[
    b"\"finish_reason\"",
    b"\"stop_reason\"",
    b"\"finishReason\"",
    b"\"stopReason\"",
];

#[derive(Debug, Default)]
pub struct ResponseScan {
    carry: Vec<u8>,
    pub model: Option<String>,
    pub finish_reasons: Vec<String>,
}

impl ResponseScan {
    pub fn feed(&mut self, chunk: &[u8]) {
        let carried = self.carry.len();
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(chunk);
        let mut i = 0;
        while let Some(offset) = joined[i..].iter().position(|&b| b == b'"') {
            let at = i + offset;
            i = at + 1;
            let escaped = at > 0 && joined[at - 1] == b'\\';
            if escaped {
                continue;
            }
            let is_model = MODEL_KEYS.iter().any(|k| joined[at..].starts_with(k));
            let is_reason = REASON_KEYS.iter().any(|k| joined[at..].starts_with(k));
            if !is_model && !is_reason {
                continue;
            }
            let key_len = joined[at + 1..]
                .iter()
                .position(|&b| b == b'"')
                .unwrap_or(0)
                + 2;
            // A match wholly inside the carried bytes was seen with the last chunk.
            let Some((value, end)) = string_value(&joined, at + key_len) else {
                continue;
            };
            if end <= carried {
                continue;
            }
            if is_model && self.model.is_none() && !value.is_empty() {
                self.model = Some(value);
            } else if is_reason
                && self.finish_reasons.len() < MAX_REASONS
                && !self.finish_reasons.contains(&value)
            {
                self.finish_reasons.push(value);
            }
        }
        let keep = joined.len().saturating_sub(CARRY);
        joined.drain(..keep);
        self.carry = joined;
    }
}

/// `: "value"` from `from`: the value and the index just past its closing quote;
/// `None` for a non-string value, an over-long one, or one not complete yet.
fn string_value(bytes: &[u8], from: usize) -> Option<(String, usize)> {
    let mut i = from;
    let skip_ws = |i: &mut usize| {
        while bytes.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if bytes.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    skip_ws(&mut i);
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = bytes
        .get(start..)?
        .iter()
        .take(MAX_VALUE + 1)
        .position(|&b| b == b'"' || b == b'\\')?;
    if bytes.get(start + len) != Some(&b'"') {
        return None;
    }
    let value = std::str::from_utf8(&bytes[start..start + len]).ok()?;
    Some((value.to_string(), start + len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_stream_split_anywhere() {
        let body = concat!(
            "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"delta\":{\"content\":\"say \\\"model\\\": \\\"x\\\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        for split in 1..body.len() {
            let mut scan = ResponseScan::default();
            for part in body.as_bytes().chunks(split) {
                scan.feed(part);
            }
            assert_eq!(
                scan.model.as_deref(),
                Some("gpt-4o-mini-2024-07-18"),
                "split {split}"
            );
            assert_eq!(scan.finish_reasons, ["stop"], "split {split}");
        }
    }

    #[test]
    fn anthropic_gemini_and_bedrock_keys() {
        let mut a = ResponseScan::default();
        a.feed(br#"{"type":"message_start","message":{"model":"claude-sonnet-4-5","stop_reason":null}}"#);
        a.feed(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#);
        assert_eq!(a.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(a.finish_reasons, ["end_turn"]);
        let mut g = ResponseScan::default();
        g.feed(br#"{"candidates":[{"finishReason": "STOP"}],"modelVersion": "gemini-2.0-flash"}"#);
        assert_eq!(g.model.as_deref(), Some("gemini-2.0-flash"));
        assert_eq!(g.finish_reasons, ["STOP"]);
        let mut b = ResponseScan::default();
        b.feed(b"\x00\x00\x00\x50binary{\"stopReason\":\"tool_use\"}\x12\x34");
        assert_eq!(b.model, None);
        assert_eq!(b.finish_reasons, ["tool_use"]);
    }

    #[test]
    fn values_are_bounded() {
        let mut s = ResponseScan::default();
        let long = "m".repeat(MAX_VALUE + 1);
        s.feed(format!("{{\"model\":\"{long}\"}}").as_bytes());
        assert_eq!(s.model, None);
        for i in 0..20 {
            s.feed(format!("{{\"finish_reason\":\"r{i}\"}}").as_bytes());
        }
        assert_eq!(s.finish_reasons.len(), MAX_REASONS);
    }
}
