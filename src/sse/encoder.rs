//! SSE encoder helpers: append framed events to an output buffer.

/// Append `event: <name>\n` (when given), the data as one `data:` line per line of
/// `data`, and the blank line that ends the event.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(name) = event {
        out.reserve(name.len() + data.len() + 16);
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    write_data(out, data);
}

/// Append a data-only event. A `\n`, `\r\n` or `\r` inside `data` starts a new
/// `data:` line, so the decoder on the other side rebuilds exactly `data` (with `\n`).
pub fn write_data(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 8);
    let mut rest = data;
    loop {
        out.extend_from_slice(b"data: ");
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                out.extend_from_slice(&rest[..i]);
                out.push(b'\n');
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
            }
            None => {
                out.extend_from_slice(rest);
                out.extend_from_slice(b"\n\n");
                return;
            }
        }
    }
}

/// Append a comment line (`: text`), e.g. a keep-alive. Line breaks in `text` are
/// replaced by spaces so the comment cannot end an event.
pub fn write_comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b": ");
    out.extend(
        text.bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseDecoder;

    #[test]
    fn event_with_name_and_data() {
        let mut out = Vec::new();
        write_event(
            &mut out,
            Some("message_stop"),
            br#"{"type":"message_stop"}"#,
        );
        assert_eq!(
            out,
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
    }

    #[test]
    fn multiline_data_round_trips() {
        for data in ["a\nb", "a\r\nb", "a\rb", "", "\n", "x\n\ny"] {
            let mut out = Vec::new();
            write_data(&mut out, data.as_bytes());
            let mut dec = SseDecoder::new();
            let events = dec.feed(&out).unwrap();
            assert_eq!(events.len(), 1, "{data:?}");
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(events[0].data, expected);
        }
    }

    #[test]
    fn comment_cannot_break_framing() {
        let mut out = Vec::new();
        write_comment(&mut out, "ping\n\ndata: x");
        out.extend_from_slice(b"\n");
        let mut dec = SseDecoder::new();
        assert!(dec.feed(&out).unwrap().is_empty());
    }
}
