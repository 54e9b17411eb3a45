//! OpenTelemetry traces: W3C trace context, spans, and their export over OTLP/HTTP.
//!
//! One span per request (kind SERVER) with one child per upstream attempt (kind
//! CLIENT), carrying the GenAI semantic-convention attributes. The proxy's hooks
//! (`proxy::spans`) build them; this module knows nothing of Pingora.
//!
//! Why no OpenTelemetry SDK: the `opentelemetry` + `opentelemetry-otlp` crates bring
//! a second async HTTP stack (reqwest/hyper or tonic), `prost` and a global tracer
//! with its own batch processor, for the five OTLP messages written here. The wire
//! format is small and stable (`otlp`), Pingora already has an HTTP/1 client with
//! TLS, and the queue (`export`) must follow our reload and metrics rules anyway.
//!
//! - [`context`]: `traceparent` parsing and writing, ids, parent-based sampling.
//! - [`span`]: a finished span and its attributes.
//! - [`otlp`]: the protobuf encoding of `ExportTraceServiceRequest`.
//! - [`export`]: the bounded queue and the background exporter.
//! - [`scan`]: the response model and finish reasons, read off upstream bytes.

pub mod context;
pub mod export;
pub mod otlp;
pub mod scan;
pub mod span;

pub use context::{SpanId, TraceContext, TraceId};
pub use span::{AttrValue, SpanKind, SpanRecord, SpanStatus};
