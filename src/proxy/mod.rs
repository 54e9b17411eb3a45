//! The Pingora `ProxyHttp` implementation. Each phase is a thin delegate to the
//! modules that own the logic:
//!
//! ```text
//! request_filter          accept: classify path, authenticate, read + bound body, parse
//!                         envelope, guardrails, route plan, admission (govern); wrap the
//!                         session (preread) so every attempt gets the whole body
//! upstream_peer           attempt: route/target/endpoint choice, body for the target
//!                         format, peer with resolved address, TLS/SNI, timeouts
//! upstream_request_filter path, Host, provider auth; client credentials stripped
//! request_body_filter     the attempt's body (same format: only `model` spliced)
//! upstream_response_filter retry/fallback on 429/5xx before anything is sent; mode
//! response_body_filter    outbound: pass through / watch usage / translate
//! (downstream idle poll)  watch, run by the preread wrapper: stream timeouts and
//!                         SSE keepalives
//! fail_to_connect, error_while_proxy   retry decisions
//! fail_to_proxy           error in the client's dialect, or an in-band stream error
//! logging                 finish: metrics, access log, settlement; real session restored
//! (every phase)           spans: the request's and each attempt's trace span, traceparent
//! ```

mod accept;
pub mod attempt;
pub mod ctx;
pub mod inbound;
pub mod outbound;
pub mod preread;
pub mod respond;

mod access_fields;
mod access_log;
mod alarm;
mod end_user;
mod failure;
pub(crate) mod finish;
mod govern;
pub mod hold;
pub mod idle;
pub mod log_sink;
mod output_guard;
mod phases;
mod resume;
pub mod spans;
mod upstream_request;
mod watch;

use std::sync::Arc;

use crate::runtime::Gateway;

pub use ctx::Ctx;

/// The data-plane service.
pub struct Proxy {
    pub gateway: Arc<Gateway>,
}

impl Proxy {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Proxy { gateway }
    }
}
