//! OpenAI chunk streams ⇄ canonical stream events.
//!
//! Decoding gives OpenAI's block-less chunks the canonical block structure: each run
//! of text or reasoning and each tool call gets a block index, and a block is stopped
//! when the next one starts. Encoding writes the role chunk first, one chunk per
//! delta, the finish chunk, the usage chunk (`choices: []`) only when the client asked
//! for it, and `data: [DONE]`.

use std::borrow::Cow;

use super::response::{finish_reason, finish_reason_str, now, usage_from_wire, usage_to_wire};
use super::stream_wire::*;
use super::wire::ChunkIn;
use crate::error::Dialect;
use crate::formats::stream::{protocol_error, Decoder, Encoder};
use crate::model::{merge_usage, FinishReason, StreamEvent, Usage};
use crate::sse::{SseDecoder, SseEventRef};

/// What kind of block is open in the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(u32),
    Reasoning(u32),
    Tool(u32),
}

/// Upstream OpenAI chunks → canonical events.
#[derive(Debug, Default)]
pub(crate) struct OpenAiDecoder {
    started: bool,
    open: Option<Open>,
    next_index: u32,
    /// (OpenAI tool-call index, canonical block index).
    tools: Vec<(u32, u32)>,
    finished: bool,
}

impl OpenAiDecoder {
    fn new_block<'e, F: FnMut(StreamEvent<'e>)>(&mut self, sink: &mut F) -> u32 {
        self.close(sink);
        let i = self.next_index;
        self.next_index += 1;
        i
    }

    fn close<'e, F: FnMut(StreamEvent<'e>)>(&mut self, sink: &mut F) {
        if let Some(Open::Text(i) | Open::Reasoning(i) | Open::Tool(i)) = self.open.take() {
            sink(StreamEvent::BlockStop { index: i });
        }
    }

    fn text<'e, F: FnMut(StreamEvent<'e>)>(&mut self, text: Cow<'e, str>, sink: &mut F) {
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

    fn reasoning<'e, F: FnMut(StreamEvent<'e>)>(&mut self, text: Cow<'e, str>, sink: &mut F) {
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

    fn tool_call<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        tc: super::wire::ToolCallDeltaIn<'e>,
        sink: &mut F,
    ) {
        let (name, args) = match tc.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let known = self
            .tools
            .iter()
            .find(|(oi, _)| *oi == tc.index)
            .map(|(_, ci)| *ci);
        let index = match known {
            Some(ci) => ci,
            None => {
                let ci = self.new_block(sink);
                self.open = Some(Open::Tool(ci));
                self.tools.push((tc.index, ci));
                // Servers that omit the id still need one downstream; derive it from
                // the position, as no id will ever come for this call.
                let id = tc
                    .id
                    .map(|i| i.0)
                    .unwrap_or_else(|| Cow::Owned(format!("call_{}", tc.index)));
                let name = name.map(|n| n.0).unwrap_or_default();
                sink(StreamEvent::ToolCallStart {
                    index: ci,
                    id,
                    name,
                });
                ci
            }
        };
        if let Some(a) = args.filter(|a| !a.0.is_empty()) {
            sink(StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment: a.0,
            });
        }
    }
}

impl Decoder for OpenAiDecoder {
    type Framing = SseDecoder;

    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F) {
        let data = event.data;
        if data.trim_ascii() == b"[DONE]" {
            self.close(sink);
            sink(StreamEvent::Done);
            return;
        }
        let chunk: ChunkIn<'e> = match serde_json::from_slice(data) {
            Ok(c) => c,
            Err(e) => {
                return sink(StreamEvent::Error(protocol_error(&format!(
                    "invalid chunk from upstream: {e}"
                ))))
            }
        };
        if let Some(err) = &chunk.error {
            return sink(StreamEvent::Error(super::error::stream_error(err)));
        }
        if !self.started {
            self.started = true;
            sink(StreamEvent::MessageStart {
                id: chunk.id.0,
                model: chunk.model.0,
                usage: Usage::default(),
            });
        }
        for choice in chunk.choices.into_iter().flatten().filter(|c| c.index == 0) {
            if let Some(d) = choice.delta {
                if let Some(r) = d
                    .reasoning_content
                    .or(d.reasoning)
                    .filter(|r| !r.0.is_empty())
                {
                    self.reasoning(r.0, sink);
                }
                if let Some(t) = d.content.or(d.refusal).filter(|t| !t.0.is_empty()) {
                    self.text(t.0, sink);
                }
                for tc in d.tool_calls.into_iter().flatten() {
                    self.tool_call(tc, sink);
                }
            }
            if let Some(r) = choice.finish_reason {
                self.close(sink);
                self.finished = true;
                sink(StreamEvent::Finish {
                    reason: finish_reason(r.as_str()),
                    stop_sequence: None,
                });
            }
        }
        if let Some(u) = chunk.usage {
            sink(StreamEvent::Usage(usage_from_wire(u)));
        }
    }

    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool {
        // Some compatible servers close the stream after the finish chunk without
        // `[DONE]`; the answer is complete all the same.
        if self.finished {
            sink(StreamEvent::Done);
        }
        self.finished
    }
}

/// Canonical events → OpenAI chunks for the client.
#[derive(Debug)]
pub(crate) struct OpenAiEncoder {
    id: String,
    model: String,
    created: u64,
    started: bool,
    finished: bool,
    include_usage: bool,
    usage: Usage,
    /// (canonical block index, OpenAI tool-call index).
    tools: Vec<(u32, u32)>,
}

impl OpenAiEncoder {
    pub fn new(public_model: &str, include_usage: bool) -> Self {
        OpenAiEncoder {
            id: String::new(),
            model: public_model.to_owned(),
            created: 0,
            started: false,
            finished: false,
            include_usage,
            usage: Usage::default(),
            tools: Vec::new(),
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: DeltaOut<'_>, finish_reason: Option<&str>) {
        let choices = [ChunkChoiceOut {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        }];
        let chunk = ChunkOut {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: &choices,
            usage: None,
        };
        write_chunk(out, &chunk);
    }

    fn start(&mut self, id: &str, out: &mut Vec<u8>) {
        self.started = true;
        self.id = id.to_owned();
        self.created = now();
        let delta = DeltaOut {
            role: Some("assistant"),
            content: Some(""),
            ..DeltaOut::default()
        };
        self.chunk(out, delta, None);
    }

    fn tool_delta(&self, out: &mut Vec<u8>, tc: ToolCallDeltaOut<'_>) {
        self.chunk(
            out,
            DeltaOut {
                tool_calls: Some([tc]),
                ..DeltaOut::default()
            },
            None,
        );
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.finished = true;
            self.chunk(
                out,
                DeltaOut::default(),
                Some(finish_reason_str(&FinishReason::Stop)),
            );
        }
        if self.include_usage {
            let chunk = ChunkOut {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: &[],
                usage: Some(usage_to_wire(&self.usage)),
            };
            write_chunk(out, &chunk);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

impl Encoder for OpenAiEncoder {
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
            StreamEvent::TextDelta { text, .. } => self.chunk(
                out,
                DeltaOut {
                    content: Some(&text),
                    ..DeltaOut::default()
                },
                None,
            ),
            StreamEvent::ReasoningDelta { text, .. } if !text.is_empty() => self.chunk(
                out,
                DeltaOut {
                    reasoning_content: Some(&text),
                    ..DeltaOut::default()
                },
                None,
            ),
            StreamEvent::ToolCallStart { index, id, name } => {
                let oi = self.tools.len() as u32;
                self.tools.push((index, oi));
                let function = FunctionDeltaOut {
                    name: Some(&name),
                    arguments: "",
                };
                self.tool_delta(
                    out,
                    ToolCallDeltaOut {
                        index: oi,
                        id: Some(&id),
                        kind: Some("function"),
                        function,
                    },
                );
            }
            StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment,
            } => {
                if let Some(&(_, oi)) = self.tools.iter().find(|(ci, _)| *ci == index) {
                    let function = FunctionDeltaOut {
                        name: None,
                        arguments: &json_fragment,
                    };
                    self.tool_delta(
                        out,
                        ToolCallDeltaOut {
                            index: oi,
                            id: None,
                            kind: None,
                            function,
                        },
                    );
                }
            }
            StreamEvent::Usage(u) => merge_usage(&mut self.usage, &u),
            StreamEvent::Finish { reason, .. } if !self.finished => {
                self.finished = true;
                self.chunk(out, DeltaOut::default(), Some(finish_reason_str(&reason)));
            }
            StreamEvent::Done => self.done(out),
            StreamEvent::Error(e) => out.extend_from_slice(&e.sse_event(Dialect::OpenAi)),
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
