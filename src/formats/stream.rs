//! Stream translation plumbing: the [`StreamTranslator`] the proxy drives, and the
//! generic decoder → canonical events → encoder pipeline behind it.
//!
//! Per upstream format there is a [`Decoder`] (SSE event → canonical
//! [`StreamEvent`]s) and per client dialect an [`Encoder`] (canonical event → bytes);
//! [`Translating`] glues any pair to the SSE framing and owns the end-of-stream
//! rules. Same-format streams use the pass-through translators of each format module
//! instead, which copy bytes untouched.

use crate::error::{ErrorKind, GatewayError};
use crate::model::{merge_usage, CacheAccounting, StreamEvent, Usage};
use crate::sse::{SseDecoder, SseError, SseEventRef};

/// Incremental stream translation living in the request context; fed each upstream
/// body chunk as it arrives.
pub trait StreamTranslator: Send + Sync {
    /// Append translated bytes for this chunk to `out` (may append nothing while an
    /// event is incomplete). On `Err` the stream cannot go on: `out` already ends with
    /// the in-band error event for the client, and later input is ignored.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError>;
    /// Upstream stream ended: flush, and if it ended without a proper terminal event,
    /// append an in-band error event.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// Usage seen so far, in the upstream format's own accounting (see `model::Usage`).
    fn usage(&self) -> Usage;
}

/// Upstream side: one SSE event of a format → canonical events.
pub(crate) trait Decoder: Send + Sync {
    fn decode<'e, F: FnMut(StreamEvent<'e>)>(&mut self, event: SseEventRef<'e>, sink: &mut F);
    /// The upstream closed the stream without its terminal event: emit what closes
    /// the stream properly and return true if enough arrived to call it complete
    /// (the finish reason was seen), else emit nothing and return false.
    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool;
}

/// Client side: canonical events → bytes in the client's dialect.
pub(crate) trait Encoder: Send + Sync {
    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>);
}

/// SSE framing + decoder + encoder, with usage tracking and end-of-stream rules.
pub(crate) struct Translating<D, E> {
    sse: SseDecoder,
    decoder: D,
    encoder: E,
    /// Canonical accounting.
    usage: Usage,
    accounting: CacheAccounting,
    ended: bool,
}

impl<D: Decoder, E: Encoder> Translating<D, E> {
    pub fn new(decoder: D, encoder: E, accounting: CacheAccounting) -> Self {
        Translating {
            sse: SseDecoder::new(),
            decoder,
            encoder,
            usage: Usage::default(),
            accounting,
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

/// Pass one canonical event on, unless the stream already ended; note usage and ends.
pub(crate) fn forward<E: Encoder>(
    enc: &mut E,
    usage: &mut Usage,
    ended: &mut bool,
    ev: StreamEvent<'_>,
    out: &mut Vec<u8>,
) {
    if *ended {
        return;
    }
    match &ev {
        StreamEvent::MessageStart { usage: u, .. } | StreamEvent::Usage(u) => merge_usage(usage, u),
        StreamEvent::Done | StreamEvent::Error(_) => *ended = true,
        _ => {}
    }
    enc.encode(ev, out);
}

impl<D: Decoder, E: Encoder> StreamTranslator for Translating<D, E> {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        if self.ended {
            return Ok(());
        }
        let Self {
            sse,
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        let result = sse.feed_with(chunk, |event| {
            if !*ended {
                decoder.decode(event, &mut |ev| forward(encoder, usage, ended, ev, out));
            }
            Ok::<(), SseError>(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(protocol_error(&e.to_string()), out)),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let Self {
            sse,
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        let _ = sse.finish_with(|event| {
            if !*ended {
                decoder.decode(event, &mut |ev| forward(encoder, usage, ended, ev, out));
            }
            Ok::<(), SseError>(())
        });
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
        let complete = decoder.end(&mut |ev| forward(encoder, usage, ended, ev, out));
        if !complete {
            let _ = self.fail(
                protocol_error("the upstream stream ended before the answer was complete"),
                out,
            );
        }
    }

    fn usage(&self) -> Usage {
        self.accounting.from_canonical(self.usage)
    }
}

/// A broken upstream stream.
pub(crate) fn protocol_error(message: &str) -> GatewayError {
    GatewayError::new(ErrorKind::UpstreamProtocol, message)
}
