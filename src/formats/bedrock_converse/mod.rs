//! AWS Bedrock Converse
//! (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>),
//! an upstream format only: requests are written from the canonical model; `Converse`
//! answers and `ConverseStream` event streams (binary `vnd.amazon.eventstream`
//! frames, decoded by `crate::aws`) are read into it and re-encoded in the client's
//! dialect by the OpenAI and Anthropic encoders. Signing and URLs belong to the
//! provider, not here.
//!
//! - `wire`: serde types of request bodies, answers, stream events and errors.
//! - `request`: canonical request → request body.
//! - `response`: answer → canonical response; stop reasons; usage.
//! - `stream`: frames → canonical stream events, and the stream pipeline.
//! - `error`: error bodies and exception frames → `GatewayError`.
//! - `ids`: response ids for upstreams that send none.

pub(crate) mod error;
pub(crate) mod ids;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;
pub(crate) mod wire;
