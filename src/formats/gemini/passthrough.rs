//! Same-format Gemini stream (a Gemini client calling a Gemini target; see
//! `formats::passthrough`): chunks go to the client as they arrive, without a copy.
//! Each chunk is parsed only for its cumulative `usageMetadata` and for whether a
//! `finishReason` (or a blocked prompt, or an error) came: Gemini has no terminal
//! event, so a stream that closes without one was cut.

use serde::Deserialize;

use super::response::usage_reported;
use super::wire::UsageIn;
use crate::error::Dialect;
use crate::formats::passthrough::{Passthrough, Watch};
use crate::model::{merge_usage, Usage};
use crate::sse::SseEventRef;

/// The few members a chunk is read for; its content is skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    candidates: Vec<CandidateProbe>,
    usage_metadata: Option<UsageIn>,
    prompt_feedback: Option<serde::de::IgnoredAny>,
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CandidateProbe {
    finish_reason: Option<String>,
}

/// The Gemini pass-through.
pub(crate) struct GeminiWatch;

impl Watch for GeminiWatch {
    const DIALECT: Dialect = Dialect::Gemini;
    fn event(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
        let Ok(probe) = serde_json::from_slice::<Probe>(event.data) else {
            return;
        };
        if let Some(u) = probe.usage_metadata {
            merge_usage(usage, &usage_reported(u));
        }
        let finished = probe.candidates.iter().any(|c| c.finish_reason.is_some());
        if finished || probe.prompt_feedback.is_some() || probe.error.is_some() {
            *complete = true;
        }
    }
}

pub(crate) type GeminiPassthrough = Passthrough<GeminiWatch>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::stream::StreamTranslator;

    const STREAM: &str = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":1}}\r\n\r\n\
data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":3}}\r\n\r\n";

    #[test]
    fn bytes_pass_untouched_at_every_split_and_usage_is_read() {
        for split in 0..STREAM.len() {
            let mut t = GeminiPassthrough::new();
            let mut out = Vec::new();
            t.feed(&STREAM.as_bytes()[..split], &mut out).unwrap();
            t.feed(&STREAM.as_bytes()[split..], &mut out).unwrap();
            t.finish(&mut out);
            assert_eq!(out, STREAM.as_bytes(), "split at {split}");
            let u = t.usage();
            assert_eq!(
                (u.input_tokens, u.output_tokens, u.reasoning_tokens),
                (9, 5, 3)
            );
        }
    }

    #[test]
    fn a_stream_cut_before_the_finish_reason_ends_with_an_error_chunk() {
        let first = STREAM.split("\r\n\r\n").next().unwrap_or_default();
        let mut t = GeminiPassthrough::new();
        let mut out = Vec::new();
        t.feed(format!("{first}\r\n\r\n").as_bytes(), &mut out)
            .unwrap();
        t.finish(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("\n\n"), "{text}");
        assert!(text.contains("data: {\"error\":{\"code\":502"), "{text}");
    }
}
