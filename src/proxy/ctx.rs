//! Per-request state (Pingora's `CTX`). Everything an attempt needs is reset at the
//! start of each attempt (`begin_attempt`), because Pingora re-runs the upstream
//! phases and body filters on every retry.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::config::{ModelRoute, Provider};
use crate::error::{Dialect, GatewayError};
use crate::formats::{Envelope, StreamTranslator, WireFormat};
use crate::model::Usage;
use crate::policy::{Admission, KeyInfo};
use crate::providers::Api;
use crate::routing::RoutePlan;
use crate::runtime::Runtime;

use super::output_guard::GuardedStream;
use super::preread::{HoldSlot, SessionSlot};
use super::watch::WatchSlot;

/// Why an attempt failed, as far as retry and fallback policies care.
pub use crate::config::ErrorClass;

/// How the response body is handled for the current attempt.
#[derive(Default)]
pub enum ResponseMode {
    /// Bytes go to the client untouched (same format, or a short-circuit).
    #[default]
    Passthrough,
    /// Same-format JSON: bytes go through untouched, a bounded copy is kept to read usage.
    PassthroughWatchUsage,
    /// A stream, translated (or watched for usage) event by event.
    Stream(Box<dyn StreamTranslator>),
    /// A JSON body in another format: buffered, translated at the end.
    TranslateJson,
    /// An upstream error body in another dialect: buffered, translated at the end.
    TranslateError,
    /// A client-error answer held whole to see whether it is a context-window or
    /// content-policy refusal that a fallback route should take over.
    Classify { same: bool },
    /// A non-streaming answer checked by output guardrails: held whole, checked at the
    /// end (translated first when the formats differ).
    Guarded { translate: bool },
    /// An upstream error after a keepalive committed the client's response to a
    /// `200` stream: buffered, then sent as one in-band SSE error event.
    ErrorEvent,
}

/// The target and endpoint of one attempt, and the body written for it.
pub struct Attempt {
    pub route: Arc<ModelRoute>,
    pub target_index: usize,
    pub provider: Arc<Provider>,
    pub upstream_model: String,
    pub endpoint_index: usize,
    pub format: WireFormat,
    pub body: Bytes,
    pub path: String,
    pub started: Instant,
    /// The endpoint's resolved address.
    pub addr: Option<std::net::SocketAddr>,
}

pub struct Ctx {
    pub started: Instant,
    pub request_id: String,
    pub dialect: Dialect,
    pub api: Option<Api>,
    pub runtime: Option<Arc<Runtime>>,
    pub slot: SessionSlot,
    /// Holding the whole response back (output guardrails on non-streaming answers).
    pub hold: HoldSlot,
    /// Stream timeouts and keepalives, run by the session wrapper.
    pub watch: WatchSlot,
    /// The request body as the client sent it.
    pub body: Bytes,
    pub envelope: Option<Envelope>,
    pub plan: Option<RoutePlan>,
    /// Session key for consistent hashing (route's `hash_header`, else `user`).
    pub hash_key: Option<String>,
    /// Index in `plan.routes` of the route being tried.
    pub route_index: usize,
    /// Attempts made on the current route.
    pub route_attempts: u32,
    /// All attempts of this request.
    pub attempts: u32,
    /// `(provider, endpoint)` pairs already tried.
    pub tried: Vec<(String, usize)>,
    pub attempt: Option<Attempt>,
    pub last_failure: Option<ErrorClass>,
    /// `retry-after` from the last upstream answer, honoured before the next attempt.
    pub retry_after: Option<std::time::Duration>,
    pub mode: ResponseMode,
    /// Output guardrails on the client-facing stream.
    pub guard: Option<GuardedStream>,
    /// Bytes to end a failed stream with, when the translator already wrote its error event.
    pub stream_tail: Option<Vec<u8>>,
    /// The body filter found the answer should go to a fallback instead.
    pub retry_requested: bool,
    /// The last attempt failed on a stale pooled connection: retry it for free.
    pub stale_connection_retry: bool,
    pub buffer: Vec<u8>,
    pub upstream_status: Option<u16>,
    pub first_byte_at: Option<Instant>,
    pub usage: Usage,
    /// The error answered to the client, if any.
    pub error: Option<GatewayError>,
    /// Status answered to the client (for logs and metrics).
    pub status: u16,
    pub in_flight_counted: bool,
    /// The caller's virtual key (anonymous in open mode).
    pub key: Option<Arc<KeyInfo>>,
    /// Rate-limit and concurrency admission, settled in `logging`.
    pub admission: Option<Admission>,
}

impl Ctx {
    pub fn new() -> Self {
        Ctx {
            started: Instant::now(),
            request_id: String::new(),
            dialect: Dialect::OpenAi,
            api: None,
            runtime: None,
            slot: Default::default(),
            hold: Default::default(),
            watch: Default::default(),
            body: Bytes::new(),
            envelope: None,
            plan: None,
            hash_key: None,
            route_index: 0,
            route_attempts: 0,
            attempts: 0,
            tried: Vec::new(),
            attempt: None,
            last_failure: None,
            retry_after: None,
            mode: ResponseMode::Passthrough,
            guard: None,
            stream_tail: None,
            retry_requested: false,
            stale_connection_retry: false,
            buffer: Vec::new(),
            upstream_status: None,
            first_byte_at: None,
            usage: Usage::default(),
            error: None,
            status: 0,
            in_flight_counted: false,
            key: None,
            admission: None,
        }
    }

    /// Forget everything the previous attempt left behind.
    pub fn begin_attempt(&mut self) {
        self.attempt = None;
        self.mode = ResponseMode::Passthrough;
        self.guard = None;
        self.buffer.clear();
        self.upstream_status = None;
        self.first_byte_at = None;
        self.usage = Usage::default();
        self.error = None;
        self.retry_requested = false;
        super::preread::reset_hold(&self.hold);
    }

    /// Whether the wrapper committed the client's response with a keepalive.
    pub fn keepalive_committed(&self) -> bool {
        self.watch.lock().is_ok_and(|w| w.committed())
    }

    pub fn model_name(&self) -> &str {
        self.envelope.as_ref().map_or("", |e| e.model.as_str())
    }

    pub fn stream_requested(&self) -> bool {
        self.envelope.as_ref().is_some_and(|e| e.stream)
    }

    /// `x-ratelimit-*` headers of this request's admission.
    pub fn rate_limit_headers(&self) -> &[(&'static str, String)] {
        self.admission
            .as_ref()
            .map_or(&[], |a| a.headers.as_slice())
    }

    pub fn provider_name(&self) -> &str {
        self.attempt
            .as_ref()
            .map_or("", |a| a.provider.name.as_str())
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}
