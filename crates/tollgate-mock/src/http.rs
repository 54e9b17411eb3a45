//! HTTP/1.1 request framing for the mock upstream: request-head parsing and chunked
//! body decoding (RFC 9112).
//!
//! Both are pure functions over byte buffers, so split reads, pipelined requests and
//! hostile chunk sizes are unit-tested without sockets. The connection loop
//! (`conn.rs`) feeds them whatever the socket delivered.

use bytes::{Buf, BytesMut};

/// Largest request head (request line + headers) accepted; larger answers 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header lines accepted in one request head.
const MAX_HEADERS: usize = 256;
/// Longest chunk-size line extension or trailer section accepted.
const MAX_CHUNK_META: usize = 16 * 1024;

/// A byte range `(start, end)` inside [`RequestHead`]'s raw bytes.
type Span = (usize, usize);

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (no Content-Length, or Content-Length: 0, and not chunked).
    Empty,
    /// `Content-Length: n`, n > 0.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request could not be framed; each maps to the status the mock answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// Syntax error in the head or the chunked framing (400).
    Malformed(&'static str),
    /// Head larger than [`MAX_HEAD`] or too many headers (431).
    HeadTooLarge,
    /// Body larger than the configured maximum (413).
    BodyTooLarge,
}

impl HttpError {
    /// The status code the mock answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Malformed(_) => 400,
            HttpError::HeadTooLarge => 431,
            HttpError::BodyTooLarge => 413,
        }
    }

    /// A short human-readable reason for error bodies.
    pub fn reason(&self) -> &'static str {
        match self {
            HttpError::Malformed(why) => why,
            HttpError::HeadTooLarge => "request head too large",
            HttpError::BodyTooLarge => "request body too large",
        }
    }
}

/// One parsed request head. Owns a copy of its raw bytes (a few hundred bytes), so the
/// connection buffer that held it can be reused at once.
#[derive(Debug)]
pub struct RequestHead {
    raw: Box<[u8]>,
    method: Span,
    target: Span,
    headers: Vec<(Span, Span)>,
    /// How the body that follows is delimited.
    pub framing: Framing,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// The request line said HTTP/1.0 (no chunked responses possible).
    pub http10: bool,
}

impl RequestHead {
    fn slice(&self, (start, end): Span) -> &[u8] {
        &self.raw[start..end]
    }

    /// The request method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        std::str::from_utf8(self.slice(self.method)).unwrap_or("")
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &str {
        std::str::from_utf8(self.slice(self.target)).unwrap_or("")
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        let t = self.target();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, q)| q)
    }

    /// All header lines in order, names as sent (not lower-cased).
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|&(n, v)| (self.slice(n), self.slice(v)))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one request head at the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, or the head and the number of bytes
/// it used (leading empty lines included, body excluded).
pub fn parse_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    // RFC 9112 §2.2: a server should ignore empty lines received before the request line.
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let Some(len) = head_len(&buf[skip..]) else {
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        return Ok(None);
    };
    if len > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let head = parse_lines(&buf[skip..skip + len])?;
    Ok(Some((head, skip + len)))
}

/// Length of the head up to and including the empty line, if it is complete.
fn head_len(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, b) in buf.iter().enumerate() {
        if *b != b'\n' {
            continue;
        }
        let line = &buf[line_start..i];
        if line.is_empty() || line == b"\r" {
            return Some(i + 1);
        }
        line_start = i + 1;
    }
    None
}

/// Splits a complete head into lines (CRLF, bare LF tolerated) and parses them.
fn parse_lines(raw: &[u8]) -> Result<RequestHead, HttpError> {
    let mut lines = Vec::with_capacity(16);
    let mut start = 0;
    for (i, b) in raw.iter().enumerate() {
        if *b == b'\n' {
            let end = if i > start && raw[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            lines.push((start, end));
            start = i + 1;
        }
    }
    let mut iter = lines.into_iter().filter(|(s, e)| e > s);
    let request_line = iter.next().ok_or(HttpError::Malformed("empty request"))?;
    let (method, target, http10) = parse_request_line(raw, request_line)?;
    let mut headers = Vec::with_capacity(16);
    for line in iter {
        if headers.len() == MAX_HEADERS {
            return Err(HttpError::HeadTooLarge);
        }
        headers.push(parse_header_line(raw, line)?);
    }
    let mut head = RequestHead {
        raw: raw.into(),
        method,
        target,
        headers,
        framing: Framing::Empty,
        keep_alive: !http10,
        expect_continue: false,
        http10,
    };
    apply_semantics(&mut head)?;
    Ok(head)
}

fn parse_request_line(raw: &[u8], (s, e): Span) -> Result<(Span, Span, bool), HttpError> {
    let line = &raw[s..e];
    let mut parts = line.split(|b| *b == b' ');
    let (Some(m), Some(t), Some(v), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed("bad request line"));
    };
    if m.is_empty() || !m.iter().all(|b| is_token_byte(*b)) {
        return Err(HttpError::Malformed("bad method"));
    }
    if t.is_empty() || !t.iter().all(|b| b.is_ascii_graphic()) {
        return Err(HttpError::Malformed("bad request target"));
    }
    let http10 = match v {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return Err(HttpError::Malformed("unsupported HTTP version")),
    };
    let method = (s, s + m.len());
    let target = (method.1 + 1, method.1 + 1 + t.len());
    Ok((method, target, http10))
}

fn parse_header_line(raw: &[u8], (s, e): Span) -> Result<(Span, Span), HttpError> {
    let line = &raw[s..e];
    if line[0] == b' ' || line[0] == b'\t' {
        // Obsolete line folding (RFC 9112 §5.2) is rejected, as modern servers do.
        return Err(HttpError::Malformed("folded header line"));
    }
    let colon = line
        .iter()
        .position(|b| *b == b':')
        .ok_or(HttpError::Malformed("header line without colon"))?;
    if colon == 0 || !line[..colon].iter().all(|b| is_token_byte(*b)) {
        return Err(HttpError::Malformed("bad header name"));
    }
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let value = &line[colon + 1..];
    let lead = value.iter().take_while(|b| is_ows(b)).count();
    let trail = value[lead..].iter().rev().take_while(|b| is_ows(b)).count();
    let v_start = s + colon + 1 + lead;
    let v_end = e - trail;
    Ok(((s, s + colon), (v_start, v_end.max(v_start))))
}

fn comma_tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|b| *b == b',').map(|t| t.trim_ascii())
}

/// Derives framing, keep-alive and expect-continue from the headers.
fn apply_semantics(head: &mut RequestHead) -> Result<(), HttpError> {
    let (mut chunked, mut length, mut close, mut keep) = (false, None::<usize>, false, false);
    let mut expect_continue = false;
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = comma_tokens(value).filter(|t| !t.is_empty()).last();
            match last {
                Some(t) if t.eq_ignore_ascii_case(b"chunked") => chunked = true,
                _ => return Err(HttpError::Malformed("unsupported transfer-encoding")),
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_decimal(value).ok_or(HttpError::Malformed("bad content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::Malformed("conflicting content-length"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= comma_tokens(value).any(|t| t.eq_ignore_ascii_case(b"close"));
            keep |= comma_tokens(value).any(|t| t.eq_ignore_ascii_case(b"keep-alive"));
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.expect_continue = expect_continue;
    head.framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) if n > 0 => Framing::Length(n),
        _ => Framing::Empty,
    };
    // RFC 9112 §6.3: with both chunked and Content-Length the connection must close.
    let smuggle_risk = chunked && length.is_some();
    head.keep_alive = if head.http10 { keep && !close } else { !close } && !smuggle_risk;
    Ok(())
}

fn parse_decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0usize, |acc, d| {
        acc.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}

/// Where the chunked decoder is inside the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size; `ext` once a `;` extension (or whitespace) started.
    Size {
        value: usize,
        digits: usize,
        ext: usize,
    },
    /// Saw CR after the size line; expecting LF.
    SizeLf(usize),
    /// Copying chunk data; bytes left.
    Data(usize),
    /// Expecting the CRLF that ends chunk data.
    DataCr,
    DataLf,
    /// Reading trailer lines; `line` bytes in the current line, `total` in all.
    Trailer {
        line: usize,
        total: usize,
    },
    /// Saw CR in the trailer section.
    TrailerLf {
        empty: bool,
        total: usize,
    },
    Done,
}

const SIZE_START: ChunkState = ChunkState::Size {
    value: 0,
    digits: 0,
    ext: 0,
};

/// Incremental `Transfer-Encoding: chunked` decoder that survives any split of its input.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    max: usize,
    total: usize,
}

impl ChunkedDecoder {
    /// A decoder that rejects bodies larger than `max` bytes.
    pub fn new(max: usize) -> Self {
        ChunkedDecoder {
            state: SIZE_START,
            max,
            total: 0,
        }
    }

    /// Consumes framing from `input`, appends body bytes to `out`.
    ///
    /// Returns `Ok(true)` once the last chunk and the trailers were read; bytes after
    /// that (a pipelined request) are left in `input`.
    pub fn decode(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<bool, HttpError> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(true),
                ChunkState::Data(left) => {
                    if input.is_empty() {
                        return Ok(false);
                    }
                    let n = left.min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input.advance(n);
                    self.state = if n == left {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(left - n)
                    };
                }
                _ => {
                    let Some(&b) = input.first() else {
                        return Ok(false);
                    };
                    input.advance(1);
                    self.step(b, out)?;
                }
            }
        }
    }

    /// One framing byte.
    fn step(&mut self, b: u8, out: &mut BytesMut) -> Result<(), HttpError> {
        use ChunkState::*;
        self.state = match (self.state, b) {
            (Size { digits, .. }, b'\r') if digits > 0 => SizeLf(self.size_value()),
            (Size { digits, .. }, b'\n') if digits > 0 => {
                self.start_chunk(self.size_value(), out)?
            }
            (
                Size {
                    value,
                    digits,
                    ext: 0,
                },
                _,
            ) if b.is_ascii_hexdigit() => {
                let d = (b as char).to_digit(16).unwrap_or(0) as usize;
                let value = value.checked_mul(16).and_then(|v| v.checked_add(d));
                match value {
                    Some(v) if v <= self.max => Size {
                        value: v,
                        digits: digits + 1,
                        ext: 0,
                    },
                    _ => return Err(HttpError::BodyTooLarge),
                }
            }
            (Size { value, digits, ext }, b';' | b' ' | b'\t') if digits > 0 => Size {
                value,
                digits,
                ext: ext + 1,
            },
            (Size { value, digits, ext }, _) if ext > 0 && ext < MAX_CHUNK_META => Size {
                value,
                digits,
                ext: ext + 1,
            },
            (Size { .. }, _) => return Err(HttpError::Malformed("bad chunk size")),
            (SizeLf(v), b'\n') => self.start_chunk(v, out)?,
            (DataCr, b'\r') => DataLf,
            (DataCr, b'\n') | (DataLf, b'\n') => SIZE_START,
            (SizeLf(_) | DataCr | DataLf, _) => return Err(HttpError::Malformed("missing CRLF")),
            (Trailer { line, total }, b'\r') => TrailerLf {
                empty: line == 0,
                total,
            },
            (Trailer { line: 0, .. }, b'\n') => Done,
            (Trailer { total, .. }, b'\n') => Trailer { line: 0, total },
            (Trailer { line, total }, _) if total < MAX_CHUNK_META => Trailer {
                line: line + 1,
                total: total + 1,
            },
            (Trailer { .. }, _) => return Err(HttpError::HeadTooLarge),
            (TrailerLf { empty: true, .. }, b'\n') => Done,
            (TrailerLf { total, .. }, b'\n') => Trailer { line: 0, total },
            (TrailerLf { .. }, _) => return Err(HttpError::Malformed("bad trailer")),
            (Data(_) | Done, _) => self.state,
        };
        Ok(())
    }

    fn size_value(&self) -> usize {
        match self.state {
            ChunkState::Size { value, .. } => value,
            _ => 0,
        }
    }

    fn start_chunk(&mut self, size: usize, out: &mut BytesMut) -> Result<ChunkState, HttpError> {
        if size == 0 {
            return Ok(ChunkState::Trailer { line: 0, total: 0 });
        }
        self.total = self
            .total
            .checked_add(size)
            .ok_or(HttpError::BodyTooLarge)?;
        if self.total > self.max {
            return Err(HttpError::BodyTooLarge);
        }
        out.reserve(size);
        Ok(ChunkState::Data(size))
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
