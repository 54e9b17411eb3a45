//! Canonical stream events: what a streaming answer is made of, whatever the format.
//!
//! The stream is block-structured, as Anthropic's is: each piece of content (a text,
//! a reasoning block, a tool call) has a block `index` unique within the answer, its
//! deltas, and a [`StreamEvent::BlockStop`]. Decoders of formats without blocks
//! (OpenAI chunks) assign the indices; encoders map them to what their format uses
//! (OpenAI tool-call indices, Anthropic content-block indices).

use std::borrow::Cow;

use super::{FinishReason, Usage};
use crate::error::GatewayError;

/// One event of a streamed answer. Strings borrow from the upstream event's bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<'a> {
    /// First event: the upstream's ids and what is known of usage so far.
    MessageStart {
        id: Cow<'a, str>,
        model: Cow<'a, str>,
        usage: Usage,
    },
    TextDelta {
        index: u32,
        text: Cow<'a, str>,
    },
    /// Reasoning text; the Anthropic `signature` arrives as a delta with empty text.
    ReasoningDelta {
        index: u32,
        text: Cow<'a, str>,
        signature: Option<Cow<'a, str>>,
    },
    /// A whole redacted (encrypted) reasoning block.
    RedactedReasoning {
        index: u32,
        data: Cow<'a, str>,
    },
    ToolCallStart {
        index: u32,
        id: Cow<'a, str>,
        name: Cow<'a, str>,
    },
    ToolCallArgsDelta {
        index: u32,
        json_fragment: Cow<'a, str>,
    },
    BlockStop {
        index: u32,
    },
    /// Usage so far, cumulative, in canonical accounting. A zero field means "not
    /// reported in this event": consumers keep the value they already have.
    Usage(Usage),
    Finish {
        reason: FinishReason,
        stop_sequence: Option<Cow<'a, str>>,
    },
    /// The upstream reported an error in the stream; the stream ends.
    Error(GatewayError),
    /// The upstream ended the stream properly.
    Done,
}

/// Merge a cumulative usage report into what is known: non-zero fields win.
pub fn merge_usage(known: &mut Usage, report: &Usage) {
    let pick = |k: &mut u64, r: u64| {
        if r != 0 {
            *k = r;
        }
    };
    pick(&mut known.input_tokens, report.input_tokens);
    pick(&mut known.output_tokens, report.output_tokens);
    pick(&mut known.cache_read_tokens, report.cache_read_tokens);
    pick(&mut known.cache_write_tokens, report.cache_write_tokens);
    pick(&mut known.reasoning_tokens, report.reasoning_tokens);
}
