//! OpenAI `/v1/embeddings` (<https://platform.openai.com/docs/api-reference/embeddings>)
//! ⇄ canonical embeddings, when the other side is not OpenAI-format (OpenAI to
//! OpenAI passes through untouched).
//!
//! `input` is a string or a list of strings; token-id inputs have no meaning for
//! another provider's tokenizer and get a 400. Vectors are written as JSON floats, or
//! as base64 of little-endian f32 when `encoding_format` is `base64` (what the Python
//! SDK asks for by default, decoding it itself).

use std::borrow::Cow;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, GatewayError};
use crate::formats::common::Str;
use crate::model::{EmbeddingRequest, EmbeddingResponse, Usage};

#[derive(Deserialize)]
struct RequestIn<'a> {
    input: Option<Value>,
    #[serde(borrow)]
    encoding_format: Option<Str<'a>>,
    dimensions: Option<u64>,
}

/// Read a client's `/v1/embeddings` body.
pub(crate) fn read_request(body: &[u8]) -> Result<EmbeddingRequest<'static>, GatewayError> {
    let w: RequestIn<'_> = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("invalid embeddings request: {e}")))?;
    let inputs = match w.input {
        Some(Value::String(s)) => vec![Cow::Owned(s)],
        Some(Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(Cow::Owned(s)),
                _ => Err(token_inputs()),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(GatewayError::invalid("'input' must not be empty").with_param("input"))
        }
        Some(_) => return Err(token_inputs()),
    };
    let base64 = match w.encoding_format.as_ref().map(|f| f.as_str()) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(
                GatewayError::invalid("'encoding_format' must be 'float' or 'base64'")
                    .with_param("encoding_format"),
            )
        }
    };
    Ok(EmbeddingRequest {
        inputs,
        dimensions: w.dimensions,
        base64,
        ..EmbeddingRequest::default()
    })
}

fn token_inputs() -> GatewayError {
    GatewayError::invalid(
        "'input' must be a string or a list of strings for this model's provider (token ids \
         belong to OpenAI's tokenizer)",
    )
    .with_param("input")
}

#[derive(Serialize)]
struct RequestOut<'a> {
    model: &'a str,
    input: &'a [Cow<'a, str>],
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u64>,
}

/// Write the canonical request as an OpenAI body (floats, converted back if the
/// client wanted base64).
pub(crate) fn write_request(
    req: &EmbeddingRequest<'_>,
    model: &str,
) -> Result<Vec<u8>, GatewayError> {
    let out = RequestOut {
        model,
        input: &req.inputs,
        encoding_format: "float",
        dimensions: req.dimensions,
    };
    serde_json::to_vec(&out).map_err(|e| GatewayError::internal(format!("serialising: {e}")))
}

#[derive(Deserialize)]
struct ResponseIn {
    #[serde(default)]
    data: Vec<ItemIn>,
    usage: Option<UsageIn>,
}

#[derive(Deserialize)]
struct ItemIn {
    #[serde(default)]
    index: usize,
    embedding: Vec<f64>,
}

#[derive(Deserialize)]
struct UsageIn {
    #[serde(default)]
    prompt_tokens: u64,
}

/// Read an upstream OpenAI answer (float vectors, as `write_request` asks).
pub(crate) fn read_response(body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
    let w: ResponseIn = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::UpstreamProtocol,
            format!("upstream sent an invalid embeddings response: {e}"),
        )
    })?;
    let mut data = w.data;
    data.sort_by_key(|d| d.index);
    Ok(EmbeddingResponse {
        vectors: data.into_iter().map(|d| d.embedding).collect(),
        usage: Usage {
            input_tokens: w.usage.map_or(0, |u| u.prompt_tokens),
            ..Usage::default()
        },
    })
}

/// Write the answer for an OpenAI client.
pub(crate) fn write_response(
    resp: &EmbeddingResponse,
    public_model: &str,
    base64: bool,
) -> Result<Vec<u8>, GatewayError> {
    let data: Vec<Value> = resp
        .vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                Value::String(base64_f32(v))
            } else {
                serde_json::json!(v)
            };
            serde_json::json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens = resp.usage.input_tokens;
    let body = serde_json::json!({
        "object": "list",
        "data": data,
        "model": public_model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    });
    Ok(body.to_string().into_bytes())
}

/// Little-endian f32s, base64: the `encoding_format: base64` representation.
fn base64_f32(v: &[f64]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_refuses_token_ids() {
        let r = read_request(br#"{"model":"m","input":["a","b"],"dimensions":8}"#).unwrap();
        assert_eq!(
            (r.inputs.len(), r.dimensions, r.base64),
            (2, Some(8), false)
        );
        let r = read_request(br#"{"model":"m","input":"a","encoding_format":"base64"}"#).unwrap();
        assert!(r.base64);
        for bad in [
            r#"{"input":[1,2]}"#,
            r#"{"input":[[1]]}"#,
            r#"{"input":[]}"#,
            r#"{"model":"m"}"#,
        ] {
            assert_eq!(
                read_request(bad.as_bytes()).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn writes_floats_or_base64_f32() {
        let resp = EmbeddingResponse {
            vectors: vec![vec![1.0, -0.5]],
            usage: Usage {
                input_tokens: 3,
                ..Usage::default()
            },
        };
        let v: Value = serde_json::from_slice(&write_response(&resp, "e", false).unwrap()).unwrap();
        assert_eq!(v["data"][0]["embedding"], serde_json::json!([1.0, -0.5]));
        assert_eq!(v["usage"]["prompt_tokens"], 3);
        let v: Value = serde_json::from_slice(&write_response(&resp, "e", true).unwrap()).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            raw,
            [1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat()
        );
    }
}
