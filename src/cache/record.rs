//! Storing answers of requests that missed: complete `200` non-streaming bodies, and
//! streams assembled while they pass (each chunk goes on to the client first; the
//! assembler only reads it, and the time since the previous chunk is noted for
//! `replay: paced`) — stored only when the stream ended normally, never a cut, failed
//! or guardrail-blocked one.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;

use super::semantic::Record;
use super::{codec, Entry, PendingStore};
use crate::error::Dialect;
use crate::formats::replay::StreamAssembler;
use crate::formats::{self, WireFormat};
use crate::proxy::ctx::{Ctx, ResponseMode};

/// Most gaps kept per stream; later ones are added to the last (bounded memory for
/// any stream length, the replay's total duration unchanged).
const MAX_GAPS: usize = 4096;

/// A stream being assembled for the cache (`ctx.resp.cache_stream`).
pub struct StreamRecording {
    assembler: Box<dyn StreamAssembler>,
    last_chunk: Option<Instant>,
    gaps_ms: Vec<u32>,
}

impl StreamRecording {
    fn new(assembler: Box<dyn StreamAssembler>) -> StreamRecording {
        StreamRecording {
            assembler,
            last_chunk: None,
            gaps_ms: Vec::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let now = Instant::now();
        if let Some(prev) = self.last_chunk {
            let gap = u32::try_from(now.duration_since(prev).as_millis()).unwrap_or(u32::MAX);
            if self.gaps_ms.len() < MAX_GAPS {
                self.gaps_ms.push(gap);
            } else if let Some(last) = self.gaps_ms.last_mut() {
                *last = last.saturating_add(gap);
            }
        }
        self.last_chunk = Some(now);
        self.assembler.feed(chunk);
    }
}

/// The upstream answered (after `outbound::prepare`): arm the stream assembler when
/// this is a storable `200` stream.
pub fn on_response_start(ctx: &mut Ctx) {
    ctx.resp.cache_stream = None;
    if ctx.req.cache.store.is_none() || ctx.resp.upstream_status != Some(200) {
        return;
    }
    if let (ResponseMode::Stream(_), Some(a)) = (&ctx.resp.mode, &ctx.attempt) {
        let assembler = formats::replay::stream_assembler(a.format);
        ctx.resp.cache_stream = Some(StreamRecording::new(assembler));
    }
}

/// One upstream body chunk, as received (before any translation).
pub fn on_body(ctx: &mut Ctx, chunk: Option<&Bytes>) {
    if let (Some(rec), Some(chunk)) = (&mut ctx.resp.cache_stream, chunk) {
        rec.feed(chunk);
    }
}

/// The response went out whole (its last chunk passed every check): store the
/// assembled stream if it ended normally.
pub fn on_end(ctx: &mut Ctx) {
    let Some(rec) = ctx.resp.cache_stream.take() else {
        return;
    };
    if ctx.resp.error.is_some() {
        return;
    }
    if let Some(body) = rec.assembler.finish(ctx.model_name()) {
        let body = Bytes::from(body);
        store(ctx, WireFormat::AnthropicMessages, body, rec.gaps_ms);
    }
}

/// A complete non-streaming upstream body of `format` that went to the client
/// unchanged in meaning (passed through, translated, or passed by the guardrails).
pub fn on_json(ctx: &Ctx, format: WireFormat, body: &[u8]) {
    if ctx.req.cache.store.is_none() || ctx.resp.upstream_status != Some(200) {
        return;
    }
    store(ctx, format, Bytes::copy_from_slice(body), Vec::new());
}

/// A complete non-streaming answer in the client's dialect (checked by the output
/// guardrails and left unchanged by them).
pub fn on_client_json(ctx: &Ctx, body: &[u8]) {
    let format = match ctx.req.dialect {
        Dialect::OpenAi => WireFormat::OpenAiChat,
        Dialect::Anthropic => WireFormat::AnthropicMessages,
        // A Responses body is not read back as a stored answer (Responses clients'
        // answers are stored from the upstream's format instead); Gemini clients are
        // not cached (see `serve::lookup`).
        Dialect::OpenAiResponses | Dialect::Gemini => return,
    };
    on_json(ctx, format, body);
}

fn store(ctx: &Ctx, format: WireFormat, body: Bytes, gaps_ms: Vec<u32>) {
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
        semantic,
    } = pending;
    let created = SystemTime::now();
    let record = semantic.as_ref().map(|(scope, vector)| Record {
        scope: *scope,
        key: *key,
        expires_ms: codec::unix_ms(created + *ttl),
        route: route.clone(),
        namespace: namespace.clone(),
        vector: vector.clone(),
    });
    let mut entry = Entry::new(
        format,
        body,
        usage,
        Arc::from(attempt.upstream_model.as_str()),
        route.clone(),
        namespace.clone(),
        *ttl,
        gaps_ms,
    );
    entry.created = created;
    runtime.cache.insert(*key, entry, record);
}
