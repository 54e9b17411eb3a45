//! Bedrock Converse wire types
//! (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>,
//! `ConverseStream` for the stream events).
//!
//! Bedrock is an upstream format only: request types are written (`*Out`, borrowing
//! from the canonical model), response and event types are read (`*In`, flat structs
//! borrowing from the body). Converse content blocks are unions written as an object
//! with one member (`{"text": ...}`, `{"toolUse": {...}}`), which is serde's default
//! externally tagged enum on the way out, and a struct of options on the way in.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::common::Str;

// --------------------------------------------------------------- requests, output

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOut<'a> {
    pub messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemOut<'a>>,
    #[serde(skip_serializing_if = "InferenceConfigOut::is_empty")]
    pub inference_config: InferenceConfigOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfigOut<'a>>,
    /// Model-specific parameters Converse has no field for (Claude's `top_k` and
    /// `thinking`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub additional_model_request_fields: serde_json::Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    /// `user` or `assistant`.
    pub role: &'static str,
    pub content: Vec<BlockOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum BlockOut<'a> {
    Text(&'a str),
    Image(ImageOut<'a>),
    ToolUse(ToolUseOut<'a>),
    ToolResult(ToolResultOut<'a>),
    ReasoningContent(ReasoningOut<'a>),
    CachePoint(CachePointOut),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SystemOut<'a> {
    Text(&'a str),
    CachePoint(CachePointOut),
}

#[derive(Debug, Serialize, Clone, Copy)]
pub(crate) struct CachePointOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The one cache point type Converse knows.
pub(crate) const CACHE_POINT: CachePointOut = CachePointOut { kind: "default" };

#[derive(Debug, Serialize)]
pub(crate) struct ImageOut<'a> {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: &'static str,
    pub source: ImageSourceOut<'a>,
}

/// `bytes` is the base64 text in Converse's JSON form.
#[derive(Debug, Serialize)]
pub(crate) struct ImageSourceOut<'a> {
    pub bytes: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseOut<'a> {
    pub tool_use_id: &'a str,
    pub name: &'a str,
    pub input: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolResultOut<'a> {
    pub tool_use_id: &'a str,
    pub content: Vec<ToolResultBlockOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolResultBlockOut<'a> {
    Text(&'a str),
    Image(ImageOut<'a>),
}

/// Claude's thinking, handed back with its signature, or its redacted form.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ReasoningOut<'a> {
    ReasoningText { text: &'a str, signature: &'a str },
    RedactedContent(&'a str),
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InferenceConfigOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<&'a str>,
}

impl InferenceConfigOut<'_> {
    fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfigOut<'a> {
    pub tools: Vec<ToolEntryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolEntryOut<'a> {
    ToolSpec(ToolSpecOut<'a>),
    CachePoint(CachePointOut),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolSpecOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub input_schema: InputSchemaOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InputSchemaOut<'a> {
    pub json: Cow<'a, Value>,
}

/// `auto` is Converse's default, so it is never written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolChoiceOut<'a> {
    Any(Empty),
    Tool { name: &'a str },
}

/// Serialises as `{}`.
#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

// ------------------------------------------------------------------ responses

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseIn<'a> {
    #[serde(borrow)]
    pub output: Option<OutputIn<'a>>,
    #[serde(borrow)]
    pub stop_reason: Option<Str<'a>>,
    pub usage: Option<UsageIn>,
    #[serde(borrow)]
    pub additional_model_response_fields: Option<AdditionalFieldsIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutputIn<'a> {
    #[serde(borrow)]
    pub message: Option<MessageIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn<'a> {
    #[serde(borrow, default)]
    pub content: Vec<BlockIn<'a>>,
}

/// Any content block of an answer; blocks of other kinds are skipped.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockIn<'a> {
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub tool_use: Option<ToolUseIn<'a>>,
    #[serde(borrow)]
    pub reasoning_content: Option<ReasoningIn<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseIn<'a> {
    #[serde(borrow, default)]
    pub tool_use_id: Str<'a>,
    #[serde(borrow, default)]
    pub name: Str<'a>,
    pub input: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReasoningIn<'a> {
    #[serde(borrow)]
    pub reasoning_text: Option<ReasoningTextIn<'a>>,
    #[serde(borrow)]
    pub redacted_content: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReasoningTextIn<'a> {
    #[serde(borrow, default)]
    pub text: Str<'a>,
    #[serde(borrow)]
    pub signature: Option<Str<'a>>,
}

/// Claude on Bedrock reports which stop sequence matched here.
#[derive(Debug, Deserialize)]
pub(crate) struct AdditionalFieldsIn<'a> {
    #[serde(borrow)]
    pub stop_sequence: Option<Str<'a>>,
}

/// `TokenUsage`: `inputTokens` excludes cache reads and writes, as Anthropic counts.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UsageIn {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_write_input_tokens: u64,
}

// ------------------------------------------------------------------ stream events

/// The payload of any `ConverseStream` event frame, flat: which fields are set
/// depends on the frame's `:event-type`. The `p` padding member is not read.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventIn<'a> {
    pub content_block_index: Option<u32>,
    #[serde(borrow)]
    pub start: Option<StartIn<'a>>,
    #[serde(borrow)]
    pub delta: Option<DeltaIn<'a>>,
    #[serde(borrow)]
    pub stop_reason: Option<Str<'a>>,
    pub usage: Option<UsageIn>,
    #[serde(borrow)]
    pub additional_model_response_fields: Option<AdditionalFieldsIn<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartIn<'a> {
    #[serde(borrow)]
    pub tool_use: Option<ToolUseStartIn<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolUseStartIn<'a> {
    #[serde(borrow, default)]
    pub tool_use_id: Str<'a>,
    #[serde(borrow, default)]
    pub name: Str<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeltaIn<'a> {
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub tool_use: Option<ToolUseDeltaIn<'a>>,
    #[serde(borrow)]
    pub reasoning_content: Option<ReasoningDeltaIn<'a>>,
}

/// A fragment of the tool input's JSON text.
#[derive(Debug, Deserialize)]
pub(crate) struct ToolUseDeltaIn<'a> {
    #[serde(borrow)]
    pub input: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReasoningDeltaIn<'a> {
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub signature: Option<Str<'a>>,
    #[serde(borrow)]
    pub redacted_content: Option<Str<'a>>,
}

// ------------------------------------------------------------------ errors

/// `{"message": "..."}` (some services capitalise it), with the exception type in
/// the `x-amzn-ErrorType` header or, in the AWS JSON protocols, in `__type`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorIn {
    #[serde(alias = "Message")]
    pub message: Option<String>,
    #[serde(rename = "__type")]
    pub kind: Option<String>,
}
