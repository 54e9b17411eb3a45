//! Serving a pre-read request body to Pingora, at any size.
//!
//! Routing needs `model` from the JSON body, but Pingora picks the upstream
//! (`upstream_peer`) before it reads the body. Reading the body ourselves in
//! `request_filter` consumes it, and Pingora then replays it to `request_body_filter`
//! only from its retry buffer, which is capped at 64 KiB (`BODY_BUF_LIMIT` in
//! pingora-core 0.9.1, not configurable; cloudflare/pingora issues #575 and #780, PR
//! #816). Above that the upstream receives no body and the request hangs, and no
//! retry of such a body is possible. LLM requests from coding agents are routinely
//! 100 KiB to several MiB, so this is the common case.
//!
//! The way through Pingora's public API: after reading (and rewriting) the body, we
//! replace `Session::downstream_session` with an `HttpSession::Custom` wrapping the
//! real session. The wrapper delegates everything to the real session except the
//! request-body methods: it reports the body as fully read and returns the pre-read
//! body from `get_retry_buffer()`. Pingora's H1 and H2 upstream paths then send that
//! buffer through `request_body_filter` on every attempt, so every retry and fallback
//! gets the whole body, whatever its size (the buffer is a refcounted `Bytes`: no copy
//! per attempt).
//!
//! Rules that keep it correct (each one was a bug when missing):
//! - The real session is handed back (see [`restore`]) in `logging` and at the top of
//!   `fail_to_proxy`: `HttpSession::finish()` closes the connection for `Custom`
//!   sessions, so without the swap back keep-alive would silently break, and error
//!   responses would claim keep-alive on a connection that is then closed.
//! - Settings that Pingora applies to H1/H2 sessions only (`set_keepalive`,
//!   `set_close_on_response_before_downstream_finish`, ...) are no-ops on `Custom`:
//!   apply them before wrapping or after restoring.
//! - `Host` must be set by us in `upstream_request_filter`: Pingora skips its authority
//!   reconciliation for custom sessions.
//! - The wrapper also holds a whole response back until its end (`hold`) and runs the
//!   request's [`Watch`] in `read_body_or_idle` (stream timeouts, SSE keepalives).
//! - The custom session trait is `#[doc(hidden)]`, hence pingora is pinned exactly in
//!   Cargo.toml; re-check this module on every pingora upgrade.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderMap;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::protocols::http::custom::server::Session as CustomSession;
use pingora::protocols::http::custom::CustomMessageWrite;
use pingora::protocols::http::server::Session as HttpSession;
use pingora::protocols::http::HttpTask;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::protocols::Digest;
use pingora::{Error, ErrorType, Result};
use pingora_proxy::Session;

use crate::edge::header_value;

use super::alarm::Alarm;
use super::ctx::Slots;
use super::watch::{Next, KEEPALIVE_COMMENT};

/// Where the real downstream session waits while the wrapper is installed. The
/// wrapper puts the real session back here when it is dropped.
pub type SessionSlot = Mutex<Option<Box<HttpSession>>>;

pub use super::hold::{
    hold_response, replace_held_header, reset_hold, with_held_body, Hold, HoldSlot,
};

/// A downstream session whose request body was already read in full.
struct PrereadSession {
    inner: Box<HttpSession>,
    body: Bytes,
    slots: Arc<Slots>,
    alarm: Alarm,
}

impl PrereadSession {
    fn holding(&self) -> bool {
        self.slots.hold.is_enabled()
    }

    /// Take in one response task while holding; true when the response is complete.
    fn hold_task(&self, task: HttpTask) -> bool {
        self.slots.hold.lock().map_or(true, |mut h| h.take(task))
    }

    /// Whether Pingora's response header goes out (not after a keepalive committed one).
    fn header_passes(&self, header: &ResponseHeader) -> bool {
        self.slots
            .watch
            .lock()
            .map_or(true, |mut w| w.on_header(header))
    }

    /// What of a response task goes to the client while not holding (not an error).
    fn pass(&self, task: HttpTask) -> Option<HttpTask> {
        match task {
            // A keepalive committed the header: only the end of a body-less answer is
            // left to pass on.
            HttpTask::Header(header, end) if !self.header_passes(&header) => {
                end.then_some(HttpTask::Body(None, true))
            }
            HttpTask::Body(Some(data), end) => {
                self.note_write(&data);
                Some(HttpTask::Body(Some(data), end))
            }
            task => Some(task),
        }
    }

    /// Take in the tasks of a held response; write it once complete.
    async fn hold_tasks(&mut self, tasks: Vec<HttpTask>) -> Result<bool> {
        let mut done = false;
        for task in tasks {
            if let HttpTask::Failed(e) = task {
                // Nothing of the held response was sent: the error is answered
                // properly by the proxy instead.
                return Err(e);
            }
            done |= self.hold_task(task);
        }
        if done {
            self.release().await?;
        }
        Ok(done)
    }

    /// Write tasks one of which is an upstream failure.
    async fn write_with_failure(&mut self, tasks: Vec<HttpTask>) -> Result<bool> {
        let mut passed = Vec::with_capacity(tasks.len());
        for task in tasks {
            match task {
                HttpTask::Failed(e) => {
                    if self.continue_elsewhere() {
                        // Mid-stream failover: what passed goes out, then the error
                        // goes to the proxy, which continues the stream on another
                        // upstream (the retry's header is dropped).
                        if !passed.is_empty() {
                            self.inner.response_duplex_vec(passed).await?;
                        }
                        return Err(e);
                    }
                    let timed_out = *e.etype() == ErrorType::ReadTimedout;
                    let event = self.end_of_failed_stream(timed_out);
                    let Some(event) = event else {
                        passed.push(HttpTask::Failed(e));
                        continue;
                    };
                    // The upstream failed mid-stream: end the client's stream properly
                    // here, so that Pingora sees a complete answer and keeps the
                    // client's connection (after a proxy error it never reuses it).
                    log::warn!("upstream stream failed mid-way: {e}");
                    if !passed.is_empty() {
                        self.inner.response_duplex_vec(passed).await?;
                    }
                    self.inner
                        .write_response_body(Bytes::from(event), true)
                        .await?;
                    return Ok(true);
                }
                task => passed.extend(self.pass(task)),
            }
        }
        self.write_passed(passed).await
    }

    /// Write the tasks that passed, the last one after what it must wait for.
    async fn write_passed(&mut self, passed: Vec<HttpTask>) -> Result<bool> {
        let ends = |t: &HttpTask| matches!(t, HttpTask::Body(_, true) | HttpTask::Done);
        if passed.iter().any(ends) {
            super::hold::end_barrier(&self.slots.hold).await;
        }
        self.inner.response_duplex_vec(passed).await
    }

    /// Note a body write of upstream bytes.
    fn note_write(&self, data: &[u8]) {
        if let Ok(mut w) = self.slots.watch.lock() {
            // Upstream bytes go out in the turn their chunk arrived: its instant is
            // the time (one clock read per event, not three).
            let now = w.last_chunk().unwrap_or_else(Instant::now);
            w.on_write(now, data, false);
        }
    }

    /// Whether a mid-stream failure is continued on another upstream.
    fn continue_elsewhere(&self) -> bool {
        let started = self
            .inner
            .response_written()
            .is_some_and(|r| !r.status.is_informational());
        started && self.slots.watch.lock().is_ok_and(|mut w| w.try_continue())
    }

    /// The event ending a stream whose upstream failed, when the client's response is
    /// an event stream already under way.
    fn end_of_failed_stream(&self, timed_out: bool) -> Option<Vec<u8>> {
        let started = self
            .inner
            .response_written()
            .is_some_and(|r| !r.status.is_informational());
        if !started {
            return None;
        }
        self.slots
            .watch
            .lock()
            .ok()?
            .end_failed_stream_by(timed_out)
    }

    /// Write an SSE keepalive comment, committing the response header first if the
    /// upstream has not answered yet.
    async fn keepalive(&mut self) -> Result<()> {
        let commit = self
            .slots
            .watch
            .lock()
            .ok()
            .and_then(|mut w| w.take_commit_header());
        if let Some(mut header) = commit {
            if !self.inner.is_http2() {
                header.insert_header("transfer-encoding", "chunked")?;
            }
            self.inner.write_response_header(Box::new(header)).await?;
        }
        self.inner
            .write_response_body(Bytes::from_static(KEEPALIVE_COMMENT), false)
            .await?;
        if let Ok(mut w) = self.slots.watch.lock() {
            w.on_write(Instant::now(), KEEPALIVE_COMMENT, true);
        }
        Ok(())
    }

    /// Write the held response (or its replacement) in one go.
    async fn release(&mut self) -> Result<()> {
        if !self.slots.hold.disable() {
            return Ok(());
        }
        let (header, body) = {
            let Ok(mut h) = self.slots.hold.lock() else {
                return Ok(());
            };
            let header = h.replacement.take().or_else(|| h.header.take());
            (header, std::mem::take(&mut h.body).into_bytes())
        };
        let Some(mut header) = header else {
            return Ok(());
        };
        super::hold::end_barrier(&self.slots.hold).await;
        if self.header_passes(&header) {
            header.remove_header(&TRANSFER_ENCODING);
            header.insert_header(CONTENT_LENGTH, header_value::count(body.len() as u64))?;
            self.inner.write_response_header(header).await?;
        }
        self.note_write(&body);
        self.inner.write_response_body(body, true).await
    }
}

impl Drop for PrereadSession {
    fn drop(&mut self) {
        let real = std::mem::replace(&mut self.inner, placeholder_session());
        if let Ok(mut slot) = self.slots.slot.lock() {
            *slot = Some(real);
        }
    }
}

/// A session that is never used: it only fills the place of the real session for the
/// instant of a swap (`()` implements the custom session trait for that purpose).
fn placeholder_session() -> Box<HttpSession> {
    Box::new(HttpSession::new_custom(Box::new(())))
}

/// Replace the downstream session with a wrapper that serves `body` as the whole,
/// already-read request body. Only call it for requests that are not upgrades.
pub fn install(session: &mut Session, body: Bytes, slots: &Arc<Slots>) {
    let inner = std::mem::replace(&mut session.downstream_session, placeholder_session());
    let wrapper = PrereadSession {
        inner,
        body,
        slots: slots.clone(),
        alarm: Alarm::default(),
    };
    *session.downstream_session = HttpSession::new_custom(Box::new(wrapper));
}

/// Put the real downstream session back if the wrapper is installed. Idempotent.
pub fn restore(session: &mut Session, slot: &SessionSlot) {
    if !session.downstream_session.is_custom() {
        return;
    }
    // Dropping the wrapper moves the real session into the slot.
    drop(std::mem::replace(
        &mut session.downstream_session,
        placeholder_session(),
    ));
    let real = slot.lock().ok().and_then(|mut s| s.take());
    if let Some(real) = real {
        session.downstream_session = real;
    }
}

type MessageReader = Box<dyn Stream<Item = Result<Bytes>> + Unpin + Send + Sync + 'static>;

#[async_trait]
impl CustomSession for PrereadSession {
    fn req_header(&self) -> &RequestHeader {
        self.inner.req_header()
    }

    fn req_header_mut(&mut self) -> &mut RequestHeader {
        self.inner.req_header_mut()
    }

    // The body was read before the wrapper was installed.
    async fn read_body_bytes(&mut self) -> Result<Option<Bytes>> {
        Ok(None)
    }

    async fn drain_request_body(&mut self) -> Result<()> {
        Ok(())
    }

    async fn write_response_header(&mut self, resp: Box<ResponseHeader>, end: bool) -> Result<()> {
        if self.holding() {
            if self.hold_task(HttpTask::Header(resp, end)) {
                self.release().await?;
            }
            return Ok(());
        }
        if !self.header_passes(&resp) {
            return Ok(());
        }
        self.inner.write_response_header(resp).await
    }

    async fn write_response_header_ref(&mut self, resp: &ResponseHeader, end: bool) -> Result<()> {
        if self.holding() {
            return self
                .write_response_header(Box::new(resp.clone()), end)
                .await;
        }
        if !self.header_passes(resp) {
            return Ok(());
        }
        self.inner.write_response_header_ref(resp).await
    }

    async fn write_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        if self.holding() {
            if self.hold_task(HttpTask::Body(Some(data), end)) {
                self.release().await?;
            }
            return Ok(());
        }
        self.note_write(&data);
        if end {
            super::hold::end_barrier(&self.slots.hold).await;
        }
        self.inner.write_response_body(data, end).await
    }

    async fn write_trailers(&mut self, trailers: HeaderMap) -> Result<()> {
        self.inner.write_response_trailers(trailers).await
    }

    // Every event of a stream comes this way, each call a new boxed future: the rare
    // paths (a held response, a failed upstream) are futures of their own, boxed
    // only when taken, so that this one stays small.
    async fn response_duplex_vec(&mut self, tasks: Vec<HttpTask>) -> Result<bool> {
        if self.holding() {
            return Box::pin(self.hold_tasks(tasks)).await;
        }
        if tasks.iter().any(|t| matches!(t, HttpTask::Failed(_))) {
            return Box::pin(self.write_with_failure(tasks)).await;
        }
        // Filtered in place (collecting a vector's own iterator into the same type
        // reuses its buffer).
        let passed = tasks.into_iter().filter_map(|t| self.pass(t)).collect();
        self.write_passed(passed).await
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_read_timeout(timeout)
    }

    fn get_read_timeout(&self) -> Option<Duration> {
        self.inner.get_read_timeout()
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_write_timeout(timeout)
    }

    fn get_write_timeout(&self) -> Option<Duration> {
        self.inner.get_write_timeout()
    }

    fn set_total_drain_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_total_drain_timeout(timeout)
    }

    fn get_total_drain_timeout(&self) -> Option<Duration> {
        self.inner.get_total_drain_timeout()
    }

    fn request_summary(&self) -> String {
        self.inner.request_summary()
    }

    fn response_written(&self) -> Option<&ResponseHeader> {
        self.inner.response_written()
    }

    async fn shutdown(&mut self, _code: u32, _ctx: &str) {
        self.inner.shutdown().await
    }

    fn is_body_done(&mut self) -> bool {
        true
    }

    async fn finish(&mut self) -> Result<()> {
        self.release().await?;
        super::hold::end_barrier(&self.slots.hold).await;
        self.inner.finish_body().await
    }

    fn is_body_empty(&mut self) -> bool {
        self.body.is_empty()
    }

    // The body is fully read, so a further read only detects the client going away.
    // Pingora polls this alongside the upstream's next chunk, for as long as it
    // proxies (the future is dropped whenever the upstream side is ready first):
    // the watch's keepalives and timeouts run here.
    //
    // It is called again after every chunk: the first decision takes the chunk's
    // instant as the time. A stale time can only make a clock look unexpired, and the
    // alarm is set for the deadline itself, so an expiry is seen when it rings (the
    // clock is read from then on), at most a timer tick late.
    async fn read_body_or_idle(&mut self, _no_body_expected: bool) -> Result<Option<Bytes>> {
        let mut woken = false;
        loop {
            let holding = self.holding();
            let next = self.slots.watch.lock().map_or(Next::Nothing, |mut w| {
                let chunk_time = if woken { None } else { w.last_chunk() };
                w.next(chunk_time.unwrap_or_else(Instant::now), holding)
            });
            match next {
                Next::Nothing => return self.inner.read_body_or_idle(true).await,
                Next::Expire(which) => {
                    return Error::e_explain(ErrorType::ReadTimedout, which.message())
                }
                // Boxed: rare, and its writes would swell every poll's future.
                Next::Keepalive => Box::pin(self.keepalive()).await?,
                Next::SleepUntil(at) => {
                    // `biased`: polled in order, without drawing a random start
                    // (this runs for every event of a stream).
                    tokio::select! {
                        biased;
                        read = self.inner.read_body_or_idle(true) => return read,
                        () = self.alarm.ring_by(at) => {}
                    }
                }
            }
            woken = true;
        }
    }

    fn body_bytes_sent(&self) -> usize {
        self.inner.body_bytes_sent()
    }

    fn body_bytes_read(&self) -> usize {
        self.inner.body_bytes_read()
    }

    fn digest(&self) -> Option<&Digest> {
        self.inner.digest()
    }

    fn digest_mut(&mut self) -> Option<&mut Digest> {
        self.inner.digest_mut()
    }

    fn client_addr(&self) -> Option<&SocketAddr> {
        self.inner.client_addr()
    }

    fn server_addr(&self) -> Option<&SocketAddr> {
        self.inner.server_addr()
    }

    fn pseudo_raw_h1_request_header(&self) -> Bytes {
        self.inner.to_h1_raw()
    }

    fn enable_retry_buffering(&mut self) {}

    fn retry_buffer_truncated(&self) -> bool {
        false
    }

    /// The whole pre-read body, for every attempt (refcounted, not copied).
    fn get_retry_buffer(&self) -> Option<Bytes> {
        (!self.body.is_empty()).then(|| self.body.clone())
    }

    async fn finish_custom(&mut self) -> Result<()> {
        Ok(())
    }

    // No custom (non-HTTP) messages: Pingora then skips custom-message forwarding.
    fn take_custom_message_reader(&mut self) -> Option<MessageReader> {
        None
    }

    fn restore_custom_message_reader(&mut self, _reader: MessageReader) -> Result<()> {
        Ok(())
    }

    fn take_custom_message_writer(&mut self) -> Option<Box<dyn CustomMessageWrite>> {
        None
    }

    fn restore_custom_message_writer(&mut self, _w: Box<dyn CustomMessageWrite>) -> Result<()> {
        Ok(())
    }
}
