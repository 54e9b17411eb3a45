//! Client connections before Pingora sees them: connection caps and the request-header
//! clock and limits.
//!
//! Pingora reads a request header with a timeout *per read* (60 s) and keeps an idle
//! connection without limit, so a client sending one header byte a minute, or 20,000
//! sockets that never send anything, hold their file descriptors and memory forever.
//! [`EdgeApp`] wraps the data-plane application: every accepted connection is counted
//! (globally and per client IP, released when the connection is dropped) and refused
//! with a `503` when over the cap, and its stream is wrapped in an [`EdgeStream`],
//! which
//! - gives the whole request header `client.header_timeout_ms`, from the accept for the
//!   first request and from its first byte on a kept-alive connection (the idle wait
//!   between requests is Pingora's keep-alive timeout, set per request by
//!   `edge::clocks`); the clock is armed when a header read first has to wait, which
//!   is at once after the accept or the first byte, so a header that arrives whole
//!   takes no timer;
//! - bounds the header's size and line count (`client.max_header_bytes`,
//!   `client.max_headers`);
//! - answers a client that breaks those rules with `408`/`431` in the dialect its
//!   request line names, then closes.
//!
//! The stream tells a request header from the rest by the bytes themselves: a header
//! starts with the first byte read after the gateway wrote a response (informational
//! `100 Continue` excepted) and ends at the first empty line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use once_cell::sync::Lazy;
use pingora::apps::ServerApp;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::Stream;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    TimingDigest, UniqueID, UniqueIDType,
};
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::config::client::ClientLimits;
use crate::metrics;
use crate::runtime::Gateway;

use super::header_scan::{HeaderScan, Scanned};
use super::refusal::{dialect_refusal, refuse};

/// Open client connections, per process and per client IP.
static OPEN: AtomicUsize = AtomicUsize::new(0);
static PER_IP: Lazy<Mutex<HashMap<IpAddr, usize>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// A counted connection; uncounted when dropped (with the connection).
#[derive(Debug)]
pub struct ConnSlot {
    ip: Option<IpAddr>,
}

impl ConnSlot {
    /// Count a new connection, or `None` when a cap is reached.
    pub fn take(ip: Option<IpAddr>, limits: &ClientLimits) -> Option<ConnSlot> {
        let open = OPEN.fetch_add(1, Ordering::AcqRel) + 1;
        // From here on, dropping `slot` gives the count back.
        let mut slot = ConnSlot { ip: None };
        if limits.max_connections > 0 && open > limits.max_connections {
            return None;
        }
        let (Some(ip), true) = (ip, limits.max_connections_per_ip > 0) else {
            return Some(slot);
        };
        let mut per_ip = PER_IP.lock().ok()?;
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_ip {
            return None;
        }
        *n += 1;
        slot.ip = Some(ip);
        Some(slot)
    }

    /// Connections open now.
    pub fn open() -> usize {
        OPEN.load(Ordering::Acquire)
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let open = OPEN.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
        metrics::CLIENT_CONNECTIONS.set(open as i64);
        let Some(ip) = self.ip else { return };
        if let Ok(mut per_ip) = PER_IP.lock() {
            if let Some(n) = per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
    }
}

/// The data-plane application behind the edge checks.
pub struct EdgeApp<A> {
    inner: Arc<A>,
    gateway: Arc<Gateway>,
}

impl<A> EdgeApp<A> {
    pub fn new(inner: A, gateway: Arc<Gateway>) -> Self {
        EdgeApp {
            inner: Arc::new(inner),
            gateway,
        }
    }
}

fn client_ip(stream: &Stream) -> Option<IpAddr> {
    let digest = stream.get_socket_digest()?;
    match digest.peer_addr()? {
        SocketAddr::Inet(addr) => Some(addr.ip()),
        _ => None,
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for EdgeApp<A> {
    async fn process_new(
        self: &Arc<Self>,
        session: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let limits = self.gateway.snapshot().config.client.clone();
        let Some(slot) = ConnSlot::take(client_ip(&session), &limits) else {
            metrics::CONNECTIONS_REFUSED.inc();
            refuse(session).await;
            return None;
        };
        metrics::CLIENT_CONNECTIONS.set(ConnSlot::open() as i64);
        let stream: Stream = Box::new(EdgeStream::new(session, limits, slot));
        let reuse = self.inner.process_new(stream, shutdown).await;
        crate::proxy::idle::connection_closed();
        reuse
    }

    async fn cleanup(&self) {
        self.inner.cleanup().await
    }
}

/// Where the connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request header (until its empty line), under the header deadline.
    Header,
    /// The header is in: body, response, idle keep-alive wait. No clock here (the
    /// body clock runs in `edge::body`, the idle one is Pingora's keep-alive).
    Past,
}

/// A client stream with the header clock and limits (see the module doc).
#[derive(Debug)]
pub struct EdgeStream {
    inner: Stream,
    limits: ClientLimits,
    phase: Phase,
    /// Set when the gateway wrote a (final) response: the next byte read starts a
    /// new request header.
    responded: bool,
    /// The header clock, armed when a header read first has to wait: a header that
    /// arrives whole (the usual case) takes no timer, no allocation, no clock read.
    deadline: Option<Pin<Box<Sleep>>>,
    header: HeaderScan,
    /// An error answer being written before the read fails.
    failing: Option<(Vec<u8>, std::io::ErrorKind)>,
    _slot: ConnSlot,
}

impl EdgeStream {
    pub fn new(inner: Stream, limits: ClientLimits, slot: ConnSlot) -> Self {
        EdgeStream {
            inner,
            limits,
            phase: Phase::Header,
            responded: false,
            deadline: None,
            header: HeaderScan::default(),
            failing: None,
            _slot: slot,
        }
    }

    /// A new request header starts (first byte after a response).
    fn start_header(&mut self) {
        self.phase = Phase::Header;
        self.responded = false;
        self.header.reset();
        self.deadline = None;
    }

    /// Whether the header deadline has passed, arming it on the first wait of this
    /// header (the clock starts then: at most one read's work after its first byte).
    fn header_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let timeout = self.limits.header_timeout;
        let deadline = (self.deadline).get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        deadline.as_mut().poll(cx).is_ready()
    }

    /// Account for header bytes just read; an error answer when a limit is broken.
    fn scan_header(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let (max_bytes, max_lines) = (self.limits.max_header_bytes, self.limits.max_headers + 1);
        match self.header.scan(data, max_bytes, max_lines) {
            Scanned::More => None,
            Scanned::End => {
                self.phase = Phase::Past;
                self.deadline = None;
                None
            }
            Scanned::TooLarge => {
                Some(self.answer(431, "invalid_request_error", "request header too large"))
            }
        }
    }

    fn answer(&self, status: u16, kind: &str, message: &str) -> Vec<u8> {
        metrics::CLIENT_REJECTS
            .with_label_values(&[if status == 408 {
                "header_timeout"
            } else {
                "header_too_large"
            }])
            .inc();
        dialect_refusal(status, self.header.request_line(), kind, message)
    }

    /// Write the pending error answer (best effort), then fail the read.
    fn poll_fail(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some((bytes, kind)) = self.failing.as_mut() {
            while !bytes.is_empty() {
                match Pin::new(&mut self.inner).poll_write(cx, bytes) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        bytes.drain(..n);
                    }
                    Poll::Pending => return Poll::Pending,
                    _ => break,
                }
            }
            let _ = Pin::new(&mut self.inner).poll_flush(cx);
            let kind = *kind;
            bytes.clear();
            return Poll::Ready(Err(std::io::Error::new(
                kind,
                "client broke the request header rules",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for EdgeStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.failing.is_some() {
            return this.poll_fail(cx);
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        match read {
            Poll::Ready(Ok(())) => {
                let got = buf.filled().len() - before;
                if got == 0 {
                    return Poll::Ready(Ok(()));
                }
                if this.phase == Phase::Past && this.responded {
                    this.start_header();
                }
                if this.phase == Phase::Header {
                    if let Some(answer) = this.scan_header(&buf.filled()[before..]) {
                        // Nothing of this read reaches Pingora.
                        buf.set_filled(before);
                        this.failing = Some((answer, std::io::ErrorKind::InvalidData));
                        return this.poll_fail(cx);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.phase != Phase::Header {
                    return Poll::Pending;
                }
                if !this.header_expired(cx) {
                    return Poll::Pending;
                }
                this.deadline = None;
                if this.header.is_empty() {
                    // Never said anything: just close (as nginx does).
                    metrics::CLIENT_REJECTS
                        .with_label_values(&["idle_connection"])
                        .inc();
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no request within the header timeout",
                    )));
                }
                let answer = this.answer(
                    408,
                    "timeout_error",
                    "the request header took too long to arrive",
                );
                this.failing = Some((answer, std::io::ErrorKind::TimedOut));
                this.poll_fail(cx)
            }
            other => other,
        }
    }
}

use std::future::Future;

impl AsyncWrite for EdgeStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        // `HTTP/1.1 1xx` is informational (100 Continue): the request goes on.
        if !buf.starts_with(b"HTTP/1.1 1") && !buf.starts_with(b"HTTP/1.0 1") {
            this.responded = true;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map(|b| &b[..])
            .unwrap_or(&[]);
        if !first.starts_with(b"HTTP/1.1 1") && !first.starts_with(b"HTTP/1.0 1") {
            this.responded = true;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for EdgeStream {
    async fn shutdown(&mut self) {
        Shutdown::shutdown(&mut *self.inner).await
    }
}

impl UniqueID for EdgeStream {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for EdgeStream {
    fn get_ssl(&self) -> Option<&pingora::protocols::tls::TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<pingora::protocols::tls::SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<pingora::protocols::ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for EdgeStream {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for EdgeStream {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for EdgeStream {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for EdgeStream {
    async fn try_peek(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
