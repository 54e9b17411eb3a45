//! Google Gemini `generateContent` (<https://ai.google.dev/api/generate-content>), an
//! upstream format only: requests are written from the canonical model, answers and
//! `streamGenerateContent?alt=sse` streams are read into it and re-encoded in the
//! client's dialect by the OpenAI and Anthropic encoders.
//!
//! - `wire`: serde types of request bodies, responses and errors.
//! - `request`: canonical request → request body.
//! - `response`: response body → canonical response; finish reasons; usage.
//! - `stream`: SSE chunks → canonical stream events.
//! - `call_id`: tool-call ids (Gemini has none) carrying thought signatures.
//! - `error`: Google error bodies → `GatewayError`.

pub(crate) mod call_id;
pub(crate) mod error;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;
pub(crate) mod wire;

#[cfg(test)]
pub(crate) mod test_support;
