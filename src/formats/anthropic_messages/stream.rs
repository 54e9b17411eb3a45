//! Anthropic event streams ⇄ canonical stream events.
//!
//! Anthropic's stream is already block-structured, so the decoder maps events nearly
//! one to one (a call of the JSON-mode tool becomes text). The encoder opens and
//! closes content blocks as canonical blocks come and go, holds the finish reason
//! until the end so that `message_delta` can carry the final, cumulative usage, and
//! ends with `message_stop`.

use std::borrow::Cow;

use super::response::{stop_reason, stop_reason_str, usage_from_wire, usage_to_wire};
use super::stream_wire::*;
use super::JSON_TOOL;
use crate::error::Dialect;
use crate::formats::stream::{protocol_error, Decoder, Encoder};
use crate::model::{merge_usage, FinishReason, StreamEvent, Usage};
use crate::sse::{SseDecoder, SseEventRef};

/// Upstream Anthropic events → canonical events.
#[derive(Debug, Default)]
pub(crate) struct AnthropicDecoder {
    /// Block index of a JSON-mode tool call, whose input is the text answer.
    json_block: Option<u32>,
    /// Blocks that have no canonical form (server tools) and are skipped.
    skipped: Vec<u32>,
    tool_calls: bool,
    finished: bool,
}

impl Decoder for AnthropicDecoder {
    type Framing = SseDecoder;

    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F) {
        let ev: EventIn<'e> = match serde_json::from_slice(event.data) {
            Ok(ev) => ev,
            Err(e) => {
                return sink(StreamEvent::Error(protocol_error(&format!(
                    "invalid event from upstream: {e}"
                ))))
            }
        };
        let index = ev.index.unwrap_or(0);
        if self.skipped.contains(&index) && ev.kind.as_str().starts_with("content_block") {
            return;
        }
        match ev.kind.as_str() {
            "message_start" => {
                let m = ev.message.unwrap_or_default();
                sink(StreamEvent::MessageStart {
                    id: m.id.0,
                    model: m.model.0,
                    usage: usage_from_wire(&m.usage),
                });
            }
            "content_block_start" => self.block_start(index, ev.content_block, sink),
            "content_block_delta" => self.block_delta(index, ev.delta, sink),
            "content_block_stop" => sink(StreamEvent::BlockStop { index }),
            "message_delta" => {
                if let Some(u) = ev.usage {
                    sink(StreamEvent::Usage(usage_from_wire(&u)));
                }
                let delta = ev.delta;
                if let Some(r) = delta.as_ref().and_then(|d| d.stop_reason.as_ref()) {
                    let mut reason = stop_reason(r.as_str());
                    if reason == FinishReason::ToolCalls
                        && self.json_block.is_some()
                        && !self.tool_calls
                    {
                        reason = FinishReason::Stop;
                    }
                    self.finished = true;
                    let stop_sequence = delta.and_then(|d| d.stop_sequence).map(|s| s.0);
                    sink(StreamEvent::Finish {
                        reason,
                        stop_sequence,
                    });
                }
            }
            "message_stop" => sink(StreamEvent::Done),
            "error" => sink(StreamEvent::Error(super::error::upstream_error(
                0, event.data,
            ))),
            // `ping` and event types added later carry nothing to translate.
            _ => {}
        }
    }

    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool {
        // Cut after `message_delta`: the content and the stop reason are all there.
        if self.finished {
            sink(StreamEvent::Done);
        }
        self.finished
    }
}

impl AnthropicDecoder {
    fn block_start<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        index: u32,
        block: Option<super::wire::BlockIn<'e>>,
        sink: &mut F,
    ) {
        let Some(b) = block else { return };
        match b.kind.as_str() {
            "text" => {
                if let Some(t) = b.text.filter(|t| !t.0.is_empty()) {
                    sink(StreamEvent::TextDelta { index, text: t.0 });
                }
            }
            "thinking" => {
                if let Some(t) = b.thinking.filter(|t| !t.0.is_empty()) {
                    sink(StreamEvent::ReasoningDelta {
                        index,
                        text: t.0,
                        signature: None,
                    });
                }
            }
            "redacted_thinking" => sink(StreamEvent::RedactedReasoning {
                index,
                data: b.data.map(|d| d.0).unwrap_or_default(),
            }),
            "tool_use" if b.name.as_ref().is_some_and(|n| n.as_str() == JSON_TOOL) => {
                self.json_block = Some(index)
            }
            "tool_use" => {
                self.tool_calls = true;
                sink(StreamEvent::ToolCallStart {
                    index,
                    id: b.id.map(|i| i.0).unwrap_or_default(),
                    name: b.name.map(|n| n.0).unwrap_or_default(),
                });
            }
            _ => self.skipped.push(index),
        }
    }

    fn block_delta<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        index: u32,
        delta: Option<DeltaIn<'e>>,
        sink: &mut F,
    ) {
        let Some(d) = delta else { return };
        match d.kind.as_ref().map(|k| k.as_str()) {
            Some("text_delta") => {
                if let Some(t) = d.text {
                    sink(StreamEvent::TextDelta { index, text: t.0 });
                }
            }
            Some("thinking_delta") => {
                if let Some(t) = d.thinking {
                    sink(StreamEvent::ReasoningDelta {
                        index,
                        text: t.0,
                        signature: None,
                    });
                }
            }
            Some("signature_delta") => {
                if let Some(s) = d.signature {
                    sink(StreamEvent::ReasoningDelta {
                        index,
                        text: Cow::Borrowed(""),
                        signature: Some(s.0),
                    });
                }
            }
            Some("input_json_delta") => {
                if let Some(j) = d.partial_json.filter(|j| !j.0.is_empty()) {
                    if self.json_block == Some(index) {
                        sink(StreamEvent::TextDelta { index, text: j.0 });
                    } else {
                        sink(StreamEvent::ToolCallArgsDelta {
                            index,
                            json_fragment: j.0,
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// Which kind of content block the encoder has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Tool,
}

/// Canonical events → Anthropic events for the client.
#[derive(Debug)]
pub(crate) struct AnthropicEncoder {
    model: String,
    started: bool,
    /// Open block: (canonical index, Anthropic index, kind).
    open: Option<(u32, u32, Kind)>,
    next_block: u32,
    /// Tool blocks already opened: (canonical index, Anthropic index).
    tools: Vec<(u32, u32)>,
    usage: Usage,
    finish: Option<(FinishReason, Option<String>)>,
}

impl AnthropicEncoder {
    pub fn new(public_model: &str) -> Self {
        AnthropicEncoder {
            model: public_model.to_owned(),
            started: false,
            open: None,
            next_block: 0,
            tools: Vec::new(),
            usage: Usage::default(),
            finish: None,
        }
    }

    fn start(&mut self, id: &str, out: &mut Vec<u8>) {
        self.started = true;
        let message = MessageStartOut {
            id,
            kind: "message",
            role: "assistant",
            model: &self.model,
            content: [],
            stop_reason: None,
            stop_sequence: None,
            usage: usage_to_wire(&self.usage),
        };
        EventOut::MessageStart { message }.write(out);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((_, index, _)) = self.open.take() {
            EventOut::ContentBlockStop { index }.write(out);
        }
    }

    /// The Anthropic index of canonical block `index` of `kind`, opening it if needed.
    fn block(
        &mut self,
        index: u32,
        kind: Kind,
        start: BlockStartOut<'_>,
        out: &mut Vec<u8>,
    ) -> u32 {
        if let Some((ci, ai, k)) = self.open {
            if ci == index && k == kind {
                return ai;
            }
        }
        self.close(out);
        let ai = self.next_block;
        self.next_block += 1;
        EventOut::ContentBlockStart {
            index: ai,
            content_block: start,
        }
        .write(out);
        self.open = Some((index, ai, kind));
        ai
    }

    fn delta(index: u32, delta: DeltaOut<'_>, out: &mut Vec<u8>) {
        EventOut::ContentBlockDelta { index, delta }.write(out);
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        self.close(out);
        let (reason, seq) = self.finish.take().unwrap_or((FinishReason::Stop, None));
        let delta = MessageDeltaOut {
            stop_reason: stop_reason_str(&reason),
            stop_sequence: seq.as_deref(),
        };
        EventOut::MessageDelta {
            delta,
            usage: usage_to_wire(&self.usage),
        }
        .write(out);
        EventOut::MessageStop.write(out);
    }
}

impl Encoder for AnthropicEncoder {
    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        if !self.started
            && !matches!(
                event,
                StreamEvent::MessageStart { .. } | StreamEvent::Error(_)
            )
        {
            self.start("", out);
        }
        match event {
            StreamEvent::MessageStart { id, usage, .. } => {
                merge_usage(&mut self.usage, &usage);
                if !self.started {
                    self.start(&id, out);
                }
            }
            StreamEvent::TextDelta { index, text } => {
                let ai = self.block(index, Kind::Text, BlockStartOut::Text { text: "" }, out);
                Self::delta(ai, DeltaOut::TextDelta { text: &text }, out);
            }
            StreamEvent::ReasoningDelta {
                index,
                text,
                signature,
            } => {
                let start = BlockStartOut::Thinking {
                    thinking: "",
                    signature: "",
                };
                let ai = self.block(index, Kind::Thinking, start, out);
                if !text.is_empty() {
                    Self::delta(ai, DeltaOut::ThinkingDelta { thinking: &text }, out);
                }
                if let Some(s) = signature {
                    Self::delta(ai, DeltaOut::SignatureDelta { signature: &s }, out);
                }
            }
            StreamEvent::RedactedReasoning { index, data } => {
                self.block(
                    index,
                    Kind::Thinking,
                    BlockStartOut::RedactedThinking { data: &data },
                    out,
                );
                self.close(out);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let start = BlockStartOut::ToolUse {
                    id: &id,
                    name: &name,
                    input: Default::default(),
                };
                let ai = self.block(index, Kind::Tool, start, out);
                self.tools.push((index, ai));
            }
            StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment,
            } => {
                // A call whose block was closed already (interleaved arguments) keeps
                // its own index; clients assemble blocks by index.
                if let Some(&(_, ai)) = self.tools.iter().find(|(ci, _)| *ci == index) {
                    Self::delta(
                        ai,
                        DeltaOut::InputJsonDelta {
                            partial_json: &json_fragment,
                        },
                        out,
                    );
                }
            }
            StreamEvent::BlockStop { index } => {
                if self.open.is_some_and(|(ci, _, _)| ci == index) {
                    self.close(out);
                }
            }
            StreamEvent::Usage(u) => merge_usage(&mut self.usage, &u),
            StreamEvent::Finish {
                reason,
                stop_sequence,
            } => {
                self.close(out);
                self.finish = Some((reason, stop_sequence.map(Cow::into_owned)));
            }
            StreamEvent::Done => self.done(out),
            StreamEvent::Error(e) => out.extend_from_slice(&e.sse_event(Dialect::Anthropic)),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
