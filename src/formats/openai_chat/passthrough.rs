//! Same-format OpenAI stream: bytes go to the client untouched while the usage chunk
//! is watched for metering. When the gateway forced `include_usage` on a client that
//! did not ask for it, the usage-only chunk (`choices: []`) is cut out; that is then
//! the only change. Cutting needs whole events, so in that mode bytes of an event are
//! held back until the event is complete; otherwise nothing is held back.

use super::response::usage_reported;
use super::wire::UsageProbe;
use crate::error::{Dialect, GatewayError};
use crate::formats::stream::{protocol_error, StreamTranslator};
use crate::model::Usage;
use crate::sse::{SseDecoder, SseError, SseEventRef};

/// What one event turned out to be.
enum Seen {
    Other,
    UsageOnly,
}

pub(crate) struct OpenAiPassthrough {
    sse: SseDecoder,
    strip_usage: bool,
    /// Raw bytes of the event in progress (strip mode only).
    pending: Vec<u8>,
    usage: Usage,
    /// `[DONE]`, an error chunk, or a finish reason was seen.
    complete: bool,
    failed: bool,
    /// The last event ended on a `\r` that closed its chunk; a `\n` opening the next
    /// chunk belongs to it. `Some(kept)` says whether that event went to the client.
    open_cr: Option<bool>,
}

impl OpenAiPassthrough {
    pub fn new(strip_usage: bool) -> Self {
        OpenAiPassthrough {
            sse: SseDecoder::new(),
            strip_usage,
            pending: Vec::new(),
            usage: Usage::default(),
            complete: false,
            failed: false,
            open_cr: None,
        }
    }
}

/// Look at one event: note usage and the end of the stream. Content is not parsed:
/// one pass over the bytes finds the members that matter, and only an event with a
/// `"usage"` object is deserialised (into a probe that skips the content).
fn watch(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) -> Seen {
    let data = event.data;
    if data.trim_ascii() == b"[DONE]" {
        *complete = true;
        return Seen::Other;
    }
    let members = Members::scan(data);
    if members.finish_reason || members.error {
        *complete = true;
    }
    if !members.usage {
        return Seen::Other;
    }
    match serde_json::from_slice::<UsageProbe>(data) {
        Ok(UsageProbe {
            usage: Some(u),
            choices,
        }) => {
            *usage = usage_reported(u);
            if choices.is_none_or(|c| c.is_empty()) {
                Seen::UsageOnly
            } else {
                Seen::Other
            }
        }
        _ => Seen::Other,
    }
}

/// Which members of interest a chunk has with a non-null value.
#[derive(Default)]
struct Members {
    /// `"finish_reason": "..."`.
    finish_reason: bool,
    /// `"error": {...}` or `"error": "..."`.
    error: bool,
    /// `"usage": {...}`.
    usage: bool,
}

impl Members {
    /// A quoted name followed by `:` is a member name: inside a string value every
    /// quote is escaped, so content cannot fake one.
    fn scan(data: &[u8]) -> Self {
        let mut m = Members::default();
        let mut i = 0;
        while let Some(p) = data[i..].iter().position(|&b| b == b'"') {
            let rest = &data[i + p + 1..];
            i += p + 1;
            let (name, flag) = match rest.first() {
                Some(b'f') => (&b"finish_reason\""[..], &mut m.finish_reason),
                Some(b'e') => (&b"error\""[..], &mut m.error),
                Some(b'u') => (&b"usage\""[..], &mut m.usage),
                _ => continue,
            };
            let Some(after) = rest.strip_prefix(name) else {
                continue;
            };
            let Some(value) = after.trim_ascii_start().strip_prefix(b":") else {
                continue;
            };
            *flag |= match value.trim_ascii_start().first() {
                Some(b'"') => name != b"usage\"",
                Some(b'{') => name != b"finish_reason\"",
                _ => false,
            };
        }
        m
    }
}

impl StreamTranslator for OpenAiPassthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        if self.failed {
            return Ok(());
        }
        let Self {
            sse,
            strip_usage,
            pending,
            usage,
            complete,
            open_cr,
            ..
        } = self;
        if !*strip_usage {
            out.extend_from_slice(chunk);
        }
        let mut start = 0;
        if let Some(&first) = chunk.first() {
            if let (Some(kept), b'\n') = (open_cr.take(), first) {
                if *strip_usage && kept {
                    out.push(b'\n');
                }
                start = 1;
            }
        }
        let result = sse.feed_with(chunk, |event| {
            let seen = watch(&event, usage, complete);
            if *strip_usage {
                let kept = matches!(seen, Seen::Other);
                if kept {
                    out.extend_from_slice(pending);
                    out.extend_from_slice(&chunk[start..event.end]);
                }
                pending.clear();
                start = event.end;
                if event.end == chunk.len() && chunk.last() == Some(&b'\r') {
                    *open_cr = Some(kept);
                }
            }
            Ok::<(), SseError>(())
        });
        if *strip_usage {
            pending.extend_from_slice(&chunk[start..]);
        }
        if let Err(e) = result {
            self.failed = true;
            self.pending.clear();
            let e = protocol_error(&e.to_string());
            out.extend_from_slice(&e.sse_event(Dialect::OpenAi));
            return Err(e);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.failed {
            return;
        }
        let idle = self.sse.is_idle();
        let Self {
            sse,
            pending,
            usage,
            complete,
            strip_usage,
            ..
        } = self;
        let mut keep = true;
        let _ = sse.finish_with(|event| {
            keep = matches!(watch(&event, usage, complete), Seen::Other);
            Ok::<(), SseError>(())
        });
        if *strip_usage && keep {
            out.extend_from_slice(pending);
        }
        pending.clear();
        if !self.complete {
            if !idle {
                // Close the cut event so the error event is read as one of its own.
                out.extend_from_slice(b"\n\n");
            }
            let e = protocol_error("the upstream stream ended before the answer was complete");
            out.extend_from_slice(&e.sse_event(Dialect::OpenAi));
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
#[path = "passthrough_tests.rs"]
mod tests;
