//! Anthropic stream events, in and out
//! (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>).

use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::wire::{BlockIn, UsageWire};
use crate::formats::common::Str;

/// Any stream event's data, flat: which fields are set depends on `type`.
#[derive(Debug, Deserialize)]
pub(crate) struct EventIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub message: Option<MessageStartIn<'a>>,
    pub index: Option<u32>,
    #[serde(borrow)]
    pub content_block: Option<BlockIn<'a>>,
    #[serde(borrow)]
    pub delta: Option<DeltaIn<'a>>,
    pub usage: Option<UsageWire>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct MessageStartIn<'a> {
    #[serde(borrow, default)]
    pub id: Str<'a>,
    #[serde(borrow, default)]
    pub model: Str<'a>,
    #[serde(default)]
    pub usage: UsageWire,
}

/// A `content_block_delta` delta or a `message_delta` delta.
#[derive(Debug, Deserialize)]
pub(crate) struct DeltaIn<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Option<Str<'a>>,
    #[serde(borrow)]
    pub text: Option<Str<'a>>,
    #[serde(borrow)]
    pub thinking: Option<Str<'a>>,
    #[serde(borrow)]
    pub signature: Option<Str<'a>>,
    #[serde(borrow)]
    pub partial_json: Option<Str<'a>>,
    #[serde(borrow)]
    pub stop_reason: Option<Str<'a>>,
    #[serde(borrow)]
    pub stop_sequence: Option<Str<'a>>,
}

/// Only what the same-format pass-through needs from `message_start` / `message_delta`.
#[derive(Debug, Deserialize)]
pub(crate) struct UsageProbe {
    pub message: Option<MessageUsageProbe>,
    pub usage: Option<UsageWire>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageUsageProbe {
    pub usage: Option<UsageWire>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum EventOut<'a> {
    MessageStart {
        message: MessageStartOut<'a>,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockStartOut<'a>,
    },
    ContentBlockDelta {
        index: u32,
        delta: DeltaOut<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaOut<'a>,
        usage: UsageWire,
    },
    MessageStop,
}

impl EventOut<'_> {
    /// The SSE `event:` name, the same as the `type`.
    pub fn name(&self) -> &'static str {
        match self {
            EventOut::MessageStart { .. } => "message_start",
            EventOut::ContentBlockStart { .. } => "content_block_start",
            EventOut::ContentBlockDelta { .. } => "content_block_delta",
            EventOut::ContentBlockStop { .. } => "content_block_stop",
            EventOut::MessageDelta { .. } => "message_delta",
            EventOut::MessageStop => "message_stop",
        }
    }

    /// Append `event: <name>\ndata: <json>\n\n`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(self.name().as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Writing into a Vec cannot fail, and these types always serialise.
        let _ = serde_json::to_writer(&mut *out, self);
        out.extend_from_slice(b"\n\n");
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageStartOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: [(); 0],
    pub stop_reason: Option<()>,
    pub stop_sequence: Option<()>,
    pub usage: UsageWire,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockStartOut<'a> {
    Text {
        text: &'static str,
    },
    Thinking {
        thinking: &'static str,
        signature: &'static str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Map<String, serde_json::Value>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the variant names are the wire `type`s
pub(crate) enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    ThinkingDelta { thinking: &'a str },
    SignatureDelta { signature: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageDeltaOut<'a> {
    pub stop_reason: &'static str,
    pub stop_sequence: Option<&'a str>,
}
