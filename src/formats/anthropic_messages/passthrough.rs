//! Same-format Anthropic stream: chunks go to the client as the `Bytes` they arrived
//! in (no copy), as they arrive;
//! only `message_start` and `message_delta` events are parsed, for usage.

use super::response::usage_from_wire;
use super::stream_wire::UsageProbe;
use crate::error::{Dialect, GatewayError};
use bytes::Bytes;

use crate::formats::stream::{protocol_error, StreamFailure, StreamTranslator};
use crate::model::{merge_usage, Usage};
use crate::sse::{SseDecoder, SseError, SseEventRef};

pub(crate) struct AnthropicPassthrough {
    sse: SseDecoder,
    usage: Usage,
    /// `message_stop`, `error`, or a `message_delta` with the stop reason was seen.
    complete: bool,
    failed: bool,
}

impl AnthropicPassthrough {
    pub fn new() -> Self {
        AnthropicPassthrough {
            sse: SseDecoder::new(),
            usage: Usage::default(),
            complete: false,
            failed: false,
        }
    }
}

/// Note usage and the end of the stream from one event. `message_delta` usage is
/// cumulative: reported fields replace what `message_start` said.
fn watch(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
    match event.event {
        b"message_start" | b"message_delta" => {
            if let Ok(p) = serde_json::from_slice::<UsageProbe>(event.data) {
                if let Some(u) = p.message.and_then(|m| m.usage).or(p.usage) {
                    merge_usage(usage, &usage_from_wire(&u));
                }
            }
            if event.event == b"message_delta" {
                *complete = true;
            }
        }
        b"message_stop" | b"error" => *complete = true,
        _ => {}
    }
}

impl StreamTranslator for AnthropicPassthrough {
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
            tail.extend_from_slice(&error.sse_event(Dialect::Anthropic));
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
                // Close the cut event so the error event is read as one of its own.
                out.extend_from_slice(b"\n\n");
            }
            let e = protocol_error("the upstream stream ended before the answer was complete");
            out.extend_from_slice(&e.sse_event(Dialect::Anthropic));
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
#[path = "passthrough_tests.rs"]
mod tests;
