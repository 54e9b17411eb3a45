//! Bedrock `ConverseStream` → canonical stream events → the client's dialect.
//!
//! The body is `application/vnd.amazon.eventstream` binary framing, not SSE, so this
//! module has its own pipeline, [`BedrockStream`]: the incremental, size-bounded
//! [`EventStreamDecoder`] cuts frames out of any chunking; [`BedrockDecoder`] turns
//! each frame into canonical events; any client [`Encoder`] writes them. The
//! end-of-stream rules are those of the SSE pipeline (`formats::stream`).
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
use crate::aws::{EventStreamDecoder, Frame};
use crate::error::GatewayError;
use crate::formats::anthropic_messages::JSON_TOOL;
use crate::formats::stream::{forward, protocol_error, Encoder, StreamTranslator};
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

impl BedrockDecoder {
    /// Decode one frame.
    pub fn frame<'e, F: FnMut(StreamEvent<'e>)>(&mut self, frame: &'e Frame, sink: &mut F) {
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

    /// The upstream closed the stream: finish the answer if its stop reason came
    /// (the `metadata` event is then only missing usage).
    pub fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool {
        if self.finished && !self.done {
            self.done = true;
            sink(StreamEvent::Done);
        }
        self.finished
    }
}

/// Event-stream framing + [`BedrockDecoder`] + a client encoder.
pub(crate) struct BedrockStream<E> {
    frames: EventStreamDecoder,
    /// Frames completed by the chunk being fed (reused between chunks).
    pending: Vec<Frame>,
    decoder: BedrockDecoder,
    encoder: E,
    /// Canonical accounting.
    usage: Usage,
    ended: bool,
}

impl<E: Encoder> BedrockStream<E> {
    pub fn new(encoder: E) -> Self {
        BedrockStream {
            frames: EventStreamDecoder::new(),
            pending: Vec::new(),
            decoder: BedrockDecoder::default(),
            encoder,
            usage: Usage::default(),
            ended: false,
        }
    }

    fn fail(&mut self, e: GatewayError, out: &mut Vec<u8>) -> GatewayError {
        if !self.ended {
            self.ended = true;
            self.encoder.encode(StreamEvent::Error(e.clone()), out);
        }
        e
    }
}

impl<E: Encoder> StreamTranslator for BedrockStream<E> {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        if self.ended {
            return Ok(());
        }
        // Frames before a corrupt one are still translated, then the stream fails.
        let result = self.frames.feed(chunk, &mut self.pending);
        let Self {
            pending,
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        for frame in pending.drain(..) {
            if *ended {
                break;
            }
            decoder.frame(&frame, &mut |ev| forward(encoder, usage, ended, ev, out));
        }
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(protocol_error(&e.to_string()), out)),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let Self {
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        if decoder.end(&mut |ev| forward(encoder, usage, ended, ev, out)) {
            return;
        }
        let why = match self.frames.finish() {
            Err(e) => format!("the upstream stream was cut: {e}"),
            Ok(()) => "the upstream stream ended before the answer was complete".to_owned(),
        };
        let _ = self.fail(protocol_error(&why), out);
    }

    fn usage(&self) -> Usage {
        super::response::ACCOUNTING.from_canonical(self.usage)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
