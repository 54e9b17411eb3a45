//! One request to a provider outside the proxy path — the semantic cache's embedding,
//! a `GET` or `DELETE` of a response that a Responses provider holds: the provider's
//! first ready endpoint, its credentials and TLS settings, one attempt under a
//! timeout, the answer read whole up to a bound. No retries and no breaker
//! bookkeeping: these calls are not the client's request, which never waits on them
//! longer than their timeout.

use std::time::Duration;

use bytes::Bytes;
use once_cell::sync::Lazy;
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::upstreams::peer::HttpPeer;

use crate::config::Provider;
use crate::runtime::Runtime;

/// One connection pool for every direct call of the process.
static CONNECTOR: Lazy<Connector> = Lazy::new(|| Connector::new(None));

/// What the provider answered.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A request to `provider`: `method` on `path` (after the endpoint's path prefix,
/// query included), with a JSON `body` if any; answers over `max_answer` bytes fail.
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    pub max_answer: usize,
}

/// Send `call` to `provider`, all of it within `call.timeout`.
pub async fn send(
    runtime: &Runtime,
    provider: &Provider,
    call: Call<'_>,
) -> Result<Answer, String> {
    let timeout = call.timeout;
    // Boxed: a connection's future is kilobytes, and every request's future that
    // may call here (a semantic route or cache, on the hot path) would otherwise
    // carry that size inline, and copy it, whether it calls or not.
    let once = Box::pin(send_once(runtime, provider, call));
    match tokio::time::timeout(timeout, once).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn send_once(
    runtime: &Runtime,
    provider: &Provider,
    call: Call<'_>,
) -> Result<Answer, String> {
    let pool = runtime
        .pools
        .get(&provider.name)
        .ok_or("no endpoint pool")?;
    let (index, addr) = *pool.ready_endpoints().first().ok_or("no ready endpoint")?;
    let endpoint = provider.endpoints.get(index).ok_or("no endpoint")?;
    let path = format!("{}{}", endpoint.path_prefix, call.path);
    let mut req =
        RequestHeader::build(call.method, path.as_bytes(), Some(6)).map_err(|e| e.to_string())?;
    req.insert_header("host", endpoint.host_value.clone())
        .map_err(|e| e.to_string())?;
    if let Some(body) = &call.body {
        req.insert_header("content-type", "application/json")
            .map_err(|e| e.to_string())?;
        req.insert_header("content-length", body.len().to_string())
            .map_err(|e| e.to_string())?;
    }
    super::apply_auth(provider, &mut req).map_err(|e| e.to_string())?;
    let mut peer = HttpPeer::new(addr, endpoint.tls, endpoint.host.clone());
    peer.options.ca = provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    peer.options.connection_timeout = Some(call.timeout);
    peer.options.total_connection_timeout = Some(call.timeout);
    peer.options.read_timeout = Some(call.timeout);
    peer.options.write_timeout = Some(call.timeout);
    let (mut http, _reused) = CONNECTOR
        .get_http_session(&peer)
        .await
        .map_err(|e| format!("connect: {:?}", e.etype()))?;
    let io = |e: Box<pingora::Error>| format!("{:?}", e.etype());
    http.write_request_header(Box::new(req)).await.map_err(io)?;
    if let Some(body) = call.body {
        http.write_request_body(Bytes::from(body), true)
            .await
            .map_err(io)?;
    }
    http.finish_request_body().await.map_err(io)?;
    http.read_response_header().await.map_err(io)?;
    let status = http.response_header().map_or(0, |h| h.status.as_u16());
    let mut body = Vec::new();
    while let Some(chunk) = http.read_response_body().await.map_err(io)? {
        if body.len() + chunk.len() > call.max_answer {
            return Err("answer too large".to_string());
        }
        body.extend_from_slice(&chunk);
    }
    CONNECTOR
        .release_http_session(http, &peer, Some(Duration::from_secs(60)))
        .await;
    Ok(Answer { status, body })
}
