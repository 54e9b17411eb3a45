//! Per-request state (Pingora's `CTX`). Everything an attempt needs is reset at the
//! start of each attempt (`begin_attempt`), because Pingora re-runs the upstream
//! phases and body filters on every retry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::{ModelRoute, Provider};
use crate::error::{Dialect, GatewayError};
use crate::formats::{Envelope, StreamTranslator, WireFormat};
use crate::model::Usage;
use crate::policy::{Admission, KeyInfo};
use crate::providers::Api;
use crate::routing::rules::Decision;
use crate::routing::{EndpointLease, Pick, RouteCursor, RoutePlan};
use crate::runtime::ThreadRuntime;

use super::output_guard::GuardedStream;
use super::preread::{HoldSlot, SessionSlot};
use super::resume::Resume;
use super::watch::WatchSlot;
use crate::formats::continuation::{Splice, Tap};

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
    /// `upstream_model` as the `x-tollgate-model` value (the target's, made at load).
    pub model_value: http::HeaderValue,
    pub endpoint_index: usize,
    pub format: WireFormat,
    pub body: Bytes,
    /// The provider's path for the API (static for most providers).
    pub path: std::borrow::Cow<'static, str>,
    pub started: Instant,
    /// The endpoint's resolved address.
    pub addr: Option<std::net::SocketAddr>,
    /// In-flight count, probe and retry-budget slots: given back when dropped.
    pub lease: Option<EndpointLease>,
    /// Passive health already heard of this attempt's success / failure.
    pub recorded_success: bool,
    pub recorded_failure: bool,
    /// When the request went upstream (`upstream_request_filter`) and when its last
    /// body byte came back: the attempt's share of the upstream wait.
    pub upstream_sent_at: Option<Instant>,
    pub upstream_last_byte_at: Option<Instant>,
    /// What the route's strategy measured on this candidate when it chose it.
    pub signals: crate::routing::Signals,
}

impl Attempt {
    /// Time spent waiting for this attempt's upstream: from sending the request to
    /// its last body byte, or to `now` for an attempt that ended without a body
    /// (a failure seen when the next attempt starts, or at the end of the request).
    pub fn upstream_wait(&self, now: Instant) -> Duration {
        let Some(sent) = self.upstream_sent_at else {
            return Duration::ZERO;
        };
        self.upstream_last_byte_at
            .unwrap_or(now)
            .saturating_duration_since(sent)
    }
}

/// Per-request state, grouped by owner and lifetime.
pub struct Ctx {
    /// The client's request: set in `request_filter`, read by every later phase.
    pub req: RequestState,
    /// Where the request is on its routes (the cursor owns every next step).
    pub route: RouteState,
    /// The current attempt; replacing it drops the previous one's lease.
    pub attempt: Option<Attempt>,
    /// The answer to the client, as the current attempt produces it.
    pub resp: ResponseState,
    /// State shared with the session wrapper (`preread`).
    pub slots: Arc<Slots>,
}

/// The client's request.
pub struct RequestState {
    pub started: Instant,
    /// Also the value of the `x-request-id` headers the gateway writes.
    pub id: super::inbound::RequestId,
    pub dialect: Dialect,
    pub api: Option<Api>,
    pub runtime: Option<Arc<ThreadRuntime>>,
    /// The request body as the client sent it.
    pub body: Bytes,
    pub envelope: Option<Envelope>,
    pub plan: Option<RoutePlan>,
    /// What the request asks of a model (read only when capabilities or a
    /// cost-aware strategy need it).
    pub shape: Option<crate::formats::RequestShape>,
    /// Session key for consistent hashing (route's `hash_header`, else `user`).
    pub hash_key: Option<String>,
    /// `prefix_affinity` in estimate mode: the prompt's chained block hashes.
    pub prefix_blocks: Vec<u64>,
    /// The caller's virtual key (anonymous in open mode).
    pub key: Option<Arc<KeyInfo>>,
    /// Rate-limit and concurrency admission, settled in `logging`.
    pub admission: Option<Admission>,
    pub in_flight_counted: bool,
    /// The response cache's outcome and where a miss's answer is stored.
    pub cache: crate::cache::RequestCache,
    /// A Responses request's conversation: whether to store the answer, the input
    /// items it sent, the target that holds its chain.
    pub conversation: Option<Box<crate::conversations::Turn>>,
    /// The end user (`logging.user_from`), resolved in `logging`.
    pub end_user: Option<String>,
    /// The request's trace and its spans (`traces:` configured only).
    pub trace: Option<Box<super::spans::RequestTrace>>,
}

/// Where the request is on its routes, across attempts.
#[derive(Default)]
pub struct RouteState {
    /// Decides every next step.
    pub cursor: RouteCursor,
    /// The next attempt, decided when the last one failed (Pingora then calls
    /// `upstream_peer` again).
    pub next: Option<Pick>,
    /// What a stream client received (routes with mid-stream failover only).
    pub tap: Option<Box<Tap>>,
    /// The continuation request after a stream failed mid-way.
    pub resume: Option<Box<Resume>>,
    /// A router's choice of model, when the client asked for a router.
    pub decision: Option<Decision>,
    /// Targets dropped before choosing for a missing capability.
    pub skipped: usize,
    /// The `x-tollgate-route` value, built once when the answer starts (its buffer
    /// is the formatted text's, shared with the log line).
    pub explained: Option<http::HeaderValue>,
}

/// The answer to the client. Everything but `stream_tail`, `status` and
/// `upstream_wait` is reset at the start of each attempt.
#[derive(Default)]
pub struct ResponseState {
    pub mode: ResponseMode,
    /// Output guardrails on the client-facing stream.
    pub guard: Option<Box<GuardedStream>>,
    /// Makes this attempt's answer the rest of the client's stream.
    pub splice: Option<Splice>,
    /// Bytes to end a failed stream with, when the translator already wrote its error event.
    pub stream_tail: Option<Vec<u8>>,
    /// The body filter found the answer should go to a fallback instead.
    pub retry_requested: bool,
    pub buffer: Vec<u8>,
    /// A held same-format answer as the body filter saw it (`edge::complete`).
    pub answer: crate::edge::complete::AnswerWatch,
    /// The upstream's Content-Length of a held same-format answer: a body of that
    /// length arrived whole (Pingora fails a body that ends short of it).
    pub declared_length: Option<usize>,
    pub upstream_status: Option<u16>,
    pub first_byte_at: Option<Instant>,
    pub usage: Usage,
    /// What the request cost in USD, priced once when it was settled (`None`: not
    /// settled, or the model has no price).
    pub cost_usd: Option<f64>,
    /// The error answered to the client, if any.
    pub error: Option<GatewayError>,
    /// Status answered to the client (for logs and metrics).
    pub status: u16,
    /// A `200` stream being assembled for the response cache.
    pub cache_stream: Option<crate::cache::StreamRecording>,
    /// Upstream wait of the attempts before the current one, summed (the gateway
    /// overhead is the request's time minus all of it).
    pub upstream_wait: Duration,
    /// The Response object being watched for storing (`conversations::recorder`).
    pub conversation: Option<crate::conversations::Recorder>,
}

/// Shared with the session wrapper, which runs inside Pingora's own I/O calls (one
/// allocation for the three, shared by reference count).
#[derive(Default)]
pub struct Slots {
    pub slot: SessionSlot,
    /// Holding the whole response back (output guardrails on non-streaming answers).
    pub hold: HoldSlot,
    /// Stream timeouts and keepalives, run by the session wrapper.
    pub watch: WatchSlot,
}

impl Ctx {
    /// Why the request went where it went (`routing::reason`): the router's
    /// decision alone before any attempt (e.g. a cache hit), nothing for a request
    /// that was never routed.
    pub fn route_explanation(&self) -> Option<String> {
        let Some(a) = &self.attempt else {
            return self.route.decision.as_ref().map(|d| d.explain());
        };
        Some(crate::routing::reason::explain(
            &crate::routing::reason::Facts {
                decision: self.route.decision.as_ref(),
                strategy: a.route.strategy,
                provider: &a.provider.name,
                model: &a.upstream_model,
                signals: a.signals,
                keyed: self.req.hash_key.is_some(),
                skipped: self.route.skipped,
                attempts: self.route.cursor.attempts(),
            },
        ))
    }

    pub fn new() -> Self {
        Ctx {
            req: RequestState {
                started: Instant::now(),
                id: Default::default(),
                dialect: Dialect::OpenAi,
                api: None,
                runtime: None,
                body: Bytes::new(),
                envelope: None,
                plan: None,
                shape: None,
                hash_key: None,
                prefix_blocks: Vec::new(),
                key: None,
                admission: None,
                in_flight_counted: false,
                cache: Default::default(),
                conversation: None,
                end_user: None,
                trace: None,
            },
            route: RouteState::default(),
            attempt: None,
            resp: ResponseState::default(),
            slots: Arc::default(),
        }
    }

    /// Forget everything the previous attempt left behind.
    pub fn begin_attempt(&mut self) {
        if let Some(previous) = self.attempt.take() {
            self.resp.upstream_wait += previous.upstream_wait(Instant::now());
        }
        let resp = &mut self.resp;
        resp.mode = ResponseMode::Passthrough;
        resp.guard = None;
        resp.splice = None;
        resp.buffer.clear();
        resp.answer = Default::default();
        resp.upstream_status = None;
        resp.first_byte_at = None;
        resp.usage = Usage::default();
        resp.error = None;
        resp.retry_requested = false;
        resp.cache_stream = None;
        resp.conversation = None;
        super::preread::reset_hold(&self.slots.hold);
    }

    /// Whether the wrapper committed the client's response with a keepalive.
    pub fn keepalive_committed(&self) -> bool {
        self.slots.watch.lock().is_ok_and(|w| w.committed())
    }

    pub fn model_name(&self) -> &str {
        self.req.envelope.as_ref().map_or("", |e| e.model.as_str())
    }

    pub fn stream_requested(&self) -> bool {
        self.req.envelope.as_ref().is_some_and(|e| e.stream)
    }

    /// `x-ratelimit-*` headers of this request's admission.
    pub fn rate_limit_headers(&self) -> &[crate::policy::limits::RateLimitHeader] {
        self.req
            .admission
            .as_ref()
            .map_or(&[], |a| a.headers.as_slice())
    }

    /// Time spent waiting for upstreams so far, over every attempt.
    pub fn upstream_wait(&self, now: Instant) -> Duration {
        let current = self
            .attempt
            .as_ref()
            .map_or(Duration::ZERO, |a| a.upstream_wait(now));
        self.resp.upstream_wait + current
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
