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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_deltas_and_ends() {
        let data = r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"a\"b","sequence_number":4}"#;
        let EventText::Delta(d) = classify(data.as_bytes()) else {
            panic!("not a delta: {data}");
        };
        assert_eq!(d.text, "a\"b");
        assert_eq!(
            String::from_utf8(d.slot.fill(data.as_bytes(), "x")).unwrap(),
            data.replace(r#""a\"b""#, r#""x""#)
        );
        let args = r#"{"type":"response.function_call_arguments.delta","delta":"{}"}"#;
        assert_eq!(classify(args.as_bytes()), EventText::Other);
        for end in ["response.output_text.done", "response.completed", "error"] {
            let data = format!(r#"{{"type":"{end}","sequence_number":9}}"#);
            assert_eq!(classify(data.as_bytes()), EventText::End, "{end}");
        }
    }
}
