//! The proxy's side of governance: who is calling, may they use this model, is the
//! input acceptable, and may the request start under the key's and team's limits.
//! The rules themselves live in `policy`.

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::HeaderName;
use pingora_proxy::Session;
use std::sync::Arc;

use crate::error::{Dialect, GatewayError};
use crate::formats;
use crate::policy::{self, Admission, KeyInfo, Policy};
use crate::providers::Api;
use pingora::http::RequestHeader;

use super::ctx::Ctx;

/// Output tokens assumed for admission when the request sets no cap; the real
/// usage corrects it when the request ends.
const DEFAULT_OUTPUT_ESTIMATE: u64 = 1024;

/// The caller's key from `Authorization: Bearer` or `x-api-key`; Gemini clients
/// may also use `x-goog-api-key` or the `key` query parameter, as Google's API takes
/// them. The query parameter is removed from the request right after, so no log line
/// (Pingora's error log prints the URI) and no upstream ever sees it.
pub fn authenticate(
    policy: &Policy,
    session: &mut Session,
    dialect: Dialect,
) -> Result<Arc<KeyInfo>, GatewayError> {
    let query_key = take_query_key(session.req_header_mut());
    let headers = &session.req_header().headers;
    // Names parsed at compile time: a lookup by `&str` parses the name every time.
    const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    const X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");
    let header = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let mut presented = policy::presented_key(header(AUTHORIZATION), header(X_API_KEY));
    if dialect == Dialect::Gemini {
        presented = presented
            .or_else(|| {
                header(X_GOOG_API_KEY)
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
            })
            .or(query_key.as_deref().filter(|k| !k.is_empty()));
    }
    policy.authenticate(presented)
}

/// Remove every `key=` parameter from the request's query; the (decoded) first one.
fn take_query_key(req: &mut RequestHeader) -> Option<String> {
    let query = req.uri.query()?;
    if !query.split('&').any(|kv| kv.starts_with("key=")) {
        return None;
    }
    let key = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .map(super::inbound::percent_decode);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.starts_with("key="))
        .collect();
    let path = req.uri.path();
    let uri = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    if let Ok(uri) = uri.parse() {
        req.set_uri(uri);
    }
    key
}

/// Model allow-list and input guardrails; a redacting guardrail replaces the body.
pub fn check_request(policy: &Policy, ctx: &mut Ctx) -> Result<(), GatewayError> {
    let Some(key) = ctx.req.key.as_deref() else {
        return Ok(());
    };
    let model = ctx.model_name();
    policy.authorize_model(key, model)?;
    if let Some(redacted) = policy.check_input(key, model, &ctx.req.body)? {
        // Offsets in the envelope refer to the old body: read it again.
        let require_messages = !ctx.req.api.is_some_and(Api::is_embeddings);
        let envelope = match (ctx.req.dialect, &ctx.req.envelope) {
            (Dialect::Gemini, Some(old)) => {
                formats::parse_gemini_envelope(&redacted, &old.model, old.stream)?
            }
            (dialect, _) => formats::parse_envelope_with(dialect, &redacted, require_messages)?,
        };
        ctx.req.envelope = Some(envelope);
        ctx.req.body = Bytes::from(redacted);
    }
    Ok(())
}

/// Take from the rate limits, budgets and concurrency caps.
pub async fn admit(policy: &Policy, ctx: &Ctx) -> Result<Admission, GatewayError> {
    let key = ctx
        .req
        .key
        .as_ref()
        .ok_or_else(|| GatewayError::internal("no key"))?;
    let output = ctx
        .req
        .envelope
        .as_ref()
        .and_then(|e| e.max_tokens)
        .unwrap_or(DEFAULT_OUTPUT_ESTIMATE);
    // A token limit uses the count of the text only (not base64 images, not the JSON
    // around it); without one, the length is as good.
    let token_limited =
        key.limits.tpm.is_some() || key.team.as_ref().is_some_and(|t| t.limits.tpm.is_some());
    let prompt = if token_limited {
        match &ctx.req.envelope {
            // Counted by the envelope's skim of this very body (it is read again
            // whenever the body is replaced).
            Some(envelope) => policy::estimate_tokens(envelope.text_bytes),
            None => policy::estimate_body_tokens(&ctx.req.body),
        }
    } else {
        policy::estimate_tokens(ctx.req.body.len())
    };
    let estimate = prompt + output;
    if let Some(plan) = &ctx.req.plan {
        let targets = plan
            .routes
            .iter()
            .flat_map(|r| r.targets.iter())
            .map(|t| (t.provider.name.as_str(), t.model.as_str()));
        policy.check_priced(key, targets)?;
    }
    policy.admit(key, estimate).await
}
