//! Output guardrails on a response as the client sees it (after any translation).
//!
//! Streams: the client-dialect SSE is decoded event by event; the text of each
//! content delta (found by `formats::stream_text`: OpenAI `choices[0].delta.content`,
//! Anthropic `text_delta`) goes through the key's [`OutputScanner`], which holds back
//! a short tail so a secret split across deltas is still caught, and what the scanner
//! releases (redactions applied) is spliced back into the event in place of the
//! original text; every other byte of the event is forwarded as it came. Text still
//! held when the answer's content ends is released in one more delta just before the
//! event that ends it. A blocking match ends the stream with an in-band error event.
//!
//! Only keys with output guardrails pay for this; everyone else's streams are
//! forwarded as they come.

use crate::error::{Dialect, GatewayError};
use crate::formats::stream_text::{classify, EventText, TextSlot};
use crate::policy::{OutputScanner, Verdict};
use crate::sse::{write_event, SseDecoder};

/// The last text-delta event (name, data, where its text sits), as a template for
/// releasing held-back text.
type Template = (Option<String>, Vec<u8>, TextSlot);

pub struct GuardedStream {
    dialect: Dialect,
    scanner: OutputScanner,
    decoder: SseDecoder,
    last_text: Option<Template>,
}

impl GuardedStream {
    pub fn new(dialect: Dialect, scanner: OutputScanner) -> Self {
        GuardedStream {
            dialect,
            scanner,
            decoder: SseDecoder::new(),
            last_text: None,
        }
    }

    /// Rewrite one chunk of client-dialect SSE. `Err` = blocked: end the stream
    /// with this error.
    pub fn feed(&mut self, chunk: &[u8], end: bool) -> Result<Vec<u8>, GatewayError> {
        let mut events = Vec::new();
        self.decoder
            .feed_with(chunk, |e| {
                events.push((
                    (!e.event.is_empty()).then(|| String::from_utf8_lossy(e.event).into_owned()),
                    e.data.to_vec(),
                ));
                Ok::<(), crate::sse::SseError>(())
            })
            .map_err(|_| GatewayError::internal("stream event too large to scan"))?;
        if end {
            if let Some(e) = self.decoder.finish() {
                events.push((e.event, e.data.into_bytes()));
            }
        }
        let mut out = Vec::new();
        for (name, data) in events {
            self.event(name, data, &mut out)?;
        }
        if end {
            self.release_held(&mut out)?;
        }
        Ok(out)
    }

    fn event(
        &mut self,
        name: Option<String>,
        data: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), GatewayError> {
        let delta = match classify(self.dialect, &data) {
            EventText::Delta(delta) => delta,
            EventText::End => {
                self.release_held(out)?;
                write_event(out, name.as_deref(), &data);
                return Ok(());
            }
            EventText::Other => {
                write_event(out, name.as_deref(), &data);
                return Ok(());
            }
        };
        let released = verdict(self.scanner.feed(&delta.text))?;
        let slot = delta.slot;
        write_event(out, name.as_deref(), &slot.fill(&data, &released));
        self.last_text = Some((name, data, slot));
        Ok(())
    }

    /// Send what the scanner still holds as one more text delta.
    fn release_held(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        let rest = verdict(self.scanner.finish())?;
        let Some((name, template, slot)) = self.last_text.take() else {
            return Ok(());
        };
        if !rest.is_empty() {
            write_event(out, name.as_deref(), &slot.fill(&template, &rest));
        }
        Ok(())
    }
}

fn verdict(v: Verdict) -> Result<String, GatewayError> {
    match v {
        Verdict::Emit(text) => Ok(text),
        Verdict::Block(err) => Err(err),
    }
}
