//! Cached answers in and out of streams, for the response cache:
//! - [`StreamAssembler`]: an upstream stream (any format) decoded into canonical events
//!   while it passes, collected into one complete answer — written as a non-streaming
//!   body (Anthropic Messages, the shape that keeps every canonical part: reasoning
//!   with its signature, redacted reasoning, tool calls, the stop sequence);
//! - [`synthesize_stream`]: a stored non-streaming answer replayed as an event stream
//!   in the client's dialect through that dialect's own encoder (role, content and
//!   tool-call deltas, finish, usage), so a hit is framed exactly as a live stream.

use std::borrow::Cow;

use super::stream::{Decoder, Encoder, StreamTranslator, Translating};
use super::{
    anthropic_messages, bedrock_converse, gemini, openai_chat, openai_responses, WireFormat,
};
use crate::error::{Dialect, GatewayError};
use crate::model::{
    merge_usage, ChatResponse, ContentPart, FinishReason, StreamEvent, ToolCall, Usage,
};

/// One content block being assembled, by canonical block index.
enum Part {
    Text(String),
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    Redacted(String),
    Tool {
        id: String,
        name: String,
        args: String,
    },
}

/// Collects canonical events into one answer (the `Encoder` side of a translator
/// whose output bytes nobody reads).
#[derive(Default)]
struct Collector {
    id: String,
    model: String,
    parts: Vec<(u32, Part)>,
    usage: Usage,
    finish: Option<(FinishReason, Option<String>)>,
    done: bool,
    failed: bool,
}

impl Collector {
    fn part(&mut self, index: u32, new: impl FnOnce() -> Part) -> &mut Part {
        let pos = match self.parts.iter().position(|(i, _)| *i == index) {
            Some(pos) => pos,
            None => {
                self.parts.push((index, new()));
                self.parts.len() - 1
            }
        };
        &mut self.parts[pos].1
    }
}

impl Encoder for Collector {
    fn encode(&mut self, event: StreamEvent<'_>, _out: &mut Vec<u8>) {
        match event {
            StreamEvent::MessageStart { id, model, usage } => {
                self.id = id.into_owned();
                self.model = model.into_owned();
                merge_usage(&mut self.usage, &usage);
            }
            StreamEvent::TextDelta { index, text } => {
                if let Part::Text(t) = self.part(index, || Part::Text(String::new())) {
                    t.push_str(&text);
                }
            }
            StreamEvent::ReasoningDelta {
                index,
                text: delta,
                signature: sig,
            } => {
                let new = || Part::Reasoning {
                    text: String::new(),
                    signature: None,
                };
                if let Part::Reasoning { text, signature } = self.part(index, new) {
                    text.push_str(&delta);
                    if let Some(s) = sig {
                        *signature = Some(s.into_owned());
                    }
                }
            }
            StreamEvent::RedactedReasoning { index, data } => {
                let data = data.into_owned();
                self.part(index, || Part::Redacted(data));
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let (id, name) = (id.into_owned(), name.into_owned());
                self.part(index, || Part::Tool {
                    id,
                    name,
                    args: String::new(),
                });
            }
            StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment,
            } => {
                let new = || Part::Tool {
                    id: String::new(),
                    name: String::new(),
                    args: String::new(),
                };
                if let Part::Tool { args, .. } = self.part(index, new) {
                    args.push_str(&json_fragment);
                }
            }
            StreamEvent::BlockStop { .. } => {}
            StreamEvent::Usage(u) => merge_usage(&mut self.usage, &u),
            StreamEvent::Finish {
                reason,
                stop_sequence,
            } => self.finish = Some((reason, stop_sequence.map(Cow::into_owned))),
            StreamEvent::Error(_) => self.failed = true,
            StreamEvent::Done => self.done = true,
        }
    }
}

/// An upstream stream assembled into one answer while it passes.
pub trait StreamAssembler: Send + Sync {
    /// One upstream body chunk, exactly as received.
    fn feed(&mut self, chunk: &[u8]);
    /// The upstream body ended: the complete answer as an Anthropic Messages body,
    /// or `None` when the stream was cut, failed, or never finished.
    fn finish(self: Box<Self>, public_model: &str) -> Option<Vec<u8>>;
}

struct Assembling<D: Decoder> {
    inner: Translating<D, Collector>,
    broken: bool,
}

impl<D: Decoder + 'static> StreamAssembler for Assembling<D> {
    fn feed(&mut self, chunk: &[u8]) {
        let mut sink = Vec::new();
        if self.inner.feed(chunk, &mut sink).is_err() {
            self.broken = true;
        }
    }

    fn finish(mut self: Box<Self>, public_model: &str) -> Option<Vec<u8>> {
        let mut sink = Vec::new();
        self.inner.finish(&mut sink);
        let c = self.inner.encoder();
        if self.broken || c.failed || !c.done || c.finish.is_none() {
            return None;
        }
        let resp = assembled(c);
        anthropic_messages::response::write(&resp, public_model).ok()
    }
}

fn assembled(c: &Collector) -> ChatResponse<'_> {
    let mut parts: Vec<&(u32, Part)> = c.parts.iter().collect();
    parts.sort_by_key(|(i, _)| *i);
    let content = parts
        .into_iter()
        .map(|(_, p)| match p {
            Part::Text(t) => ContentPart::Text(Cow::Borrowed(t)),
            Part::Reasoning { text, signature } => ContentPart::Reasoning {
                text: Cow::Borrowed(text),
                signature: signature.as_deref().map(Cow::Borrowed),
            },
            Part::Redacted(d) => ContentPart::RedactedReasoning(Cow::Borrowed(d)),
            Part::Tool { id, name, args } => ContentPart::ToolCall(ToolCall {
                id: Cow::Borrowed(id),
                name: Cow::Borrowed(name),
                arguments: Cow::Borrowed(if args.is_empty() { "{}" } else { args }),
            }),
        })
        .collect();
    let (finish_reason, stop_sequence) = match &c.finish {
        Some((r, s)) => (Some(r.clone()), s.as_deref().map(Cow::Borrowed)),
        None => (None, None),
    };
    ChatResponse {
        id: Cow::Borrowed(&c.id),
        model: Cow::Borrowed(&c.model),
        created: None,
        content,
        finish_reason,
        stop_sequence,
        usage: c.usage,
    }
}

/// The assembler for an upstream stream of `from`.
pub fn stream_assembler(from: WireFormat) -> Box<dyn StreamAssembler> {
    fn boxed<D: Decoder + 'static>(d: D, from: WireFormat) -> Box<dyn StreamAssembler> {
        Box::new(Assembling {
            inner: Translating::new(d, Collector::default(), from.cache_accounting()),
            broken: false,
        })
    }
    match from {
        WireFormat::OpenAiChat => boxed(openai_chat::stream::OpenAiDecoder::default(), from),
        WireFormat::AnthropicMessages => boxed(
            anthropic_messages::stream::AnthropicDecoder::default(),
            from,
        ),
        WireFormat::Gemini => boxed(gemini::stream::GeminiDecoder::default(), from),
        WireFormat::BedrockConverse => {
            boxed(bedrock_converse::stream::BedrockDecoder::default(), from)
        }
        // Responses streams pass through to Responses clients only, whose requests
        // are not cached: nothing to assemble.
        WireFormat::OpenAiResponses => Box::new(Assembling {
            inner: Translating::new(
                openai_chat::stream::OpenAiDecoder::default(),
                Collector::default(),
                from.cache_accounting(),
            ),
            broken: true,
        }),
    }
}

/// A stored non-streaming answer (`body` in `from`'s shape) as a complete event
/// stream in the client's dialect.
pub fn synthesize_stream(
    from: WireFormat,
    body: &[u8],
    to: Dialect,
    include_usage: bool,
    public_model: &str,
) -> Result<Vec<u8>, GatewayError> {
    let resp = super::read_response(from, body)?;
    let mut out = Vec::with_capacity(body.len() * 2);
    match to {
        Dialect::OpenAi => {
            let mut enc = openai_chat::stream::OpenAiEncoder::new(public_model, include_usage);
            replay_events(&resp, &mut enc, &mut out);
        }
        Dialect::Anthropic => {
            let mut enc = anthropic_messages::stream::AnthropicEncoder::new(public_model);
            replay_events(&resp, &mut enc, &mut out);
        }
        Dialect::OpenAiResponses => {
            let mut enc = openai_responses::stream::ResponsesEncoder::new(public_model);
            replay_events(&resp, &mut enc, &mut out);
        }
        Dialect::Gemini => {
            let mut enc = gemini::stream_write::GeminiEncoder::new(public_model);
            replay_events(&resp, &mut enc, &mut out);
        }
    }
    Ok(out)
}

/// The canonical events of a live stream carrying `resp`, in the order decoders emit
/// them: start, one block per part, usage, finish, done.
fn replay_events<E: Encoder>(resp: &ChatResponse<'_>, enc: &mut E, out: &mut Vec<u8>) {
    let start_usage = Usage {
        output_tokens: 0,
        reasoning_tokens: 0,
        ..resp.usage
    };
    enc.encode(
        StreamEvent::MessageStart {
            id: Cow::Borrowed(&resp.id),
            model: Cow::Borrowed(&resp.model),
            usage: start_usage,
        },
        out,
    );
    for (i, part) in resp.content.iter().enumerate() {
        let index = i as u32;
        let events: Vec<StreamEvent<'_>> = match part {
            ContentPart::Text(t) => vec![StreamEvent::TextDelta {
                index,
                text: Cow::Borrowed(t),
            }],
            ContentPart::Refusal(t) => vec![StreamEvent::TextDelta {
                index,
                text: Cow::Borrowed(t),
            }],
            ContentPart::Reasoning { text, signature } => {
                let mut evs = vec![StreamEvent::ReasoningDelta {
                    index,
                    text: Cow::Borrowed(text),
                    signature: None,
                }];
                if let Some(sig) = signature {
                    evs.push(StreamEvent::ReasoningDelta {
                        index,
                        text: Cow::Borrowed(""),
                        signature: Some(Cow::Borrowed(sig)),
                    });
                }
                evs
            }
            ContentPart::RedactedReasoning(d) => vec![StreamEvent::RedactedReasoning {
                index,
                data: Cow::Borrowed(d),
            }],
            ContentPart::ToolCall(call) => vec![
                StreamEvent::ToolCallStart {
                    index,
                    id: Cow::Borrowed(&call.id),
                    name: Cow::Borrowed(&call.name),
                },
                StreamEvent::ToolCallArgsDelta {
                    index,
                    json_fragment: Cow::Borrowed(&call.arguments),
                },
            ],
            _ => continue,
        };
        for ev in events {
            enc.encode(ev, out);
        }
        enc.encode(StreamEvent::BlockStop { index }, out);
    }
    enc.encode(StreamEvent::Usage(resp.usage), out);
    enc.encode(
        StreamEvent::Finish {
            reason: resp.finish_reason.clone().unwrap_or(FinishReason::Stop),
            stop_sequence: resp.stop_sequence.as_deref().map(Cow::Borrowed),
        },
        out,
    );
    enc.encode(StreamEvent::Done, out);
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
