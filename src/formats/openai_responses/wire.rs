//! Serde types of Responses request bodies. Flat structs with one optional field per
//! variant, borrowing strings from the body (see `formats` for why); fields the
//! canonical model has no place for are dropped.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::formats::common::{Str, TextOrParts};

/// `POST /v1/responses` body.
#[derive(Debug, Deserialize)]
pub(crate) struct RequestIn<'a> {
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow, default)]
    pub input: Option<TextOrParts<'a, ItemIn<'a>>>,
    #[serde(borrow, default)]
    pub instructions: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub tools: Option<Vec<ToolIn<'a>>>,
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(borrow, default)]
    pub text: Option<TextConfigIn<'a>>,
    #[serde(borrow, default)]
    pub reasoning: Option<ReasoningIn<'a>>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(borrow, default)]
    pub user: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub safety_identifier: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub previous_response_id: Option<Str<'a>>,
}

/// One input item: a message (with or without `type`), a function call, its output,
/// or a reasoning item.
#[derive(Debug, Deserialize)]
pub(crate) struct ItemIn<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub role: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub content: Option<TextOrParts<'a, PartIn<'a>>>,
    #[serde(borrow, default)]
    pub call_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub arguments: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub output: Option<TextOrParts<'a, PartIn<'a>>>,
    #[serde(borrow, default)]
    pub summary: Option<Vec<PartIn<'a>>>,
    #[serde(borrow, default)]
    pub encrypted_content: Option<Str<'a>>,
}

/// A content part: `input_text`, `output_text`, `input_image`, `refusal`,
/// `summary_text`, `input_file`.
#[derive(Debug, Deserialize)]
pub(crate) struct PartIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub text: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub image_url: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub detail: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub refusal: Option<Str<'a>>,
}

/// A tool: `function` is translated, every other type is a built-in tool.
#[derive(Debug, Deserialize)]
pub(crate) struct ToolIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub description: Option<Str<'a>>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `text`: the output format.
#[derive(Debug, Deserialize)]
pub(crate) struct TextConfigIn<'a> {
    #[serde(borrow, default)]
    pub format: Option<FormatIn<'a>>,
}

/// `text.format`: `text`, `json_object` or `json_schema` (fields inline).
#[derive(Debug, Deserialize)]
pub(crate) struct FormatIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub description: Option<Str<'a>>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `reasoning`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReasoningIn<'a> {
    #[serde(borrow, default)]
    pub effort: Option<Str<'a>>,
}
