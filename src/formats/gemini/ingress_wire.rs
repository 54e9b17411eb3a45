//! Gemini wire types of the client side: `generateContent` request bodies as Gemini
//! clients send them (read), and the `usageMetadata` of answers written for them.
//! Answer parts reuse the request-side output types of `wire` (`ContentOut`,
//! `PartOut`), which are the same `Content` and `Part` objects.
//!
//! Google's JSON parser takes both the proto names (`system_instruction`, as the
//! REST examples write them) and their camelCase JSON names (as the SDKs write
//! them), so both are read. Fields without a canonical meaning (`safetySettings`,
//! `labels`, response modalities) are skipped by serde without being built.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::wire::FunctionCallIn;
use crate::formats::common::Str;

/// A `GenerateContentRequest`. A `countTokens` body may wrap one in
/// `generateContentRequest` instead of sending `contents`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestIn<'a> {
    #[serde(borrow, default)]
    pub contents: OneOrList<ContentIn<'a>>,
    #[serde(borrow, alias = "system_instruction")]
    pub system_instruction: Option<ContentIn<'a>>,
    /// Each tool is an object of one kind: `functionDeclarations` or a built-in tool
    /// (`googleSearch`, `codeExecution`, ...), named by its key.
    #[serde(default)]
    pub tools: Vec<Map<String, Value>>,
    #[serde(borrow, alias = "tool_config")]
    pub tool_config: Option<ToolConfigIn<'a>>,
    #[serde(borrow, alias = "generation_config")]
    pub generation_config: Option<GenerationConfigIn<'a>>,
    #[serde(borrow, alias = "cached_content")]
    pub cached_content: Option<Str<'a>>,
    #[serde(borrow, alias = "generate_content_request")]
    pub generate_content_request: Option<Box<RequestIn<'a>>>,
}

/// A repeated field, which Google's parser also takes as one bare object (the
/// cookbook's first REST example sends `"contents": {...}` and `"parts": {...}`).
#[derive(Debug)]
pub(crate) struct OneOrList<T>(pub Vec<T>);

impl<T> Default for OneOrList<T> {
    fn default() -> Self {
        OneOrList(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrList<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or a list of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(OneOrList(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrList(vec![one]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrList(Vec::new()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One turn: `user` (the default) or `model`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ContentIn<'a> {
    #[serde(borrow)]
    pub role: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub parts: OneOrList<PartIn<'a>>,
}

/// Any part; exactly one data field is expected.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartIn<'a> {
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    pub thought: Option<bool>,
    #[serde(borrow, alias = "thought_signature")]
    pub thought_signature: Option<Str<'a>>,
    #[serde(borrow, alias = "inline_data")]
    pub inline_data: Option<BlobIn<'a>>,
    #[serde(borrow, alias = "file_data")]
    pub file_data: Option<FileDataIn<'a>>,
    #[serde(borrow, alias = "function_call")]
    pub function_call: Option<FunctionCallIn<'a>>,
    #[serde(borrow, alias = "function_response")]
    pub function_response: Option<FunctionResponseIn<'a>>,
    #[serde(alias = "executable_code")]
    pub executable_code: Option<serde::de::IgnoredAny>,
    #[serde(alias = "code_execution_result")]
    pub code_execution_result: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlobIn<'a> {
    #[serde(borrow, alias = "mime_type", default)]
    pub mime_type: Str<'a>,
    #[serde(borrow, default)]
    pub data: Str<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileDataIn<'a> {
    #[serde(borrow, alias = "mime_type")]
    pub mime_type: Option<Str<'a>>,
    #[serde(borrow, alias = "file_uri", default)]
    pub file_uri: Str<'a>,
}

/// A function's result: `response` is any JSON object (Google suggests `output` and
/// `error` keys).
#[derive(Debug, Deserialize)]
pub(crate) struct FunctionResponseIn<'a> {
    #[serde(borrow)]
    pub id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub name: Str<'a>,
    pub response: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfigIn<'a> {
    #[serde(borrow, alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfigIn<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfigIn<'a> {
    /// `AUTO`, `ANY`, `NONE` or `VALIDATED`.
    #[serde(borrow)]
    pub mode: Option<Str<'a>>,
    #[serde(borrow, alias = "allowed_function_names", default)]
    pub allowed_function_names: Vec<Str<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfigIn<'a> {
    pub temperature: Option<f64>,
    #[serde(alias = "top_p")]
    pub top_p: Option<f64>,
    /// An integer in the reference; some clients send it as a float.
    #[serde(alias = "top_k")]
    pub top_k: Option<f64>,
    #[serde(alias = "candidate_count")]
    pub candidate_count: Option<u32>,
    #[serde(alias = "max_output_tokens")]
    pub max_output_tokens: Option<u64>,
    #[serde(borrow, alias = "stop_sequences", default)]
    pub stop_sequences: Vec<Str<'a>>,
    pub seed: Option<i64>,
    #[serde(alias = "presence_penalty")]
    pub presence_penalty: Option<f64>,
    #[serde(alias = "frequency_penalty")]
    pub frequency_penalty: Option<f64>,
    #[serde(borrow, alias = "response_mime_type")]
    pub response_mime_type: Option<Str<'a>>,
    /// OpenAPI-subset schema (`type: "OBJECT"`, ...).
    #[serde(alias = "response_schema")]
    pub response_schema: Option<Value>,
    /// JSON Schema proper.
    #[serde(alias = "response_json_schema")]
    pub response_json_schema: Option<Value>,
    #[serde(borrow, alias = "thinking_config")]
    pub thinking_config: Option<ThinkingConfigIn<'a>>,
}

/// `includeThoughts` is not read: other providers' reasoning is always passed on.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThinkingConfigIn<'a> {
    /// Tokens; 0 turns thinking off, -1 lets the model decide.
    #[serde(alias = "thinking_budget")]
    pub thinking_budget: Option<i64>,
    /// `LOW`, `MEDIUM`, `HIGH` (Gemini 3).
    #[serde(borrow, alias = "thinking_level")]
    pub thinking_level: Option<Str<'a>>,
}

/// `usageMetadata` of an answer: see `wire::UsageIn` for what each count includes.
#[derive(Debug, Serialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageOut {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub total_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cached_content_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub thoughts_token_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
