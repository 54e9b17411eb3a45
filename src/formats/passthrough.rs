//! Same-format streams that are only watched: chunks go to the client as the `Bytes`
//! they arrived in (a reference count, no copy), as they arrive, while each format's
//! [`Watch`] reads the events it needs for usage and for knowing the answer was
//! complete. A stream that ends without its terminal event gets the in-band error
//! event of the client's dialect. (OpenAI chat has its own pass-through: it may cut the
//! usage chunk the gateway forced.)

use std::marker::PhantomData;

use bytes::Bytes;

use super::stream::{protocol_error, StreamFailure, StreamTranslator};
use crate::error::{Dialect, GatewayError};
use crate::model::Usage;
use crate::sse::{SseDecoder, SseError, SseEventRef};

/// What a format's pass-through looks at in each event.
pub(crate) trait Watch: Send + Sync {
    /// The client's dialect, for the in-band error event.
    const DIALECT: Dialect;
    /// Note usage, and whether this event ends the answer, from one event.
    fn event(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool);
}

pub(crate) struct Passthrough<W: Watch> {
    sse: SseDecoder,
    usage: Usage,
    /// The format's terminal event was seen.
    complete: bool,
    failed: bool,
    watch: PhantomData<W>,
}

impl<W: Watch> Passthrough<W> {
    pub fn new() -> Self {
        Passthrough {
            sse: SseDecoder::new(),
            usage: Usage::default(),
            complete: false,
            failed: false,
            watch: PhantomData,
        }
    }
}

/// The framing broke: the bytes still due to the client, then the in-band error.
pub(crate) fn framing_failure(kept: &[u8], e: &SseError, dialect: Dialect) -> StreamFailure {
    let error = protocol_error(&e.to_string());
    let mut tail = kept.to_vec();
    tail.extend_from_slice(&error.sse_event(dialect));
    StreamFailure { tail, error }
}

/// The upstream ended without the answer's terminal event: the in-band error event,
/// after closing an event cut in the middle (`idle` false) so it reads as its own.
pub(crate) fn end_unfinished(out: &mut Vec<u8>, idle: bool, dialect: Dialect) {
    if !idle {
        out.extend_from_slice(b"\n\n");
    }
    let e = protocol_error("the upstream stream ended before the answer was complete");
    out.extend_from_slice(&e.sse_event(dialect));
}

/// `feed` for translators that work on owned chunks: through `feed_bytes`.
pub(crate) fn feed_through_bytes<T: StreamTranslator + ?Sized>(
    t: &mut T,
    chunk: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), GatewayError> {
    match t.feed_bytes(Bytes::copy_from_slice(chunk)) {
        Ok(kept) => {
            out.extend_from_slice(&kept);
            Ok(())
        }
        Err(failure) => {
            out.extend_from_slice(&failure.tail);
            Err(failure.error)
        }
    }
}

impl<W: Watch> StreamTranslator for Passthrough<W> {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        feed_through_bytes(self, chunk, out)
    }

    /// The chunk goes out as it is, without a copy.
    fn feed_bytes(&mut self, chunk: Bytes) -> Result<Bytes, StreamFailure> {
        if self.failed {
            return Ok(Bytes::new());
        }
        let Self {
            sse,
            usage,
            complete,
            ..
        } = self;
        let result = sse.feed_with(&chunk, |event| {
            W::event(&event, usage, complete);
            Ok::<(), SseError>(())
        });
        if let Err(e) = result {
            self.failed = true;
            return Err(framing_failure(&chunk, &e, W::DIALECT));
        }
        Ok(chunk)
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        let idle = self.sse.is_idle();
        let Self {
            sse,
            usage,
            complete,
            ..
        } = self;
        let _ = sse.finish_with(|event| {
            W::event(&event, usage, complete);
            Ok::<(), SseError>(())
        });
        if !self.complete {
            end_unfinished(out, idle, W::DIALECT);
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
