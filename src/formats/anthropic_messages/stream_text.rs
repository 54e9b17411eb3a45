//! Where the answer text sits in an Anthropic stream event (`delta.text` of a
//! `text_delta`) and which events end it (`content_block_stop`, `message_delta`,
//! `message_stop`); see `formats::stream_text`.

use crate::formats::stream_text::{EventText, TextDelta, TextSlot};
use crate::json::scan::{document, member, string_at, Span};

/// What the event `data` means for the answer's text.
pub(crate) fn classify(data: &[u8]) -> EventText<'_> {
    let Some(top) = document(data) else {
        // `[DONE]` and anything that is not JSON: the content is over.
        return EventText::End;
    };
    if data[top.start] != b'{' {
        return EventText::Other;
    }
    if let Some(delta) = member(data, top, "delta").filter(|d| data[d.start] == b'{') {
        if string(data, member(data, delta, "type")).as_deref() == Some("text_delta") {
            if let Some(span) = member(data, delta, "text").filter(|t| data[t.start] == b'"') {
                if let Some(text) = string_at(data, span) {
                    return EventText::Delta(TextDelta {
                        text,
                        slot: TextSlot(span),
                    });
                }
            }
        }
    }
    match string(data, member(data, top, "type")).as_deref() {
        Some("content_block_stop" | "message_delta" | "message_stop") => EventText::End,
        _ => EventText::Other,
    }
}

/// The string at `span`, if there is one and it is a string.
fn string(data: &[u8], span: Option<Span>) -> Option<std::borrow::Cow<'_, str>> {
    span.filter(|s| data[s.start] == b'"')
        .and_then(|s| string_at(data, s))
}
