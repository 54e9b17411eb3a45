//! Stored OpenAI Responses conversations, so `previous_response_id` works on routes
//! that translate to providers without such state, and on routes that pass through
//! to a provider that has it, the conversation stays with that provider.
//!
//! - `record`: what is stored per response id, scoped to the calling key: the input
//!   items the turn sent (the chain so far, then its new input) and the Response
//!   object answered — or, for a pass-through answer, only which target holds it.
//! - `turn`: the request side: `store`, `previous_response_id` and `input` of a
//!   `POST /v1/responses`; a stored chain is prepended to the new input (the body is
//!   rewritten before guardrails, token estimates and routing see it), a pinned one
//!   narrows the route to its target, an unknown one is a 404.
//! - `recorder`: the response side: the Response object as the client received it
//!   (a JSON body, or the `response.completed` event of a stream).
//! - `api`: `GET` and `DELETE /v1/responses/{id}` and `GET .../input_items` (from the
//!   store, or forwarded to the provider a pinned id names), and storing an answer as
//!   its last byte goes out (the last write waits for the store, so the next turn
//!   finds it).
//! - `items`: the input items list, paged as OpenAI's reference pages it.
//! - `memory`: the in-process store (bounded by bytes, per-entry TTL) used when
//!   `state.backend` is `memory`; with Redis the policy's store keeps the documents,
//!   so any replica continues any conversation.

mod api;
mod items;
mod memory;
mod record;
mod recorder;
mod turn;

use std::sync::Arc;

use crate::config::ResponsesSettings;
use crate::policy::{DocStore, StateStore};

pub use api::{answer_stored, stored_path, StoredPath};
pub use recorder::{on_client_bytes, on_response_start, Recorder};
pub use turn::{begin, narrow_plan, Turn};

/// Where stored responses live: the shared state store when it keeps documents
/// (Redis), else this process's bounded memory store.
pub struct ConversationStore {
    memory: memory::MemoryDocs,
    max_bytes: u64,
}

impl ConversationStore {
    pub fn new(max_bytes: u64) -> ConversationStore {
        ConversationStore {
            memory: memory::MemoryDocs::new(max_bytes),
            max_bytes,
        }
    }

    /// The store of a new config generation: the previous one while its memory bound
    /// is unchanged, so conversations survive reloads.
    pub fn for_reload(
        previous: Option<&Arc<ConversationStore>>,
        settings: &ResponsesSettings,
    ) -> Arc<ConversationStore> {
        match previous {
            Some(p) if p.max_bytes == settings.memory_max_bytes => p.clone(),
            _ => Arc::new(ConversationStore::new(settings.memory_max_bytes)),
        }
    }

    /// The document store to use with the policy's `state`.
    pub(crate) fn docs<'a>(&'a self, state: &'a dyn StateStore) -> &'a dyn DocStore {
        state.docs().unwrap_or(&self.memory)
    }
}

/// The store key of a response id for a calling key: ids of another key are never
/// found (the lookup itself is scoped, so nothing tells whether they exist).
fn doc_key(key_name: &str, response_id: &str) -> String {
    format!("resp:{key_name}:{response_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_keeps_the_store_while_its_bound_is_unchanged() {
        let settings = ResponsesSettings::default();
        let first = ConversationStore::for_reload(None, &settings);
        let longer_ttl = ResponsesSettings {
            store_ttl: settings.store_ttl * 2,
            ..settings.clone()
        };
        let kept = ConversationStore::for_reload(Some(&first), &longer_ttl);
        assert!(Arc::ptr_eq(&first, &kept));
        let bigger = ResponsesSettings {
            memory_max_bytes: settings.memory_max_bytes * 2,
            ..settings
        };
        let rebuilt = ConversationStore::for_reload(Some(&kept), &bigger);
        assert!(!Arc::ptr_eq(&kept, &rebuilt));
        assert_eq!(doc_key("team-a", "resp_1"), "resp:team-a:resp_1");
    }
}
