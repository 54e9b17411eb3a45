//! Incremental SSE decoder: feed it body chunks as they arrive, get whole events.
//!
//! The hot path borrows: a line that lies entirely inside one chunk is parsed in place,
//! and only the data of the current event is copied (into a buffer reused across
//! events). A callback receives each event as an [`SseEventRef`], so decoding a stream
//! allocates nothing per event once the buffers have grown to the usual event size.

use std::fmt;

/// Default bound on one event (its data plus the line being assembled): 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// One event grew past the configured limit (bytes).
    EventTooLarge { limit: usize },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "server-sent event larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// One decoded event, borrowed from the decoder (valid during the callback only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event:` field; empty when the event had none (the default type `message`).
    pub event: &'a [u8],
    /// The `data:` lines joined with `\n`.
    pub data: &'a [u8],
    /// The `id:` field if this event carried one.
    pub id: Option<&'a [u8]>,
    /// Offset in the chunk being fed just past the blank line that ended this event
    /// (0 for an event flushed by [`SseDecoder::finish`]). Lets a caller that copies
    /// raw bytes through cut the stream at event boundaries.
    pub end: usize,
}

/// An owned decoded event, for callers that prefer a `Vec` over a callback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

impl From<SseEventRef<'_>> for SseEvent {
    fn from(e: SseEventRef<'_>) -> Self {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        SseEvent {
            event: (!e.event.is_empty()).then(|| text(e.event)),
            data: text(e.data),
            id: e.id.map(text),
        }
    }
}

/// Incremental decoder state. One per stream.
#[derive(Debug)]
pub struct SseDecoder {
    /// A line not yet terminated at the end of the previous chunk.
    line: Vec<u8>,
    data: Vec<u8>,
    event: Vec<u8>,
    id: Vec<u8>,
    has_id: bool,
    has_data: bool,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    pending_cr: bool,
    /// No line has been completed yet (a UTF-8 BOM may start the stream).
    first_line: bool,
    max_event_size: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default 16 MiB event limit.
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that fails on events larger than `max_event_size` bytes.
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        SseDecoder {
            line: Vec::new(),
            data: Vec::new(),
            event: Vec::new(),
            id: Vec::new(),
            has_id: false,
            has_data: false,
            pending_cr: false,
            first_line: true,
            max_event_size,
        }
    }

    /// Decode one chunk and collect the completed events.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        self.feed_with(chunk, |e| {
            out.push(SseEvent::from(e));
            Ok::<(), SseError>(())
        })?;
        Ok(out)
    }

    /// Decode one chunk, calling `on_event` for each completed event. Stops at the
    /// first error (from the callback, or [`SseError`] when an event is too large;
    /// the partial event is then dropped).
    pub fn feed_with<E, F>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), E>
    where
        E: From<SseError>,
        F: FnMut(SseEventRef<'_>) -> Result<(), E>,
    {
        let mut pos = 0;
        if self.pending_cr && !chunk.is_empty() {
            self.pending_cr = false;
            if chunk[0] == b'\n' {
                pos = 1;
            }
        }
        while pos < chunk.len() {
            let rest = &chunk[pos..];
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.line.extend_from_slice(rest);
                self.check_size()?;
                break;
            };
            let next = pos + i + self.terminator_len(rest, i);
            if self.line.is_empty() {
                self.process_line(&rest[..i], next, &mut on_event)?;
            } else {
                self.line.extend_from_slice(&rest[..i]);
                self.check_size()?;
                let line = std::mem::take(&mut self.line);
                let result = self.process_line(&line, next, &mut on_event);
                self.line = line;
                self.line.clear();
                result?;
            }
            pos = next;
        }
        Ok(())
    }

    /// The stream ended: process an unterminated last line and dispatch the event in
    /// progress even though no blank line closed it.
    pub fn finish_with<E, F>(&mut self, mut on_event: F) -> Result<(), E>
    where
        E: From<SseError>,
        F: FnMut(SseEventRef<'_>) -> Result<(), E>,
    {
        self.pending_cr = false;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, 0, &mut on_event)?;
        }
        self.process_line(b"", 0, &mut on_event)
    }

    /// [`finish_with`](Self::finish_with), returning the flushed event if any.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut out = None;
        let _ = self.finish_with(|e| {
            out = Some(SseEvent::from(e));
            Ok::<(), SseError>(())
        });
        out
    }

    /// No event is in progress: the bytes fed so far end at an event boundary (or
    /// inside blank lines and comments). A caller that forwards raw bytes checks this
    /// before appending an event of its own.
    pub fn is_idle(&self) -> bool {
        self.line.is_empty() && !self.has_data && self.event.is_empty() && !self.has_id
    }

    /// Bytes of the current line terminator at `rest[i]` (`\r\n` counts as one).
    fn terminator_len(&mut self, rest: &[u8], i: usize) -> usize {
        if rest[i] == b'\r' {
            match rest.get(i + 1) {
                Some(b'\n') => return 2,
                None => self.pending_cr = true,
                Some(_) => {}
            }
        }
        1
    }

    fn check_size(&mut self) -> Result<(), SseError> {
        if self.line.len() + self.data.len() > self.max_event_size {
            self.reset_event();
            self.line.clear();
            return Err(SseError::EventTooLarge {
                limit: self.max_event_size,
            });
        }
        Ok(())
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        self.has_id = false;
    }

    fn process_line<E, F>(&mut self, mut line: &[u8], end: usize, on_event: &mut F) -> Result<(), E>
    where
        E: From<SseError>,
        F: FnMut(SseEventRef<'_>) -> Result<(), E>,
    {
        if self.first_line {
            self.first_line = false;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(end, on_event);
        }
        if line[0] == b':' {
            return Ok(()); // comment (keep-alive)
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
                self.check_size()?;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            b"id" if !value.contains(&0) => {
                self.id.clear();
                self.id.extend_from_slice(value);
                self.has_id = true;
            }
            _ => {} // `retry` and unknown fields are ignored, as the spec says
        }
        Ok(())
    }

    fn dispatch<E, F>(&mut self, end: usize, on_event: &mut F) -> Result<(), E>
    where
        F: FnMut(SseEventRef<'_>) -> Result<(), E>,
    {
        let result = if self.has_data {
            on_event(SseEventRef {
                event: &self.event,
                data: &self.data,
                id: self.has_id.then_some(&self.id[..]),
                end,
            })
        } else {
            Ok(())
        };
        self.reset_event();
        result
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
