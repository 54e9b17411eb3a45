//! Gemini `generateContent` wire types
//! (<https://ai.google.dev/api/generate-content>, <https://ai.google.dev/api/caching#Content>).
//!
//! Gemini is an upstream format only, so requests are only written and responses only
//! read. As in the other formats, `*Out` types borrow from the canonical model and
//! `*In` types are flat structs borrowing from the upstream body: a `Part` is one
//! object with one optional field per kind of data, which is also how Gemini defines
//! it (a `oneof`). Fields this gateway has no use for (safety ratings, citations,
//! grounding) are skipped by serde without being built.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::common::Str;

// --------------------------------------------------------------- requests, output

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOut<'a> {
    pub contents: Vec<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfigOut<'a>>,
    #[serde(skip_serializing_if = "GenerationConfigOut::is_empty")]
    pub generation_config: GenerationConfigOut<'a>,
}

/// One turn: `user` or `model` (no role in `systemInstruction`).
#[derive(Debug, Serialize)]
pub(crate) struct ContentOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub parts: Vec<PartOut<'a>>,
}

/// One part; exactly one data field is set, plus the thought signature on calls.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<BlobOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileDataOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponseOut<'a>>,
    /// Set on reasoning text in answers written for Gemini clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<Cow<'a, str>>,
    /// Part of a tool's answer (its `functionResponse`, or an image it returned),
    /// which must open the user turn; not sent.
    #[serde(skip)]
    pub from_tool: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlobOut<'a> {
    pub mime_type: &'a str,
    pub data: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileDataOut<'a> {
    pub mime_type: &'static str,
    pub file_uri: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionCallOut<'a> {
    /// Only in answers written for Gemini clients (requests to Gemini pair by name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub args: Value,
}

#[derive(Debug, Serialize)]
pub(crate) struct FunctionResponseOut<'a> {
    pub name: &'a str,
    pub response: FunctionResultOut<'a>,
}

/// Gemini reads `output` as the function's result and `error` as its failure.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FunctionResultOut<'a> {
    Output(Cow<'a, str>),
    Error(Cow<'a, str>),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolOut<'a> {
    pub function_declarations: Vec<FunctionDeclarationOut<'a>>,
}

/// Parameters go in `parametersJsonSchema`, which takes JSON Schema as OpenAI and
/// Anthropic clients write it; `parameters` only takes an OpenAPI subset and rejects
/// common keywords such as `additionalProperties`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionDeclarationOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_json_schema: Option<&'a Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfigOut<'a> {
    pub function_calling_config: FunctionCallingConfigOut<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfigOut<'a> {
    /// `AUTO`, `ANY` or `NONE`.
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_function_names: Vec<&'a str>,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfigOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    /// JSON Schema of the answer (the JSON Schema sibling of `responseSchema`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfigOut>,
}

impl GenerationConfigOut<'_> {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_empty()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.response_mime_type.is_none()
            && self.thinking_config.is_none()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThinkingConfigOut {
    pub thinking_budget: u64,
    /// Ask for the thought summaries, which become reasoning content.
    pub include_thoughts: bool,
}

// ------------------------------------------------------------------ responses

/// A `GenerateContentResponse`: a whole answer, or one chunk of a stream. An error
/// sent inside a stream comes as an object with only `error`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseIn<'a> {
    #[serde(borrow, default)]
    pub candidates: Option<Vec<CandidateIn<'a>>>,
    #[serde(borrow)]
    pub prompt_feedback: Option<PromptFeedbackIn<'a>>,
    pub usage_metadata: Option<UsageIn>,
    #[serde(borrow)]
    pub model_version: Option<Str<'a>>,
    #[serde(borrow)]
    pub response_id: Option<Str<'a>>,
    pub error: Option<ErrorIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidateIn<'a> {
    #[serde(borrow)]
    pub content: Option<ContentIn<'a>>,
    #[serde(borrow)]
    pub finish_reason: Option<Str<'a>>,
    pub index: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContentIn<'a> {
    #[serde(borrow)]
    pub parts: Option<Vec<PartIn<'a>>>,
}

/// Any part. Only text (answer or, with `thought`, reasoning) and function calls have
/// a canonical form; inline data and code-execution parts are skipped.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartIn<'a> {
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    pub thought: Option<bool>,
    #[serde(borrow)]
    pub thought_signature: Option<Str<'a>>,
    #[serde(borrow)]
    pub function_call: Option<FunctionCallIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionCallIn<'a> {
    /// Set by some models; Gemini otherwise pairs calls and responses by name.
    #[serde(borrow)]
    pub id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub name: Str<'a>,
    pub args: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedbackIn<'a> {
    #[serde(borrow)]
    pub block_reason: Option<Str<'a>>,
}

/// `usageMetadata`. `promptTokenCount` includes `cachedContentTokenCount`;
/// `candidatesTokenCount` excludes `thoughtsTokenCount`; tool-use prompt tokens (from
/// server-side tools) are counted apart from both.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UsageIn {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub cached_content_token_count: u64,
    pub thoughts_token_count: u64,
    pub tool_use_prompt_token_count: u64,
}

// ------------------------------------------------------------------ errors

/// `{"error": {"code", "message", "status", "details"}}`, Google's error model
/// (<https://ai.google.dev/gemini-api/docs/troubleshooting>).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBodyIn {
    pub error: Option<ErrorIn>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorIn {
    pub code: Option<u16>,
    pub message: Option<String>,
    /// `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`...
    pub status: Option<String>,
    #[serde(default)]
    pub details: Vec<ErrorDetailIn>,
}

/// One `google.rpc` detail; only `ErrorInfo.reason` and `RetryInfo.retryDelay` matter.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetailIn {
    pub reason: Option<String>,
    /// A protobuf `Duration` in JSON: `"37s"` or `"0.5s"`.
    pub retry_delay: Option<String>,
}
