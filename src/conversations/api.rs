//! `GET` and `DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`:
//! answered from the store for responses tollgate stored, forwarded to the provider
//! for responses a Responses provider holds (the pinned record names it); and storing
//! a finished request's answer (from `logging`, after the client got it).

use std::time::Duration;

use serde_json::{json, Value};

use super::items;
use super::record::Record;
use super::turn::{load, not_found, unavailable};
use crate::error::{ErrorKind, GatewayError};
use crate::formats::WireFormat;
use crate::policy::KeyInfo;
use crate::providers::{self, direct, Api};
use crate::proxy::ctx::Ctx;
use crate::runtime::Runtime;

/// A forwarded call gets this long for the provider's whole answer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer of a forwarded call.
const FORWARD_MAX_ANSWER: usize = 16 << 20;

/// A path about one stored response: the response itself, or its input items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPath<'a> {
    pub id: &'a str,
    pub input_items: bool,
}

/// The stored-response path of `path` (`/v1` optional, the id one sane segment).
pub fn stored_path(path: &str) -> Option<StoredPath<'_>> {
    let path = path.split('?').next().unwrap_or("");
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let rest = path.strip_prefix("/responses/")?.trim_end_matches('/');
    let (id, input_items) = match rest.split_once('/') {
        Some((id, "input_items")) => (id, true),
        Some(_) => return None,
        None => (rest, false),
    };
    let sane = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    sane.then_some(StoredPath { id, input_items })
}

/// The answer (status, JSON body) to a stored-response request of the calling key:
/// the stored Response object, OpenAI's deletion object, or the input items page —
/// or the provider's own answer for an id it holds. Ids tollgate does not know for
/// this key (unknown, expired, another key's) are a 404.
pub async fn answer_stored(
    runtime: &Runtime,
    key: &KeyInfo,
    method: &http::Method,
    path_and_query: &str,
) -> Result<(u16, Vec<u8>), GatewayError> {
    let Some(at) = stored_path(path_and_query) else {
        return Err(not_found(""));
    };
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    match load(runtime, key, at.id).await? {
        Some(Record::Stored { input, .. }) if at.input_items => {
            let page = items::page(at.id, &input, query)?;
            Ok((200, page.to_string().into_bytes()))
        }
        Some(Record::Stored { .. }) if method == http::Method::DELETE => {
            delete_record(runtime, key, at.id).await?;
            let deleted = json!({"id": at.id, "object": "response", "deleted": true});
            Ok((200, deleted.to_string().into_bytes()))
        }
        Some(Record::Stored { response, .. }) => Ok((200, response.to_string().into_bytes())),
        Some(Record::Pinned { provider, model }) => {
            let answer = forward(runtime, &provider, &model, method, path_and_query).await?;
            if method == http::Method::DELETE && answer.0 == 200 {
                delete_record(runtime, key, at.id).await?;
            }
            Ok(answer)
        }
        None => Err(not_found(at.id)),
    }
}

async fn delete_record(runtime: &Runtime, key: &KeyInfo, id: &str) -> Result<(), GatewayError> {
    let store = runtime.conversations.docs(runtime.policy.store().as_ref());
    let existed = store
        .delete_doc(&super::doc_key(&key.name, id))
        .await
        .map_err(|e| unavailable(&e))?;
    if existed {
        Ok(())
    } else {
        Err(not_found(id))
    }
}

/// The same request to the provider that holds the response, with its credentials;
/// its answer comes back as it is, secrets scrubbed. A provider that is gone from the
/// configuration or cannot be reached is an error of ours, never a guess elsewhere.
async fn forward(
    runtime: &Runtime,
    provider_name: &str,
    model: &str,
    method: &http::Method,
    path_and_query: &str,
) -> Result<(u16, Vec<u8>), GatewayError> {
    let unreachable = |why: String| {
        GatewayError::new(
            ErrorKind::UpstreamUnreachable,
            format!("The provider holding this response could not be reached: {why}"),
        )
    };
    let provider = runtime
        .config
        .provider(provider_name)
        .ok_or_else(|| unreachable(format!("provider {provider_name:?} is not configured")))?;
    let base = providers::upstream_path(provider, Api::Responses, model, false)
        .ok_or_else(|| unreachable("the provider does not serve the Responses API".into()))?;
    let at = path_and_query
        .find("/responses/")
        .map_or("", |i| &path_and_query[i + "/responses".len()..]);
    let path = format!("{base}{at}");
    let call = direct::Call {
        method: method.as_str(),
        path: &path,
        body: None,
        timeout: FORWARD_TIMEOUT,
        max_answer: FORWARD_MAX_ANSWER,
    };
    let answer = direct::send(runtime, provider, call)
        .await
        .map_err(unreachable)?;
    let body = crate::edge::scrub::bytes(&answer.body).into_owned();
    Ok((answer.status, body))
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
        let id = |p| stored_path(p).map(|s| (s.id, s.input_items));
        assert_eq!(id("/v1/responses/resp_1"), Some(("resp_1", false)));
        assert_eq!(id("/responses/resp_1/?x=1"), Some(("resp_1", false)));
        assert_eq!(id("/v1/responses/"), None);
        assert_eq!(id("/v1/responses/a/input_items"), Some(("a", true)));
        assert_eq!(id("/v1/responses/a/input_items?limit=2"), Some(("a", true)));
        assert_eq!(id("/v1/responses/a/cancel"), None);
        assert_eq!(id("/v1/responses/a/b/input_items"), None);
        assert_eq!(id("/v1/responses/a%2Fb"), None);
    }
}
