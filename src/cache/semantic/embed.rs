//! The embedding call of a semantic lookup: the question sent as an OpenAI-format
//! `POST /v1/embeddings` (Azure: the deployment's `embeddings` operation) to the
//! configured embeddings route — its targets in order, each on its first healthy
//! endpoint, with the provider's credentials and TLS settings — all under the
//! route's `semantic.timeout_ms`. One attempt per target, no retries: a failed
//! embedding only costs the semantic lookup (the request goes upstream), so it must
//! never cost the request more than its timeout.

use std::time::Duration;

use bytes::Bytes;
use once_cell::sync::Lazy;
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::upstreams::peer::HttpPeer;

use crate::config::{ModelRoute, Target};
use crate::providers::{self, Api};
use crate::runtime::Runtime;

/// Largest embeddings answer read (a 3072-float vector in JSON is ~70 KB).
const MAX_ANSWER: usize = 4 << 20;

/// One connection pool for every embedding call of the process.
static CONNECTOR: Lazy<Connector> = Lazy::new(|| Connector::new(None));

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
    let pool = runtime
        .pools
        .get(&provider.name)
        .ok_or("no endpoint pool")?;
    let (index, addr) = *pool.ready_endpoints().first().ok_or("no ready endpoint")?;
    let endpoint = provider.endpoints.get(index).ok_or("no endpoint")?;
    let path = providers::upstream_path(provider, Api::Embeddings, &target.model, false)
        .ok_or("the provider does not serve embeddings")?;
    let body = serde_json::to_vec(&serde_json::json!({"model": target.model, "input": text}))
        .map_err(|e| e.to_string())?;
    let mut req = RequestHeader::build(
        "POST",
        format!("{}{path}", endpoint.path_prefix).as_bytes(),
        Some(6),
    )
    .map_err(|e| e.to_string())?;
    let default_port = if endpoint.tls { 443 } else { 80 };
    let host = if endpoint.port == default_port {
        endpoint.host.clone()
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    };
    let headers = [
        ("host", host),
        ("content-type", "application/json".to_string()),
        ("content-length", body.len().to_string()),
    ];
    for (name, value) in headers {
        req.insert_header(name, value).map_err(|e| e.to_string())?;
    }
    providers::apply_auth(provider, &mut req).map_err(|e| e.to_string())?;
    let mut peer = HttpPeer::new(addr, endpoint.tls, endpoint.host.clone());
    peer.options.ca = provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    peer.options.connection_timeout = Some(timeout);
    peer.options.total_connection_timeout = Some(timeout);
    peer.options.read_timeout = Some(timeout);
    peer.options.write_timeout = Some(timeout);
    let (mut http, _reused) = CONNECTOR
        .get_http_session(&peer)
        .await
        .map_err(|e| format!("connect: {:?}", e.etype()))?;
    let io = |e: Box<pingora::Error>| format!("{:?}", e.etype());
    http.write_request_header(Box::new(req)).await.map_err(io)?;
    http.write_request_body(Bytes::from(body), true)
        .await
        .map_err(io)?;
    http.finish_request_body().await.map_err(io)?;
    http.read_response_header().await.map_err(io)?;
    let status = http.response_header().map_or(0, |h| h.status.as_u16());
    let mut answer = Vec::new();
    while let Some(chunk) = http.read_response_body().await.map_err(io)? {
        if answer.len() + chunk.len() > MAX_ANSWER {
            return Err("embeddings answer too large".to_string());
        }
        answer.extend_from_slice(&chunk);
    }
    if status != 200 {
        return Err(format!("embeddings answered {status}"));
    }
    CONNECTOR
        .release_http_session(http, &peer, Some(Duration::from_secs(60)))
        .await;
    vector_of(&answer)
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
