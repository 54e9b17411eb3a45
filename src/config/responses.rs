//! `responses:` — how tollgate keeps OpenAI Responses conversations for routes that
//! translate to providers without such state (`previous_response_id`,
//! `GET`/`DELETE /v1/responses/{id}`): how long a stored response lives, how large
//! one may be, and the memory bound of the in-process store. Where they live follows
//! `state.backend` (memory, or Redis shared by every replica).

use std::time::Duration;

use serde::Deserialize;

use super::validate::Ctx;

/// Default lifetime of a stored response: 30 days, as OpenAI keeps them.
pub const DEFAULT_TTL_SECONDS: u64 = 30 * 24 * 3600;
/// Longest lifetime accepted: 90 days.
const MAX_TTL_SECONDS: u64 = 90 * 24 * 3600;
/// Default cap of one stored response (its whole conversation): 1 MiB.
pub const DEFAULT_MAX_STORED_BYTES: u64 = 1 << 20;
/// Largest cap accepted: 32 MiB (a Redis value is read whole on every continuation).
const MAX_STORED_BYTES: u64 = 32 << 20;
/// Default memory bound of the in-process store: 64 MiB.
pub const DEFAULT_MEMORY_MAX_BYTES: u64 = 64 << 20;

/// `responses:` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResponsesSection {
    /// Lifetime of a stored response in seconds (default 2592000, 30 days).
    pub store_ttl_seconds: Option<u64>,
    /// Largest stored response, conversation included (default 1 MiB). A longer
    /// conversation is answered but not stored; continuing from it is a 400.
    pub max_stored_bytes: Option<u64>,
    /// Memory bound of the in-process store (`state.backend: memory`; default 64 MiB).
    pub memory_max_bytes: Option<u64>,
}

/// The validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsesSettings {
    pub store_ttl: Duration,
    pub max_stored_bytes: usize,
    pub memory_max_bytes: u64,
}

impl Default for ResponsesSettings {
    fn default() -> Self {
        ResponsesSettings {
            store_ttl: Duration::from_secs(DEFAULT_TTL_SECONDS),
            max_stored_bytes: DEFAULT_MAX_STORED_BYTES as usize,
            memory_max_bytes: DEFAULT_MEMORY_MAX_BYTES,
        }
    }
}

pub(crate) fn build(s: &ResponsesSection, cx: &mut Ctx) -> ResponsesSettings {
    let ttl = s.store_ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if ttl == 0 || ttl > MAX_TTL_SECONDS {
        cx.err(
            "responses.store_ttl_seconds",
            format!("must be between 1 and {MAX_TTL_SECONDS} (90 days)"),
        );
    }
    let max_stored = s.max_stored_bytes.unwrap_or(DEFAULT_MAX_STORED_BYTES);
    if !(1024..=MAX_STORED_BYTES).contains(&max_stored) {
        cx.err(
            "responses.max_stored_bytes",
            format!("must be between 1024 and {MAX_STORED_BYTES} (32 MiB)"),
        );
    }
    let memory = s.memory_max_bytes.unwrap_or(DEFAULT_MEMORY_MAX_BYTES);
    if memory < 1 << 20 {
        cx.err(
            "responses.memory_max_bytes",
            "must be at least 1048576 (1 MiB)",
        );
    } else if memory < max_stored {
        cx.err(
            "responses.memory_max_bytes",
            "must be at least responses.max_stored_bytes",
        );
    }
    ResponsesSettings {
        store_ttl: Duration::from_secs(ttl),
        max_stored_bytes: max_stored as usize,
        memory_max_bytes: memory,
    }
}
