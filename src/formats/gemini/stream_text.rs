//! Where the answer text sits in a Gemini stream chunk
//! (`candidates[0].content.parts[i].text` of the first part that is text and not a
//! thought) and which chunks end it (an `error`, or a `finishReason` without text);
//! see `formats::stream_text`. A chunk carrying both text and `finishReason` (older
//! models repeat `STOP` on every chunk) counts as a delta: the guard releases what
//! it holds at the end of the stream anyway.

use crate::formats::stream_text::{EventText, TextDelta, TextSlot};
use crate::json::scan::{document, elements, member, string_at, Span};

/// What the chunk `data` means for the answer's text.
pub(crate) fn classify(data: &[u8]) -> EventText<'_> {
    let Some(top) = document(data) else {
        return EventText::End;
    };
    if data[top.start] != b'{' {
        return EventText::Other;
    }
    if member(data, top, "error").is_some() {
        return EventText::End;
    }
    let Some(candidate) = first(data, member(data, top, "candidates")) else {
        return EventText::Other;
    };
    let parts = member(data, candidate, "content")
        .filter(|c| data[c.start] == b'{')
        .and_then(|c| member(data, c, "parts"))
        .filter(|p| data[p.start] == b'[');
    if let Some(span) = parts.and_then(|p| answer_text(data, p)) {
        if let Some(text) = string_at(data, span) {
            return EventText::Delta(TextDelta {
                text,
                slot: TextSlot(span),
            });
        }
    }
    match member(data, candidate, "finishReason") {
        Some(f) if data[f.start] == b'"' => EventText::End,
        _ => EventText::Other,
    }
}

/// The first element of an array member, when it is an object.
fn first(data: &[u8], array: Option<Span>) -> Option<Span> {
    let array = array.filter(|a| data[a.start] == b'[')?;
    let mut found = None;
    let _ = elements(data, array, |item| {
        found = found.or(Some(item));
        Ok(())
    });
    found.filter(|f| data[f.start] == b'{')
}

/// The `text` of the first part that is answer text (not a thought).
fn answer_text(data: &[u8], parts: Span) -> Option<Span> {
    let mut found = None;
    let _ = elements(data, parts, |part| {
        if found.is_some() || data[part.start] != b'{' {
            return Ok(());
        }
        let thought =
            member(data, part, "thought").is_some_and(|t| &data[t.start..t.end] == b"true");
        let text = member(data, part, "text").filter(|t| data[t.start] == b'"');
        if !thought {
            found = text;
        }
        Ok(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_deltas_and_ends() {
        let data = r#"{"candidates":[{"content":{"parts":[{"text":"a\"b"}],"role":"model"},"index":0}],"modelVersion":"m","responseId":"r"}"#;
        let EventText::Delta(d) = classify(data.as_bytes()) else {
            panic!("not a delta: {data}");
        };
        assert_eq!(d.text, "a\"b");
        assert_eq!(
            String::from_utf8(d.slot.fill(data.as_bytes(), "x")).unwrap(),
            data.replace(r#""a\"b""#, r#""x""#)
        );
        let thought = r#"{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]}}]}"#;
        assert_eq!(classify(thought.as_bytes()), EventText::Other);
        let call =
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]}}]}"#;
        assert_eq!(classify(call.as_bytes()), EventText::Other);
        let last = r#"{"candidates":[{"content":{"parts":[],"role":"model"},"finishReason":"STOP","index":0}]}"#;
        assert_eq!(classify(last.as_bytes()), EventText::End);
        let err = r#"{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}"#;
        assert_eq!(classify(err.as_bytes()), EventText::End);
        let both =
            r#"{"candidates":[{"content":{"parts":[{"text":"end"}]},"finishReason":"STOP"}]}"#;
        assert!(matches!(classify(both.as_bytes()), EventText::Delta(_)));
    }
}
