//! OpenAI Chat Completions wire types
//! (<https://platform.openai.com/docs/api-reference/chat>).
//!
//! Input types (`*In`) are flat structs that borrow from the body: a flat struct with
//! an optional field per variant lets serde read each object in one pass, where an
//! internally tagged enum would first buffer the whole object. Output types (`*Out`)
//! borrow from the canonical model. Unknown input fields are skipped: they cannot be
//! expressed in another format, and same-format traffic never comes through here.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::formats::common::{OneOrMany, Str, TextOrParts};

// ---------------------------------------------------------------- requests, input

#[derive(Debug, Deserialize)]
pub(crate) struct RequestIn<'a> {
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow)]
    pub messages: Vec<MessageIn<'a>>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Not OpenAI, but accepted by vLLM, Ollama and others.
    pub top_k: Option<u64>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    #[serde(borrow)]
    pub stop: Option<OneOrMany<'a>>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub n: Option<u32>,
    #[serde(borrow)]
    pub user: Option<Str<'a>>,
    pub metadata: Option<Map<String, Value>>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    #[serde(borrow)]
    pub tools: Option<Vec<ToolIn<'a>>>,
    #[serde(borrow)]
    pub tool_choice: Option<ToolChoiceIn<'a>>,
    pub parallel_tool_calls: Option<bool>,
    #[serde(borrow)]
    pub response_format: Option<ResponseFormatIn<'a>>,
    #[serde(borrow)]
    pub reasoning_effort: Option<Str<'a>>,
    #[serde(borrow)]
    pub modalities: Option<Vec<Str<'a>>>,
    /// Legacy function calling, read as tools.
    #[serde(borrow)]
    pub functions: Option<Vec<FunctionDefIn<'a>>>,
}

#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn<'a> {
    #[serde(borrow)]
    pub role: Str<'a>,
    #[serde(borrow, default)]
    pub content: Option<TextOrParts<'a, PartIn<'a>>>,
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    #[serde(borrow)]
    pub tool_calls: Option<Vec<ToolCallIn<'a>>>,
    #[serde(borrow)]
    pub tool_call_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub refusal: Option<Str<'a>>,
    /// Reasoning text as DeepSeek, vLLM and others return it.
    #[serde(borrow)]
    pub reasoning_content: Option<Str<'a>>,
}

/// One content part: `text`, `image_url`, `refusal`, `input_audio`, `file`.
#[derive(Debug, Deserialize)]
pub(crate) struct PartIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub image_url: Option<ImageUrl<'a>>,
    #[serde(borrow)]
    pub refusal: Option<Str<'a>>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct ImageUrl<'a> {
    #[serde(borrow)]
    pub url: Str<'a>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallIn<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub function: FunctionCallIn<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallIn<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow, default)]
    pub arguments: Str<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub function: Option<FunctionDefIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionDefIn<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub description: Option<Str<'a>>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

/// `"auto" | "none" | "required"` or `{"type":"function","function":{"name":..}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ToolChoiceIn<'a> {
    #[serde(borrow)]
    Mode(Str<'a>),
    Named {
        #[serde(borrow)]
        function: NamedFunction<'a>,
    },
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct NamedFunction<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseFormatIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub json_schema: Option<JsonSchemaIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct JsonSchemaIn<'a> {
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    #[serde(borrow)]
    pub description: Option<Str<'a>>,
    pub schema: Option<Value>,
    pub strict: Option<bool>,
}

// --------------------------------------------------------------- requests, output

#[derive(Debug, Serialize)]
pub(crate) struct RequestOut<'a> {
    pub model: &'a str,
    pub messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub role: &'static str,
    /// `None` serialises as `null` (an assistant turn with only tool calls).
    pub content: Option<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ContentOut<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<PartOut<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum PartOut<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrlOut<'a> },
}

#[derive(Debug, Serialize)]
pub(crate) struct ImageUrlOut<'a> {
    pub url: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolCallOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCallOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionCallOut<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionDefOut<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionDefOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

// ------------------------------------------------------------------ responses

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseIn<'a> {
    #[serde(borrow, default)]
    pub id: Str<'a>,
    #[serde(borrow, default)]
    pub model: Str<'a>,
    pub created: Option<u64>,
    #[serde(borrow, default)]
    pub choices: Vec<ChoiceIn<'a>>,
    pub usage: Option<UsageWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChoiceIn<'a> {
    #[serde(borrow)]
    pub message: MessageIn<'a>,
    #[serde(borrow)]
    pub finish_reason: Option<Str<'a>>,
}

/// Usage as OpenAI reports it; `prompt_tokens` includes the cached tokens.
#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageWire {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PromptDetails {
    #[serde(default, deserialize_with = "null_as_zero")]
    pub cached_tokens: u64,
}

#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompletionDetails {
    #[serde(default, deserialize_with = "null_as_zero")]
    pub reasoning_tokens: u64,
}

/// Some compatible servers send `null` for counts they do not track.
fn null_as_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(0))
}

#[derive(Debug, Serialize)]
pub(crate) struct ResponseOut<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: [ChoiceOut<'a>; 1],
    pub usage: UsageWire,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChoiceOut<'a> {
    pub index: u32,
    pub message: ResponseMessageOut<'a>,
    pub logprobs: Option<()>,
    pub finish_reason: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct ResponseMessageOut<'a> {
    pub role: &'static str,
    pub content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut<'a>>,
    pub refusal: Option<Cow<'a, str>>,
}

// ------------------------------------------------------------------ stream chunks

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkIn<'a> {
    #[serde(borrow, default)]
    pub id: Str<'a>,
    #[serde(borrow, default)]
    pub model: Str<'a>,
    /// `null` or missing in the usage-only chunk of some servers.
    #[serde(borrow, default)]
    pub choices: Option<Vec<ChunkChoiceIn<'a>>>,
    pub usage: Option<UsageWire>,
    /// A mid-stream error (`data: {"error": {...}}`).
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkChoiceIn<'a> {
    #[serde(default)]
    pub index: u32,
    #[serde(borrow, default)]
    pub delta: Option<DeltaIn<'a>>,
    #[serde(borrow)]
    pub finish_reason: Option<Str<'a>>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct DeltaIn<'a> {
    #[serde(borrow)]
    pub content: Option<Str<'a>>,
    #[serde(borrow)]
    pub reasoning_content: Option<Str<'a>>,
    /// OpenRouter and some servers name it `reasoning`.
    #[serde(borrow)]
    pub reasoning: Option<Str<'a>>,
    #[serde(borrow)]
    pub refusal: Option<Str<'a>>,
    #[serde(borrow)]
    pub tool_calls: Option<Vec<ToolCallDeltaIn<'a>>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallDeltaIn<'a> {
    #[serde(default)]
    pub index: u32,
    #[serde(borrow)]
    pub id: Option<Str<'a>>,
    #[serde(borrow)]
    pub function: Option<FunctionDeltaIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionDeltaIn<'a> {
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    #[serde(borrow)]
    pub arguments: Option<Str<'a>>,
}

// ------------------------------------------------------------------ errors

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBodyIn {
    pub error: Option<ErrorIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorIn {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<Value>,
}
