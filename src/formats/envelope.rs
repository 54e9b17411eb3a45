//! The request envelope: the few top-level fields the proxy needs before routing
//! (`model`, `stream`, usage reporting, end user), read with one validating skim of
//! the body, and the same-format rewrite that splices a new model name (and, for
//! OpenAI streams, `stream_options.include_usage`) into the original bytes.
//!
//! Same-format traffic is never re-serialised: key order, whitespace, number
//! formatting and unknown fields reach the upstream exactly as the client sent them.

use std::borrow::Cow;

use crate::error::{Dialect, GatewayError};
use crate::json::scan::{members, string_at, Scanner, Span, SyntaxError};
use crate::json::texts::visited_len;

/// What the proxy needs from a request body without a full parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The `model` the client asked for.
    pub model: String,
    /// `stream: true` was sent.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage: true` was sent.
    pub include_usage: bool,
    /// The end user: OpenAI `user`, Anthropic `metadata.user_id`.
    pub user: Option<String>,
    /// The output token cap asked for (`max_tokens` or `max_completion_tokens`), for
    /// token-rate-limit admission.
    pub max_tokens: Option<u64>,
    /// Bytes of user text in the body (what `json::text_bytes` measures), counted by
    /// the same skim: the prompt-token estimate of token-rate-limit admission.
    pub text_bytes: usize,
    dialect: Dialect,
    /// Where `model` sits in the body; `None` when the path names the model (Gemini).
    model_span: Option<Span>,
    stream_options: Option<StreamOptions>,
    /// Offset of the `}` closing the top-level object.
    object_end: usize,
}

/// Where `stream_options` sits and what it holds, for the include_usage splice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamOptions {
    Null(Span),
    /// An object; `include_usage` is the span of that member's value if present.
    Object {
        span: Span,
        empty: bool,
        include_usage: Option<Span>,
    },
    /// Any other JSON type: left for the upstream to reject.
    Other,
}

/// Top-level members of interest, as found by the skim.
#[derive(Default)]
struct Found {
    model: Option<Span>,
    stream: Option<Span>,
    stream_options: Option<Span>,
    messages: Option<Span>,
    user: Option<Span>,
    metadata: Option<Span>,
    max_tokens: Option<Span>,
    max_completion_tokens: Option<Span>,
    max_output_tokens: Option<Span>,
    generation_config: Option<Span>,
    duplicate: Option<&'static str>,
    text_bytes: usize,
}

impl Found {
    fn set(&mut self, key: &str, span: Span) {
        let (slot, name) = match key {
            "model" => (&mut self.model, "model"),
            "stream" => (&mut self.stream, "stream"),
            "stream_options" => (&mut self.stream_options, "stream_options"),
            "messages" => (&mut self.messages, "messages"),
            "user" => (&mut self.user, "user"),
            "metadata" => (&mut self.metadata, "metadata"),
            "max_tokens" => (&mut self.max_tokens, "max_tokens"),
            "max_completion_tokens" => (&mut self.max_completion_tokens, "max_completion_tokens"),
            "max_output_tokens" => (&mut self.max_output_tokens, "max_output_tokens"),
            "generationConfig" | "generation_config" => {
                (&mut self.generation_config, "generationConfig")
            }
            _ => return,
        };
        // Providers disagree on which duplicate wins; refusing them means the model we
        // route and meter on is the model the upstream sees.
        if slot.replace(span).is_some() && self.duplicate.is_none() {
            self.duplicate = Some(name);
        }
    }
}

/// Parse the envelope of a chat (`/v1/chat/completions`) or messages (`/v1/messages`,
/// `/v1/messages/count_tokens`) request: `messages` must be an array.
pub fn parse_envelope(dialect: Dialect, body: &[u8]) -> Result<Envelope, GatewayError> {
    parse_envelope_with(dialect, body, true)
}

/// [`parse_envelope`] for endpoints without `messages` (embeddings) when
/// `require_messages` is false.
pub fn parse_envelope_with(
    dialect: Dialect,
    body: &[u8],
    require_messages: bool,
) -> Result<Envelope, GatewayError> {
    let (found, object_end) = skim(body)?;
    if let Some(name) = found.duplicate {
        return Err(
            GatewayError::invalid(format!("duplicate key '{name}' in request body"))
                .with_param(name),
        );
    }
    let model_span = found.model.ok_or_else(|| {
        GatewayError::invalid("you must provide a model parameter").with_param("model")
    })?;
    let model = string_at(body, model_span)
        .ok_or_else(|| GatewayError::invalid("'model' must be a string").with_param("model"))?
        .into_owned();
    let stream = match found.stream.map(|s| &body[s.start..s.end]) {
        None | Some(b"false") | Some(b"null") => false,
        Some(b"true") => true,
        Some(_) => {
            return Err(GatewayError::invalid("'stream' must be a boolean").with_param("stream"))
        }
    };
    // Responses bodies carry `input` instead, read by the translator.
    if require_messages && dialect != Dialect::OpenAiResponses {
        match found.messages {
            None => {
                return Err(
                    GatewayError::invalid("missing required parameter: 'messages'")
                        .with_param("messages"),
                )
            }
            Some(s) if body[s.start] != b'[' => {
                return Err(
                    GatewayError::invalid("'messages' must be an array").with_param("messages")
                )
            }
            Some(_) => {}
        }
    }
    let stream_options = match dialect {
        Dialect::OpenAi => found.stream_options.map(|s| stream_options(body, s)),
        Dialect::Anthropic | Dialect::OpenAiResponses | Dialect::Gemini => None,
    };
    let include_usage = matches!(stream_options, Some(StreamOptions::Object { include_usage: Some(s), .. })
        if &body[s.start..s.end] == b"true");
    Ok(Envelope {
        model,
        stream,
        include_usage,
        user: end_user(dialect, body, &found),
        max_tokens: found
            .max_completion_tokens
            .or(found.max_tokens)
            .or(found.max_output_tokens)
            .and_then(|s| std::str::from_utf8(&body[s.start..s.end]).ok())
            .and_then(|v| v.trim().parse().ok()),
        text_bytes: found.text_bytes,
        dialect,
        model_span: Some(model_span),
        stream_options,
        object_end,
    })
}

/// The envelope of a Gemini call, whose path names the model and whether it streams
/// (see `proxy::inbound::gemini_call`); the body only adds the output cap,
/// `generationConfig.maxOutputTokens`. The body must be a JSON object.
pub fn parse_gemini_envelope(
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<Envelope, GatewayError> {
    let (found, object_end) = skim(body)?;
    if let Some(name) = found.duplicate {
        return Err(
            GatewayError::invalid(format!("duplicate key '{name}' in request body"))
                .with_param(name),
        );
    }
    let mut max_tokens = None;
    if let Some(config) = found.generation_config.filter(|s| body[s.start] == b'{') {
        let _ = members(body, config, |b, key, value| {
            if key == "maxOutputTokens" || key == "max_output_tokens" {
                max_tokens = std::str::from_utf8(&b[value.start..value.end])
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
            }
            Ok(())
        });
    }
    Ok(Envelope {
        model: model.to_string(),
        stream,
        include_usage: false,
        user: None,
        max_tokens,
        text_bytes: found.text_bytes,
        dialect: Dialect::Gemini,
        model_span: None,
        stream_options: None,
        object_end,
    })
}

/// Validate the whole body, find the top-level members of interest and count the user
/// text (one pass: a second walk for the token estimate cost as much as this one).
fn skim(body: &[u8]) -> Result<(Found, usize), GatewayError> {
    let not_json = |e: SyntaxError| {
        GatewayError::invalid(format!(
            "We could not parse the JSON body of your request: {} at byte {}",
            e.what, e.offset
        ))
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(GatewayError::invalid(
            "We could not parse the JSON body of your request: not UTF-8",
        ));
    };
    let mut sc = Scanner::for_text(text);
    if sc.peek() != Some(b'{') {
        sc.value().and_then(|_| sc.end()).map_err(not_json)?;
        return Err(GatewayError::invalid("request body must be a JSON object"));
    }
    let mut found = Found::default();
    let mut text_bytes = 0;
    let mut count = |key: &str, span: Span| {
        text_bytes += visited_len(text, key, span)?;
        Ok(())
    };
    sc.object_body_with_strings(1, &mut count, |_, key, span| {
        found.set(&key, span);
        Ok(())
    })
    .map_err(not_json)?;
    found.text_bytes = text_bytes;
    let object_end = sc.pos() - 1;
    sc.end().map_err(not_json)?;
    Ok((found, object_end))
}

fn stream_options(body: &[u8], span: Span) -> StreamOptions {
    match body[span.start] {
        b'n' => StreamOptions::Null(span),
        b'{' => {
            let mut include_usage = None;
            let mut empty = true;
            let _ = members(body, span, |_, key, value| {
                empty = false;
                if key == "include_usage" {
                    include_usage = Some(value);
                }
                Ok(())
            });
            StreamOptions::Object {
                span,
                empty,
                include_usage,
            }
        }
        _ => StreamOptions::Other,
    }
}

fn end_user(dialect: Dialect, body: &[u8], found: &Found) -> Option<String> {
    match dialect {
        Dialect::OpenAi | Dialect::OpenAiResponses => {
            string_at(body, found.user?).map(Cow::into_owned)
        }
        Dialect::Anthropic => {
            let meta = found.metadata?;
            if body[meta.start] != b'{' {
                return None;
            }
            let mut user = None;
            let _ = members(body, meta, |b, key, value| {
                if key == "user_id" {
                    user = string_at(b, value).map(Cow::into_owned);
                }
                Ok(())
            });
            user
        }
        Dialect::Gemini => None,
    }
}

/// Same format: splice `upstream_model` in place of the old model value and, when
/// `force_include_usage` is set for an OpenAI stream that did not ask for usage, set
/// `stream_options.include_usage = true` (the gateway meters on the usage chunk; the
/// stream pass-through then strips that chunk again). Everything else is copied as is.
pub fn rewrite_same_format(
    body: &[u8],
    env: &Envelope,
    upstream_model: &str,
    force_include_usage: bool,
) -> Vec<u8> {
    // At most two edits: kept on the stack, written straight into the new body.
    let mut edits: [Option<(Span, Replacement)>; 2] = [None, None];
    if let Some(span) = env.model_span {
        edits[0] = Some((span, Replacement::JsonString(upstream_model)));
    }
    if force_include_usage && env.dialect == Dialect::OpenAi && env.stream && !env.include_usage {
        edits[1] = include_usage_edit(env);
    }
    edits.sort_by_key(|e| e.as_ref().map(|(span, _)| span.start));
    splice(body, edits.iter().flatten())
}

/// What takes the place of a span of the body.
#[derive(Clone, Copy)]
enum Replacement<'a> {
    /// A JSON string of this text.
    JsonString(&'a str),
    /// These bytes as they are.
    Raw(&'static [u8]),
}

impl Replacement<'_> {
    /// The length it will have (a string needing escapes grows the body later).
    fn len(self) -> usize {
        match self {
            Replacement::JsonString(s) => s.len() + 2,
            Replacement::Raw(b) => b.len(),
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        match self {
            // Serialising a &str into a Vec cannot fail.
            Replacement::JsonString(s) => {
                let _ = serde_json::to_writer(&mut *out, s);
            }
            Replacement::Raw(b) => out.extend_from_slice(b),
        }
    }
}

fn include_usage_edit(env: &Envelope) -> Option<(Span, Replacement<'static>)> {
    const OBJ: &[u8] = br#"{"include_usage":true}"#;
    let at = |pos: usize| Span {
        start: pos,
        end: pos,
    };
    match env.stream_options {
        None => Some((
            at(env.object_end),
            Replacement::Raw(br#","stream_options":{"include_usage":true}"#),
        )),
        Some(StreamOptions::Null(span)) => Some((span, Replacement::Raw(OBJ))),
        Some(StreamOptions::Object {
            span, empty: true, ..
        }) => Some((span, Replacement::Raw(OBJ))),
        Some(StreamOptions::Object {
            include_usage: Some(value),
            ..
        }) => Some((value, Replacement::Raw(b"true"))),
        Some(StreamOptions::Object { span, .. }) => Some((
            at(span.start + 1),
            Replacement::Raw(br#""include_usage":true,"#),
        )),
        Some(StreamOptions::Other) => None,
    }
}

/// Apply non-overlapping edits sorted by start. Spans come from parsing this body;
/// should they not fit it, the body is returned unchanged rather than panicking. The
/// new body is allocated at its exact length (unless a string needs escapes), so it
/// becomes a `Bytes` without another allocation.
fn splice<'e, 'r: 'e>(
    body: &[u8],
    edits: impl Iterator<Item = &'e (Span, Replacement<'r>)> + Clone,
) -> Vec<u8> {
    let fits = |span: &Span, pos: usize| {
        span.start >= pos && span.end >= span.start && span.end <= body.len()
    };
    let mut length = body.len();
    let mut pos = 0;
    for (span, replacement) in edits.clone() {
        if !fits(span, pos) {
            return body.to_vec();
        }
        length = length - (span.end - span.start) + replacement.len();
        pos = span.end;
    }
    let mut out = Vec::with_capacity(length);
    let mut pos = 0;
    for &(span, replacement) in edits {
        out.extend_from_slice(&body[pos..span.start]);
        replacement.write(&mut out);
        pos = span.end;
    }
    out.extend_from_slice(&body[pos..]);
    out
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
