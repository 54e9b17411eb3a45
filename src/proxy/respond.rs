//! Writing responses the gateway answers itself: JSON bodies and errors in the
//! client's dialect.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::Result;
use pingora_proxy::Session;

use crate::error::GatewayError;

use super::ctx::Ctx;
use crate::edge::header_value;

/// A header the gateway adds to an answer of its own.
pub type ExtraHeader = (&'static str, http::HeaderValue);

/// Write a complete JSON response.
pub async fn send_json(
    session: &mut Session,
    ctx: &mut Ctx,
    status: u16,
    body: Vec<u8>,
    extra: &[ExtraHeader],
) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(4 + extra.len()))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    if !ctx.req.id.is_empty() {
        resp.insert_header("x-request-id", ctx.req.id.value().clone())?;
    }
    for (name, value) in extra {
        resp.insert_header(*name, value.clone())?;
    }
    ctx.resp.status = status;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from(body)), true)
        .await?;
    Ok(())
}

/// Answer `err` in the client's dialect and remember it for logs and metrics.
pub async fn send_error(session: &mut Session, ctx: &mut Ctx, err: GatewayError) -> Result<()> {
    send_error_with(session, ctx, err, Vec::new()).await
}

/// [`send_error`] with more headers.
pub async fn send_error_with(
    session: &mut Session,
    ctx: &mut Ctx,
    err: GatewayError,
    more: Vec<ExtraHeader>,
) -> Result<()> {
    let status = err.status_for(ctx.req.dialect);
    let body = err.body(ctx.req.dialect);
    let mut extra: Vec<ExtraHeader> = ctx
        .rate_limit_headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    extra.extend(more);
    if let Some(after) = err.retry_after {
        extra.push(("retry-after", header_value::count(after.as_secs().max(1))));
    }
    ctx.resp.error = Some(err);
    send_json(session, ctx, status, body, &extra).await
}
