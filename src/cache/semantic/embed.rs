//! The embedding call of a semantic lookup: the question sent as an OpenAI-format
//! `POST /v1/embeddings` (Azure: the deployment's `embeddings` operation) to the
//! configured embeddings route — its targets in order, each as a direct call
//! (`providers::direct`) — all under the route's `semantic.timeout_ms`. One attempt
//! per target, no retries: a failed embedding only costs the semantic lookup (the
//! request goes upstream) or a semantic router rule (it does not match), so it must
//! never cost the request more than its timeout.

use std::time::Duration;

use crate::config::{ModelRoute, Target};
use crate::providers::{self, direct, Api};
use crate::runtime::Runtime;

/// Largest embeddings answer read (a 3072-float vector in JSON is ~70 KB).
const MAX_ANSWER: usize = 4 << 20;

/// The vector of `text` from the route `route_name`, or why not.
pub async fn embed(
    runtime: &Runtime,
    route_name: &str,
    text: &str,
    timeout: Duration,
) -> Result<Vec<f32>, String> {
    let route = runtime
        .config
        .model(route_name)
        .ok_or_else(|| format!("embeddings route {route_name:?} is not configured"))?
        .clone();
    match tokio::time::timeout(timeout, embed_on(runtime, &route, text, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(format!("embedding timed out after {timeout:?}")),
    }
}

async fn embed_on(
    runtime: &Runtime,
    route: &ModelRoute,
    text: &str,
    timeout: Duration,
) -> Result<Vec<f32>, String> {
    let mut last = String::from("no target with a ready endpoint");
    for target in &route.targets {
        match embed_target(runtime, target, text, timeout).await {
            Ok(v) => return Ok(v),
            Err(e) => last = format!("{}: {e}", target.provider.name),
        }
    }
    Err(last)
}

async fn embed_target(
    runtime: &Runtime,
    target: &Target,
    text: &str,
    timeout: Duration,
) -> Result<Vec<f32>, String> {
    let provider = &target.provider;
    let path = providers::upstream_path(provider, Api::Embeddings, &target.model, false)
        .ok_or("the provider does not serve embeddings")?;
    let body = serde_json::to_vec(&serde_json::json!({"model": target.model, "input": text}))
        .map_err(|e| e.to_string())?;
    let call = direct::Call {
        method: "POST",
        path: &path,
        body: Some(body),
        timeout,
        max_answer: MAX_ANSWER,
    };
    let answer = direct::send(runtime, provider, call).await?;
    if answer.status != 200 {
        return Err(format!("embeddings answered {}", answer.status));
    }
    vector_of(&answer.body)
}

/// `data[0].embedding` of an OpenAI embeddings answer (float encoding).
fn vector_of(answer: &[u8]) -> Result<Vec<f32>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        embedding: Vec<f32>,
    }
    let a: Answer =
        serde_json::from_slice(answer).map_err(|_| "unreadable embeddings answer".to_string())?;
    let v = a
        .data
        .into_iter()
        .next()
        .map(|i| i.embedding)
        .filter(|v| !v.is_empty())
        .ok_or("embeddings answer without a vector")?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_is_read_from_an_openai_answer() {
        // Shape from the OpenAI API reference (Embeddings → create).
        let doc = br#"{"object":"list","data":[{"object":"embedding","embedding":[0.0023064255,-0.009327292,-0.0028842222],"index":0}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        assert_eq!(vector_of(doc).unwrap().len(), 3);
        assert!(vector_of(br#"{"data":[]}"#).is_err());
        assert!(vector_of(b"nope").is_err());
    }
}
