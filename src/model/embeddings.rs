//! Canonical embeddings: the texts to embed and the vectors that come back, between
//! OpenAI's `/v1/embeddings` and Gemini's `embedContent` / `batchEmbedContents`.

use std::borrow::Cow;

use super::Usage;

/// A request to embed one or more texts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingRequest<'a> {
    /// One vector is asked for per input, in order.
    pub inputs: Vec<Cow<'a, str>>,
    /// Output dimensions (OpenAI `dimensions`, Gemini `outputDimensionality`).
    pub dimensions: Option<u64>,
    /// Gemini `taskType` (`RETRIEVAL_QUERY`, ...); OpenAI has no such knob.
    pub task_type: Option<Cow<'a, str>>,
    /// Gemini `title` (for `RETRIEVAL_DOCUMENT`).
    pub title: Option<Cow<'a, str>>,
    /// The client wants vectors as base64 of little-endian f32 (OpenAI
    /// `encoding_format: "base64"`, the Python SDK's default).
    pub base64: bool,
    /// Gemini `embedContent`: one input, answered with one `embedding` (not a list).
    pub single: bool,
}

/// The vectors, one per input in order, and the usage if the upstream reported it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingResponse {
    pub vectors: Vec<Vec<f64>>,
    pub usage: Usage,
}
