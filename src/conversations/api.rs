//! `GET` and `DELETE /v1/responses/{id}` for responses tollgate stored, and storing
//! a finished request's answer (from `logging`, after the client got it).

use serde_json::{json, Value};

use super::record::Record;
use super::turn::{load, not_found, unavailable};
use crate::error::GatewayError;
use crate::formats::WireFormat;
use crate::policy::KeyInfo;
use crate::proxy::ctx::Ctx;
use crate::runtime::Runtime;

/// The id of a `/v1/responses/{id}` path (`/v1` optional, one segment, sane length).
pub fn stored_response_id(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or("");
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let id = path.strip_prefix("/responses/")?.trim_end_matches('/');
    let sane = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    sane.then_some(id)
}

/// The answer to `GET` (the stored Response object) or `DELETE` (OpenAI's deletion
/// object) of a response id, for the calling key. Ids tollgate does not hold for
/// this key — unknown, expired, another key's, or held by a provider — are a 404.
pub async fn answer_stored(
    runtime: &Runtime,
    key: &KeyInfo,
    method: &http::Method,
    id: &str,
) -> Result<Vec<u8>, GatewayError> {
    let Some(Record::Stored { response, .. }) = load(runtime, key, id).await? else {
        return Err(not_found(id));
    };
    if method == http::Method::DELETE {
        let store = runtime.conversations.docs(runtime.policy.store().as_ref());
        let existed = store
            .delete_doc(&super::doc_key(&key.name, id))
            .await
            .map_err(|e| unavailable(&e))?;
        if !existed {
            return Err(not_found(id));
        }
        let deleted = json!({"id": id, "object": "response", "deleted": true});
        return Ok(deleted.to_string().into_bytes());
    }
    Ok(response.to_string().into_bytes())
}

/// Stores the answer of a Responses request that asked for it, once its last byte
/// is known: a `200` the client receives whole. The store call runs as its own task
/// and the response's last write waits for it (`proxy::hold::finish_after`), so a
/// client that has the answer finds it stored on its next turn, on any replica.
/// A failure is logged; the client has its answer.
pub fn save(ctx: &mut Ctx) {
    let Some((record, Some(id))) = record_of(ctx) else {
        return;
    };
    let (Some(runtime), Some(key)) = (ctx.req.runtime.clone(), ctx.req.key.clone()) else {
        return;
    };
    let bytes = record.to_bytes();
    let settings = &runtime.config.responses;
    if bytes.len() > settings.max_stored_bytes {
        log::debug!(
            "response {id} not stored: {} bytes is over responses.max_stored_bytes",
            bytes.len()
        );
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let doc_key = super::doc_key(&key.name, &id);
    let task = handle.spawn(async move {
        let ttl = runtime.config.responses.store_ttl;
        let store = runtime.conversations.docs(runtime.policy.store().as_ref());
        if let Err(e) = store.put_doc(&doc_key, &bytes, ttl).await {
            let _ = unavailable(&e);
        }
    });
    crate::proxy::hold::finish_after(&ctx.slots.hold, task);
}

/// The record to keep for this request and the response id, if anything is to be kept.
fn record_of(ctx: &mut Ctx) -> Option<(Record, Option<String>)> {
    let turn = ctx.req.conversation.as_mut().filter(|t| t.store)?;
    if ctx.resp.error.is_some() || ctx.resp.status != 200 {
        return None;
    }
    let mut response = ctx.resp.conversation.take()?.finish()?;
    let id = response
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let attempt = ctx.attempt.as_ref()?;
    if attempt.format == WireFormat::OpenAiResponses {
        let pinned = Record::Pinned {
            provider: attempt.provider.name.clone(),
            model: attempt.upstream_model.clone(),
        };
        return Some((pinned, id));
    }
    // What a stored response says of itself when fetched back.
    response["store"] = json!(true);
    response["previous_response_id"] = json!(turn.previous);
    let input = turn.input.take()?;
    Some((Record::Stored { input, response }, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_paths() {
        assert_eq!(stored_response_id("/v1/responses/resp_1"), Some("resp_1"));
        assert_eq!(stored_response_id("/responses/resp_1/?x=1"), Some("resp_1"));
        assert_eq!(stored_response_id("/v1/responses/"), None);
        assert_eq!(stored_response_id("/v1/responses/a/input_items"), None);
        assert_eq!(stored_response_id("/v1/responses/a%2Fb"), None);
    }
}
