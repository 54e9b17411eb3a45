//! Same-format OpenAI stream: chunks go to the client as the `Bytes` they arrived
//! in (a reference count, no copy) while the usage chunk is watched for metering.
//! When the gateway forced `include_usage` on a client that did not ask for it, the
//! usage-only chunk (`choices: []`) is cut out; only a chunk holding (part of) that
//! event is rebuilt. An event still in progress at the end of a chunk is held back
//! only while it could still be that usage chunk: once its bytes show a non-empty
//! `choices`, they go out at once.

use std::ops::Range;

use bytes::Bytes;
use memchr::memmem::Finder;
use once_cell::sync::Lazy;

use super::response::usage_reported;
use super::wire::UsageWire;
use crate::error::{Dialect, GatewayError};
use crate::formats::passthrough::{end_unfinished, feed_through_bytes, framing_failure};
use crate::formats::stream::{StreamFailure, StreamTranslator};
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
    /// Raw bytes of the event in progress not yet sent (strip mode only).
    pending: Vec<u8>,
    /// The event in progress is known not to be the usage chunk and its bytes so far
    /// went out (strip mode only).
    forwarding: bool,
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
            forwarding: false,
            usage: Usage::default(),
            complete: false,
            failed: false,
            open_cr: None,
        }
    }

    /// Every byte goes out; events are only watched for usage and the end.
    fn watch_only(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        let Self {
            sse,
            usage,
            complete,
            ..
        } = self;
        sse.feed_with(chunk, |event| {
            watch(&event, usage, complete);
            Ok::<(), SseError>(())
        })
    }

    /// Strip mode: every event but the usage-only chunk goes out, in `kept`.
    fn strip(&mut self, chunk: &[u8], kept: &mut Kept<'_>) -> Result<(), SseError> {
        let Self {
            sse,
            pending,
            forwarding,
            usage,
            complete,
            open_cr,
            ..
        } = self;
        let mut start = 0;
        if let (Some(was_kept), Some(b'\n')) = (open_cr.take(), chunk.first()) {
            // The `\n` of a CRLF that the last chunk's `\r` began.
            if was_kept {
                kept.range(0..1);
            }
            start = 1;
        }
        let result = sse.feed_with(chunk, |event| {
            let is_kept = matches!(watch(&event, usage, complete), Seen::Other);
            if is_kept {
                kept.owned(pending);
                kept.range(start..event.end);
            }
            pending.clear();
            *forwarding = false;
            start = event.end;
            if event.end == chunk.len() && chunk.last() == Some(&b'\r') {
                *open_cr = Some(is_kept);
            }
            Ok::<(), SseError>(())
        });
        let rest = &chunk[start..];
        if *forwarding {
            kept.range(start..chunk.len());
        } else if !rest.is_empty() {
            pending.extend_from_slice(rest);
            if has_choice(pending) {
                kept.owned(pending);
                pending.clear();
                *forwarding = true;
            }
        }
        result
    }
}

/// Whether the raw bytes of an event (possibly incomplete) already show a non-empty
/// `choices` array: such an event is not the usage-only chunk. A quoted member name
/// cannot be faked by content, where every quote is escaped.
fn has_choice(raw: &[u8]) -> bool {
    const NAME: &[u8] = b"\"choices\"";
    let mut from = 0;
    while let Some(p) = find(&raw[from..], NAME) {
        let after = raw[from + p + NAME.len()..].trim_ascii_start();
        if let Some(value) = after.strip_prefix(b":") {
            if let Some(items) = value.trim_ascii_start().strip_prefix(b"[") {
                return items.trim_ascii_start().first() == Some(&b'{');
            }
        }
        from += p + 1;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// The bytes of one chunk that go to the client. While they are one contiguous
/// range of the chunk they stay a slice of it (no copy); anything else (held bytes of
/// an earlier chunk, a gap where the usage chunk was cut) builds a new buffer.
struct Kept<'c> {
    chunk: &'c Bytes,
    range: Option<Range<usize>>,
    built: Option<Vec<u8>>,
}

impl<'c> Kept<'c> {
    fn new(chunk: &'c Bytes) -> Self {
        Kept {
            chunk,
            range: None,
            built: None,
        }
    }

    fn range(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        match (&mut self.built, &mut self.range) {
            (Some(built), _) => built.extend_from_slice(&self.chunk[r]),
            (None, Some(range)) if range.end == r.start => range.end = r.end,
            (None, None) => self.range = Some(r),
            (None, Some(_)) => {
                let chunk = self.chunk;
                self.build().extend_from_slice(&chunk[r]);
            }
        }
    }

    fn owned(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.build().extend_from_slice(bytes);
        }
    }

    fn build(&mut self) -> &mut Vec<u8> {
        let chunk = self.chunk;
        let range = self.range.take();
        self.built.get_or_insert_with(|| {
            let mut v = Vec::with_capacity(chunk.len() + 64);
            if let Some(r) = range {
                v.extend_from_slice(&chunk[r]);
            }
            v
        })
    }

    /// What was kept, without the borrow of the chunk (so the chunk can be moved).
    fn into_parts(self) -> (Option<Vec<u8>>, Option<Range<usize>>) {
        (self.built, self.range)
    }
}

/// The bytes that go out for `chunk`, given what was kept of it. A chunk kept whole
/// is handed back itself: cloning it would allocate (the first clone of a `Bytes`
/// made from a vector, as Pingora's body chunks are, allocates its shared count).
fn kept_bytes(chunk: Bytes, (built, range): (Option<Vec<u8>>, Option<Range<usize>>)) -> Bytes {
    match (built, range) {
        (Some(built), _) => Bytes::from(built),
        (None, Some(r)) if r == (0..chunk.len()) => chunk,
        (None, Some(r)) => chunk.slice(r),
        (None, None) => Bytes::new(),
    }
}

/// Look at one event: note usage and the end of the stream. Content is not parsed:
/// one pass over the bytes finds the members that matter, and only the `"usage"`
/// object, where there is one, is deserialised (serde over the whole event, to
/// skip its other members, cost four times as much).
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
    let Some(at) = members.usage_at else {
        return Seen::Other;
    };
    match crate::json::leading_value::<UsageWire>(&data[at..]) {
        Ok(u) => {
            *usage = usage_reported(u);
            if has_choice(data) {
                Seen::Other
            } else {
                Seen::UsageOnly
            }
        }
        Err(_) => Seen::Other,
    }
}

/// Which members of interest a chunk has with a non-null value.
#[derive(Default)]
struct Members {
    /// `"finish_reason": "..."`.
    finish_reason: bool,
    /// `"error": {...}` or `"error": "..."`.
    error: bool,
    /// Where the `{` of `"usage": {...}` is.
    usage_at: Option<usize>,
}

impl Members {
    /// A quoted name followed by `:` is a member name: inside a string value every
    /// quote is escaped, so content cannot fake one. One vectorised search per name
    /// (three per event) instead of a stop at every quote of the event: a single
    /// multi-name search stops at every quote and cost five times as much.
    fn scan(data: &[u8]) -> Self {
        static FINISH_REASON: Lazy<Finder<'static>> =
            Lazy::new(|| Finder::new(b"\"finish_reason\""));
        static ERROR: Lazy<Finder<'static>> = Lazy::new(|| Finder::new(b"\"error\""));
        static USAGE: Lazy<Finder<'static>> = Lazy::new(|| Finder::new(b"\"usage\""));
        Members {
            finish_reason: member_value(data, &FINISH_REASON, |v| v == b'"').is_some(),
            error: member_value(data, &ERROR, |v| v == b'"' || v == b'{').is_some(),
            usage_at: member_value(data, &USAGE, |v| v == b'{'),
        }
    }
}

/// Where the value of the member `name` (a quoted name and its colon) starts in
/// `data`, for the first such member whose value starts with a byte `starts`
/// accepts (a string, an object: not `null`).
fn member_value(data: &[u8], name: &Finder<'_>, starts: fn(u8) -> bool) -> Option<usize> {
    let len = name.needle().len();
    name.find_iter(data).find_map(|at| {
        let value = data[at + len..]
            .trim_ascii_start()
            .strip_prefix(b":")?
            .trim_ascii_start();
        let first = *value.first()?;
        starts(first).then(|| data.len() - value.len())
    })
}

impl StreamTranslator for OpenAiPassthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), GatewayError> {
        feed_through_bytes(self, chunk, out)
    }

    fn feed_bytes(&mut self, chunk: Bytes) -> Result<Bytes, StreamFailure> {
        if self.failed {
            return Ok(Bytes::new());
        }
        let mut kept = Kept::new(&chunk);
        let result = if self.strip_usage {
            self.strip(&chunk, &mut kept)
        } else {
            kept.range(0..chunk.len());
            self.watch_only(&chunk)
        };
        let parts = kept.into_parts();
        let kept = kept_bytes(chunk, parts);
        if let Err(e) = result {
            self.failed = true;
            self.pending.clear();
            return Err(framing_failure(&kept, &e, Dialect::OpenAi));
        }
        Ok(kept)
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
            end_unfinished(out, idle, Dialect::OpenAi);
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
#[path = "passthrough_tests.rs"]
mod tests;
