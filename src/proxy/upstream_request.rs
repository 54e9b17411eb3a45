//! The request header sent upstream: path, method, Host, the provider's auth (and
//! SigV4 for Bedrock), with the client's credentials and hop-by-hop headers removed.

use pingora::http::RequestHeader;
use pingora::{Error, ErrorType, Result};

use crate::config::ProviderKind;

use super::ctx::Ctx;

/// Hop-by-hop and credential headers never forwarded upstream.
const STRIPPED_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "expect",
    "transfer-encoding",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "upgrade",
    // We read (and may translate) the response body: ask for it uncompressed.
    "accept-encoding",
];

/// Client dialect headers that mean nothing to another format.
const DIALECT_HEADERS: &[&str] = &[
    "anthropic-version",
    "anthropic-beta",
    "openai-organization",
    "openai-project",
    "x-goog-api-client",
];

/// Rewrite the client's request header for the current attempt.
pub fn prepare(ctx: &Ctx, req: &mut RequestHeader) -> Result<()> {
    let Some(a) = &ctx.attempt else { return Ok(()) };
    let endpoint = a.provider.endpoints.get(a.endpoint_index);
    let prefix = endpoint.map_or("", |e| e.path_prefix.as_str());
    let path = format!("{prefix}{}", a.path);
    let uri = path
        .parse()
        .map_err(|_| Error::explain(ErrorType::InternalError, "bad upstream path"))?;
    req.set_uri(uri);
    req.set_method(http::Method::POST);
    for name in STRIPPED_HEADERS {
        req.remove_header(*name);
    }
    if a.format.native_dialect() != Some(ctx.req.dialect) {
        for name in DIALECT_HEADERS {
            req.remove_header(*name);
        }
    }
    let host = endpoint.map(|ep| {
        let default_port = if ep.tls { 443 } else { 80 };
        if ep.port == default_port {
            ep.host.clone()
        } else {
            format!("{}:{}", ep.host, ep.port)
        }
    });
    if let Some(host) = &host {
        req.insert_header("host", host.as_str())?;
    }
    req.insert_header("content-type", "application/json")?;
    req.insert_header("content-length", a.body.len().to_string())?;
    req.insert_header("x-request-id", ctx.req.id.as_str())?;
    crate::providers::apply_auth(&a.provider, req)?;
    if a.provider.kind == ProviderKind::Bedrock {
        let host = host.as_deref().unwrap_or("");
        crate::providers::sign_bedrock(&a.provider, req, host, &path, &a.body)?;
    }
    Ok(())
}
