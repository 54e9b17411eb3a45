//! Usage of Responses bodies and `response.*` events, read without parsing the
//! output (pass-through routes meter on it). The wire counts cached tokens inside
//! `input_tokens`, as OpenAI's other APIs do.

use serde::Deserialize;

use crate::model::{CacheAccounting, Usage};

/// Responses `input_tokens` include the cached ones.
pub(crate) const ACCOUNTING: CacheAccounting = CacheAccounting::Inclusive;

#[derive(Debug, Deserialize, Default)]
pub(crate) struct UsageWire {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Debug, Deserialize, Default)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Debug, Deserialize, Default)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

/// `{"usage": ...}` (a Response object).
#[derive(Deserialize)]
struct BodyProbe {
    #[serde(default)]
    usage: Option<UsageWire>,
}

/// `{"response": {"usage": ...}}` (a `response.*` event).
#[derive(Deserialize)]
struct EventProbe {
    #[serde(default)]
    response: Option<BodyProbe>,
}

pub(crate) fn reported(u: UsageWire) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens: u.input_tokens_details.map_or(0, |d| d.cached_tokens),
        cache_write_tokens: 0,
        reasoning_tokens: u.output_tokens_details.map_or(0, |d| d.reasoning_tokens),
    }
}

/// `None` when the body is not one JSON document; else its usage (zero when it
/// has none). Usage of a Response body, in the wire's own accounting; zero when it has none.
pub(crate) fn usage_probe(body: &[u8]) -> Option<Usage> {
    crate::json::from_body::<BodyProbe>(body)
        .ok()
        .map(|p| p.usage.map(reported).unwrap_or_default())
}

/// The usage at the start of `value` (the `usage` member's value, or `null`).
pub(crate) fn usage_value(value: &[u8]) -> Option<Usage> {
    crate::json::leading_value::<Option<UsageWire>>(value)
        .ok()
        .map(|u| u.map(reported).unwrap_or_default())
}

/// Usage carried by a `response.completed` (or `.incomplete`, `.failed`) event.
pub(crate) fn usage_of_event(data: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<EventProbe>(data)
        .ok()
        .and_then(|p| p.response)
        .and_then(|r| r.usage)
        .map(reported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_body_and_event_usage() {
        let body = br#"{"id":"resp_1","output":[{"type":"message","content":[{"type":"output_text","text":"x"}]}],
            "usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":4},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":123}}"#;
        let u = usage_probe(body).unwrap_or_default();
        assert_eq!((u.input_tokens, u.output_tokens), (36, 87));
        assert_eq!((u.cache_read_tokens, u.reasoning_tokens), (4, 3));
        let ev = br#"{"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":2}}}"#;
        assert_eq!(usage_of_event(ev).map(|u| u.output_tokens), Some(2));
        assert_eq!(
            usage_of_event(br#"{"type":"response.created","response":{"usage":null}}"#),
            None
        );
        assert_eq!(usage_probe(b"not json"), None);
    }
}
