//! Serde types of what a Responses server answers: the Response object, its output
//! items and the stream events (read when the target serves only this API).

use serde::Deserialize;

use super::usage::UsageWire;
use crate::formats::common::Str;

/// A Response object (a whole answer, or the `response` of a `response.*` event).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ResponseIn<'a> {
    #[serde(borrow, default)]
    pub id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub model: Option<Str<'a>>,
    #[serde(default)]
    pub created_at: Option<u64>,
    #[serde(borrow, default)]
    pub status: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub output: Vec<OutputItemIn<'a>>,
    #[serde(default)]
    pub usage: Option<UsageWire>,
    #[serde(borrow, default)]
    pub incomplete_details: Option<IncompleteIn<'a>>,
    #[serde(borrow, default)]
    pub error: Option<ErrorIn<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IncompleteIn<'a> {
    #[serde(borrow, default)]
    pub reason: Option<Str<'a>>,
}

/// `error` of a failed response, or an `error` event.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorIn<'a> {
    #[serde(borrow, default)]
    pub message: Option<Str<'a>>,
}

/// One output item: `message`, `function_call` or `reasoning` (others are skipped).
#[derive(Debug, Deserialize)]
pub(crate) struct OutputItemIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub content: Vec<OutputPartIn<'a>>,
    #[serde(borrow, default)]
    pub call_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub arguments: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub summary: Vec<OutputPartIn<'a>>,
    #[serde(borrow, default)]
    pub encrypted_content: Option<Str<'a>>,
}

/// `output_text`, `refusal` or `summary_text`.
#[derive(Debug, Deserialize)]
pub(crate) struct OutputPartIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub text: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub refusal: Option<Str<'a>>,
}

/// One stream event; only the fields the decoder reads.
#[derive(Debug, Deserialize)]
pub(crate) struct EventIn<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(default)]
    pub output_index: Option<u32>,
    #[serde(borrow, default)]
    pub delta: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub item: Option<OutputItemIn<'a>>,
    #[serde(borrow, default)]
    pub response: Option<ResponseIn<'a>>,
    #[serde(borrow, default)]
    pub message: Option<Str<'a>>,
}
