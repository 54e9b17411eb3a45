//! The response side: deciding per attempt how the body is handled (pass through,
//! watch usage, translate a stream, translate a JSON body or an error), and doing it
//! chunk by chunk in the synchronous body filter.

use bytes::Bytes;
use pingora::http::ResponseHeader;

use crate::error::{Dialect, GatewayError};
use crate::formats::{self, WireFormat};
use crate::providers::Api;

use super::ctx::{Ctx, ResponseMode};

/// Largest same-format JSON body copied to read its usage; larger bodies still pass
/// through, their usage is then not recorded.
const USAGE_WATCH_LIMIT: usize = 4 * 1024 * 1024;

/// Decide how the body of this response is handled and fix up its headers.
pub fn prepare(ctx: &mut Ctx, resp: &mut ResponseHeader) -> pingora::Result<()> {
    let Some(attempt) = &ctx.attempt else {
        return Ok(());
    };
    let format = attempt.format;
    let same = format.native_dialect() == Some(ctx.dialect) || ctx.api == Some(Api::Embeddings);
    let status = resp.status.as_u16();
    let is_stream = is_event_stream(resp, format);
    ctx.mode = if status >= 400 {
        if same {
            ResponseMode::Passthrough
        } else {
            ResponseMode::TranslateError
        }
    } else if is_stream {
        let wants_usage = ctx.envelope.as_ref().is_some_and(|e| e.include_usage);
        let public_model = ctx.model_name().to_string();
        ResponseMode::Stream(formats::stream_translator(
            format,
            ctx.dialect,
            wants_usage,
            &public_model,
        ))
    } else if same {
        ResponseMode::PassthroughWatchUsage
    } else {
        ResponseMode::TranslateJson
    };
    if matches!(ctx.mode, ResponseMode::TranslateError) && status == 529 && ctx.dialect == Dialect::OpenAi {
        // Only Anthropic clients know 529 ("overloaded"); OpenAI SDKs expect 503.
        resp.set_status(503)?;
    }
    let rewrites_body = !matches!(
        ctx.mode,
        ResponseMode::Passthrough | ResponseMode::PassthroughWatchUsage
    );
    if rewrites_body {
        // The length changes: Pingora switches to chunked framing when neither
        // Content-Length nor Transfer-Encoding is left (it must be removed here, in
        // upstream_response_filter, for that to happen).
        resp.remove_header("content-length");
        resp.remove_header("content-encoding");
        let content_type = if is_stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        resp.insert_header("content-type", content_type)?;
    }
    if is_stream {
        resp.insert_header("cache-control", "no-cache")?;
    }
    Ok(())
}

fn is_event_stream(resp: &ResponseHeader, format: WireFormat) -> bool {
    let ct = resp
        .headers
        .get("content-type")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let ct = String::from_utf8_lossy(ct).to_ascii_lowercase();
    ct.starts_with("text/event-stream")
        || (format == WireFormat::BedrockConverse
            && ct.starts_with("application/vnd.amazon.eventstream"))
}

/// Handle one body chunk according to the mode. Errors end the response with an
/// in-band error event (see `fail_to_proxy`).
pub fn on_body(ctx: &mut Ctx, body: &mut Option<Bytes>, end: bool) -> Result<(), GatewayError> {
    match &mut ctx.mode {
        ResponseMode::Passthrough => {}
        ResponseMode::PassthroughWatchUsage => {
            if let Some(chunk) = body {
                if ctx.buffer.len() + chunk.len() <= USAGE_WATCH_LIMIT {
                    ctx.buffer.extend_from_slice(chunk);
                }
            }
            if end {
                if let Some(a) = &ctx.attempt {
                    ctx.usage = formats::usage_from_response(a.format, &ctx.buffer);
                }
                ctx.buffer = Vec::new();
            }
        }
        ResponseMode::Stream(translator) => {
            let mut out = Vec::new();
            if let Some(chunk) = body.take() {
                translator.feed(&chunk, &mut out)?;
            }
            if end {
                translator.finish(&mut out);
                ctx.usage = translator.usage();
            }
            *body = (!out.is_empty()).then(|| Bytes::from(out));
        }
        ResponseMode::TranslateJson | ResponseMode::TranslateError => {
            if let Some(chunk) = body.take() {
                ctx.buffer.extend_from_slice(&chunk);
            }
            if end {
                *body = Some(Bytes::from(finish_buffered(ctx)?));
            }
        }
    }
    Ok(())
}

fn finish_buffered(ctx: &mut Ctx) -> Result<Vec<u8>, GatewayError> {
    let Some(attempt) = &ctx.attempt else {
        return Ok(std::mem::take(&mut ctx.buffer));
    };
    let buffered = std::mem::take(&mut ctx.buffer);
    if matches!(ctx.mode, ResponseMode::TranslateError) {
        let status = ctx.upstream_status.unwrap_or(502);
        let err = formats::upstream_error(attempt.format, status, &buffered);
        return Ok(err.body(ctx.dialect));
    }
    let (out, usage) =
        formats::translate_response(attempt.format, ctx.dialect, &buffered, ctx.model_name())?;
    ctx.usage = usage;
    Ok(out)
}
