//! Anthropic Messages (<https://docs.anthropic.com/en/api/messages>).
//!
//! - `wire`, `stream_wire`: serde types of bodies and events.
//! - `request` / `request_write`: request body → canonical / canonical → request body.
//! - `response`: response body ⇄ canonical response; stop reasons; usage.
//! - `stream`: event stream ⇄ canonical stream events (decoder and encoder).
//! - `passthrough`: same-format stream that only watches usage.
//! - `error`: upstream error bodies → `GatewayError`.
//! - `render`: tollgate's own error bodies and model list in this dialect.
//! - `stream_text`: where the answer text sits in an event (output guardrails).

pub(crate) mod error;
pub(crate) mod passthrough;
pub(crate) mod render;
pub(crate) mod request;
pub(crate) mod request_write;
pub(crate) mod response;
pub(crate) mod stream;
pub(crate) mod stream_text;
mod stream_wire;
pub(crate) mod wire;

/// Name of the tool that stands in for JSON mode, which Anthropic has no switch for:
/// the request forces a call of it with the wanted schema as its input schema, and
/// the response translation turns the call's input back into the text answer.
pub(crate) const JSON_TOOL: &str = "json_response_format";
