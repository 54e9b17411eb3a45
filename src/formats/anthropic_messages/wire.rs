//! Anthropic Messages wire types (<https://docs.anthropic.com/en/api/messages>).
//!
//! As in `openai_chat::wire`: flat borrowed `*In` structs read each object in one
//! pass (a `type`-tagged enum would buffer it first); `*Out` types borrow from the
//! canonical model and are tagged enums, which serialise without buffering.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::common::{Str, TextOrParts};

// ---------------------------------------------------------------- requests, input

#[derive(Debug, Deserialize)]
pub(crate) struct RequestIn<'a> {
    #[serde(borrow)]
    pub model: Str<'a>,
    pub max_tokens: Option<u64>,
    #[serde(borrow)]
    pub system: Option<TextOrParts<'a, BlockIn<'a>>>,
    #[serde(borrow)]
    pub messages: Vec<MessageIn<'a>>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    #[serde(borrow)]
    pub stop_sequences: Option<Vec<Str<'a>>>,
    pub stream: Option<bool>,
    #[serde(borrow)]
    pub metadata: Option<MetadataIn<'a>>,
    #[serde(borrow)]
    pub tools: Option<Vec<ToolIn<'a>>>,
    #[serde(borrow)]
    pub tool_choice: Option<ToolChoiceIn<'a>>,
    #[serde(borrow)]
    pub thinking: Option<ThinkingIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MetadataIn<'a> {
    #[serde(borrow)]
    pub user_id: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageIn<'a> {
    #[serde(borrow)]
    pub role: Str<'a>,
    #[serde(borrow)]
    pub content: TextOrParts<'a, BlockIn<'a>>,
}

/// Any content block: `text`, `image`, `tool_use`, `tool_result`, `thinking`,
/// `redacted_thinking`, and the types only same-format traffic can carry.
#[derive(Debug, Deserialize)]
pub(crate) struct BlockIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub source: Option<SourceIn<'a>>,
    #[serde(borrow)]
    pub id: Option<Str<'a>>,
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    pub input: Option<Value>,
    #[serde(borrow)]
    pub tool_use_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub content: Option<TextOrParts<'a, BlockIn<'a>>>,
    pub is_error: Option<bool>,
    #[serde(borrow)]
    pub thinking: Option<Str<'a>>,
    #[serde(borrow)]
    pub signature: Option<Str<'a>>,
    #[serde(borrow)]
    pub data: Option<Str<'a>>,
    #[serde(borrow)]
    pub cache_control: Option<CacheControl<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SourceIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub media_type: Option<Str<'a>>,
    #[serde(borrow)]
    pub data: Option<Str<'a>>,
    #[serde(borrow)]
    pub url: Option<Str<'a>>,
}

#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
pub(crate) struct CacheControl<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolIn<'a> {
    /// Absent or `custom` for client tools; server tools (web search, ...) have their own.
    #[serde(borrow, rename = "type")]
    pub kind: Option<Str<'a>>,
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub description: Option<Str<'a>>,
    pub input_schema: Option<Value>,
    #[serde(borrow)]
    pub cache_control: Option<CacheControl<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToolChoiceIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ThinkingIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    pub budget_tokens: Option<u64>,
}

// --------------------------------------------------------------- requests, output

#[derive(Debug, Serialize)]
pub(crate) struct RequestOut<'a> {
    pub model: &'a str,
    pub max_tokens: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<BlockOut<'a>>,
    pub messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MetadataOut<'a> {
    pub user_id: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub role: &'static str,
    pub content: Vec<BlockOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockOut<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControlOut>,
    },
    Image {
        source: SourceOut<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControlOut>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControlOut>,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: Vec<BlockOut<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControlOut>,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

impl BlockOut<'_> {
    /// Mark this block as the end of a cached prefix; false for blocks that take none.
    pub fn set_cache_control(&mut self, cc: CacheControlOut) -> bool {
        match self {
            BlockOut::Text { cache_control, .. }
            | BlockOut::Image { cache_control, .. }
            | BlockOut::ToolUse { cache_control, .. }
            | BlockOut::ToolResult { cache_control, .. } => {
                *cache_control = Some(cc);
                true
            }
            BlockOut::Thinking { .. } | BlockOut::RedactedThinking { .. } => false,
        }
    }
}

#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheControlOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum SourceOut<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub input_schema: Cow<'a, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControlOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ToolChoiceOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ThinkingOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub budget_tokens: u64,
}

// ------------------------------------------------------------------ responses

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseIn<'a> {
    #[serde(borrow, default)]
    pub id: Str<'a>,
    #[serde(borrow, default)]
    pub model: Str<'a>,
    #[serde(borrow, default)]
    pub content: Vec<BlockIn<'a>>,
    #[serde(borrow)]
    pub stop_reason: Option<Str<'a>>,
    #[serde(borrow)]
    pub stop_sequence: Option<Str<'a>>,
    #[serde(default)]
    pub usage: UsageWire,
}

/// Usage as Anthropic reports it: `input_tokens` excludes cache reads and writes.
/// In `message_delta` events every field may be missing or null.
#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsageWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ResponseOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: Vec<BlockOut<'a>>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<&'a str>,
    pub usage: UsageWire,
}

// ------------------------------------------------------------------ errors

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBodyIn {
    pub error: Option<ErrorIn>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorIn {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}
