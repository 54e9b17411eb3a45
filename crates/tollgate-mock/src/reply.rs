//! The deterministic content every format renders, and the shapes a rendered answer
//! takes: a whole body, or a [`StreamPlan`] of events the connection writes one chunk
//! each, with the configured timing.
//!
//! Content: N tokens `tok0 tok1 ... tok{N-1}`; prompt tokens = body length / 4 (at
//! least 1); completion tokens = N. A tool call carries the arguments
//! `{"input":"tok0 ... tok{N-1}"}`, streamed as the fragments `{"input":"`, `tok0`,
//! ` tok1`, ..., `"}` so a client must concatenate them to get valid JSON.

use std::time::{SystemTime, UNIX_EPOCH};

/// Model echoed when the request names none.
pub const DEFAULT_MODEL: &str = "mock-model";

/// Everything a format needs to render one answer.
#[derive(Debug, Clone)]
pub struct Gen<'a> {
    /// The model the request asked for, echoed back.
    pub model: &'a str,
    /// Completion tokens to produce.
    pub tokens: usize,
    /// Prompt tokens reported in usage.
    pub prompt_tokens: usize,
    /// Request number, used to make ids unique and deterministic.
    pub seq: u64,
    /// Unix seconds for `created` fields.
    pub created: u64,
    /// Answer with a call of this tool instead of text.
    pub tool: Option<&'a str>,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
    /// Prompt tokens the simulated prefix cache held.
    pub cached_tokens: usize,
}

impl<'a> Gen<'a> {
    /// A generator for `model` with `tokens` tokens for a request body of `body_len`.
    pub fn new(model: &'a str, tokens: usize, body_len: usize, seq: u64) -> Self {
        Gen {
            model,
            tokens,
            prompt_tokens: (body_len / 4).max(1),
            seq,
            created: unix_now(),
            tool: None,
            include_usage: false,
            cached_tokens: 0,
        }
    }

    /// The whole reply text.
    pub fn text(&self) -> String {
        (0..self.tokens).map(|i| self.token(i)).collect()
    }

    /// Token `i` as a stream delta (a leading space after the first, so deltas
    /// concatenate to [`Gen::text`]).
    pub fn token(&self, i: usize) -> String {
        if i == 0 {
            "tok0".to_owned()
        } else {
            format!(" tok{i}")
        }
    }

    /// The complete tool-call arguments as a JSON object text.
    pub fn tool_args(&self) -> String {
        format!("{{\"input\":{}}}", quote(&self.text()))
    }

    /// The tool-call arguments as stream fragments, each with its place in the stream:
    /// `{"input":"` (preamble), one fragment per token, `"}` (tail).
    pub fn tool_fragments(&self) -> Vec<(EventKind, String)> {
        let mut out = Vec::with_capacity(self.tokens + 2);
        out.push((EventKind::Preamble, "{\"input\":\"".to_owned()));
        out.extend((0..self.tokens).map(|i| (EventKind::Token(i), self.token(i))));
        out.push((EventKind::Tail, "\"}".to_owned()));
        out
    }

    /// Total tokens for usage blocks.
    pub fn total_tokens(&self) -> usize {
        self.prompt_tokens + self.tokens
    }

    /// The model as a JSON string literal.
    pub fn model_json(&self) -> String {
        quote(self.model)
    }

    /// The tool name as a JSON string literal (empty name when there is no tool).
    pub fn tool_json(&self) -> String {
        quote(self.tool.unwrap_or(""))
    }

    /// A provider-style id: `prefix` followed by 24 characters derived from the seq.
    pub fn id(&self, prefix: &str) -> String {
        format!("{prefix}mock{:020}", self.seq)
    }
}

/// `s` as a JSON string literal, escaped.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where an event sits in a stream, which decides the waits and cut points around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Before the first token (role chunk, `message_start`, ...).
    Preamble,
    /// Carries token `i`; waits `delay` before it when `i > 0`.
    Token(usize),
    /// After the last token (finish reason, usage, `[DONE]`, ...).
    Tail,
}

/// One stream event: the exact bytes of one SSE event or event-stream frame.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub bytes: Vec<u8>,
}

/// A whole streamed answer.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    pub content_type: &'static str,
    pub events: Vec<Event>,
}

impl StreamPlan {
    /// An empty plan for `content_type`.
    pub fn new(content_type: &'static str) -> Self {
        StreamPlan {
            content_type,
            events: Vec::new(),
        }
    }

    /// Appends an event.
    pub fn push(&mut self, kind: EventKind, bytes: Vec<u8>) {
        self.events.push(Event { kind, bytes });
    }

    /// Appends `data: {json}\n\n`.
    pub fn data(&mut self, kind: EventKind, json: &str) {
        self.push(kind, format!("data: {json}\n\n").into_bytes());
    }

    /// Appends `event: {name}\ndata: {json}\n\n`.
    pub fn named(&mut self, kind: EventKind, name: &str, json: &str) {
        self.push(
            kind,
            format!("event: {name}\ndata: {json}\n\n").into_bytes(),
        );
    }
}

/// A whole non-stream answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra response headers (e.g. `x-amzn-errortype`, `retry-after`).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A `200` JSON answer.
    pub fn json(body: String) -> Self {
        Reply::json_status(200, body)
    }

    /// A JSON answer with `status`.
    pub fn json_status(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "application/json",
            body: body.into_bytes(),
            headers: Vec::new(),
        }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }
}
