//! Gemini `streamGenerateContent?alt=sse` → canonical stream events.
//!
//! Each SSE event is a whole `GenerateContentResponse` holding the next piece of the
//! answer: text parts (thoughts when `thought` is set) and function calls, which
//! arrive whole. The decoder gives them the canonical block structure: a run of text
//! or of reasoning is one block, each call is a block of its own (start, the whole
//! arguments, stop). `usageMetadata` is cumulative and becomes `Usage` events.
//!
//! Gemini has no terminal event: the stream simply ends after the chunk carrying
//! `finishReason`. Older models even repeat `finishReason: STOP` on every chunk. So
//! the finish reason is only remembered, and the answer is finished (`Finish`,
//! `Done`) when the upstream closes the stream; a stream that closes without any
//! finish reason was cut, which the pipeline reports in-band.

use std::borrow::Cow;

use super::response::{
    blocked, finish_reason_of, first_candidate, part_content, response_id, usage_from_wire,
    with_calls,
};
use super::wire::ResponseIn;
use crate::formats::stream::{protocol_error, Decoder};
use crate::model::{ContentPart, FinishReason, StreamEvent};
use crate::sse::{SseDecoder, SseEventRef};

/// Which block is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(u32),
    Reasoning(u32),
}

/// Upstream Gemini chunks → canonical events.
#[derive(Debug, Default)]
pub(crate) struct GeminiDecoder {
    /// The response id, once the first chunk named it (or one was made up); call
    /// ids derive from it.
    id: Option<String>,
    open: Option<Open>,
    next_index: u32,
    calls: u32,
    finish: Option<FinishReason>,
}

impl GeminiDecoder {
    fn close<'e, F: FnMut(StreamEvent<'e>)>(&mut self, sink: &mut F) {
        if let Some(Open::Text(i) | Open::Reasoning(i)) = self.open.take() {
            sink(StreamEvent::BlockStop { index: i });
        }
    }

    fn new_block<'e, F: FnMut(StreamEvent<'e>)>(&mut self, sink: &mut F) -> u32 {
        self.close(sink);
        let i = self.next_index;
        self.next_index += 1;
        i
    }

    fn content<'e, F: FnMut(StreamEvent<'e>)>(&mut self, part: ContentPart<'e>, sink: &mut F) {
        match part {
            ContentPart::Text(text) => {
                let index = match self.open {
                    Some(Open::Text(i)) => i,
                    _ => {
                        let i = self.new_block(sink);
                        self.open = Some(Open::Text(i));
                        i
                    }
                };
                sink(StreamEvent::TextDelta { index, text });
            }
            ContentPart::Reasoning { text, .. } => {
                let index = match self.open {
                    Some(Open::Reasoning(i)) => i,
                    _ => {
                        let i = self.new_block(sink);
                        self.open = Some(Open::Reasoning(i));
                        i
                    }
                };
                sink(StreamEvent::ReasoningDelta {
                    index,
                    text,
                    signature: None,
                });
            }
            ContentPart::ToolCall(c) => {
                let index = self.new_block(sink);
                sink(StreamEvent::ToolCallStart {
                    index,
                    id: c.id,
                    name: c.name,
                });
                sink(StreamEvent::ToolCallArgsDelta {
                    index,
                    json_fragment: c.arguments,
                });
                sink(StreamEvent::BlockStop { index });
            }
            _ => {}
        }
    }
}

impl Decoder for GeminiDecoder {
    type Framing = SseDecoder;

    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F) {
        // Keep-alive blanks, and the `[DONE]` some Gemini-compatible relays append.
        let data = event.data.trim_ascii();
        if data.is_empty() || data == b"[DONE]" {
            return;
        }
        let chunk: ResponseIn<'e> = match serde_json::from_slice(event.data) {
            Ok(c) => c,
            Err(e) => {
                return sink(StreamEvent::Error(protocol_error(&format!(
                    "invalid chunk from upstream: {e}"
                ))))
            }
        };
        if let Some(e) = &chunk.error {
            return sink(StreamEvent::Error(super::error::from_parts(
                0,
                Some(e),
                event.data,
            )));
        }
        // Taken out while the parts borrow it, put back below.
        let id = match self.id.take() {
            Some(id) => id,
            None => {
                let id = response_id(chunk.response_id).into_owned();
                sink(StreamEvent::MessageStart {
                    id: Cow::Owned(id.clone()),
                    model: chunk.model_version.map(|m| m.0).unwrap_or_default(),
                    // The prompt is counted from the first chunk on: clients show it
                    // at the start of the answer (Anthropic's `message_start`).
                    usage: chunk
                        .usage_metadata
                        .map(usage_from_wire)
                        .unwrap_or_default(),
                });
                id
            }
        };
        if let Some(c) = first_candidate(chunk.candidates) {
            for p in c.content.and_then(|c| c.parts).into_iter().flatten() {
                if let Some(part) = part_content(p, &id, &mut self.calls) {
                    self.content(part, sink);
                }
            }
            if let Some(r) = c.finish_reason.and_then(|r| finish_reason_of(r.as_str())) {
                self.finish = Some(r);
            }
        }
        self.id = Some(id);
        if blocked(chunk.prompt_feedback.as_ref()) {
            self.finish = Some(FinishReason::ContentFilter);
        }
        if let Some(u) = chunk.usage_metadata {
            sink(StreamEvent::Usage(usage_from_wire(u)));
        }
    }

    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool {
        let Some(reason) = self.finish.take() else {
            return false;
        };
        self.close(sink);
        sink(StreamEvent::Finish {
            reason: with_calls(reason, self.calls > 0),
            stop_sequence: None,
        });
        sink(StreamEvent::Done);
        true
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
