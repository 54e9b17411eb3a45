//! Encoder for the AWS event-stream binary framing (`application/vnd.amazon.eventstream`)
//! that Bedrock's `converse-stream` answers with.
//!
//! Frame layout (AWS "Event stream encoding" in the Transcribe/S3 Select docs, and
//! smithy's event-stream spec), all integers big-endian:
//! `total_len: u32 | headers_len: u32 | prelude_crc: u32 (CRC32 of the 8 bytes before)
//! | headers | payload | message_crc: u32 (CRC32 of everything before it)`.
//! Each header: `name_len: u8 | name | value_type: u8 (7 = string) | value_len: u16 | value`.

/// Header value type tag for UTF-8 strings.
const STRING_VALUE: u8 = 7;

/// Encodes one frame with string `headers` and `payload`. Header names are cut to
/// 255 bytes and values to 65,535 bytes (at a character boundary), the format's
/// limits. This is the one event-stream encoder of the project: the gateway only
/// decodes, and its tests build their Bedrock streams with this.
pub fn encode_frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut header_bytes = Vec::new();
    for (name, value) in headers {
        let name = truncate_utf8(name, usize::from(u8::MAX));
        let value = truncate_utf8(value, usize::from(u16::MAX));
        header_bytes.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        header_bytes.extend_from_slice(name.as_bytes());
        header_bytes.push(STRING_VALUE);
        header_bytes
            .extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        header_bytes.extend_from_slice(value.as_bytes());
    }
    let total = 12 + header_bytes.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(header_bytes.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A frame as Bedrock sends it for a stream message named `kind`: an exception frame
/// (`:exception-type`, `:message-type: exception`) when the name ends in
/// `Exception` (`throttlingException`...), else an event frame.
pub fn message(kind: &str, payload: &[u8]) -> Vec<u8> {
    let (type_header, message_type) = if kind.ends_with("Exception") {
        (":exception-type", "exception")
    } else {
        (":event-type", "event")
    };
    encode_frame(
        &[
            (type_header, kind),
            (":content-type", "application/json"),
            (":message-type", message_type),
        ],
        payload,
    )
}

/// A Bedrock stream event frame: `:event-type`, `:content-type: application/json`,
/// `:message-type: event`, JSON payload.
pub fn event(event_type: &str, json: &str) -> Vec<u8> {
    encode_frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        json.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit CRC-32 (IEEE, reflected, poly 0xEDB88320): an implementation
    /// independent of crc32fast to check the encoder's checksums.
    fn crc32_bitwise(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for b in data {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
        !crc
    }

    fn be32(b: &[u8]) -> u32 {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Decodes a frame, checking both CRCs with the bitwise implementation.
    fn decode(frame: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
        let total = be32(&frame[0..4]) as usize;
        let headers_len = be32(&frame[4..8]) as usize;
        assert_eq!(total, frame.len());
        assert_eq!(
            be32(&frame[8..12]),
            crc32_bitwise(&frame[..8]),
            "prelude crc"
        );
        assert_eq!(
            be32(&frame[total - 4..]),
            crc32_bitwise(&frame[..total - 4]),
            "message crc"
        );
        let mut headers = Vec::new();
        let mut at = 12;
        while at < 12 + headers_len {
            let n = frame[at] as usize;
            let name = String::from_utf8(frame[at + 1..at + 1 + n].to_vec()).unwrap();
            at += 1 + n;
            assert_eq!(frame[at], 7, "string value type");
            let len = u16::from_be_bytes([frame[at + 1], frame[at + 2]]) as usize;
            let value = String::from_utf8(frame[at + 3..at + 3 + len].to_vec()).unwrap();
            at += 3 + len;
            headers.push((name, value));
        }
        assert_eq!(at, 12 + headers_len);
        (headers, frame[at..total - 4].to_vec())
    }

    #[test]
    fn bitwise_crc_matches_the_standard_check_value() {
        assert_eq!(crc32_bitwise(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn frame_round_trips_with_valid_crcs() {
        let frame = event(
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#,
        );
        let (headers, payload) = decode(&frame);
        assert_eq!(
            headers,
            vec![
                (":event-type".to_owned(), "contentBlockDelta".to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
                (":message-type".to_owned(), "event".to_owned()),
            ]
        );
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(v["delta"]["text"], "hi");
    }

    #[test]
    fn oversized_headers_are_cut_at_character_boundaries() {
        let long_name = "n".repeat(300);
        let long_value = "\u{e9}".repeat(40_000); // 80,000 bytes
        let (headers, _) = decode(&encode_frame(&[(&long_name, &long_value)], b""));
        assert_eq!(headers[0].0.len(), 255);
        assert_eq!(headers[0].1.len(), 65_534);
        assert!(long_value.starts_with(&headers[0].1));
    }

    #[test]
    fn exceptions_are_named_by_their_type() {
        let (headers, _) = decode(&message("throttlingException", b"{}"));
        assert_eq!(headers[0].0, ":exception-type");
        assert_eq!(headers[2].1, "exception");
        let (headers, _) = decode(&message("messageStop", b"{}"));
        assert_eq!(headers[0].0, ":event-type");
    }

    #[test]
    fn empty_frame_is_sixteen_bytes() {
        let frame = encode_frame(&[], b"");
        assert_eq!(frame.len(), 16);
        let (headers, payload) = decode(&frame);
        assert!(headers.is_empty() && payload.is_empty());
    }

    #[test]
    fn corrupting_a_byte_breaks_the_message_crc() {
        let mut frame = event("messageStop", r#"{"stopReason":"end_turn"}"#);
        let at = frame.len() - 6;
        frame[at] ^= 0x01;
        let total = frame.len();
        assert_ne!(
            be32(&frame[total - 4..]),
            crc32_bitwise(&frame[..total - 4])
        );
    }
}
