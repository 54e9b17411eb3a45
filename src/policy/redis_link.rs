//! One bounded, self-healing link to Redis, shared by every user of Redis in the
//! process that needs it (the state store, the response cache): a connection (to a
//! server or a cluster, see [`super::redis_conn`]) opened on first use, every call
//! run under one timeout, connecting included, so a dead or silent Redis never holds
//! a request longer than that.
//!
//! Failure handling is a small circuit breaker: a dropped connection is replaced on
//! the next call; a failed (re)connect or three timeouts in a row discard the
//! connection and open the breaker for a back-off (250 ms doubling to 5 s). While
//! open, calls fail at once instead of each waiting for the timeout; the first call
//! after it reconnects. Errors are described without connection details (the URL may
//! carry a password); counting them is the caller's business.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use redis::RedisResult;

use super::redis_conn::{Conn, Target};

const BACKOFF_MIN_MS: u64 = 250;
const BACKOFF_MAX_MS: u64 = 5_000;
const TIMEOUTS_BEFORE_RECONNECT: u32 = 3;

/// A connection with its timeout and breaker.
pub(crate) struct Link {
    target: Target,
    conn: ArcSwapOption<Conn>,
    connect_lock: tokio::sync::Mutex<()>,
    timeout: Duration,
    epoch: Instant,
    /// Breaker: calls fail fast until this many ms after `epoch`.
    open_until_ms: AtomicU64,
    backoff_ms: AtomicU64,
    timeouts_in_row: AtomicU32,
}

impl Link {
    pub fn new(target: Target, timeout: Duration) -> Link {
        Link {
            target,
            conn: ArcSwapOption::empty(),
            connect_lock: tokio::sync::Mutex::new(()),
            timeout,
            epoch: Instant::now(),
            open_until_ms: AtomicU64::new(0),
            backoff_ms: AtomicU64::new(BACKOFF_MIN_MS),
            timeouts_in_row: AtomicU32::new(0),
        }
    }

    /// Tries to connect now (bounded by the timeout); the link works without it and
    /// connects on first use. Returns the reason when Redis is unreachable.
    pub async fn connect_now(&self) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.connection()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("redis connect timed out".to_string()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    async fn connection(&self) -> Result<Conn, String> {
        if let Some(c) = self.conn.load().as_deref() {
            return Ok(c.clone());
        }
        if self.now_ms() < self.open_until_ms.load(Ordering::Acquire) {
            return Err("redis unavailable (backing off before reconnecting)".to_string());
        }
        let _guard = self.connect_lock.lock().await;
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        match self.target.connect(self.timeout).await {
            Ok(c) => {
                self.conn.store(Some(Arc::new(c.clone())));
                self.backoff_ms.store(BACKOFF_MIN_MS, Ordering::Release);
                Ok(c)
            }
            Err(e) => {
                self.open_breaker();
                Err(format!("redis connect failed: {}", describe(&e)))
            }
        }
    }

    /// Drops the connection and fails fast for the current back-off, then doubles it.
    fn open_breaker(&self) {
        self.conn.store(None);
        let backoff = self.backoff_ms.load(Ordering::Acquire);
        self.open_until_ms
            .store(self.now_ms() + backoff, Ordering::Release);
        self.backoff_ms
            .store((backoff * 2).min(BACKOFF_MAX_MS), Ordering::Release);
        self.timeouts_in_row.store(0, Ordering::Release);
    }

    /// Runs `call` on the connection under the timeout, with breaker bookkeeping.
    pub async fn call<T, F, Fut>(&self, call: F) -> Result<T, String>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let bounded = async {
            let conn = self.connection().await?;
            call(conn).await.map_err(|e| {
                if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
                    // The next call reconnects at once (a restarted Redis is back in
                    // one round trip); only a failed reconnect opens the breaker.
                    self.conn.store(None);
                }
                format!("redis call failed: {}", describe(&e))
            })
        };
        let result = match tokio::time::timeout(self.timeout, bounded).await {
            Ok(r) => r,
            Err(_) => {
                if self.timeouts_in_row.fetch_add(1, Ordering::AcqRel) + 1
                    >= TIMEOUTS_BEFORE_RECONNECT
                {
                    self.open_breaker();
                }
                Err(format!("redis call timed out after {:?}", self.timeout))
            }
        };
        if result.is_ok() {
            self.timeouts_in_row.store(0, Ordering::Release);
        }
        result
    }
}

/// An error description without connection details.
pub(crate) fn describe(e: &redis::RedisError) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", kind_str(e)),
        None if e.is_io_error() => format!("{}: {e}", kind_str(e)),
        None => kind_str(e).to_string(),
    }
}

pub(crate) fn kind_str(e: &redis::RedisError) -> &'static str {
    use redis::{ErrorKind::*, ServerErrorKind};
    match e.kind() {
        Io => "I/O error",
        AuthenticationFailed => "authentication failed",
        InvalidClientConfig => "invalid client config",
        Server(ServerErrorKind::ResponseError) => "response error",
        Server(ServerErrorKind::NoScript) => "script not loaded",
        Server(_) => "server error",
        UnexpectedReturnType => "unexpected response type",
        _ => "error",
    }
}
