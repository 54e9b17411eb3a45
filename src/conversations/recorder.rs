//! The Response object as the client received it, for storing: a non-streaming
//! body kept whole, or, from a stream, the `response` of its terminal
//! `response.completed` / `response.incomplete` event (the full output is there).
//! Bounded by `responses.max_stored_bytes`: a larger answer is not kept.
//!
//! A pass-through stream is read only up to its first event (`response.created`,
//! which carries the id the provider holds the conversation under); the rest passes
//! unread.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::proxy::ctx::{Ctx, ResponseMode};
use crate::sse::SseDecoder;

/// Watches the bytes going to the client during one attempt.
pub enum Recorder {
    Json(Vec<u8>),
    Stream {
        sse: Box<SseDecoder>,
        done: Option<Value>,
    },
    /// A pass-through stream, until its first event with a Response.
    FirstResponse(Box<SseDecoder>),
    /// What `FirstResponse` found.
    Found(Value),
    /// Over the size cap or not readable: nothing will be stored.
    GaveUp,
}

impl Recorder {
    /// `first_only`: a stream is read up to its first Response (pass-through).
    pub fn new(stream: bool, first_only: bool, cap: usize) -> Recorder {
        if stream && first_only {
            Recorder::FirstResponse(Box::new(SseDecoder::with_max_event_size(cap)))
        } else if stream {
            Recorder::Stream {
                sse: Box::new(SseDecoder::with_max_event_size(cap)),
                done: None,
            }
        } else {
            Recorder::Json(Vec::new())
        }
    }

    /// One chunk as sent to the client.
    pub fn feed(&mut self, chunk: &[u8], cap: usize) {
        match self {
            Recorder::Json(buf) if buf.len() + chunk.len() <= cap => {
                buf.extend_from_slice(chunk);
            }
            Recorder::Json(_) => *self = Recorder::GaveUp,
            Recorder::Stream { sse, done } => {
                let fed = sse.feed_with(chunk, |event| {
                    if let Some(response) = terminal_response(event.event, event.data) {
                        *done = Some(response);
                    }
                    Ok::<(), crate::sse::SseError>(())
                });
                if fed.is_err() {
                    *self = Recorder::GaveUp;
                }
            }
            Recorder::FirstResponse(sse) => {
                let mut found = None;
                let fed = sse.feed_with(chunk, |event| {
                    if found.is_none() {
                        found = first_response(event.data);
                    }
                    Ok::<(), crate::sse::SseError>(())
                });
                match (found, fed) {
                    (Some(response), _) => *self = Recorder::Found(response),
                    (None, Err(_)) => *self = Recorder::GaveUp,
                    (None, Ok(())) => {}
                }
            }
            Recorder::Found(_) | Recorder::GaveUp => {}
        }
    }

    /// The Response object the client got, if it got a whole one.
    pub fn finish(self) -> Option<Value> {
        match self {
            Recorder::Json(buf) => serde_json::from_slice::<Value>(&buf)
                .ok()
                .filter(|v| v.get("object").and_then(Value::as_str) == Some("response")),
            Recorder::Stream { done, .. } => done,
            Recorder::Found(response) => Some(response),
            Recorder::FirstResponse(_) | Recorder::GaveUp => None,
        }
    }
}

#[derive(Deserialize)]
struct TerminalEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    response: Option<Value>,
}

/// The `response` of a `response.completed` or `response.incomplete` event.
fn terminal_response(name: &[u8], data: &[u8]) -> Option<Value> {
    const TERMINAL: [&[u8]; 2] = [b"response.completed", b"response.incomplete"];
    // Most events are deltas: they are told apart by their name, without parsing.
    // A server that sends no `event:` lines gets its data searched instead.
    let terminal = if name.is_empty() {
        TERMINAL.iter().any(|t| contains(data, t))
    } else {
        TERMINAL.contains(&name)
    };
    if !terminal {
        return None;
    }
    let event: TerminalEvent = serde_json::from_slice(data).ok()?;
    matches!(
        event.kind.as_str(),
        "response.completed" | "response.incomplete"
    )
    .then_some(event.response)
    .flatten()
}

/// The `response` of an event that has one (`response.created` comes first).
fn first_response(data: &[u8]) -> Option<Value> {
    #[derive(Deserialize)]
    struct WithResponse {
        #[serde(default)]
        response: Option<Value>,
    }
    serde_json::from_slice::<WithResponse>(data).ok()?.response
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The upstream answered: watch this attempt's answer when it is a `200` to a
/// Responses request whose answer is to be stored.
pub fn on_response_start(ctx: &mut Ctx) {
    ctx.resp.conversation = None;
    let wanted = ctx.req.conversation.as_ref().is_some_and(|t| t.store);
    if !wanted || ctx.resp.upstream_status != Some(200) {
        return;
    }
    let Some(runtime) = &ctx.req.runtime else {
        return;
    };
    let stream = matches!(ctx.resp.mode, ResponseMode::Stream(_));
    let passes_through = ctx
        .attempt
        .as_ref()
        .is_some_and(|a| a.format == crate::formats::WireFormat::OpenAiResponses);
    let cap = runtime.config.responses.max_stored_bytes;
    ctx.resp.conversation = Some(Recorder::new(stream, passes_through, cap));
}

/// One body chunk on its way to the client (after translation and guardrails); at
/// the end, the answer is stored (see `api::save`).
pub fn on_client_bytes(ctx: &mut Ctx, body: Option<&Bytes>, end: bool) {
    let Some(recorder) = &mut ctx.resp.conversation else {
        return;
    };
    if let Some(chunk) = body {
        let cap = ctx
            .req
            .runtime
            .as_ref()
            .map_or(0, |r| r.config.responses.max_stored_bytes);
        recorder.feed(chunk, cap);
    }
    if end {
        super::api::save(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_is_kept_whole_within_the_cap() {
        let body = br#"{"id":"resp_1","object":"response","output":[]}"#;
        let mut r = Recorder::new(false, false, 1024);
        r.feed(&body[..10], 1024);
        r.feed(&body[10..], 1024);
        assert_eq!(r.finish().unwrap()["id"], "resp_1");
        let mut r = Recorder::new(false, false, 16);
        r.feed(body, 16);
        assert!(r.finish().is_none());
    }

    #[test]
    fn stream_keeps_the_terminal_response_at_any_split() {
        let stream = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[1]}}\n\n",
        )
        .as_bytes();
        for split in 0..stream.len() {
            let mut r = Recorder::new(true, false, 4096);
            r.feed(&stream[..split], 4096);
            r.feed(&stream[split..], 4096);
            let done = r.finish().unwrap();
            assert_eq!(done["status"], "completed", "split {split}");
            assert_eq!(done["output"][0], 1);
        }
        let mut r = Recorder::new(true, false, 64);
        r.feed(stream, 64);
        assert!(r.finish().is_none());
        // Pass-through: the first Response is enough, the rest is not read.
        for split in 0..stream.len() {
            let mut r = Recorder::new(true, true, 4096);
            r.feed(&stream[..split], 4096);
            r.feed(&stream[split..], 4096);
            let first = r.finish().unwrap();
            assert_eq!(first["id"], "resp_1", "split {split}");
            assert_eq!(first["status"], "in_progress");
        }
    }
}
