//! OpenAI Chat Completions (<https://platform.openai.com/docs/api-reference/chat>),
//! spoken by OpenAI, Azure OpenAI, vLLM, Ollama, Groq, Mistral, DeepSeek and others.
//!
//! - `wire`, `stream_wire`: serde types of bodies and chunks.
//! - `request`: request body ⇄ canonical request.
//! - `response`: response body ⇄ canonical response; finish reasons; usage.
//! - `stream`: chunk stream ⇄ canonical stream events (decoder and encoder).
//! - `passthrough`: same-format stream that only watches (and maybe strips) usage.
//! - `error`: upstream error bodies → `GatewayError`.
//! - `render`: tollgate's own error bodies and model list in this dialect.
//! - `stream_text`: where the answer text sits in a chunk (output guardrails).
//! - `embeddings`: `/v1/embeddings` bodies ⇄ canonical embeddings, for targets and
//!   clients of other formats (same-format embeddings pass through).

pub(crate) mod embeddings;
pub(crate) mod error;
pub(crate) mod passthrough;
pub(crate) mod render;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;
pub(crate) mod stream_text;
mod stream_wire;
pub(crate) mod wire;
