//! Same-format Responses stream (a target that serves the Responses API): chunks go
//! to the client as the `Bytes` they arrived in, as they arrive; only the terminal
//! `response.*` events are parsed, for usage and to know the answer was complete.

use bytes::Bytes;

use super::usage::usage_of_event;
use crate::error::{Dialect, GatewayError};
use crate::formats::stream::{protocol_error, StreamFailure, StreamTranslator};
use crate::model::{merge_usage, Usage};
use crate::sse::{SseDecoder, SseError, SseEventRef};

pub(crate) struct ResponsesPassthrough {
    sse: SseDecoder,
    usage: Usage,
    /// A terminal event (`response.completed`, `.incomplete`, `.failed`, `error`).
    complete: bool,
    failed: bool,
}

impl ResponsesPassthrough {
    pub fn new() -> Self {
        ResponsesPassthrough {
            sse: SseDecoder::new(),
            usage: Usage::default(),
            complete: false,
            failed: false,
        }
    }
}

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

impl StreamTranslator for ResponsesPassthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        match self.feed_bytes(Bytes::copy_from_slice(chunk)) {
            Ok(kept) => {
                out.extend_from_slice(&kept);
                Ok(())
            }
            Err(failure) => {
                out.extend_from_slice(&failure.tail);
                Err(failure.error)
            }
        }
    }

    /// The chunk goes out as it is, without a copy.
    fn feed_bytes(&mut self, chunk: Bytes) -> Result<Bytes, StreamFailure> {
        if self.failed {
            return Ok(Bytes::new());
        }
        let Self {
            sse,
            usage,
            complete,
            ..
        } = self;
        let result = sse.feed_with(&chunk, |event| {
            watch(&event, usage, complete);
            Ok::<(), SseError>(())
        });
        if let Err(e) = result {
            self.failed = true;
            let error = protocol_error(&e.to_string());
            let mut tail = chunk.to_vec();
            tail.extend_from_slice(&error.sse_event(Dialect::OpenAiResponses));
            return Err(StreamFailure { tail, error });
        }
        Ok(chunk)
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        let idle = self.sse.is_idle();
        let Self {
            sse,
            usage,
            complete,
            ..
        } = self;
        let _ = sse.finish_with(|event| {
            watch(&event, usage, complete);
            Ok::<(), SseError>(())
        });
        if !self.complete {
            if !idle {
                out.extend_from_slice(b"\n\n");
            }
            let e = protocol_error("the upstream stream ended before the answer was complete");
            out.extend_from_slice(&e.sse_event(Dialect::OpenAiResponses));
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
