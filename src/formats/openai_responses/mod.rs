//! OpenAI Responses (<https://platform.openai.com/docs/api-reference/responses>) as a
//! client dialect: requests are read into the canonical model and sent to any
//! provider format; answers and streams are written back in the Responses shape.
//!
//! - `wire`: serde types of request bodies (input items and their parts).
//! - `request`: request body → canonical request; built-in tools are refused by name.
//! - `response`: canonical response → Response object (output items, usage details).
//! - `stream`: canonical stream events → the Responses event sequence, numbered.
//! - `stream_text`: where the answer text sits in an event (output guardrails).
//! - `echo`: the request parameters every Response object repeats (`instructions`,
//!   `tools`, `store`, `previous_response_id`, ...), set by the proxy per request.
//! - `render`: tollgate's own errors in this dialect (OpenAI's error shape).
//! - `passthrough`, `usage`: targets that serve the Responses API themselves
//!   (`api: responses` on an OpenAI-format provider) get the client's bytes with only
//!   `model` replaced; their answers pass untouched and are metered from `usage`.
//! - `request_write`, `response_read`, `stream_read` (on `answer_wire` types): the
//!   other direction, for chat-completions and Messages clients of such a target —
//!   canonical request → Responses request, Responses answer and event stream →
//!   canonical.

mod answer_wire;
pub(crate) mod echo;
pub(crate) mod passthrough;
pub(crate) mod render;
pub(crate) mod request;
pub(crate) mod request_write;
pub(crate) mod response;
pub(crate) mod response_read;
pub(crate) mod stream;
pub(crate) mod stream_read;
pub(crate) mod stream_text;
pub(crate) mod usage;
mod wire;
