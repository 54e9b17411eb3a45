//! Output guardrails on a response as the client sees it (after any translation).
//!
//! Streams: the client-dialect SSE is decoded event by event; the text of each
//! content delta (OpenAI `choices[0].delta.content`, Anthropic `text_delta`) goes
//! through the key's [`OutputScanner`], which holds back a short tail so a secret
//! split across deltas is still caught, and the event is rewritten with what the
//! scanner releases (redactions applied). Text still held when the answer's content
//! ends is released in one more delta just before the event that ends it. A blocking
//! match ends the stream with an in-band error event.
//!
//! Only keys with output guardrails pay for this; everyone else's streams are
//! forwarded as they come.

use serde_json::Value;

use crate::error::{Dialect, GatewayError};
use crate::policy::{OutputScanner, Verdict};
use crate::sse::{write_event, SseDecoder};

pub struct GuardedStream {
    dialect: Dialect,
    scanner: OutputScanner,
    decoder: SseDecoder,
    /// The last text-delta event, as a template for releasing held-back text.
    last_text: Option<(Option<String>, Value)>,
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
            self.event(name, &data, &mut out)?;
        }
        if end {
            self.release_held(&mut out)?;
        }
        Ok(out)
    }

    fn event(
        &mut self,
        name: Option<String>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), GatewayError> {
        let parsed: Option<Value> = serde_json::from_slice(data).ok();
        let Some(mut value) = parsed else {
            // `[DONE]` and anything that is not JSON: the content is over.
            self.release_held(out)?;
            write_event(out, name.as_deref(), data);
            return Ok(());
        };
        if let Some(slot) = text_slot(self.dialect, &mut value) {
            let text = slot.as_str().unwrap_or_default().to_string();
            *slot = Value::String(verdict(self.scanner.feed(&text))?);
            self.last_text = Some((name.clone(), value.clone()));
        } else if ends_content(self.dialect, &value) {
            self.release_held(out)?;
        }
        write_event(out, name.as_deref(), value.to_string().as_bytes());
        Ok(())
    }

    /// Send what the scanner still holds as one more text delta.
    fn release_held(&mut self, out: &mut Vec<u8>) -> Result<(), GatewayError> {
        let rest = verdict(self.scanner.finish())?;
        let Some((name, mut template)) = self.last_text.take() else {
            return Ok(());
        };
        if rest.is_empty() {
            return Ok(());
        }
        if let Some(slot) = text_slot(self.dialect, &mut template) {
            *slot = Value::String(rest);
        }
        write_event(out, name.as_deref(), template.to_string().as_bytes());
        Ok(())
    }
}

fn verdict(v: Verdict) -> Result<String, GatewayError> {
    match v {
        Verdict::Emit(text) => Ok(text),
        Verdict::Block(err) => Err(err),
    }
}

/// The text of a content delta in this dialect's stream event, if it is one.
fn text_slot(dialect: Dialect, v: &mut Value) -> Option<&mut Value> {
    match dialect {
        Dialect::OpenAi => v
            .get_mut("choices")?
            .get_mut(0)?
            .get_mut("delta")?
            .get_mut("content")
            .filter(|c| c.is_string()),
        Dialect::Anthropic => {
            let delta = v.get_mut("delta")?;
            if delta.get("type")?.as_str()? != "text_delta" {
                return None;
            }
            delta.get_mut("text")
        }
    }
}

/// Whether this event ends the answer's text (held text must go out before it).
fn ends_content(dialect: Dialect, v: &Value) -> bool {
    match dialect {
        Dialect::OpenAi => {
            v["choices"][0]["finish_reason"].is_string()
                || v["choices"].as_array().is_some_and(|c| c.is_empty())
        }
        Dialect::Anthropic => matches!(
            v["type"].as_str(),
            Some("content_block_stop" | "message_delta" | "message_stop")
        ),
    }
}
