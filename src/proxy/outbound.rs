//! The response side: deciding per attempt how the body is handled (pass through,
//! watch usage, translate a stream, translate a JSON body or an error), and doing it
//! chunk by chunk in the synchronous body filter.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{response::Parts, HeaderMap, HeaderValue, StatusCode};
use pingora::http::ResponseHeader;

use crate::error::{Dialect, GatewayError};
use crate::formats::{self, WireFormat};
use crate::providers::Api;

use super::ctx::{Ctx, ResponseMode};
use super::output_guard::GuardedStream;
use super::{attempt, preread};
use crate::policy::OutputScanner;

/// Largest same-format JSON body copied to read its usage; larger bodies still pass
/// through, their usage is then not recorded.
const USAGE_WATCH_LIMIT: usize = 4 * 1024 * 1024;

/// Decide how the body of this response is handled and fix up its head (taken out of
/// Pingora's, see `edge::heads`).
pub fn prepare(ctx: &mut Ctx, head: &mut Parts) {
    let Some(attempt) = &ctx.attempt else {
        return;
    };
    let format = attempt.format;
    let same = match ctx.req.api {
        Some(api) if api.is_embeddings() => {
            formats::embeddings_pass_through(format, ctx.req.dialect)
        }
        _ => format.native_dialect() == Some(ctx.req.dialect),
    };
    let status = head.status.as_u16();
    let is_stream = is_event_stream(&head.headers, format);
    let scanner = output_scanner(ctx);
    ctx.resp.mode = if status >= 400 && ctx.keepalive_committed() {
        ResponseMode::ErrorEvent
    } else if matches!(status, 400 | 413 | 422) && attempt::fallback_takes_refusals(ctx) {
        preread::hold_response(&ctx.slots.hold);
        ResponseMode::Classify { same }
    } else if status >= 400 {
        if same {
            ResponseMode::Passthrough
        } else {
            ResponseMode::TranslateError
        }
    } else if is_stream {
        let wants_usage = ctx.req.envelope.as_ref().is_some_and(|e| e.include_usage);
        let public_model = ctx.model_name().to_string();
        let mut translator =
            formats::stream_translator(format, ctx.req.dialect, wants_usage, &public_model);
        if let Some(turn) = &ctx.req.conversation {
            translator.echo(&turn.echo);
        }
        ResponseMode::Stream(translator)
    } else if scanner.is_some() {
        preread::hold_response(&ctx.slots.hold);
        ResponseMode::Guarded { translate: !same }
    } else if same {
        // Held to its end: released only when complete (edge::complete).
        preread::hold_response(&ctx.slots.hold);
        ctx.resp.declared_length = declared_length(&head.headers);
        ResponseMode::PassthroughWatchUsage
    } else {
        ResponseMode::TranslateJson
    };
    if matches!(
        ctx.resp.mode,
        ResponseMode::TranslateJson | ResponseMode::TranslateError
    ) {
        // The translated body is complete only at the end anyway: holding the header
        // until then lets it go out with a Content-Length, in two writes instead of
        // three (header, chunk, terminating chunk).
        preread::hold_response(&ctx.slots.hold);
    }
    if let (ResponseMode::Stream(_), Some(scanner)) = (&ctx.resp.mode, scanner) {
        ctx.resp.guard = Some(Box::new(GuardedStream::new(ctx.req.dialect, scanner)));
    }
    if matches!(ctx.resp.mode, ResponseMode::Stream(_)) {
        super::resume::on_stream_start(ctx);
    }
    if matches!(ctx.resp.mode, ResponseMode::TranslateError)
        && status == 529
        && ctx.req.dialect != Dialect::Anthropic
    {
        // Only Anthropic clients know 529 ("overloaded"); OpenAI SDKs expect 503.
        head.status = StatusCode::SERVICE_UNAVAILABLE;
    }
    crate::edge::upstream_headers::prepare(&mut head.headers, scrubs_passthrough(ctx));
    let rewrites_body = !matches!(
        ctx.resp.mode,
        ResponseMode::Passthrough | ResponseMode::PassthroughWatchUsage
    );
    if rewrites_body {
        // The length changes: Pingora switches to chunked framing when neither
        // Content-Length nor Transfer-Encoding is left (it must be removed here, in
        // upstream_response_filter, for that to happen).
        head.headers.remove(CONTENT_LENGTH);
        head.headers.remove(CONTENT_ENCODING);
        let content_type = if is_stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        head.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if is_stream {
        head.headers
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
}

/// The Content-Length of an answer sent as is (no content coding).
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    if headers.contains_key(CONTENT_ENCODING) {
        return None;
    }
    std::str::from_utf8(headers.get(CONTENT_LENGTH)?.as_bytes())
        .ok()?
        .parse()
        .ok()
}

/// Whether a passed-through body is an upstream error, held and scrubbed of secrets.
fn scrubs_passthrough(ctx: &Ctx) -> bool {
    matches!(ctx.resp.mode, ResponseMode::Passthrough)
        && ctx.resp.upstream_status.is_some_and(|s| s >= 400)
}

/// Whether the client receives this response as an event stream (after `prepare`).
pub fn is_client_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

fn is_event_stream(headers: &HeaderMap, format: WireFormat) -> bool {
    let ct = headers
        .get(CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    starts_with_ignore_case(ct, b"text/event-stream")
        || (format == WireFormat::BedrockConverse
            && starts_with_ignore_case(ct, b"application/vnd.amazon.eventstream"))
}

/// A case-insensitive prefix test that allocates nothing (once per response).
pub(super) fn starts_with_ignore_case(value: &[u8], prefix: &[u8]) -> bool {
    value
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Handle one body chunk according to the mode. Errors end the response with an
/// in-band error event (see `fail_to_proxy`).
pub fn on_body(ctx: &mut Ctx, body: &mut Option<Bytes>, end: bool) -> Result<(), GatewayError> {
    match &mut ctx.resp.mode {
        ResponseMode::Passthrough => {
            if ctx.resp.upstream_status.is_some_and(|s| s >= 400) {
                crate::edge::scrub::passthrough_error(&mut ctx.resp.buffer, body, end)
            }
        }
        ResponseMode::PassthroughWatchUsage => {
            // Borrowed: the first clone of Pingora's chunk would allocate.
            let chunk: &[u8] = body.as_deref().unwrap_or_default();
            if end && ctx.resp.answer.is_empty() && chunk.len() <= USAGE_WATCH_LIMIT {
                // The whole answer in this one chunk (the usual case): read in place.
                return end_of_watched_answer(ctx, Some(chunk));
            }
            ctx.resp.answer.feed(chunk, USAGE_WATCH_LIMIT);
            if end {
                let whole = std::mem::take(&mut ctx.resp.answer).finish()?;
                return end_of_watched_answer(ctx, whole.as_deref());
            }
        }
        ResponseMode::Stream(translator) => {
            let mut out = match body.take() {
                Some(chunk) => translator.feed_bytes(chunk).map_err(|failure| {
                    // The tail already ends with the in-band error event for the client.
                    ctx.resp.stream_tail = Some(failure.tail);
                    failure.error
                })?,
                None => Bytes::new(),
            };
            if end {
                let mut last = Vec::new();
                translator.finish(&mut last);
                ctx.resp.usage = translator.usage();
                out = append(out, last);
            }
            if let Some(guard) = &mut ctx.resp.guard {
                out = Bytes::from(guard.feed(&out, end)?);
            }
            if let Some(splice) = &mut ctx.resp.splice {
                let mut spliced = Vec::with_capacity(out.len());
                splice.feed(&out, &mut spliced);
                out = Bytes::from(spliced);
            }
            super::resume::on_client_bytes(ctx, &out);
            *body = (!out.is_empty()).then_some(out);
        }
        ResponseMode::Classify { same } => {
            let same = *same;
            if let Some(chunk) = body.take() {
                ctx.resp.buffer.extend_from_slice(&chunk);
            }
            if end {
                *body = finish_classified(ctx, same).map(Bytes::from);
            }
        }
        ResponseMode::Guarded { translate } => {
            let translate = *translate;
            if let Some(chunk) = body.take() {
                ctx.resp.buffer.extend_from_slice(&chunk);
            }
            if end {
                *body = Some(Bytes::from(finish_guarded(ctx, translate)?));
            }
        }
        ResponseMode::ErrorEvent => {
            if let Some(chunk) = body.take() {
                ctx.resp.buffer.extend_from_slice(&chunk);
            }
            if end {
                *body = finish_error_event(ctx).map(Bytes::from);
            }
        }
        ResponseMode::TranslateJson | ResponseMode::TranslateError => {
            if let Some(chunk) = body.take() {
                ctx.resp.buffer.extend_from_slice(&chunk);
            }
            if end {
                *body = Some(Bytes::from(finish_buffered(ctx)?));
            }
        }
    }
    Ok(())
}

/// The end of a held same-format answer: `whole` is the answer when it was small
/// enough to copy (`None`: too large, found complete, its usage not read). When its
/// Content-Length was met, the framing proved it whole and its usage is read from the
/// end (`formats::usage_from_end`); otherwise one parse reads its usage and proves it
/// complete (a document that parses is complete), and one that does not parse must
/// still pass the completeness scan. The response cache stores the copy.
fn end_of_watched_answer(ctx: &mut Ctx, whole: Option<&[u8]>) -> Result<(), GatewayError> {
    let Some(whole) = whole else {
        return Ok(());
    };
    let format = ctx.attempt.as_ref().map(|a| a.format);
    let framed_whole = ctx.resp.declared_length == Some(whole.len());
    let from_end = |f| {
        framed_whole
            .then(|| formats::usage_from_end(f, whole))
            .flatten()
    };
    match format.and_then(|f| from_end(f).or_else(|| formats::usage_probe(f, whole))) {
        Some(usage) => ctx.resp.usage = usage,
        None if crate::edge::complete::is_complete(&[whole]) => {}
        None => return Err(crate::edge::complete::cut_short()),
    }
    if let Some(format) = format {
        crate::cache::record_json(ctx, format, whole);
    }
    Ok(())
}

/// `first` followed by `last`; no copy when either is empty.
fn append(first: Bytes, last: Vec<u8>) -> Bytes {
    if last.is_empty() {
        return first;
    }
    if first.is_empty() {
        return Bytes::from(last);
    }
    let mut both = Vec::with_capacity(first.len() + last.len());
    both.extend_from_slice(&first);
    both.extend_from_slice(&last);
    Bytes::from(both)
}

/// A held client error: a refusal the fallbacks take over asks for another
/// attempt (nothing reached the client yet); anything else goes out as usual.
fn finish_classified(ctx: &mut Ctx, same: bool) -> Option<Vec<u8>> {
    let (buffered, err) = held_error_unless_refused(ctx)?;
    Some(if same {
        crate::edge::scrub::bytes(&buffered).into_owned()
    } else {
        err.body(ctx.req.dialect)
    })
}

/// An upstream error after a keepalive committed a `200` stream: a refusal still goes
/// to the fallbacks; anything else becomes the stream's one in-band error event.
fn finish_error_event(ctx: &mut Ctx) -> Option<Vec<u8>> {
    let (_, err) = held_error_unless_refused(ctx)?;
    let event = err.sse_event(ctx.req.dialect);
    ctx.resp.error = Some(err);
    Some(event)
}

/// The held upstream error body and what it means; `None` when it is a refusal that
/// a fallback route takes over (the retry is then asked for).
fn held_error_unless_refused(ctx: &mut Ctx) -> Option<(Vec<u8>, GatewayError)> {
    let buffered = std::mem::take(&mut ctx.resp.buffer);
    let format = ctx.attempt.as_ref()?.format;
    let status = ctx.resp.upstream_status.unwrap_or(400);
    let err = formats::upstream_error(format, status, &buffered);
    if fall_back_on_refusal(ctx, &err) {
        return None;
    }
    Some((buffered, err))
}

/// Whether a refusal (context window, content policy) goes to a fallback route;
/// asks for the retry when it does.
fn fall_back_on_refusal(ctx: &mut Ctx, err: &GatewayError) -> bool {
    let Some(class) = attempt::class_of_refusal(err) else {
        return false;
    };
    // The cursor never retries a refusal on its route (the content would be
    // refused again): only a fallback takes it.
    if !super::failure::on_refusal(ctx, class) {
        return false;
    }
    ctx.resp.retry_requested = true;
    true
}

/// The key's output scanner, when it has output guardrails.
fn output_scanner(ctx: &Ctx) -> Option<OutputScanner> {
    let (Some(runtime), Some(key)) = (&ctx.req.runtime, &ctx.req.key) else {
        return None;
    };
    runtime.policy.output_scanner(key, ctx.model_name())
}

/// A held non-streaming answer: translate if needed, then check it. A block
/// replaces the held response with the error in the client's dialect.
fn finish_guarded(ctx: &mut Ctx, translate: bool) -> Result<Vec<u8>, GatewayError> {
    let buffered = std::mem::take(&mut ctx.resp.buffer);
    let Some(attempt) = &ctx.attempt else {
        return Ok(buffered);
    };
    let answer = if translate {
        let (out, usage) = translate_answer(ctx, attempt.format, &buffered)?;
        ctx.resp.usage = usage;
        echoed(ctx, out)
    } else {
        ctx.resp.usage = formats::usage_from_response(attempt.format, &buffered);
        buffered
    };
    let (Some(runtime), Some(key)) = (&ctx.req.runtime, &ctx.req.key) else {
        return Ok(answer);
    };
    match runtime.policy.check_output(key, ctx.model_name(), &answer) {
        Ok(Some(redacted)) => Ok(redacted),
        Ok(None) => {
            crate::cache::record_client_json(ctx, &answer);
            Ok(answer)
        }
        Err(err) => {
            let status = err.status_for(ctx.req.dialect);
            if let Ok(mut header) = ResponseHeader::build(status, Some(3)) {
                let _ = header.insert_header("content-type", "application/json");
                let _ = header.insert_header("x-request-id", ctx.req.id.as_str());
                preread::replace_held_header(&ctx.slots.hold, header);
            }
            let body = err.body(ctx.req.dialect);
            ctx.resp.status = status;
            ctx.resp.error = Some(err);
            Ok(body)
        }
    }
}

fn finish_buffered(ctx: &mut Ctx) -> Result<Vec<u8>, GatewayError> {
    let Some(attempt) = &ctx.attempt else {
        return Ok(std::mem::take(&mut ctx.resp.buffer));
    };
    let buffered = std::mem::take(&mut ctx.resp.buffer);
    if matches!(ctx.resp.mode, ResponseMode::TranslateError) {
        let status = ctx.resp.upstream_status.unwrap_or(502);
        let err = formats::upstream_error(attempt.format, status, &buffered);
        return Ok(err.body(ctx.req.dialect));
    }
    let (out, usage) = translate_answer(ctx, attempt.format, &buffered)?;
    ctx.resp.usage = usage;
    crate::cache::record_json(ctx, attempt.format, &buffered);
    Ok(echoed(ctx, out))
}

/// A translated Responses answer repeats its request's parameters.
fn echoed(ctx: &Ctx, out: Vec<u8>) -> Vec<u8> {
    match &ctx.req.conversation {
        Some(turn) => formats::echo_response(ctx.req.dialect, out, &turn.echo),
        None => out,
    }
}

/// A whole upstream answer in `format` → the client's dialect, with its usage.
fn translate_answer(
    ctx: &Ctx,
    format: WireFormat,
    body: &[u8],
) -> Result<(Vec<u8>, crate::model::Usage), GatewayError> {
    if ctx.req.api.is_some_and(Api::is_embeddings) {
        return formats::translate_embeddings_response(
            format,
            ctx.req.dialect,
            &ctx.req.body,
            body,
            ctx.model_name(),
        );
    }
    formats::translate_response(format, ctx.req.dialect, body, ctx.model_name())
}

#[cfg(test)]
mod tests {
    use super::starts_with_ignore_case;

    #[test]
    fn content_type_prefixes_match_in_any_case() {
        assert!(starts_with_ignore_case(
            b"Text/Event-Stream; charset=utf-8",
            b"text/event-stream"
        ));
        assert!(starts_with_ignore_case(
            b"text/event-stream",
            b"text/event-stream"
        ));
        assert!(!starts_with_ignore_case(
            b"text/event",
            b"text/event-stream"
        ));
        assert!(!starts_with_ignore_case(
            b"application/json",
            b"text/event-stream"
        ));
        assert!(!starts_with_ignore_case(b"", b"text/event-stream"));
    }
}
