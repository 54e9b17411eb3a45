//! The request side of `POST /v1/responses`: whether the answer is stored (`store`,
//! default true) and where the conversation named by `previous_response_id` is.
//!
//! - Stored by tollgate (an earlier translated turn of the same key): its input and
//!   output items go in front of the new input, and the body is rewritten without
//!   `previous_response_id`, so every provider format gets the whole conversation and
//!   guardrails, token estimates and limits see what is actually sent.
//! - Held by a Responses provider (an earlier pass-through turn): the body is left as
//!   it is and the route narrows to the target that answered it (`narrow_plan`).
//! - Unknown to tollgate, or another key's: a 404, unless the route passes through
//!   to a Responses provider, which may know it (conversations started elsewhere).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::record::{input_items, Record};
use crate::error::{ErrorKind, GatewayError};
use crate::policy::KeyInfo;
use crate::routing::RoutePlan;
use crate::runtime::Runtime;

/// The conversation part of one Responses request (`ctx.req.conversation`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The answer is to be stored (`store` was not false).
    pub store: bool,
    /// The input items this turn sends: the stored chain, then the new input. `None`
    /// when a provider holds the conversation.
    pub input: Option<Vec<Value>>,
    /// The `(provider, model)` target holding the conversation.
    pub pin: Option<(String, String)>,
    /// The `previous_response_id` the client sent, when it named one.
    pub previous: Option<String>,
    /// The client named a response tollgate does not hold for its key.
    pub unknown_previous: bool,
    /// The request parameters its Response objects repeat (`formats::responses_echo`).
    pub echo: serde_json::Map<String, Value>,
}

/// The conversation fields, `input` skipped (it is read only when needed).
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    store: Option<bool>,
    #[serde(default)]
    previous_response_id: Option<String>,
}

#[derive(Deserialize)]
struct InputProbe {
    #[serde(default)]
    input: Option<Value>,
}

/// Reads the conversation fields of a Responses body and resolves
/// `previous_response_id`. Returns the turn, and the rewritten body when a stored
/// chain was put in front of the input.
pub async fn begin(
    runtime: &Runtime,
    key: &KeyInfo,
    body: &[u8],
) -> Result<(Turn, Option<Vec<u8>>), GatewayError> {
    // A body that does not read is the request translator's 400 to give.
    let Ok(probe) = serde_json::from_slice::<Probe>(body) else {
        return Ok((Turn::default(), None));
    };
    // A body over the cap of a stored response cannot be stored: its input is
    // neither kept nor read for that.
    let storable = body.len() <= runtime.config.responses.max_stored_bytes;
    let store = probe.store != Some(false) && storable;
    let mut turn = Turn {
        store,
        previous: probe.previous_response_id.clone(),
        echo: crate::formats::responses_echo(body, store),
        ..Turn::default()
    };
    let new_input = || {
        let probe = serde_json::from_slice::<InputProbe>(body).ok();
        input_items(probe.and_then(|p| p.input))
    };
    let Some(previous) = probe.previous_response_id else {
        turn.input = turn.store.then(new_input);
        return Ok((turn, None));
    };
    match load(runtime, key, &previous).await? {
        Some(Record::Pinned { provider, model }) => turn.pin = Some((provider, model)),
        Some(record @ Record::Stored { .. }) => {
            let mut items = record.history().unwrap_or_default();
            items.extend(new_input());
            let rewritten = with_input(body, &items)?;
            turn.input = Some(items);
            return Ok((turn, Some(rewritten)));
        }
        None => turn.unknown_previous = true,
    }
    Ok((turn, None))
}

/// The record of `id` for this key; `None` when there is none (or it is unreadable).
pub(super) async fn load(
    runtime: &Runtime,
    key: &KeyInfo,
    id: &str,
) -> Result<Option<Record>, GatewayError> {
    let store = runtime.conversations.docs(runtime.policy.store().as_ref());
    let doc = store
        .get_doc(&super::doc_key(&key.name, id))
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(doc.as_deref().and_then(Record::from_bytes))
}

/// The conversation state could not be read or written (Redis down or slow). Every
/// failure is counted (`tollgate_state_errors_total`); the log says so at most once
/// per 10 s, so an outage does not turn into a line per request.
pub(super) fn unavailable(e: &crate::policy::store::StoreError) -> GatewayError {
    static GATE: crate::log_gate::LogGate = crate::log_gate::LogGate::every_secs(10);
    if GATE.open() {
        log::warn!("conversation state store: {e}");
    } else {
        log::debug!("conversation state store: {e}");
    }
    GatewayError::new(
        ErrorKind::Overloaded,
        "conversation state is unavailable; try again shortly",
    )
    .with_retry_after(std::time::Duration::from_secs(1))
}

/// The body with `input` replaced by `items` and `previous_response_id` removed.
fn with_input(body: &[u8], items: &[Value]) -> Result<Vec<u8>, GatewayError> {
    let mut object: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|_| GatewayError::invalid("the request body must be a JSON object"))?;
    object.remove("previous_response_id");
    object.insert("input".to_string(), Value::Array(items.to_vec()));
    serde_json::to_vec(&object).map_err(|e| GatewayError::internal(format!("serialize: {e}")))
}

/// Applies the turn to the route: a pinned conversation goes only to the target
/// holding it (when the route still has it); an unknown `previous_response_id` is a
/// 404 unless the route passes through to a Responses provider.
pub fn narrow_plan(turn: &Turn, plan: &mut RoutePlan) -> Result<(), GatewayError> {
    if let Some((provider, model)) = &turn.pin {
        pin(plan, provider, model);
        return Ok(());
    }
    if !turn.unknown_previous || first_target_passes_through(plan) {
        return Ok(());
    }
    let id = turn.previous.as_deref().unwrap_or("");
    Err(not_found(id).with_param("previous_response_id"))
}

/// OpenAI's answer for a response id that does not exist (for this key).
pub(super) fn not_found(id: &str) -> GatewayError {
    let shown: String = id.chars().take(128).collect();
    GatewayError::new(
        ErrorKind::NotFound,
        format!("Response with id '{shown}' not found."),
    )
}

fn first_target_passes_through(plan: &RoutePlan) -> bool {
    plan.routes
        .first()
        .and_then(|r| r.targets.first())
        .is_some_and(|t| t.provider.responses_api)
}

fn pin(plan: &mut RoutePlan, provider: &str, model: &str) {
    for route in &plan.routes {
        let held = route
            .targets
            .iter()
            .find(|t| t.provider.name == provider && t.model == model);
        if let Some(target) = held {
            let mut only = (**route).clone();
            only.targets = vec![target.clone()];
            only.fallbacks.clear();
            plan.routes = vec![Arc::new(only)];
            return;
        }
    }
    // The target left the route (a reload): the route's own choice is the best left.
}

#[cfg(test)]
#[path = "turn_tests.rs"]
mod tests;
