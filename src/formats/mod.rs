//! Wire formats: reading request envelopes, rewriting same-format bodies, and
//! translating requests, responses, streams and errors between formats.
//!
//! # What the proxy calls
//! - [`parse_envelope`]: `model`, `stream`, usage flag and end user from a body, with
//!   one validating skim (no full parse); 400s for malformed bodies.
//! - Same format ([`WireFormat::native_dialect`] is the client's dialect):
//!   [`rewrite_same_format`] splices the upstream model name into the original bytes;
//!   [`stream_translator`] gives a pass-through that copies bytes and watches usage;
//!   [`usage_from_response`] reads usage from a non-stream body.
//! - Different formats: [`translate_request`], [`translate_response`],
//!   [`stream_translator`] go through the canonical model in `crate::model`.
//! - Errors: [`upstream_error`] turns any upstream error body into a `GatewayError`;
//!   `GatewayError::body` / `sse_event` (defined in `render`) write one in the
//!   client's dialect, [`render_model_list`] writes `GET /v1/models`.
//! - [`estimate_prompt_tokens`] for `count_tokens` and limit admission.
//!
//! # Adding a format (the pattern `openai_chat` and `anthropic_messages` follow)
//! One module per API, named for the API (not the company), with:
//! - `wire.rs`: serde types. Input types are flat structs borrowing from the body
//!   (`common::Str`, one optional field per variant, so serde reads an object in one
//!   pass instead of buffering it for a tagged enum); output types borrow from the
//!   canonical model. No `#[serde(flatten)]` on large structs: it buffers the whole
//!   object. Unknown fields are dropped on purpose: cross-format they mean nothing to
//!   the target, and same-format traffic never goes through these types.
//! - `request.rs`: `read(body) -> ChatRequest` and `write(&ChatRequest, model, opts)`.
//!   Content the target cannot take is a 400 via `common::unsupported`.
//! - `response.rs`: `read`/`write` of non-stream bodies, finish-reason and usage
//!   mapping (`model::CacheAccounting` says how the format counts cached tokens),
//!   `usage_probe(body)` for same-format bodies.
//! - `stream.rs`: a `stream::Decoder` (SSE event → canonical `StreamEvent`s, block
//!   structured, ids and model from the upstream's first event) and a
//!   `stream::Encoder` if the format is also a client dialect.
//! - `passthrough.rs`: same-format stream translator that watches usage.
//! - `error.rs`: error body → `upstream_error::UpstreamError` → `GatewayError`.
//! - `render.rs` (client dialects only): `render_error` and `render_model_list`.
//!
//! Then add the match arms below (the compiler lists them: every dispatch is an
//! exhaustive `match` on [`WireFormat`]), fixtures in `tests/fixtures/<format>/` and
//! rows in `tests/golden_formats.rs`. `openai_responses` is both: a client dialect,
//! and the format of targets that serve only that API. `bedrock_converse` is an
//! upstream format only (no encoder, no pass-through); Bedrock streams are not SSE, so
//! `bedrock_converse::stream` gives `Translating` an event-stream `Framing`. `gemini`
//! names its model in the URL, so its client requests carry no `model` to splice and
//! [`translate_request_streaming`] takes the stream flag from the URL; embeddings
//! ([`translate_embeddings_request`]) translate between OpenAI and Gemini.

mod anthropic_messages;
mod bedrock_converse;
mod common;
pub mod continuation;
mod envelope;
mod estimate;
mod gemini;
mod openai_chat;
mod openai_responses;
mod passthrough;
mod render;
pub mod replay;
pub(crate) mod stream;
pub mod stream_text;
mod upstream_error;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod usage_tests;

pub use crate::error::Dialect;
pub use envelope::{
    parse_envelope, parse_envelope_with, parse_gemini_envelope, rewrite_same_format, Envelope,
};
pub use estimate::{estimate_prompt_tokens, request_shape, RequestShape};
pub use render::{google_status_name, render_model, render_model_list, render_token_count};
pub use stream::{StreamFailure, StreamTranslator};

use crate::error::GatewayError;
use crate::model::{CacheAccounting, ChatRequest, ChatResponse, EmbeddingRequest, Usage};
use stream::Translating;

/// Upstream wire formats. Providers are a base URL, auth and one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI Chat Completions (OpenAI, Azure, vLLM, Ollama, Groq, Mistral, ...).
    OpenAiChat,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Google Gemini `generateContent`.
    Gemini,
    /// AWS Bedrock Converse (`ConverseStream` answers in binary event-stream frames).
    BedrockConverse,
    /// OpenAI Responses, served by the target itself (`api: responses`): only
    /// Responses clients reach it, and their traffic passes through.
    OpenAiResponses,
}

impl WireFormat {
    /// The client dialect that speaks this format natively, if any: a request in that
    /// dialect goes through [`rewrite_same_format`] instead of a translation.
    pub fn native_dialect(self) -> Option<Dialect> {
        match self {
            WireFormat::OpenAiChat => Some(Dialect::OpenAi),
            WireFormat::AnthropicMessages => Some(Dialect::Anthropic),
            WireFormat::OpenAiResponses => Some(Dialect::OpenAiResponses),
            WireFormat::Gemini => Some(Dialect::Gemini),
            WireFormat::BedrockConverse => None,
        }
    }

    /// How this format's input token count treats cached tokens.
    pub fn cache_accounting(self) -> CacheAccounting {
        match self {
            WireFormat::OpenAiChat => openai_chat::response::ACCOUNTING,
            WireFormat::AnthropicMessages => anthropic_messages::response::ACCOUNTING,
            WireFormat::Gemini => gemini::response::ACCOUNTING,
            WireFormat::BedrockConverse => bedrock_converse::response::ACCOUNTING,
            WireFormat::OpenAiResponses => openai_responses::usage::ACCOUNTING,
        }
    }
}

/// Knobs of request translation that depend on the upstream server, not the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    /// OpenAI format: write `max_tokens` instead of `max_completion_tokens`, for
    /// servers that predate it (Mistral, older vLLM and Ollama). OpenAI's reasoning
    /// models reject `max_tokens`, hence the default.
    pub legacy_max_tokens: bool,
    /// OpenAI format: ask for usage in streams (`stream_options.include_usage`), which
    /// metering needs; off only for servers that reject `stream_options`.
    pub stream_usage: bool,
    /// OpenAI format: pass `top_k` (vLLM and Ollama take it; OpenAI rejects it).
    pub openai_top_k: bool,
    /// Anthropic format: `max_tokens` when the source request has none.
    pub default_max_tokens: u64,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            legacy_max_tokens: false,
            stream_usage: true,
            openai_top_k: false,
            default_max_tokens: 4096,
        }
    }
}

/// Parse a request body of a client dialect into the canonical model.
pub fn read_request(from: Dialect, body: &[u8]) -> Result<ChatRequest<'_>, GatewayError> {
    match from {
        Dialect::OpenAi => openai_chat::request::read(body),
        Dialect::Anthropic => anthropic_messages::request::read(body),
        Dialect::OpenAiResponses => openai_responses::request::read(body),
        Dialect::Gemini => gemini::request_read::read(body),
    }
}

/// Cross-format: parse the ingress body fully into the canonical model and write the
/// target format's body. Unsupported content for the target → 400 saying what.
pub fn translate_request(
    from: Dialect,
    to: WireFormat,
    body: &[u8],
    upstream_model: &str,
) -> Result<Vec<u8>, GatewayError> {
    translate_request_with(from, to, body, upstream_model, &RequestOptions::default())
}

/// [`translate_request`] with options for the upstream server.
pub fn translate_request_with(
    from: Dialect,
    to: WireFormat,
    body: &[u8],
    upstream_model: &str,
    opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    write_request(read_request(from, body)?, to, upstream_model, opts)
}

/// [`translate_request`] for a client whose URL, not body, says whether it streams
/// (Gemini's `streamGenerateContent`).
pub fn translate_request_streaming(
    from: Dialect,
    to: WireFormat,
    body: &[u8],
    upstream_model: &str,
    stream: bool,
) -> Result<Vec<u8>, GatewayError> {
    let mut req = read_request(from, body)?;
    req.stream = stream;
    write_request(req, to, upstream_model, &RequestOptions::default())
}

fn write_request(
    req: ChatRequest<'_>,
    to: WireFormat,
    upstream_model: &str,
    opts: &RequestOptions,
) -> Result<Vec<u8>, GatewayError> {
    match to {
        WireFormat::OpenAiChat => openai_chat::request::write(&req, upstream_model, opts),
        WireFormat::AnthropicMessages => {
            anthropic_messages::request_write::write(&req, upstream_model, opts)
        }
        WireFormat::Gemini => gemini::request::write(&req, upstream_model, opts),
        WireFormat::BedrockConverse => bedrock_converse::request::write(&req, upstream_model, opts),
        WireFormat::OpenAiResponses => {
            openai_responses::request_write::write(&req, upstream_model, opts)
        }
    }
}

/// Parse a non-streaming upstream response body into the canonical model.
pub fn read_response(from: WireFormat, body: &[u8]) -> Result<ChatResponse<'_>, GatewayError> {
    match from {
        WireFormat::OpenAiChat => openai_chat::response::read(body),
        WireFormat::AnthropicMessages => anthropic_messages::response::read(body),
        WireFormat::Gemini => gemini::response::read(body),
        WireFormat::BedrockConverse => bedrock_converse::response::read(body),
        WireFormat::OpenAiResponses => openai_responses::response_read::read(body),
    }
}

/// Non-streaming response body of `from` → body in `to` dialect, plus the usage (in
/// the upstream's accounting, as `model::Usage` documents); `public_model` is the
/// model name the client used. Same format: the body is returned unchanged.
pub fn translate_response(
    from: WireFormat,
    to: Dialect,
    body: &[u8],
    public_model: &str,
) -> Result<(Vec<u8>, Usage), GatewayError> {
    if from.native_dialect() == Some(to) {
        return Ok((body.to_vec(), usage_from_response(from, body)));
    }
    let resp = read_response(from, body)?;
    let out = match to {
        Dialect::OpenAi => openai_chat::response::write(&resp, public_model)?,
        Dialect::Anthropic => anthropic_messages::response::write(&resp, public_model)?,
        Dialect::OpenAiResponses => openai_responses::response::write(&resp, public_model)?,
        Dialect::Gemini => gemini::response_write::write(&resp, public_model)?,
    };
    Ok((out, from.cache_accounting().from_canonical(resp.usage)))
}

/// The request parameters a Responses client's answers repeat (`instructions`,
/// `tools`, `store`, `previous_response_id`, ...), read from its request body;
/// `stored` is whether tollgate keeps the answer.
pub fn responses_echo(body: &[u8], stored: bool) -> serde_json::Map<String, serde_json::Value> {
    openai_responses::echo::read(body, stored)
}

/// A whole translated answer in `dialect` with the echoed request parameters set
/// (Responses only; other dialects' bodies are returned as they are).
pub fn echo_response(
    dialect: Dialect,
    body: Vec<u8>,
    echo: &serde_json::Map<String, serde_json::Value>,
) -> Vec<u8> {
    match dialect {
        Dialect::OpenAiResponses => openai_responses::echo::apply_to_body(body, echo),
        Dialect::OpenAi | Dialect::Anthropic | Dialect::Gemini => body,
    }
}

/// Usage from a same-format non-stream response, in the format's own accounting
/// (cheap: the content is skipped, not parsed). Zero when the body has none.
pub fn usage_from_response(format: WireFormat, body: &[u8]) -> Usage {
    usage_probe(format, body).unwrap_or_default()
}

/// The usage of a response body that parses as one JSON document (zero when it has
/// none); `None` when it does not parse. Parsing validates every byte, so `Some`
/// also proves the body complete (what `edge::complete` checks): one pass for both.
pub fn usage_probe(format: WireFormat, body: &[u8]) -> Option<Usage> {
    match format {
        WireFormat::OpenAiChat => openai_chat::response::usage_probe(body),
        WireFormat::AnthropicMessages => anthropic_messages::response::usage_probe(body),
        WireFormat::Gemini => gemini::response::usage_probe(body),
        WireFormat::BedrockConverse => bedrock_converse::response::usage_probe(body),
        WireFormat::OpenAiResponses => openai_responses::usage::usage_probe(body),
    }
}

/// The usage of a held same-format answer whose framing proved it whole (the
/// upstream's Content-Length was met), read from the usage member found walking back
/// from the end (`json::tail`): the content before it is not read. `None` when the
/// walk finds no such member or its value does not parse; the caller then reads the
/// whole answer with [`usage_probe`].
pub fn usage_from_end(format: WireFormat, body: &[u8]) -> Option<Usage> {
    type ReadUsage = fn(&[u8]) -> Option<Usage>;
    let (member, read): (&[u8], ReadUsage) = match format {
        WireFormat::OpenAiChat => (b"usage", openai_chat::response::usage_value),
        WireFormat::AnthropicMessages => (b"usage", anthropic_messages::response::usage_value),
        WireFormat::Gemini => (b"usageMetadata", gemini::response::usage_value),
        WireFormat::BedrockConverse => (b"usage", bedrock_converse::response::usage_value),
        WireFormat::OpenAiResponses => (b"usage", openai_responses::usage::usage_value),
    };
    read(&body[crate::json::tail::member_from_end(body, member)?..])
}

/// The stream translator for one response. Same format: a pass-through that copies
/// bytes untouched and watches usage (for OpenAI, when `client_wants_usage` is false,
/// it also strips the usage-only chunk the gateway asked for). Different formats:
/// decoder → canonical events → encoder; ids and model come from the upstream's
/// first event, and `public_model` is the model name shown to the client.
pub fn stream_translator(
    from: WireFormat,
    to: Dialect,
    client_wants_usage: bool,
    public_model: &str,
) -> Box<dyn StreamTranslator> {
    use anthropic_messages::{passthrough::AnthropicPassthrough, stream as anth};
    use bedrock_converse::stream::BedrockDecoder;
    use openai_chat::{passthrough::OpenAiPassthrough, stream as oai};
    let accounting = from.cache_accounting();
    match (from, to) {
        (WireFormat::OpenAiResponses, Dialect::OpenAiResponses) => {
            Box::new(openai_responses::passthrough::ResponsesPassthrough::new())
        }
        (WireFormat::OpenAiResponses, Dialect::OpenAi) => Box::new(Translating::new(
            openai_responses::stream_read::ResponsesDecoder::default(),
            oai::OpenAiEncoder::new(public_model, client_wants_usage),
            accounting,
        )),
        (WireFormat::OpenAiResponses, Dialect::Anthropic) => Box::new(Translating::new(
            openai_responses::stream_read::ResponsesDecoder::default(),
            anth::AnthropicEncoder::new(public_model),
            accounting,
        )),
        (WireFormat::OpenAiChat, Dialect::OpenAi) => {
            Box::new(OpenAiPassthrough::new(!client_wants_usage))
        }
        (WireFormat::AnthropicMessages, Dialect::Anthropic) => {
            Box::new(AnthropicPassthrough::new())
        }
        (WireFormat::Gemini, Dialect::Gemini) => {
            Box::new(gemini::passthrough::GeminiPassthrough::new())
        }
        (WireFormat::AnthropicMessages, Dialect::OpenAi) => Box::new(Translating::new(
            anth::AnthropicDecoder::default(),
            oai::OpenAiEncoder::new(public_model, client_wants_usage),
            accounting,
        )),
        (WireFormat::OpenAiChat, Dialect::Anthropic) => Box::new(Translating::new(
            oai::OpenAiDecoder::default(),
            anth::AnthropicEncoder::new(public_model),
            accounting,
        )),
        (WireFormat::Gemini, Dialect::OpenAi) => Box::new(Translating::new(
            gemini::stream::GeminiDecoder::default(),
            oai::OpenAiEncoder::new(public_model, client_wants_usage),
            accounting,
        )),
        (WireFormat::Gemini, Dialect::Anthropic) => Box::new(Translating::new(
            gemini::stream::GeminiDecoder::default(),
            anth::AnthropicEncoder::new(public_model),
            accounting,
        )),
        (WireFormat::BedrockConverse, Dialect::OpenAi) => Box::new(Translating::new(
            BedrockDecoder::default(),
            oai::OpenAiEncoder::new(public_model, client_wants_usage),
            accounting,
        )),
        (WireFormat::BedrockConverse, Dialect::Anthropic) => Box::new(Translating::new(
            BedrockDecoder::default(),
            anth::AnthropicEncoder::new(public_model),
            accounting,
        )),
        (_, Dialect::OpenAiResponses) => translator_into(
            from,
            openai_responses::stream::ResponsesEncoder::new(public_model),
        ),
        (_, Dialect::Gemini) => {
            translator_into(from, gemini::stream_write::GeminiEncoder::new(public_model))
        }
    }
}

/// Any upstream format's stream → the client events `encoder` writes.
fn translator_into<E: stream::Encoder + 'static>(
    from: WireFormat,
    encoder: E,
) -> Box<dyn StreamTranslator> {
    let accounting = from.cache_accounting();
    match from {
        WireFormat::OpenAiChat => Box::new(Translating::new(
            openai_chat::stream::OpenAiDecoder::default(),
            encoder,
            accounting,
        )),
        WireFormat::AnthropicMessages => Box::new(Translating::new(
            anthropic_messages::stream::AnthropicDecoder::default(),
            encoder,
            accounting,
        )),
        WireFormat::Gemini => Box::new(Translating::new(
            gemini::stream::GeminiDecoder::default(),
            encoder,
            accounting,
        )),
        WireFormat::BedrockConverse => Box::new(Translating::new(
            bedrock_converse::stream::BedrockDecoder::default(),
            encoder,
            accounting,
        )),
        // Only Responses clients reach such targets (see `responses_only`).
        WireFormat::OpenAiResponses => {
            Box::new(openai_responses::passthrough::ResponsesPassthrough::new())
        }
    }
}

/// Whether embeddings from `dialect` pass through to `format` untouched: only OpenAI
/// to OpenAI-format servers. Gemini bodies name the model inside (see
/// `gemini::embeddings`), so they are always rewritten.
pub fn embeddings_pass_through(format: WireFormat, dialect: Dialect) -> bool {
    format == WireFormat::OpenAiChat && dialect == Dialect::OpenAi
}

fn read_embeddings(from: Dialect, body: &[u8]) -> Result<EmbeddingRequest<'_>, GatewayError> {
    match from {
        Dialect::OpenAi => openai_chat::embeddings::read_request(body),
        Dialect::Gemini => gemini::embeddings::read_request(body),
        Dialect::Anthropic | Dialect::OpenAiResponses => Err(no_embeddings()),
    }
}

fn no_embeddings() -> GatewayError {
    GatewayError::invalid("embeddings are not served by this model's provider")
}

/// An embeddings request (OpenAI `/v1/embeddings`, Gemini `embedContent` or
/// `batchEmbedContents`) → the target format's body.
pub fn translate_embeddings_request(
    from: Dialect,
    to: WireFormat,
    body: &[u8],
    upstream_model: &str,
) -> Result<Vec<u8>, GatewayError> {
    let req = read_embeddings(from, body)?;
    match to {
        WireFormat::OpenAiChat => openai_chat::embeddings::write_request(&req, upstream_model),
        WireFormat::Gemini => gemini::embeddings::write_request(&req, upstream_model),
        _ => Err(no_embeddings()),
    }
}

/// An upstream embeddings answer → the client's, in the form its request (given as
/// `request_body`) asked for, plus the usage. Upstreams that report no usage (Gemini)
/// are metered on an estimate of the inputs (a quarter of their characters).
pub fn translate_embeddings_response(
    from: WireFormat,
    to: Dialect,
    request_body: &[u8],
    body: &[u8],
    public_model: &str,
) -> Result<(Vec<u8>, Usage), GatewayError> {
    let req = read_embeddings(to, request_body)?;
    let mut resp = match from {
        WireFormat::OpenAiChat => openai_chat::embeddings::read_response(body)?,
        WireFormat::Gemini => gemini::embeddings::read_response(body)?,
        _ => return Err(no_embeddings()),
    };
    if resp.usage.input_tokens == 0 {
        let chars: usize = req.inputs.iter().map(|i| i.chars().count()).sum();
        resp.usage.input_tokens = (chars as u64).div_ceil(4);
    }
    let out = match to {
        Dialect::OpenAi => {
            openai_chat::embeddings::write_response(&resp, public_model, req.base64)?
        }
        Dialect::Gemini => gemini::embeddings::write_response(&resp, req.single)?,
        Dialect::Anthropic | Dialect::OpenAiResponses => return Err(no_embeddings()),
    };
    Ok((out, resp.usage))
}

/// Upstream error body (any status >= 400) → `GatewayError` of the right kind, with
/// the message taken from the upstream body.
pub fn upstream_error(from: WireFormat, status: u16, body: &[u8]) -> GatewayError {
    match from {
        WireFormat::OpenAiChat => openai_chat::error::upstream_error(status, body),
        WireFormat::AnthropicMessages => anthropic_messages::error::upstream_error(status, body),
        WireFormat::Gemini => gemini::error::upstream_error(status, body),
        WireFormat::BedrockConverse => bedrock_converse::error::upstream_error(status, body),
        // The same error shape as chat completions.
        WireFormat::OpenAiResponses => openai_chat::error::upstream_error(status, body),
    }
}
