//! The canonical model: requests, responses and stream events as the gateway sees
//! them, independent of any wire format. Format modules translate to and from it.
//!
//! - [`ChatRequest`]: messages (system/developer, user, assistant, tool), text, image,
//!   reasoning, tool-call and tool-result parts, tools and tool choice, response
//!   format, sampling, reasoning settings.
//! - [`ChatResponse`]: the answer's parts, [`FinishReason`] and [`Usage`].
//! - [`StreamEvent`]: the block-structured events of a streamed answer.
//! - [`CacheAccounting`]: how a format counts cached tokens in its input count.
//! - [`EmbeddingRequest`], [`EmbeddingResponse`]: texts in, vectors out.

mod accounting;
mod embeddings;
mod request;
mod response;
mod stream;
mod usage;

pub use accounting::CacheAccounting;
pub use embeddings::{EmbeddingRequest, EmbeddingResponse};
pub use request::{
    CacheTtl, ChatRequest, ContentPart, Image, ImageSource, Message, Reasoning, ResponseFormat,
    Role, Sampling, ToolCall, ToolChoice, ToolDef, ToolResult,
};
pub use response::{ChatResponse, FinishReason};
pub use stream::{merge_usage, StreamEvent};
pub use usage::Usage;
