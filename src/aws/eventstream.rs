//! The `application/vnd.amazon.eventstream` binary framing used by Bedrock's streaming
//! operations: an incremental decoder that survives any chunking and bounds memory.
//! The gateway never writes frames; the one encoder (for the mock upstream and the
//! tests) is `tollgate_mock::eventstream`.
//!
//! One frame (message), all integers big-endian:
//! ```text
//! total length u32 | headers length u32 | prelude CRC32 (of the 8 bytes before it)
//! headers: { name length u8, name, value type u8, value }*
//! payload
//! message CRC32 (of everything before it)
//! ```
//! Value types: 0 true, 1 false, 2 i8, 3 i16, 4 i32, 5 i64, 6 bytes (u16 length),
//! 7 UTF-8 string (u16 length), 8 timestamp (i64 ms since the epoch), 9 UUID (16 bytes).
//!
//! The prelude CRC is checked as soon as its 12 bytes arrive, so a corrupt or absurd
//! length is rejected before anything is buffered for it. Both CRCs protect everything,
//! so after an error the stream cannot be resynchronised: the decoder stays failed.
//! Frames are parsed out of one buffer without copying: payloads and byte headers are
//! [`Bytes`] slices of it.

use std::fmt;

use bytes::{Bytes, BytesMut};

/// Largest frame accepted by default; also the format's documented maximum message size.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;
/// Largest header section the format allows (128 KiB).
const MAX_HEADERS_LEN: usize = 128 * 1024;
const PRELUDE_LEN: usize = 12;
/// Prelude plus message CRC: a frame with no headers and no payload.
const MIN_FRAME_LEN: usize = PRELUDE_LEN + 4;

/// A typed header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Bytes),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The value when it is a string header (type 7), the type of every header Bedrock sends.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One decoded message: headers in wire order and the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Bytes,
}

impl Frame {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The first header of that name, when it is a string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(HeaderValue::as_str)
    }

    /// `:event-type`, such as `messageStart` or `contentBlockDelta`.
    pub fn event_type(&self) -> Option<&str> {
        self.header_str(":event-type")
    }

    /// `:message-type`: `event`, `exception` or `error`.
    pub fn message_type(&self) -> Option<&str> {
        self.header_str(":message-type")
    }

    /// `:exception-type` of an `exception` message, such as `throttlingException`.
    pub fn exception_type(&self) -> Option<&str> {
        self.header_str(":exception-type")
    }

    /// `:error-code` of an `error` message.
    pub fn error_code(&self) -> Option<&str> {
        self.header_str(":error-code")
    }

    /// `:error-message` of an `error` message.
    pub fn error_message(&self) -> Option<&str> {
        self.header_str(":error-message")
    }
}

/// Why a byte stream is not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStreamError {
    /// The prelude (lengths) does not match its CRC.
    PreludeChecksum { expected: u32, actual: u32 },
    /// The message does not match its CRC.
    MessageChecksum { expected: u32, actual: u32 },
    /// The prelude announces a frame larger than the decoder accepts.
    FrameTooLarge { len: usize, max: usize },
    /// The lengths in the prelude contradict each other.
    InvalidLength { total: u32, headers: u32 },
    /// A header is malformed.
    InvalidHeader(&'static str),
    /// The stream ended inside a frame.
    Truncated { buffered: usize },
    /// An earlier error left the decoder unable to find frame boundaries.
    Failed,
}

impl fmt::Display for EventStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventStreamError::PreludeChecksum { expected, actual } => {
                write!(f, "event stream prelude checksum mismatch: expected {expected:#010x}, got {actual:#010x}")
            }
            EventStreamError::MessageChecksum { expected, actual } => {
                write!(f, "event stream message checksum mismatch: expected {expected:#010x}, got {actual:#010x}")
            }
            EventStreamError::FrameTooLarge { len, max } => {
                write!(
                    f,
                    "event stream frame of {len} bytes exceeds the {max} byte limit"
                )
            }
            EventStreamError::InvalidLength { total, headers } => {
                write!(
                    f,
                    "event stream frame lengths are inconsistent: total {total}, headers {headers}"
                )
            }
            EventStreamError::InvalidHeader(why) => write!(f, "invalid event stream header: {why}"),
            EventStreamError::Truncated { buffered } => {
                write!(
                    f,
                    "event stream ended inside a frame ({buffered} bytes buffered)"
                )
            }
            EventStreamError::Failed => write!(f, "event stream decoder failed earlier"),
        }
    }
}

impl std::error::Error for EventStreamError {}

/// Incremental decoder: feed it chunks as they arrive, it emits every complete frame.
#[derive(Debug)]
pub struct EventStreamDecoder {
    buf: BytesMut,
    max_frame_size: usize,
    failed: bool,
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStreamDecoder {
    /// A decoder accepting frames up to [`DEFAULT_MAX_FRAME_SIZE`].
    pub fn new() -> Self {
        Self::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A decoder accepting frames up to `max_frame_size` bytes; this bounds its memory.
    pub fn with_max_frame_size(max_frame_size: usize) -> Self {
        EventStreamDecoder {
            buf: BytesMut::new(),
            max_frame_size,
            failed: false,
        }
    }

    /// Appends `chunk` and pushes every frame it completes onto `out`. On error, the
    /// frames before the bad one are already in `out` and every later call fails too.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<(), EventStreamError> {
        if self.failed {
            return Err(EventStreamError::Failed);
        }
        self.buf.extend_from_slice(chunk);
        let result = self.drain(out);
        if result.is_err() {
            self.failed = true;
            self.buf = BytesMut::new();
        }
        result
    }

    /// True between frames: nothing of a partial frame is buffered and no error occurred.
    pub fn is_idle(&self) -> bool {
        !self.failed && self.buf.is_empty()
    }

    /// To call at end of stream: an error if it ended inside a frame or after an error.
    pub fn finish(&self) -> Result<(), EventStreamError> {
        if self.failed {
            Err(EventStreamError::Failed)
        } else if !self.buf.is_empty() {
            Err(EventStreamError::Truncated {
                buffered: self.buf.len(),
            })
        } else {
            Ok(())
        }
    }

    fn drain(&mut self, out: &mut Vec<Frame>) -> Result<(), EventStreamError> {
        while self.buf.len() >= PRELUDE_LEN {
            let total = check_prelude(&self.buf[..PRELUDE_LEN], self.max_frame_size)?;
            if self.buf.len() < total {
                // Grow once to the announced size instead of doubling repeatedly.
                self.buf.reserve(total - self.buf.len());
                return Ok(());
            }
            out.push(parse_frame(self.buf.split_to(total).freeze())?);
        }
        Ok(())
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_be_bytes(word)
}

/// Validates the 12-byte prelude; returns the frame's total length.
fn check_prelude(prelude: &[u8], max_frame_size: usize) -> Result<usize, EventStreamError> {
    let expected = be_u32(prelude, 8);
    let actual = crc32fast::hash(&prelude[..8]);
    if expected != actual {
        return Err(EventStreamError::PreludeChecksum { expected, actual });
    }
    let (total, headers) = (be_u32(prelude, 0), be_u32(prelude, 4));
    let (total_len, headers_len) = (total as usize, headers as usize);
    if total_len > max_frame_size {
        return Err(EventStreamError::FrameTooLarge {
            len: total_len,
            max: max_frame_size,
        });
    }
    if total_len < MIN_FRAME_LEN
        || headers_len > total_len - MIN_FRAME_LEN
        || headers_len > MAX_HEADERS_LEN
    {
        return Err(EventStreamError::InvalidLength { total, headers });
    }
    Ok(total_len)
}

/// Parses one whole frame whose prelude was already checked.
fn parse_frame(frame: Bytes) -> Result<Frame, EventStreamError> {
    let crc_at = frame.len() - 4;
    let expected = be_u32(&frame, crc_at);
    let actual = crc32fast::hash(&frame[..crc_at]);
    if expected != actual {
        return Err(EventStreamError::MessageChecksum { expected, actual });
    }
    let headers_end = PRELUDE_LEN + be_u32(&frame, 4) as usize;
    let headers = parse_headers(&frame, PRELUDE_LEN, headers_end)?;
    Ok(Frame {
        headers,
        payload: frame.slice(headers_end..crc_at),
    })
}

/// Reads values out of the header section `[pos, end)` of a frame, never past `end`.
struct HeaderReader<'a> {
    frame: &'a Bytes,
    pos: usize,
    end: usize,
}

impl HeaderReader<'_> {
    fn take(&mut self, n: usize) -> Result<std::ops::Range<usize>, EventStreamError> {
        if n > self.end - self.pos {
            return Err(EventStreamError::InvalidHeader(
                "header runs past the header section",
            ));
        }
        self.pos += n;
        Ok(self.pos - n..self.pos)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EventStreamError> {
        let range = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.frame[range]);
        Ok(out)
    }

    fn name(&mut self) -> Result<String, EventStreamError> {
        let [len] = self.array::<1>()?;
        if len == 0 {
            return Err(EventStreamError::InvalidHeader("empty header name"));
        }
        let range = self.take(usize::from(len))?;
        String::from_utf8(self.frame[range].to_vec())
            .map_err(|_| EventStreamError::InvalidHeader("header name is not UTF-8"))
    }

    fn sized(&mut self) -> Result<std::ops::Range<usize>, EventStreamError> {
        let len = u16::from_be_bytes(self.array()?);
        self.take(usize::from(len))
    }

    fn value(&mut self) -> Result<HeaderValue, EventStreamError> {
        let [kind] = self.array::<1>()?;
        Ok(match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(self.array()?)),
            3 => HeaderValue::Short(i16::from_be_bytes(self.array()?)),
            4 => HeaderValue::Int(i32::from_be_bytes(self.array()?)),
            5 => HeaderValue::Long(i64::from_be_bytes(self.array()?)),
            6 => HeaderValue::Bytes(self.frame.slice(self.sized()?)),
            7 => {
                let range = self.sized()?;
                let text = std::str::from_utf8(&self.frame[range])
                    .map_err(|_| EventStreamError::InvalidHeader("string header is not UTF-8"))?;
                HeaderValue::String(text.to_owned())
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(self.array()?)),
            9 => HeaderValue::Uuid(self.array()?),
            _ => return Err(EventStreamError::InvalidHeader("unknown header value type")),
        })
    }
}

fn parse_headers(
    frame: &Bytes,
    start: usize,
    end: usize,
) -> Result<Vec<(String, HeaderValue)>, EventStreamError> {
    let mut reader = HeaderReader {
        frame,
        pos: start,
        end,
    };
    let mut headers = Vec::new();
    while reader.pos < reader.end {
        let name = reader.name()?;
        headers.push((name, reader.value()?));
    }
    Ok(headers)
}

#[cfg(test)]
#[path = "eventstream_tests.rs"]
mod tests;
