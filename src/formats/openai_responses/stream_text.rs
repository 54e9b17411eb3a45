//! Where the answer text sits in a Responses stream event (`delta` of
//! `response.output_text.delta`) and which events end it (`.done` of the text, item
//! and response); see `formats::stream_text`.

use crate::formats::stream_text::{EventText, TextDelta, TextSlot};
use crate::json::scan::{document, member, string_at};

/// What the event `data` means for the answer's text.
pub(crate) fn classify(data: &[u8]) -> EventText<'_> {
    let Some(top) = document(data) else {
        return EventText::End;
    };
    if data[top.start] != b'{' {
        return EventText::Other;
    }
    let kind = member(data, top, "type")
        .filter(|s| data[s.start] == b'"')
        .and_then(|s| string_at(data, s));
    match kind.as_deref() {
        Some("response.output_text.delta") => {
            let Some(span) = member(data, top, "delta").filter(|t| data[t.start] == b'"') else {
                return EventText::Other;
            };
            match string_at(data, span) {
                Some(text) => EventText::Delta(TextDelta {
                    text,
                    slot: TextSlot(span),
                }),
                None => EventText::Other,
            }
        }
        Some(
            "response.output_text.done"
            | "response.output_item.done"
            | "response.completed"
            | "response.incomplete"
            | "response.failed"
            | "error",
        ) => EventText::End,
        _ => EventText::Other,
    }
}
