//! Same-format Anthropic stream (see `formats::passthrough`): chunks go to the client
//! as they arrive, without a copy; only `message_start` and `message_delta` events are
//! parsed, for usage.

use super::response::usage_from_wire;
use super::stream_wire::UsageProbe;
use crate::error::Dialect;
use crate::formats::passthrough::{Passthrough, Watch};
use crate::model::{merge_usage, Usage};
use crate::sse::SseEventRef;

/// Note usage and the end of the stream from one event. `message_delta` usage is
/// cumulative: reported fields replace what `message_start` said.
fn watch(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
    match event.event {
        b"message_start" | b"message_delta" => {
            if let Ok(p) = serde_json::from_slice::<UsageProbe>(event.data) {
                if let Some(u) = p.message.and_then(|m| m.usage).or(p.usage) {
                    merge_usage(usage, &usage_from_wire(&u));
                }
            }
            if event.event == b"message_delta" {
                *complete = true;
            }
        }
        b"message_stop" | b"error" => *complete = true,
        _ => {}
    }
}

/// The Anthropic Messages pass-through: `message_start` and `message_delta` carry usage.
pub(crate) struct AnthropicWatch;

impl Watch for AnthropicWatch {
    const DIALECT: Dialect = Dialect::Anthropic;
    fn event(event: &SseEventRef<'_>, usage: &mut Usage, complete: &mut bool) {
        watch(event, usage, complete);
    }
}

pub(crate) type AnthropicPassthrough = Passthrough<AnthropicWatch>;

#[cfg(test)]
#[path = "passthrough_tests.rs"]
mod tests;
