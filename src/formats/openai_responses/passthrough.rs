//! Same-format Responses stream (a target that serves the Responses API; see
//! `formats::passthrough`): chunks go to the client as they arrive, without a copy;
//! only the terminal `response.*` events are parsed, for usage and to know the answer
//! was complete.

use super::usage::usage_of_event;
use crate::error::Dialect;
use crate::formats::passthrough::{Passthrough, Watch};
use crate::model::{merge_usage, Usage};
use crate::sse::SseEventRef;

fn watch(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
    match event.event {
        b"response.completed" | b"response.incomplete" | b"response.failed" => {
            if let Some(u) = usage_of_event(event.data) {
                merge_usage(usage, &u);
            }
            *complete = true;
        }
        b"error" => *complete = true,
        _ => {}
    }
}

/// The Responses pass-through: the terminal `response.*` events carry usage.
pub(crate) struct ResponsesWatch;

impl Watch for ResponsesWatch {
    const DIALECT: Dialect = Dialect::OpenAiResponses;
    fn event(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
        watch(event, usage, complete);
    }
}

pub(crate) type ResponsesPassthrough = Passthrough<ResponsesWatch>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::stream::StreamTranslator;

    const STREAM: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n";

    #[test]
    fn bytes_pass_untouched_at_every_split_and_usage_is_read() {
        for split in 0..STREAM.len() {
            let mut t = ResponsesPassthrough::new();
            let mut out = Vec::new();
            t.feed(&STREAM.as_bytes()[..split], &mut out).unwrap();
            t.feed(&STREAM.as_bytes()[split..], &mut out).unwrap();
            t.finish(&mut out);
            assert_eq!(out, STREAM.as_bytes(), "split at {split}");
            assert_eq!((t.usage().input_tokens, t.usage().output_tokens), (9, 1));
        }
    }

    #[test]
    fn a_cut_stream_ends_with_an_error_event() {
        let cut = &STREAM[..STREAM.find("event: response.completed").unwrap()];
        let mut t = ResponsesPassthrough::new();
        let mut out = Vec::new();
        t.feed(cut.as_bytes(), &mut out).unwrap();
        t.finish(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("\n\n") && text.contains("event: error\ndata: {"),
            "{text}"
        );
    }
}
