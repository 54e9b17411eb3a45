//! The proxy's side of governance: who is calling, may they use this model, is the
//! input acceptable, and may the request start under the key's and team's limits.
//! The rules themselves live in `policy`.

use bytes::Bytes;
use pingora_proxy::Session;
use std::sync::Arc;

use crate::error::GatewayError;
use crate::formats;
use crate::policy::{self, Admission, KeyInfo, Policy};
use crate::providers::Api;

use super::ctx::Ctx;

/// Output tokens assumed for admission when the request sets no cap; the real
/// usage corrects it when the request ends.
const DEFAULT_OUTPUT_ESTIMATE: u64 = 1024;

/// The caller's key from `Authorization: Bearer` or `x-api-key`.
pub fn authenticate(policy: &Policy, session: &Session) -> Result<Arc<KeyInfo>, GatewayError> {
    let headers = &session.req_header().headers;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    policy.authenticate(policy::presented_key(
        header("authorization"),
        header("x-api-key"),
    ))
}

/// Model allow-list and input guardrails; a redacting guardrail replaces the body.
pub fn check_request(policy: &Policy, ctx: &mut Ctx) -> Result<(), GatewayError> {
    let Some(key) = ctx.req.key.clone() else {
        return Ok(());
    };
    let model = ctx.model_name().to_string();
    policy.authorize_model(&key, &model)?;
    if let Some(redacted) = policy.check_input(&key, &model, &ctx.req.body)? {
        // Offsets in the envelope refer to the old body: read it again.
        let require_messages = ctx.req.api != Some(Api::Embeddings);
        ctx.req.envelope = Some(formats::parse_envelope_with(
            ctx.req.dialect,
            &redacted,
            require_messages,
        )?);
        ctx.req.body = Bytes::from(redacted);
    }
    Ok(())
}

/// Take from the rate limits, budgets and concurrency caps.
pub async fn admit(policy: &Policy, ctx: &Ctx) -> Result<Admission, GatewayError> {
    let key = ctx
        .req
        .key
        .clone()
        .ok_or_else(|| GatewayError::internal("no key"))?;
    let output = ctx
        .req
        .envelope
        .as_ref()
        .and_then(|e| e.max_tokens)
        .unwrap_or(DEFAULT_OUTPUT_ESTIMATE);
    // Counting only the text (not base64 images) walks the JSON: worth it only when a
    // token limit will use the estimate.
    let token_limited =
        key.limits.tpm.is_some() || key.team.as_ref().is_some_and(|t| t.limits.tpm.is_some());
    let prompt = if token_limited {
        policy::estimate_body_tokens(&ctx.req.body)
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
        policy.check_priced(&key, targets)?;
    }
    policy.admit(&key, ctx.model_name(), estimate).await
}
