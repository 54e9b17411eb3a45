//! A fast, dependency-light mock of LLM provider HTTP APIs, used by the integration
//! tests (in process, through [`MockServer`]), by the benchmarks (as the
//! `tollgate-mock` binary, the direct-to-mock baseline) and by the README demo.
//!
//! It is a small hand-written HTTP/1.1 server on tokio (keep-alive, pipelining,
//! `Expect: 100-continue`, Content-Length and chunked request bodies up to 64 MiB)
//! speaking four wire formats with their documented shapes:
//!
//! | Endpoint | Format |
//! |---|---|
//! | `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models` | OpenAI |
//! | `POST /v1/responses` | OpenAI Responses |
//! | `POST /v1/messages`, `POST /v1/messages/count_tokens` | Anthropic |
//! | `POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent[?alt=sse]` | Gemini |
//! | `POST /v1beta/models/{model}:embedContent` / `:batchEmbedContents` / `:countTokens` | Gemini |
//! | `POST /model/{modelId}/converse` / `converse-stream` (event-stream frames) | Bedrock |
//! | `GET /health`; `GET /__mock/requests`, `GET /__mock/stats`, `POST /__mock/reset` | mock |
//!
//! Replies are deterministic: N tokens `tok0 tok1 ...`, usage prompt = body bytes / 4,
//! completion = N, the request's model echoed; a tool call (first declared tool) when
//! the request declares tools and its last turn is the user's. Streams write each SSE
//! event or event-stream frame as its own chunk. Knobs ([`MockConfig`], overridable
//! per request by `x-mock-*` headers) add latency, stream timing, forced statuses, a
//! failure ratio, hangs, stalls and aborts. Every response carries `x-mock-name`,
//! `x-mock-body-len` and `x-mock-body-fnv` (FNV-1a 64 of the request body), and
//! every provider call is recorded (see [`RecordedRequest`]), including whether the
//! client went away before the exchange finished. An optional simulated prefix cache
//! ([`PrefixCacheConfig`]) reports `cached_tokens` and makes the time to first token
//! grow with the uncached part of the prompt.
//!
//! Not done: Anthropic `GET /v1/models`, Bedrock `invoke`; HTTP/2; TLS.

mod anthropic;
mod bedrock;
pub mod cli;
mod config;
mod conn;
mod envelope;
pub mod eventstream;
mod gemini;
mod handler;
pub mod http;
mod openai;
pub mod prefix_cache;
mod record;
mod reply;
mod responses;
mod route;
mod server;

pub use config::MockConfig;
pub use prefix_cache::PrefixCacheConfig;
pub use record::{fnv1a64, RecordedRequest};
pub use server::{MockServer, ServeOptions};

#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod server_tests;
