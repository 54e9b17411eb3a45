//! Canonical stream events → `streamGenerateContent?alt=sse` chunks for a Gemini
//! client: each chunk is a whole `GenerateContentResponse` (`data: {...}`) holding the
//! next piece of the answer. Text and reasoning deltas go out as they arrive; a
//! function call goes out whole when its block closes, as Gemini sends calls; the
//! last chunk carries `finishReason` and the cumulative `usageMetadata`. An upstream
//! failure is one `data: {"error": {...}}` chunk, on which the SDKs raise.
//!
//! State: the response id, usage and finish reason seen so far, and the calls whose
//! arguments are still arriving (bounded by the answer's size).

use serde_json::Value;

use super::response_write::{call, candidate, text, thought, usage, ResponseOut};
use super::wire::PartOut;
use crate::error::{Dialect, GatewayError};
use crate::formats::common::arguments_object;
use crate::formats::stream::Encoder;
use crate::model::{merge_usage, FinishReason, StreamEvent, Usage};

/// Canonical events → Gemini SSE chunks.
pub(crate) struct GeminiEncoder {
    public_model: String,
    id: String,
    usage: Usage,
    finish: Option<FinishReason>,
    calls: Vec<OpenCall>,
    done: bool,
}

/// A function call whose arguments are still arriving.
struct OpenCall {
    block: u32,
    id: String,
    name: String,
    arguments: String,
}

impl GeminiEncoder {
    pub(crate) fn new(public_model: &str) -> Self {
        GeminiEncoder {
            public_model: public_model.to_string(),
            id: String::new(),
            usage: Usage::default(),
            finish: None,
            calls: Vec::new(),
            done: false,
        }
    }

    /// One chunk holding `parts`, and the finish reason and usage when it is the last.
    /// The last always names a reason (the one stream end Gemini clients know of);
    /// an upstream that ended without one gets `FINISH_REASON_UNSPECIFIED`.
    fn chunk(&self, parts: Vec<PartOut<'_>>, last: bool, out: &mut Vec<u8>) {
        let mut c = candidate(parts, self.finish.as_ref().filter(|_| last));
        if last && c.finish_reason.is_none() {
            c.finish_reason = Some("FINISH_REASON_UNSPECIFIED");
        }
        let body = ResponseOut {
            candidates: vec![c],
            usage_metadata: last.then(|| usage(&self.usage)),
            model_version: &self.public_model,
            response_id: &self.id,
        };
        // Serialising these borrowed types cannot fail; an empty chunk is skipped.
        if let Ok(json) = serde_json::to_vec(&body) {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&json);
            out.extend_from_slice(b"\n\n");
        }
    }

    fn close_call(&mut self, block: u32, out: &mut Vec<u8>) {
        let Some(at) = self.calls.iter().position(|c| c.block == block) else {
            return;
        };
        let c = self.calls.remove(at);
        let args: Value = arguments_object(&c.arguments);
        self.chunk(vec![call(&c.id, &c.name, args)], false, out);
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        while let Some(c) = self.calls.first() {
            let block = c.block;
            self.close_call(block, out);
        }
        self.done = true;
        self.chunk(vec![text("")], true, out);
    }
}

impl Encoder for GeminiEncoder {
    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::MessageStart { id, usage: u, .. } => {
                self.id = id.into_owned();
                merge_usage(&mut self.usage, &u);
            }
            StreamEvent::TextDelta { text: t, .. } if !t.is_empty() => {
                self.chunk(vec![text(&t)], false, out)
            }
            StreamEvent::ReasoningDelta {
                text: t, signature, ..
            } if !t.is_empty() || signature.is_some() => {
                self.chunk(vec![thought(&t, signature.as_deref())], false, out)
            }
            StreamEvent::ToolCallStart { index, id, name } => self.calls.push(OpenCall {
                block: index,
                id: id.into_owned(),
                name: name.into_owned(),
                arguments: String::new(),
            }),
            StreamEvent::ToolCallArgsDelta {
                index,
                json_fragment,
            } => {
                if let Some(c) = self.calls.iter_mut().find(|c| c.block == index) {
                    c.arguments.push_str(&json_fragment);
                }
            }
            StreamEvent::BlockStop { index } => self.close_call(index, out),
            StreamEvent::Usage(u) => merge_usage(&mut self.usage, &u),
            StreamEvent::Finish { reason, .. } => self.finish = Some(reason),
            StreamEvent::Done => self.end(out),
            StreamEvent::Error(e) => {
                self.done = true;
                out.extend_from_slice(&error_chunk(&e));
            }
            _ => {}
        }
    }
}

/// The in-band error chunk: Google's error body as one SSE `data:` line.
pub(crate) fn error_chunk(e: &GatewayError) -> Vec<u8> {
    format!("data: {}\n\n", e.to_json(Dialect::Gemini)).into_bytes()
}

#[cfg(test)]
#[path = "stream_write_tests.rs"]
mod tests;
