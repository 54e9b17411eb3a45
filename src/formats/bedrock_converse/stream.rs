//! Bedrock `ConverseStream` → canonical stream events → the client's dialect.
//!
//! The body is `application/vnd.amazon.eventstream` binary framing, not SSE, so the
//! shared pipeline (`formats::stream::Translating`) runs here over
//! [`EventStreamFraming`]: the incremental, size-bounded [`EventStreamDecoder`] cuts
//! frames out of any chunking; [`BedrockDecoder`] turns each frame into canonical
//! events; any client encoder writes them, with the same end-of-stream rules as SSE
//! formats.
//!
//! Converse events are already block-structured (`contentBlockIndex` is the
//! canonical index): `contentBlockStart` opens a tool call (text blocks have none and
//! open on their first delta), `contentBlockDelta` carries text, a fragment of the
//! tool input's JSON, or reasoning; `messageStop` has the stop reason and `metadata`,
//! the last event, the usage. The stream has no id: one is made up at `messageStart`.
//! Exception frames (`throttlingException`, `modelStreamErrorException`...) end the
//! stream with an in-band error.

use std::borrow::Cow;

use super::ids;
use super::response::{json_stop, stop_reason, usage_from_wire, ID_PREFIX};
use super::wire::{DeltaIn, EventIn};
use crate::aws::{EventStreamDecoder, EventStreamError, Frame};
use crate::formats::anthropic_messages::JSON_TOOL;
use crate::formats::stream::{protocol_error, Decoder, Framing};
use crate::model::{FinishReason, StreamEvent, Usage};

/// Bedrock frames → canonical events.
#[derive(Debug, Default)]
pub(crate) struct BedrockDecoder {
    started: bool,
    /// Block index of a JSON-mode tool call, whose input is the text answer.
    json_block: Option<u32>,
    tool_calls: bool,
    /// `messageStop` was seen.
    finished: bool,
    /// `Done` was sent.
    done: bool,
}

impl Decoder for BedrockDecoder {
    type Framing = EventStreamFraming;

    /// Decode one frame.
    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, frame: &'e Frame, sink: &mut F) {
        match frame.message_type() {
            Some("exception") | Some("error") => {
                return sink(StreamEvent::Error(super::error::stream_error(frame)))
            }
            _ => {}
        }
        let ev: EventIn<'e> = match serde_json::from_slice(&frame.payload) {
            Ok(ev) => ev,
            Err(e) => {
                return sink(StreamEvent::Error(protocol_error(&format!(
                    "invalid {} event from upstream: {e}",
                    frame.event_type().unwrap_or("unnamed")
                ))))
            }
        };
        let event_type = frame.event_type().unwrap_or("");
        if !self.started && event_type != "metadata" {
            self.start(sink);
        }
        let index = ev.content_block_index.unwrap_or(0);
        match event_type {
            "contentBlockStart" => self.block_start(index, ev, sink),
            "contentBlockDelta" => {
                if let Some(d) = ev.delta {
                    self.block_delta(index, d, sink);
                }
            }
            "contentBlockStop" => sink(StreamEvent::BlockStop { index }),
            "messageStop" => {
                let reason = ev
                    .stop_reason
                    .map(|r| stop_reason(r.as_str()))
                    .unwrap_or(FinishReason::Stop);
                self.finished = true;
                sink(StreamEvent::Finish {
                    reason: json_stop(reason, self.json_block.is_some(), self.tool_calls),
                    stop_sequence: ev
                        .additional_model_response_fields
                        .and_then(|f| f.stop_sequence)
                        .map(|s| s.0),
                });
            }
            "metadata" => {
                if let Some(u) = ev.usage {
                    sink(StreamEvent::Usage(usage_from_wire(u)));
                }
                // The last event of a complete answer.
                if self.finished {
                    self.done = true;
                    sink(StreamEvent::Done);
                }
            }
            // `messageStart` only says the role; event types added later carry
            // nothing to translate.
            _ => {}
        }
    }

    /// The upstream closed the stream: finish the answer if its stop reason came
    /// (the `metadata` event is then only missing usage).
    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool {
        if self.finished && !self.done {
            self.done = true;
            sink(StreamEvent::Done);
        }
        self.finished
    }
}

impl BedrockDecoder {
    fn start<'e, F: FnMut(StreamEvent<'e>)>(&mut self, sink: &mut F) {
        self.started = true;
        sink(StreamEvent::MessageStart {
            id: Cow::Owned(ids::generate(ID_PREFIX)),
            model: Cow::Borrowed(""),
            usage: Usage::default(),
        });
    }

    fn block_start<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        index: u32,
        ev: EventIn<'e>,
        sink: &mut F,
    ) {
        let Some(tool) = ev.start.and_then(|s| s.tool_use) else {
            return;
        };
        if tool.name.as_str() == JSON_TOOL {
            self.json_block = Some(index);
            return;
        }
        self.tool_calls = true;
        sink(StreamEvent::ToolCallStart {
            index,
            id: tool.tool_use_id.0,
            name: tool.name.0,
        });
    }

    fn block_delta<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        index: u32,
        d: DeltaIn<'e>,
        sink: &mut F,
    ) {
        if let Some(t) = d.text.filter(|t| !t.0.is_empty()) {
            sink(StreamEvent::TextDelta { index, text: t.0 });
        }
        if let Some(j) = d.tool_use.and_then(|t| t.input).filter(|j| !j.0.is_empty()) {
            if self.json_block == Some(index) {
                sink(StreamEvent::TextDelta { index, text: j.0 });
            } else {
                sink(StreamEvent::ToolCallArgsDelta {
                    index,
                    json_fragment: j.0,
                });
            }
        }
        if let Some(r) = d.reasoning_content {
            if let Some(data) = r.redacted_content {
                sink(StreamEvent::RedactedReasoning {
                    index,
                    data: data.0,
                });
            }
            let text = r.text.map(|t| t.0).unwrap_or_default();
            let signature = r.signature.map(|s| s.0);
            if !text.is_empty() || signature.is_some() {
                sink(StreamEvent::ReasoningDelta {
                    index,
                    text,
                    signature,
                });
            }
        }
    }
}

/// AWS event-stream framing for the shared pipeline: the incremental, size-bounded
/// [`EventStreamDecoder`] cuts frames out of any chunking.
#[derive(Default)]
pub(crate) struct EventStreamFraming {
    frames: EventStreamDecoder,
    /// Frames completed by the chunk being fed (reused between chunks).
    pending: Vec<Frame>,
}

impl Framing for EventStreamFraming {
    type Unit<'u> = &'u Frame;
    type Error = EventStreamError;

    fn feed<F: for<'u> FnMut(&'u Frame)>(
        &mut self,
        chunk: &[u8],
        mut each: F,
    ) -> Result<(), EventStreamError> {
        let result = self.frames.feed(chunk, &mut self.pending);
        for frame in self.pending.drain(..) {
            each(&frame);
        }
        result
    }

    /// A frame is only usable whole: a partial one left at the end means a cut.
    fn finish<F: for<'u> FnMut(&'u Frame)>(&mut self, _each: F) -> Result<(), EventStreamError> {
        self.frames.finish()
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
