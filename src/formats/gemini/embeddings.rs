//! Gemini embeddings (<https://ai.google.dev/api/embeddings>) ⇄ canonical:
//! `embedContent` (`{"content": {...}}` → `{"embedding": {"values": [...]}}`) and
//! `batchEmbedContents` (`{"requests": [...]}` → `{"embeddings": [...]}`).
//!
//! Gemini bodies are always rewritten, also between two Gemini ends: each request
//! names its model (`models/<name>`), which must be the upstream's, not the client's.
//! A content's text parts are embedded as one text.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, GatewayError};
use crate::formats::common::Str;
use crate::model::{EmbeddingRequest, EmbeddingResponse, Usage};

/// One `EmbedContentRequest`, or a batch of them in `requests`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EmbedIn<'a> {
    #[serde(borrow)]
    requests: Option<Vec<EmbedIn<'a>>>,
    #[serde(borrow)]
    content: Option<ContentIn<'a>>,
    #[serde(borrow, alias = "task_type")]
    task_type: Option<Str<'a>>,
    #[serde(borrow)]
    title: Option<Str<'a>>,
    #[serde(alias = "output_dimensionality")]
    output_dimensionality: Option<u64>,
}

#[derive(Deserialize)]
struct ContentIn<'a> {
    #[serde(borrow, default)]
    parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
struct PartIn<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

/// Read a Gemini client's `embedContent` or `batchEmbedContents` body.
pub(crate) fn read_request(body: &[u8]) -> Result<EmbeddingRequest<'_>, GatewayError> {
    let mut w: EmbedIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let (single, requests) = match w.requests.take() {
        Some(r) => (false, r),
        None => (true, vec![w]),
    };
    let first = requests.first();
    let task_type = first.and_then(|r| r.task_type.clone()).map(|t| t.0);
    let title = first.and_then(|r| r.title.clone()).map(|t| t.0);
    let dimensions = first.and_then(|r| r.output_dimensionality);
    let inputs = requests
        .into_iter()
        .map(|r| text_of(r.content))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.is_empty() {
        return Err(GatewayError::invalid("* requests: must not be empty").with_param("requests"));
    }
    Ok(EmbeddingRequest {
        inputs,
        dimensions,
        task_type,
        title,
        base64: false,
        single,
    })
}

/// The text parts of a content, as one text.
fn text_of(content: Option<ContentIn<'_>>) -> Result<Cow<'_, str>, GatewayError> {
    let mut texts = content
        .map(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.text.map(|t| t.0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            GatewayError::invalid("only text parts can be embedded").with_param("content")
        })?;
    match texts.len() {
        0 => Err(GatewayError::invalid("* content: must have text parts").with_param("content")),
        1 => Ok(texts.remove(0)),
        _ => Ok(Cow::Owned(texts.join(" "))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedOut<'a> {
    model: &'a str,
    content: ContentOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u64>,
}

#[derive(Serialize)]
struct ContentOut<'a> {
    parts: [TextOut<'a>; 1],
}

#[derive(Serialize)]
struct TextOut<'a> {
    text: &'a str,
}

/// Write the request for a Gemini target: `embedContent` for a single request from a
/// Gemini client, else `batchEmbedContents` (see `providers::upstream_path`).
pub(crate) fn write_request(
    req: &EmbeddingRequest<'_>,
    model: &str,
) -> Result<Vec<u8>, GatewayError> {
    let name = format!("models/{model}");
    let mut embeds = req.inputs.iter().map(|text| EmbedOut {
        model: &name,
        content: ContentOut {
            parts: [TextOut { text }],
        },
        task_type: req.task_type.as_deref(),
        title: req.title.as_deref(),
        output_dimensionality: req.dimensions,
    });
    let body = match (req.single, embeds.next()) {
        (true, Some(one)) => serde_json::to_vec(&one),
        (_, first) => {
            let requests: Vec<EmbedOut<'_>> = first.into_iter().chain(embeds).collect();
            serde_json::to_vec(&serde_json::json!({ "requests": requests }))
        }
    };
    body.map_err(|e| GatewayError::internal(format!("serialising: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseIn {
    embedding: Option<ValuesIn>,
    embeddings: Option<Vec<ValuesIn>>,
    usage_metadata: Option<UsageIn>,
}

#[derive(Deserialize)]
struct ValuesIn {
    #[serde(default)]
    values: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageIn {
    #[serde(default)]
    prompt_token_count: u64,
}

/// Read an upstream Gemini answer of either form.
pub(crate) fn read_response(body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
    let w: ResponseIn = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid embeddings response: {e}"),
        )
    })?;
    let vectors = match (w.embedding, w.embeddings) {
        (_, Some(many)) => many.into_iter().map(|v| v.values).collect(),
        (Some(one), None) => vec![one.values],
        (None, None) => {
            return Err(GatewayError::new(
                ErrorKind::UpstreamProtocol,
                "upstream embeddings response has no embedding",
            ))
        }
    };
    Ok(EmbeddingResponse {
        vectors,
        usage: Usage {
            input_tokens: w.usage_metadata.map_or(0, |u| u.prompt_token_count),
            ..Usage::default()
        },
    })
}

#[derive(Serialize)]
struct ValuesOut<'a> {
    values: &'a [f64],
}

/// Write the answer for a Gemini client, in the form it asked for.
pub(crate) fn write_response(
    resp: &EmbeddingResponse,
    single: bool,
) -> Result<Vec<u8>, GatewayError> {
    let values = resp.vectors.iter().map(|v| ValuesOut { values: v });
    let body = if single {
        let one = values.take(1).next().ok_or_else(|| {
            GatewayError::new(
                ErrorKind::UpstreamProtocol,
                "upstream returned no embedding",
            )
        })?;
        serde_json::to_vec(&serde_json::json!({ "embedding": one }))
    } else {
        let many: Vec<ValuesOut<'_>> = values.collect();
        serde_json::to_vec(&serde_json::json!({ "embeddings": many }))
    };
    body.map_err(|e| GatewayError::internal(format!("serialising: {e}")))
}

#[cfg(test)]
#[path = "embeddings_tests.rs"]
mod tests;
