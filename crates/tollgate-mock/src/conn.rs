//! One client connection: reads request heads and bodies (feeding `http.rs`), writes
//! responses, and notices the client going away while the mock waits, hangs or
//! stalls.
//!
//! Close detection works by reading while waiting: a read of 0 bytes (or an error)
//! means the client closed. Bytes that arrive meanwhile are a pipelined request and
//! stay buffered for the next turn of the connection loop.

use std::io::Write;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http::{parse_head, ChunkedDecoder, Framing, HttpError, RequestHead};
use super::record::Entry;
use super::reply::Reply;

/// Read size for heads and chunked bodies.
const READ_CHUNK: usize = 64 * 1024;
/// While waiting, at most this much pipelined input is buffered; beyond it the mock
/// stops reading (and so stops noticing a close) rather than grow without bound.
const WATCH_LIMIT: usize = 1024 * 1024;
/// A read buffer that grew past this for a large body is replaced once idle.
const SHRINK_ABOVE: usize = 4 * 1024 * 1024;

/// The client closed the connection, or writing to it failed.
#[derive(Debug)]
pub(crate) struct Gone;

/// Why a request body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    Gone,
    Http(HttpError),
}

/// Headers every response carries, describing the request it answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta<'a> {
    pub name: &'a str,
    pub seq: u64,
    pub body_len: usize,
    pub body_fnv: u64,
}

/// A client connection and its buffers.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    out: Vec<u8>,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Self {
        // Stream events are small writes that must leave at once.
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            out: Vec::with_capacity(4 * 1024),
        }
    }

    async fn fill(&mut self) -> Result<(), Gone> {
        self.buf.reserve(READ_CHUNK);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) | Err(_) => Err(Gone),
            Ok(_) => Ok(()),
        }
    }

    /// The next request head; `Ok(None)` when the client closed the connection.
    pub async fn read_head(&mut self) -> Result<Option<RequestHead>, HttpError> {
        if self.buf.is_empty() && self.buf.capacity() > SHRINK_ABOVE {
            self.buf = BytesMut::with_capacity(16 * 1024);
        }
        loop {
            if !self.buf.is_empty() {
                if let Some((head, used)) = parse_head(&self.buf)? {
                    self.buf.advance(used);
                    return Ok(Some(head));
                }
            }
            if self.fill().await.is_err() {
                return Ok(None);
            }
        }
    }

    /// Reads the body that `framing` announces, reporting progress to `entry`.
    pub async fn read_body(
        &mut self,
        framing: Framing,
        max: usize,
        entry: &Entry,
    ) -> Result<Bytes, BodyError> {
        match framing {
            Framing::Empty => Ok(Bytes::new()),
            Framing::Length(n) if n > max => Err(BodyError::Http(HttpError::BodyTooLarge)),
            Framing::Length(n) => {
                // Read straight into one buffer of the final size: no copies for big bodies.
                self.buf.reserve(n.saturating_sub(self.buf.len()));
                while self.buf.len() < n {
                    entry.set_received(self.buf.len());
                    match self.stream.read_buf(&mut self.buf).await {
                        Ok(0) | Err(_) => return Err(BodyError::Gone),
                        Ok(_) => {}
                    }
                }
                Ok(self.buf.split_to(n).freeze())
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new(max);
                let mut body = BytesMut::new();
                loop {
                    let done = decoder
                        .decode(&mut self.buf, &mut body)
                        .map_err(BodyError::Http)?;
                    if done {
                        return Ok(body.freeze());
                    }
                    entry.set_received(body.len());
                    self.fill().await.map_err(|Gone| BodyError::Gone)?;
                }
            }
        }
    }

    /// Sleeps for `dur` while watching for the client closing the connection.
    pub async fn wait(&mut self, dur: Duration) -> Result<(), Gone> {
        if dur.is_zero() {
            return Ok(());
        }
        let sleep = tokio::time::sleep(dur);
        tokio::pin!(sleep);
        loop {
            if self.buf.len() >= WATCH_LIMIT {
                sleep.await;
                return Ok(());
            }
            self.buf.reserve(4096);
            tokio::select! {
                _ = &mut sleep => return Ok(()),
                r = self.stream.read_buf(&mut self.buf) => match r {
                    Ok(0) | Err(_) => return Err(Gone),
                    Ok(_) => {}
                },
            }
        }
    }

    /// Returns once the client has closed the connection (input is discarded: the
    /// connection will not serve another request).
    pub async fn wait_closed(&mut self) {
        loop {
            self.buf.clear();
            if self.fill().await.is_err() {
                return;
            }
        }
    }

    async fn flush_out(&mut self) -> Result<(), Gone> {
        let result = self.stream.write_all(&self.out).await;
        self.out.clear();
        result.map_err(|_| Gone)
    }

    /// Writes `HTTP/1.1 100 Continue`.
    pub async fn send_continue(&mut self) -> Result<(), Gone> {
        self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        self.flush_out().await
    }

    /// Writes a whole response (head and body) in one write.
    pub async fn send_reply(
        &mut self,
        reply: &Reply,
        meta: Meta<'_>,
        keep_alive: bool,
        http10: bool,
    ) -> Result<(), Gone> {
        let mut out = std::mem::take(&mut self.out);
        out.reserve(256 + reply.body.len());
        write_head(
            &mut out,
            reply.status,
            reply.content_type,
            Some(reply.body.len()),
            meta,
        );
        write_extra(&mut out, &reply.headers);
        write_connection(&mut out, keep_alive, http10);
        out.extend_from_slice(&reply.body);
        self.out = out;
        self.flush_out().await
    }

    /// Writes a `200` stream response head (chunked unless the client is HTTP/1.0,
    /// in which case the body ends with the connection).
    pub async fn send_stream_head(
        &mut self,
        content_type: &str,
        meta: Meta<'_>,
        http10: bool,
    ) -> Result<(), Gone> {
        let mut out = std::mem::take(&mut self.out);
        write_head(&mut out, 200, content_type, None, meta);
        if http10 {
            out.extend_from_slice(b"connection: close\r\n\r\n");
        } else {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        }
        self.out = out;
        self.flush_out().await
    }

    /// Writes one stream event as its own chunk (or raw for HTTP/1.0).
    pub async fn send_chunk(&mut self, data: &[u8], chunked: bool) -> Result<(), Gone> {
        if chunked {
            let _ = write!(self.out, "{:x}\r\n", data.len());
            self.out.extend_from_slice(data);
            self.out.extend_from_slice(b"\r\n");
        } else {
            self.out.extend_from_slice(data);
        }
        self.flush_out().await
    }

    /// Writes the terminating zero-length chunk.
    pub async fn send_last_chunk(&mut self) -> Result<(), Gone> {
        self.out.extend_from_slice(b"0\r\n\r\n");
        self.flush_out().await
    }

    /// Closes the write side, then drains input briefly so that unread request bytes
    /// do not turn the close into a reset that could destroy the response in flight.
    pub async fn close_gracefully(mut self) {
        let _ = self.stream.shutdown().await;
        let drain = async {
            let mut total = 0usize;
            while total < 4 * READ_CHUNK * 16 {
                self.buf.clear();
                match self.fill().await {
                    Ok(()) => total += self.buf.len(),
                    Err(Gone) => return,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
    }
}

/// Status line, content headers and the mock's own headers.
fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    content_type: &str,
    length: Option<usize>,
    meta: Meta<'_>,
) {
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\n",
        reason(status)
    );
    if let Some(len) = length {
        let _ = write!(out, "content-length: {len}\r\n");
    }
    out.extend_from_slice(b"x-mock-name: ");
    // The name comes from configuration; control bytes would break the head.
    out.extend(meta.name.bytes().filter(|b| *b >= 0x20 && *b != 0x7f));
    let _ = write!(
        out,
        "\r\nx-mock-body-len: {}\r\nx-mock-body-fnv: {:016x}\r\nx-request-id: req_mock{:020}\r\n",
        meta.body_len, meta.body_fnv, meta.seq
    );
}

fn write_extra(out: &mut Vec<u8>, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
}

fn write_connection(out: &mut Vec<u8>, keep_alive: bool, http10: bool) {
    match (keep_alive, http10) {
        (false, _) => out.extend_from_slice(b"connection: close\r\n\r\n"),
        (true, true) => out.extend_from_slice(b"connection: keep-alive\r\n\r\n"),
        (true, false) => out.extend_from_slice(b"\r\n"),
    }
}

/// Reason phrase for the statuses the mock uses.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Site Overloaded",
        _ => "Status",
    }
}
