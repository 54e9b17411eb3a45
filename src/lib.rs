//! tollgate: an LLM gateway on Pingora.
//!
//! Request lifecycle (see `proxy` for the Pingora phases):
//! read and bound the body → parse the envelope (`model`, `stream`) → authenticate and
//! admit (`policy`) → resolve the route (`routing`) → pick a target and an endpoint →
//! rewrite or translate the body for the target's wire format (`formats`) → stream the
//! answer back, translating SSE on the fly when formats differ → log, meter, settle.

pub mod admin;
pub mod alloc;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod edge;
pub mod error;
pub mod formats;
pub mod fx_hash;
pub mod genai_metrics;
pub mod json;
pub mod log_gate;
pub mod metric_handles;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod process_metrics;
pub mod providers;
pub mod proxy;
pub mod routing;
pub mod runtime;
pub mod sse;
#[cfg(test)]
mod test_rng;
pub mod thread_metrics;
pub mod trace;
