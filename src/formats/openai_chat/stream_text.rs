//! Where the answer text sits in an OpenAI chat-completion chunk
//! (`choices[0].delta.content`) and which chunks end it (a `finish_reason`, or the
//! usage-only chunk with no choices); see `formats::stream_text`.

use crate::formats::stream_text::{EventText, TextDelta, TextSlot};
use crate::json::scan::{document, elements, member, string_at};

/// What the chunk `data` means for the answer's text.
pub(crate) fn classify(data: &[u8]) -> EventText<'_> {
    let Some(top) = document(data) else {
        // `[DONE]` and anything that is not JSON: the content is over.
        return EventText::End;
    };
    if data[top.start] != b'{' {
        return EventText::Other;
    }
    let Some(choices) = member(data, top, "choices").filter(|s| data[s.start] == b'[') else {
        return EventText::Other;
    };
    let mut first = None;
    let _ = elements(data, choices, |item| {
        first = first.or(Some(item));
        Ok(())
    });
    let Some(choice) = first else {
        return EventText::End;
    };
    if data[choice.start] != b'{' {
        return EventText::Other;
    }
    let content = member(data, choice, "delta")
        .filter(|d| data[d.start] == b'{')
        .and_then(|d| member(data, d, "content"))
        .filter(|c| data[c.start] == b'"');
    if let Some(span) = content {
        if let Some(text) = string_at(data, span) {
            return EventText::Delta(TextDelta {
                text,
                slot: TextSlot(span),
            });
        }
    }
    match member(data, choice, "finish_reason") {
        Some(f) if data[f.start] == b'"' => EventText::End,
        _ => EventText::Other,
    }
}
