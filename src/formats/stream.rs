//! Stream translation plumbing: the [`StreamTranslator`] the proxy drives, and the
//! generic decoder → canonical events → encoder pipeline behind it.
//!
//! Per upstream format there is a [`Decoder`] (one framed unit → canonical
//! [`StreamEvent`]s) and per client dialect an [`Encoder`] (canonical event → bytes);
//! [`Translating`] glues any pair to the decoder's [`Framing`] (SSE for most formats,
//! AWS event-stream frames for Bedrock) and owns the end-of-stream rules, once for
//! every format. Same-format streams use the pass-through translators of each format
//! module instead, which copy bytes untouched.

use bytes::Bytes;

use crate::error::{ErrorKind, GatewayError};
use crate::model::{merge_usage, CacheAccounting, StreamEvent, Usage};
use crate::sse::{SseDecoder, SseError, SseEventRef};

/// How an upstream body is cut into units (events, frames), whatever the chunking.
pub(crate) trait Framing: Default + Send + Sync {
    /// One complete unit, borrowed from the framing's buffer.
    type Unit<'u>;
    type Error: std::fmt::Display;
    /// Hands every unit completed by `chunk` to `each`; units before a framing error
    /// are handed over first.
    fn feed<F: for<'u> FnMut(Self::Unit<'u>)>(
        &mut self,
        chunk: &[u8],
        each: F,
    ) -> Result<(), Self::Error>;
    /// The body ended: hands over a last unit if the framing allows one without a
    /// terminator; `Err` when the body was cut inside a unit.
    fn finish<F: for<'u> FnMut(Self::Unit<'u>)>(&mut self, each: F) -> Result<(), Self::Error>;
}

impl Framing for SseDecoder {
    type Unit<'u> = SseEventRef<'u>;
    type Error = SseError;

    fn feed<F: for<'u> FnMut(SseEventRef<'u>)>(
        &mut self,
        chunk: &[u8],
        mut each: F,
    ) -> Result<(), SseError> {
        self.feed_with(chunk, |event| {
            each(event);
            Ok(())
        })
    }

    /// SSE has no length framing: an unterminated last event is dispatched, and
    /// whether the answer was complete is the decoder's end rule, never a cut.
    fn finish<F: for<'u> FnMut(SseEventRef<'u>)>(&mut self, mut each: F) -> Result<(), SseError> {
        let _ = self.finish_with(|event| {
            each(event);
            Ok::<(), SseError>(())
        });
        Ok(())
    }
}

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
    /// `feed` for a chunk the proxy owns: what goes to the client for it. Same-format
    /// translators override it to hand back the chunk itself, or a slice of it, when
    /// nothing in it changes (a reference count, no copy, no allocation); the default
    /// translates into a new buffer.
    /// Request parameters the client's answer repeats (OpenAI Responses: the Response
    /// object echoes `instructions`, `tools`, `store`, ...). Ignored by other dialects.
    fn echo(&mut self, _fields: &serde_json::Map<String, serde_json::Value>) {}
    fn feed_bytes(&mut self, chunk: Bytes) -> Result<Bytes, StreamFailure> {
        let mut out = Vec::new();
        match self.feed(&chunk, &mut out) {
            Ok(()) => Ok(Bytes::from(out)),
            Err(error) => Err(StreamFailure { tail: out, error }),
        }
    }
}

/// A stream that cannot go on: the bytes still due to the client (ending with the
/// in-band error event) and the error.
#[derive(Debug)]
pub struct StreamFailure {
    pub tail: Vec<u8>,
    pub error: GatewayError,
}

/// Upstream side: one framed unit of a format → canonical events.
pub(crate) trait Decoder: Send + Sync {
    /// How this format's stream is framed.
    type Framing: Framing;
    fn decode<'e, F: FnMut(StreamEvent<'e>)>(
        &mut self,
        unit: <Self::Framing as Framing>::Unit<'e>,
        sink: &mut F,
    );
    /// The upstream closed the stream without its terminal event: emit what closes
    /// the stream properly and return true if enough arrived to call it complete
    /// (the finish reason was seen), else emit nothing and return false.
    fn end<F: FnMut(StreamEvent<'static>)>(&mut self, sink: &mut F) -> bool;
}

/// Client side: canonical events → bytes in the client's dialect.
pub(crate) trait Encoder: Send + Sync {
    fn encode(&mut self, event: StreamEvent<'_>, out: &mut Vec<u8>);
    /// See [`StreamTranslator::echo`].
    fn echo(&mut self, _fields: &serde_json::Map<String, serde_json::Value>) {}
}

/// Framing + decoder + encoder, with usage tracking and end-of-stream rules.
pub(crate) struct Translating<D: Decoder, E> {
    framing: D::Framing,
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
            framing: D::Framing::default(),
            decoder,
            encoder,
            usage: Usage::default(),
            accounting,
            ended: false,
        }
    }

    /// The encoder, to read what it collected (the cache's stream assembler).
    pub fn encoder(&self) -> &E {
        &self.encoder
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
    fn echo(&mut self, fields: &serde_json::Map<String, serde_json::Value>) {
        self.encoder.echo(fields);
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        if self.ended {
            return Ok(());
        }
        let Self {
            framing,
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        // Units before a framing error are still translated, then the stream fails.
        let result = framing.feed(chunk, |unit| {
            if !*ended {
                decoder.decode(unit, &mut |ev| forward(encoder, usage, ended, ev, out));
            }
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(protocol_error(&e.to_string()), out)),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let Self {
            framing,
            decoder,
            encoder,
            usage,
            ended,
            ..
        } = self;
        let cut = framing.finish(|unit| {
            if !*ended {
                decoder.decode(unit, &mut |ev| forward(encoder, usage, ended, ev, out));
            }
        });
        if *ended || decoder.end(&mut |ev| forward(encoder, usage, ended, ev, out)) {
            return;
        }
        let why = match cut {
            Err(e) => format!("the upstream stream was cut: {e}"),
            Ok(()) => "the upstream stream ended before the answer was complete".to_owned(),
        };
        let _ = self.fail(protocol_error(&why), out);
    }

    fn usage(&self) -> Usage {
        self.accounting.from_canonical(self.usage)
    }
}

/// A broken upstream stream.
pub(crate) fn protocol_error(message: &str) -> GatewayError {
    GatewayError::new(ErrorKind::UpstreamProtocol, message)
}
