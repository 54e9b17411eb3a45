//! Responses event stream → canonical stream events, for chat-completions and
//! Messages clients of a Responses-only target.
//!
//! Each output item is one canonical block, indexed by its `output_index`: text and
//! refusal deltas of a message, reasoning summary deltas, a function call opened by
//! `response.output_item.added` and fed by its argument deltas. An item's
//! `response.output_item.done` stops its block (carrying a reasoning item's
//! `encrypted_content` as the signature, and the arguments of a call that streamed
//! none). `response.completed` / `.incomplete` give usage and the finish reason;
//! `response.failed` and `error` events are the upstream's error. The `.done`
//! repetitions of text are ignored.

use std::borrow::Cow;

use super::answer_wire::{EventIn, ResponseIn};
use super::response_read::{failure, finish_reason, summary_text};
use super::usage::{reported, ACCOUNTING};
use crate::error::{ErrorKind, GatewayError};
use crate::formats::stream::{protocol_error, Decoder};
use crate::model::{StreamEvent, Usage};
use crate::sse::{SseDecoder, SseEventRef};

/// Upstream Responses events → canonical events.
#[derive(Debug, Default)]
pub(crate) struct ResponsesDecoder {
    started: bool,
    /// Blocks open (output indexes), and whether each call streamed arguments.
    open: Vec<(u32, bool)>,
    called_tools: bool,
    finished: bool,
}

impl ResponsesDecoder {
    fn start<'e, F: FnMut(StreamEvent<'e>)>(&mut self, r: Option<&ResponseIn<'e>>, sink: &mut F) {
        if self.started {
            return;
        }
        self.started = true;
        let id = r.and_then(|r| r.id.as_ref()).map(|i| i.0.clone());
        let model = r.and_then(|r| r.model.as_ref()).map(|m| m.0.clone());
        sink(StreamEvent::MessageStart {
            id: id.unwrap_or_default(),
            model: model.unwrap_or_default(),
            usage: Usage::default(),
        });
    }

    /// Notes `index` as open; whether it was new.
    fn open(&mut self, index: u32) -> bool {
        if self.open.iter().any(|(i, _)| *i == index) {
            return false;
        }
        self.open.push((index, false));
        true
    }

    fn stop<'e, F: FnMut(StreamEvent<'e>)>(&mut self, index: u32, sink: &mut F) {
        if let Some(pos) = self.open.iter().position(|(i, _)| *i == index) {
            self.open.remove(pos);
            sink(StreamEvent::BlockStop { index });
        }
    }

    fn item_added<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        let (Some(index), Some(item)) = (ev.output_index, ev.item) else {
            return;
        };
        if item.kind.as_str() == "function_call" && self.open(index) {
            self.called_tools = true;
            sink(StreamEvent::ToolCallStart {
                index,
                id: item.call_id.map(|c| c.0).unwrap_or_default(),
                name: item.name.map(|n| n.0).unwrap_or_default(),
            });
        }
    }

    fn item_done<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        let (Some(index), Some(item)) = (ev.output_index, ev.item) else {
            return;
        };
        match item.kind.as_str() {
            "reasoning" => {
                let signature = item.encrypted_content.as_ref().map(|e| e.0.clone());
                // A server that streamed no summary deltas still has it in the item.
                let text = if self.open(index) {
                    summary_text(&item)
                } else {
                    String::new()
                };
                if !text.is_empty() || signature.is_some() {
                    sink(StreamEvent::ReasoningDelta {
                        index,
                        text: Cow::Owned(text),
                        signature,
                    });
                }
            }
            "function_call" => {
                let streamed = self.open.iter().find(|(i, _)| *i == index).map(|o| o.1);
                if streamed == Some(false) {
                    if let Some(args) = item.arguments.filter(|a| !a.0.is_empty()) {
                        sink(StreamEvent::ToolCallArgsDelta {
                            index,
                            json_fragment: args.0,
                        });
                    }
                }
            }
            _ => {}
        }
        self.stop(index, sink);
    }

    fn text<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        if let (Some(index), Some(text)) = (ev.output_index, ev.delta) {
            self.open(index);
            sink(StreamEvent::TextDelta {
                index,
                text: text.0,
            });
        }
    }

    fn reasoning<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        if let (Some(index), Some(text)) = (ev.output_index, ev.delta) {
            self.open(index);
            sink(StreamEvent::ReasoningDelta {
                index,
                text: text.0,
                signature: None,
            });
        }
    }

    fn args<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        let (Some(index), Some(delta)) = (ev.output_index, ev.delta) else {
            return;
        };
        if let Some(open) = self.open.iter_mut().find(|(i, _)| *i == index) {
            open.1 = true;
            sink(StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment: delta.0,
            });
        }
    }

    fn end_of_response<'e, F: FnMut(StreamEvent<'e>)>(&mut self, ev: EventIn<'e>, sink: &mut F) {
        let response = ev.response.unwrap_or_default();
        self.start(Some(&response), sink);
        if let Some(err) = failure(&response) {
            return sink(StreamEvent::Error(err));
        }
        while let Some(&(index, _)) = self.open.first() {
            self.stop(index, sink);
        }
        let reason = finish_reason(&response, self.called_tools);
        if let Some(u) = response.usage {
            sink(StreamEvent::Usage(ACCOUNTING.to_canonical(reported(u))));
        }
        self.finished = true;
        sink(StreamEvent::Finish {
            reason,
            stop_sequence: None,
        });
        sink(StreamEvent::Done);
    }
}

impl Decoder for ResponsesDecoder {
    type Framing = SseDecoder;

    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F) {
        let ev: EventIn<'e> = match serde_json::from_slice(event.data) {
            Ok(ev) => ev,
            Err(e) => {
                return sink(StreamEvent::Error(protocol_error(&format!(
                    "invalid Responses event from upstream: {e}"
                ))))
            }
        };
        if self.finished {
            return;
        }
        let kind = ev.kind.0.clone();
        if kind != "error" {
            self.start(ev.response.as_ref(), sink);
        }
        match kind.as_ref() {
            "response.output_item.added" => self.item_added(ev, sink),
            "response.output_item.done" => self.item_done(ev, sink),
            "response.output_text.delta" | "response.refusal.delta" => self.text(ev, sink),
            "response.reasoning_summary_text.delta" => self.reasoning(ev, sink),
            "response.function_call_arguments.delta" => self.args(ev, sink),
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.end_of_response(ev, sink)
            }
            "error" => {
                let message = ev.message.map_or(Cow::Borrowed("upstream error"), |m| m.0);
                sink(StreamEvent::Error(GatewayError::new(
                    ErrorKind::UpstreamStatus(500),
                    message.into_owned(),
                )));
            }
            _ => {}
        }
    }

    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, _sink: &mut F) -> bool {
        // Only `response.completed` (or `.incomplete`) says the answer is whole.
        self.finished
    }
}

#[cfg(test)]
#[path = "stream_read_tests.rs"]
mod tests;
