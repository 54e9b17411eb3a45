//! Watching a response from the downstream side: stream timeouts that Pingora cannot
//! express, and SSE comment keepalives while a stream has nothing to say.
//!
//! Pingora has one upstream read timeout, for the response header and every body
//! chunk alike. A stream needs three different clocks: time to the first token
//! (reasoning models think for minutes), the gap between two tokens (seconds) and the
//! whole request. And a client behind a load balancer with a 60 s idle timeout loses
//! a long-thinking stream unless something is written to it meanwhile.
//!
//! While Pingora proxies, it polls the downstream session's `read_body_or_idle` in
//! the same `select!` as the upstream's next chunk (to notice a client going away).
//! The pre-read session wrapper (see `preread`) answers that poll with
//! [`Watch::next`]: it sleeps until the earliest deadline, then writes a keepalive
//! comment or fails the poll with a timeout. The request context feeds the watch the
//! upstream's progress from the body filter; the wrapper feeds it what it wrote.
//!
//! A keepalive before the upstream answered means the response header must go out
//! first: the wrapper then writes a `200 text/event-stream` header of its own
//! ("commits") and drops Pingora's later one. After a commit, an upstream error can
//! only reach the client in-band, as an SSE error event, like a failure mid-stream;
//! retries and fallbacks still work, since no upstream byte has reached the client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pingora::http::ResponseHeader;

use crate::config::Timeouts;
use crate::error::{ErrorKind, GatewayError};

/// The SSE comment written as a keepalive.
pub const KEEPALIVE_COMMENT: &[u8] = b": keepalive\n\n";

/// Which clock ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No first body chunk within the first-byte timeout.
    FirstByte,
    /// No chunk within the idle timeout after the previous one.
    Idle,
    /// The whole request took longer than its total timeout.
    Total,
}

impl Expired {
    pub fn message(self) -> &'static str {
        match self {
            Expired::FirstByte => "The upstream sent nothing within the first-byte timeout",
            Expired::Idle => "The upstream stream stalled longer than the idle timeout",
            Expired::Total => "The upstream did not finish within the total timeout",
        }
    }
}

/// What the downstream side should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing to watch: wait for the client only.
    Nothing,
    /// Sleep until this instant, then ask again.
    SleepUntil(Instant),
    /// Write a keepalive comment now (committing the header first if needed).
    Keepalive,
    /// Fail the request with this timeout.
    Expire(Expired),
}

/// The watch over one request, shared by the request context and the session wrapper.
#[derive(Default)]
pub struct Watch {
    attempt: Option<AttemptClock>,
    total_deadline: Option<Instant>,
    /// When the client's request (body included) was in: `total` runs from here, so
    /// that a slow upload is never counted as the upstream's time.
    request_received: Option<Instant>,
    /// The client's dialect, for events the wrapper writes itself.
    dialect: Option<crate::error::Dialect>,
    keepalive: Option<Duration>,
    /// The header to write when a keepalive has to go out before the upstream's.
    /// Boxed: only a stream with keepalives needs it, and every request carries the slot.
    commit_header: Option<Box<ResponseHeader>>,
    committed: bool,
    /// Pingora's response header went through (or was dropped after a commit).
    header_passed: bool,
    /// The response is an event stream (committed, or an SSE header went through).
    event_stream: bool,
    /// Bytes of the upstream's response reached the client.
    body_sent: bool,
    last_write: Option<Instant>,
    /// The last write ended an SSE event, so a comment may follow.
    at_event_boundary: bool,
    expired: Option<Expired>,
    /// How this attempt's event stream ends if the upstream connection fails mid-way:
    /// the error, and the client's dialect its in-band event is written in.
    stream_failure: Option<(GatewayError, crate::error::Dialect)>,
    /// The error a stream was ended with by the wrapper (the proxy saw no error).
    ended_with: Option<GatewayError>,
    /// The stream may be continued on another upstream if this one fails
    /// (mid-stream failover armed by the proxy).
    may_continue: bool,
    /// The wrapper handed a mid-stream failure to the proxy to continue the stream.
    continuing: bool,
}

#[derive(Clone, Copy)]
struct AttemptClock {
    started: Instant,
    first_byte: Duration,
    idle: Duration,
    last_chunk: Option<Instant>,
}

pub type WatchSlot = Mutex<Watch>;

impl Watch {
    /// The client's request is complete: the upstream's `total` clock starts here.
    pub fn request_received(&mut self, at: Instant, dialect: crate::error::Dialect) {
        self.request_received = Some(at);
        self.dialect = Some(dialect);
    }

    /// Watch a new attempt with its timeouts. `keepalive_header` is the header to
    /// commit with if a keepalive must go out before the upstream answers (streams with
    /// keepalives enabled only).
    pub fn begin_attempt(
        &mut self,
        now: Instant,
        request_started: Instant,
        timeouts: &Timeouts,
        keepalive_header: Option<ResponseHeader>,
    ) {
        self.attempt = Some(AttemptClock {
            started: now,
            first_byte: timeouts.first_byte,
            idle: timeouts.idle,
            last_chunk: None,
        });
        let from = self
            .request_received
            .map_or(request_started, |r| r.max(request_started));
        self.total_deadline = timeouts.total.map(|t| from + t);
        self.keepalive = keepalive_header.as_ref().and(timeouts.sse_keepalive);
        if !self.committed {
            self.commit_header = keepalive_header.map(Box::new);
            self.header_passed = false;
            self.event_stream = false;
            self.at_event_boundary = true;
            self.last_write = Some(now);
        }
        self.expired = None;
        self.stream_failure = None;
    }

    /// This attempt's answer is an event stream: if its upstream fails mid-way, end
    /// the client's stream with `err` as an event in `dialect` and keep the
    /// connection. The event is rendered only then: nearly every stream ends well.
    pub fn set_stream_failure(&mut self, err: GatewayError, dialect: crate::error::Dialect) {
        self.stream_failure = Some((err, dialect));
    }

    /// The in-band event ending a stream whose upstream failed, if it is one; the
    /// error is kept for the request's log and metrics ([`Watch::ended_with`]).
    pub fn end_failed_stream(&mut self) -> Option<Vec<u8>> {
        self.end_failed_stream_by(false)
    }

    /// As [`Self::end_failed_stream`]; `timed_out` when the upstream failed by
    /// Pingora's own read timeout (the same idle time as this watch's clock, which it
    /// may beat by a hair): the stream then ends as a stall, not a broken connection.
    pub fn end_failed_stream_by(&mut self, timed_out: bool) -> Option<Vec<u8>> {
        let (mut err, armed_dialect) = self.stream_failure.take()?;
        let mut event_dialect = armed_dialect;
        if let (true, Some(dialect)) = (timed_out, self.dialect) {
            err = GatewayError::new(ErrorKind::UpstreamTimeout, Expired::Idle.message());
            event_dialect = dialect;
        }
        let mut event = err.sse_event(event_dialect);
        if !self.at_event_boundary {
            // The upstream died inside an event: close that one first.
            event.splice(0..0, b"\n\n".iter().copied());
        }
        self.ended_with = Some(err);
        Some(event)
    }

    /// Whether a failure of this attempt's stream may be continued elsewhere.
    pub fn set_may_continue(&mut self, may: bool) {
        self.may_continue = may;
    }

    /// The upstream failed mid-stream: continue it elsewhere if that was armed and
    /// the client is at an event boundary. The client's header then counts as
    /// committed (the continuation's is dropped) and no upstream body of the next
    /// attempt has been sent yet, so it may still be retried.
    pub fn try_continue(&mut self) -> bool {
        if !(self.may_continue && self.at_event_boundary && self.stream_failure.is_some()) {
            return false;
        }
        self.may_continue = false;
        self.stream_failure = None;
        self.committed = true;
        self.body_sent = false;
        self.continuing = true;
        true
    }

    /// Whether the wrapper asked for a continuation (once).
    pub fn take_continuing(&mut self) -> bool {
        std::mem::take(&mut self.continuing)
    }

    /// The error the wrapper ended a failed stream with.
    pub fn ended_with(&mut self) -> Option<GatewayError> {
        self.ended_with.take()
    }

    /// The upstream sent a body chunk.
    pub fn upstream_chunk(&mut self, now: Instant) {
        if let Some(clock) = &mut self.attempt {
            clock.last_chunk = Some(now);
        }
    }

    /// When the upstream's last body chunk of this attempt arrived.
    pub fn last_chunk(&self) -> Option<Instant> {
        self.attempt.and_then(|clock| clock.last_chunk)
    }

    /// The clock that ran out, if one did (read by the error hooks).
    pub fn expired(&self) -> Option<Expired> {
        self.expired
    }

    /// The wrapper wrote its own header: Pingora's must be dropped from now on.
    pub fn committed(&self) -> bool {
        self.committed
    }

    /// Whether upstream bytes reached the client: only then is a retry impossible.
    pub fn upstream_body_sent(&self) -> bool {
        self.body_sent
    }

    /// Pingora's header for the response; returns whether to write it.
    pub fn on_header(&mut self, header: &ResponseHeader) -> bool {
        self.header_passed = true;
        if self.committed {
            return false;
        }
        self.event_stream = is_event_stream(header);
        true
    }

    /// A body write to the client (upstream bytes, or a keepalive when `keepalive`).
    pub fn on_write(&mut self, now: Instant, data: &[u8], keepalive: bool) {
        if data.is_empty() {
            return;
        }
        self.last_write = Some(now);
        self.at_event_boundary = data.ends_with(b"\n\n") || data.ends_with(b"\r\n\r\n");
        if !keepalive {
            self.body_sent = true;
        }
    }

    /// Take the header to commit with, once; `None` if there is nothing to commit
    /// (a header already went out).
    pub fn take_commit_header(&mut self) -> Option<ResponseHeader> {
        if self.header_passed || self.committed {
            return None;
        }
        let header = self.commit_header.take()?;
        self.committed = true;
        self.event_stream = true;
        Some(*header)
    }

    /// Decide what to do at `now`. While the response is `holding` (kept back whole to
    /// be checked or translated), no keepalive may go out.
    pub fn next(&mut self, now: Instant, holding: bool) -> Next {
        let Some(clock) = self.attempt else {
            return Next::Nothing;
        };
        let (deadline, which) = match clock.last_chunk {
            None => (clock.started + clock.first_byte, Expired::FirstByte),
            Some(last) => (last + clock.idle, Expired::Idle),
        };
        let (deadline, which) = match self.total_deadline {
            Some(total) if total <= deadline => (total, Expired::Total),
            _ => (deadline, which),
        };
        if now >= deadline {
            self.expired = Some(which);
            return Next::Expire(which);
        }
        match self.keepalive_due(holding) {
            Some(due) if due <= now => Next::Keepalive,
            Some(due) => Next::SleepUntil(due.min(deadline)),
            None => Next::SleepUntil(deadline),
        }
    }

    /// When the next keepalive is due, if one may be written at all.
    fn keepalive_due(&self, holding: bool) -> Option<Instant> {
        let every = self.keepalive?;
        let may_write = !holding
            && self.at_event_boundary
            && (self.event_stream || (!self.header_passed && self.commit_header.is_some()));
        if !may_write {
            return None;
        }
        self.last_write.map(|t| t + every)
    }
}

fn is_event_stream(header: &ResponseHeader) -> bool {
    header
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|ct| {
            super::outbound::starts_with_ignore_case(ct.as_bytes(), b"text/event-stream")
        })
}

/// The header written by a commit: what every stream answer carries, known before the
/// upstream answers.
pub fn commit_header(
    request_id: &http::HeaderValue,
    rate_limit_headers: &[crate::policy::limits::RateLimitHeader],
) -> Option<ResponseHeader> {
    let mut h = ResponseHeader::build(200, Some(4 + rate_limit_headers.len())).ok()?;
    h.insert_header("content-type", "text/event-stream").ok()?;
    h.insert_header("cache-control", "no-cache").ok()?;
    h.insert_header("x-request-id", request_id.clone()).ok()?;
    for (name, value) in rate_limit_headers {
        h.insert_header(name.as_str(), value.clone()).ok()?;
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts(
        first_byte: u64,
        idle: u64,
        total: Option<u64>,
        keepalive: Option<u64>,
    ) -> Timeouts {
        Timeouts {
            first_byte: Duration::from_millis(first_byte),
            idle: Duration::from_millis(idle),
            total: total.map(Duration::from_millis),
            sse_keepalive: keepalive.map(Duration::from_millis),
            ..Timeouts::default()
        }
    }

    fn sse_header() -> ResponseHeader {
        let mut h = ResponseHeader::build(200, None).unwrap();
        h.insert_header("content-type", "text/event-stream")
            .unwrap();
        h
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_byte_then_idle_clocks() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.begin_attempt(t0, t0, &timeouts(1000, 100, None, None), None);
        assert_eq!(w.next(t0, false), Next::SleepUntil(t0 + ms(1000)));
        // Before the first chunk, the long first-byte clock applies, not the idle one.
        assert_eq!(w.next(t0 + ms(500), false), Next::SleepUntil(t0 + ms(1000)));
        w.upstream_chunk(t0 + ms(600));
        assert_eq!(w.next(t0 + ms(650), false), Next::SleepUntil(t0 + ms(700)));
        assert_eq!(w.next(t0 + ms(700), false), Next::Expire(Expired::Idle));
        assert_eq!(w.expired(), Some(Expired::Idle));
    }

    #[test]
    fn first_byte_expires_without_a_chunk() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.begin_attempt(t0, t0, &timeouts(300, 100, None, None), None);
        assert_eq!(
            w.next(t0 + ms(300), false),
            Next::Expire(Expired::FirstByte)
        );
    }

    #[test]
    fn total_clock_counts_from_the_request_start_across_attempts() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        let t = timeouts(10_000, 10_000, Some(500), None);
        w.begin_attempt(t0 + ms(400), t0, &t, None);
        assert_eq!(w.next(t0 + ms(400), false), Next::SleepUntil(t0 + ms(500)));
        assert_eq!(w.next(t0 + ms(501), false), Next::Expire(Expired::Total));
    }

    #[test]
    fn the_last_chunks_instant_gives_the_deadline_a_fresh_read_gives() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        let t = timeouts(100, 50, None, None);
        w.begin_attempt(t0, t0, &t, None);
        assert_eq!(
            w.last_chunk(),
            None,
            "no chunk yet: the caller reads the clock"
        );
        w.upstream_chunk(t0 + ms(10));
        let at_chunk = w.last_chunk().expect("a chunk arrived");
        assert_eq!(at_chunk, t0 + ms(10));
        // At the chunk's instant or later: the same idle deadline to sleep until.
        assert_eq!(w.next(at_chunk, false), Next::SleepUntil(t0 + ms(60)));
        assert_eq!(w.next(t0 + ms(40), false), Next::SleepUntil(t0 + ms(60)));
        // The time read once the alarm rang sees the expiry.
        assert_eq!(w.next(t0 + ms(60), false), Next::Expire(Expired::Idle));
        // A new attempt does not inherit the last one's chunk.
        w.begin_attempt(t0 + ms(70), t0, &t, None);
        assert_eq!(w.last_chunk(), None);
    }

    #[test]
    fn a_new_attempt_resets_the_clocks() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        let t = timeouts(100, 100, None, None);
        w.begin_attempt(t0, t0, &t, None);
        assert_eq!(
            w.next(t0 + ms(100), false),
            Next::Expire(Expired::FirstByte)
        );
        w.begin_attempt(t0 + ms(150), t0, &t, None);
        assert_eq!(w.expired(), None);
        assert_eq!(w.next(t0 + ms(200), false), Next::SleepUntil(t0 + ms(250)));
    }

    #[test]
    fn keepalive_before_the_header_commits_once() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        let t = timeouts(10_000, 10_000, None, Some(100));
        w.begin_attempt(t0, t0, &t, Some(sse_header()));
        assert_eq!(w.next(t0 + ms(50), false), Next::SleepUntil(t0 + ms(100)));
        assert_eq!(w.next(t0 + ms(100), false), Next::Keepalive);
        assert!(w.take_commit_header().is_some());
        assert!(w.take_commit_header().is_none());
        w.on_write(t0 + ms(100), KEEPALIVE_COMMENT, true);
        assert!(w.committed());
        assert!(!w.upstream_body_sent());
        assert_eq!(w.next(t0 + ms(150), false), Next::SleepUntil(t0 + ms(200)));
        // Pingora's own header is dropped after a commit, and a retry keeps the commit.
        assert!(!w.on_header(&sse_header()));
        w.begin_attempt(t0 + ms(300), t0, &t, Some(sse_header()));
        assert!(w.committed());
        assert!(w.take_commit_header().is_none());
    }

    #[test]
    fn no_keepalive_without_a_header_to_commit_or_when_disabled() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.begin_attempt(t0, t0, &timeouts(1000, 1000, None, Some(100)), None);
        assert_eq!(w.next(t0 + ms(500), false), Next::SleepUntil(t0 + ms(1000)));
        let mut w = Watch::default();
        w.begin_attempt(
            t0,
            t0,
            &timeouts(1000, 1000, None, None),
            Some(sse_header()),
        );
        assert_eq!(w.next(t0 + ms(500), false), Next::SleepUntil(t0 + ms(1000)));
    }

    #[test]
    fn keepalive_only_between_events_of_an_event_stream() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        let t = timeouts(10_000, 10_000, None, Some(100));
        w.begin_attempt(t0, t0, &t, Some(sse_header()));
        assert!(w.on_header(&sse_header()));
        w.upstream_chunk(t0 + ms(10));
        w.on_write(t0 + ms(10), b"data: {\"a\"", false);
        assert!(w.upstream_body_sent());
        // Mid-event: a comment would corrupt it.
        assert_eq!(
            w.next(t0 + ms(500), false),
            Next::SleepUntil(t0 + ms(10_010))
        );
        w.on_write(t0 + ms(20), b":1}\n\n", false);
        assert_eq!(w.next(t0 + ms(120), false), Next::Keepalive);
        // A JSON answer never gets comments.
        let mut w = Watch::default();
        w.begin_attempt(t0, t0, &t, Some(sse_header()));
        let mut json = ResponseHeader::build(400, None).unwrap();
        json.insert_header("content-type", "application/json")
            .unwrap();
        assert!(w.on_header(&json));
        assert_eq!(
            w.next(t0 + ms(500), false),
            Next::SleepUntil(t0 + ms(10_000))
        );
    }

    #[test]
    fn no_keepalive_while_holding() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.begin_attempt(
            t0,
            t0,
            &timeouts(1000, 1000, None, Some(100)),
            Some(sse_header()),
        );
        assert_eq!(w.next(t0 + ms(500), true), Next::SleepUntil(t0 + ms(1000)));
    }
}
