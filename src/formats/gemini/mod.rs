//! Google Gemini `generateContent` (<https://ai.google.dev/api/generate-content>),
//! both an upstream format and a client dialect. Upstream: requests are written from
//! the canonical model, answers and `streamGenerateContent?alt=sse` streams are read
//! into it. Client: Gemini clients' bodies are read into the canonical model for
//! targets of other formats, and answers and streams are written back in Gemini's
//! shape; a Gemini target gets the client's bytes (the model is in the URL, so there
//! is nothing to splice) and its stream passes through watched.
//!
//! Upstream side:
//! - `wire`: serde types of request bodies written, responses and errors read.
//! - `request`: canonical request → request body.
//! - `response`: response body → canonical response; finish reasons; usage.
//! - `stream`: SSE chunks → canonical stream events.
//! - `call_id`: tool-call ids (Gemini has none) carrying thought signatures.
//! - `error`: Google error bodies → `GatewayError`.
//!
//! Client side:
//! - `ingress_wire`: serde types of client request bodies and of `usageMetadata`.
//! - `request_read`: client body → canonical request.
//! - `response_write`: canonical response → `GenerateContentResponse`.
//! - `stream_write`: canonical stream events → SSE chunks.
//! - `stream_text`: where the answer text sits in a chunk (output guardrails).
//! - `passthrough`: same-format streams, watched for usage and completeness.
//! - `render`: tollgate's own errors, token counts and model list in Google's shapes.
//!
//! Both: `embeddings` (`embedContent`, `batchEmbedContents`).

pub(crate) mod call_id;
pub(crate) mod embeddings;
pub(crate) mod error;
pub(crate) mod ingress_wire;
pub(crate) mod passthrough;
pub(crate) mod render;
pub(crate) mod request;
pub(crate) mod request_read;
pub(crate) mod response;
pub(crate) mod response_write;
pub(crate) mod stream;
pub(crate) mod stream_text;
pub(crate) mod stream_write;
pub(crate) mod wire;

#[cfg(test)]
pub(crate) mod test_support;
