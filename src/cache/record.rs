//! Storing answers of requests that missed: complete `200` non-streaming bodies, and
//! streams assembled while they pass (each chunk goes on to the client first; the
//! assembler only reads it) — stored only when the stream ended normally, never a
//! cut, failed or guardrail-blocked one.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::{Entry, PendingStore};
use crate::error::Dialect;
use crate::formats::{self, WireFormat};
use crate::proxy::ctx::{Ctx, ResponseMode};

/// The upstream answered (after `outbound::prepare`): arm the stream assembler when
/// this is a storable `200` stream.
pub fn on_response_start(ctx: &mut Ctx) {
    ctx.resp.cache_stream = None;
    if ctx.req.cache.store.is_none() || ctx.resp.upstream_status != Some(200) {
        return;
    }
    if let (ResponseMode::Stream(_), Some(a)) = (&ctx.resp.mode, &ctx.attempt) {
        ctx.resp.cache_stream = Some(formats::replay::stream_assembler(a.format));
    }
}

/// One upstream body chunk, as received (before any translation).
pub fn on_body(ctx: &mut Ctx, chunk: Option<&Bytes>) {
    if let (Some(asm), Some(chunk)) = (&mut ctx.resp.cache_stream, chunk) {
        asm.feed(chunk);
    }
}

/// The response went out whole (its last chunk passed every check): store the
/// assembled stream if it ended normally.
pub fn on_end(ctx: &mut Ctx) {
    let Some(asm) = ctx.resp.cache_stream.take() else {
        return;
    };
    if ctx.resp.error.is_some() {
        return;
    }
    if let Some(body) = asm.finish(ctx.model_name()) {
        store(ctx, WireFormat::AnthropicMessages, Bytes::from(body));
    }
}

/// A complete non-streaming upstream body of `format` that went to the client
/// unchanged in meaning (passed through, translated, or passed by the guardrails).
pub fn on_json(ctx: &Ctx, format: WireFormat, body: &[u8]) {
    if ctx.req.cache.store.is_none() || ctx.resp.upstream_status != Some(200) {
        return;
    }
    store(ctx, format, Bytes::copy_from_slice(body));
}

/// A complete non-streaming answer in the client's dialect (checked by the output
/// guardrails and left unchanged by them).
pub fn on_client_json(ctx: &Ctx, body: &[u8]) {
    let format = match ctx.req.dialect {
        Dialect::OpenAi => WireFormat::OpenAiChat,
        Dialect::Anthropic => WireFormat::AnthropicMessages,
        // The Responses and Gemini APIs are not cached (see `serve::lookup`).
        Dialect::OpenAiResponses | Dialect::Gemini => return,
    };
    on_json(ctx, format, body);
}

fn store(ctx: &Ctx, format: WireFormat, body: Bytes) {
    let (Some(pending), Some(runtime)) = (&ctx.req.cache.store, &ctx.req.runtime) else {
        return;
    };
    // Only an answer that reads back completely is stored (a body cut at the usage
    // watch limit, or not an answer at all, is not).
    let Some(attempt) = &ctx.attempt else {
        return;
    };
    let usage = match formats::read_response(format, &body) {
        Ok(resp) => attempt.format.cache_accounting().from_canonical(resp.usage),
        Err(_) => return,
    };
    let PendingStore {
        key,
        route,
        namespace,
        ttl,
    } = pending;
    runtime.cache.insert(
        *key,
        Entry {
            format,
            body,
            usage,
            upstream_model: Arc::from(attempt.upstream_model.as_str()),
            created: SystemTime::now(),
            route: route.clone(),
            namespace: namespace.clone(),
            ttl: *ttl,
        },
    );
}
