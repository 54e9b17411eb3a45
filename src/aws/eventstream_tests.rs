//! Event stream tests: the AWS event stream test vectors, hostile chunking, corruption,
//! truncation, limits, a bounded fuzz loop, and the Bedrock ConverseStream fixtures.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::*;
use tollgate_mock::eventstream::encode_frame;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws")
}

fn decode_all(chunks: &[&[u8]]) -> Result<Vec<Frame>, EventStreamError> {
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut out)?;
    }
    decoder.finish()?;
    Ok(out)
}

fn sample_frames() -> Vec<Vec<u8>> {
    vec![
        encode_frame(
            &[
                (":event-type", "messageStart"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            br#"{"role":"assistant"}"#,
        ),
        encode_frame(&[], b""),
        encode_frame(
            &[
                (":message-type", "event"),
                ("\u{e9}t\u{e9}", "\u{1F600} ok"),
            ],
            &[0u8, 255, 7, 13, 10],
        ),
    ]
}

fn expected_frame(bytes: &[u8]) -> Frame {
    decode_all(&[bytes]).unwrap().remove(0)
}

use crate::test_rng::Rng;

/// A frame with valid CRCs around arbitrary header bytes and lengths, to reach the
/// header parser with malformed input.
fn frame_with_raw_headers(headers: &[u8], payload: &[u8]) -> Vec<u8> {
    let total = MIN_FRAME_LEN + headers.len() + payload.len();
    let mut frame = Vec::new();
    frame.extend_from_slice(&(total as u32).to_be_bytes());
    frame.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    frame.extend_from_slice(headers);
    frame.extend_from_slice(payload);
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    frame
}

fn prelude(total: u32, headers: u32) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&headers.to_be_bytes());
    let crc = crc32fast::hash(&p);
    p.extend_from_slice(&crc.to_be_bytes());
    p
}

#[test]
fn aws_positive_vectors_decode_to_their_documented_values() {
    let dir = fixtures().join("eventstream");
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let names = [
        "all_headers",
        "empty_message",
        "int32_header",
        "payload_no_headers",
        "payload_one_str_header",
    ];
    for name in names {
        let encoded = std::fs::read(dir.join("encoded/positive").join(name)).unwrap();
        let decoded: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("decoded/positive").join(name)).unwrap(),
        )
        .unwrap();
        let frames = decode_all(&[&encoded]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frames.len(), 1, "{name}");
        let frame = &frames[0];
        assert_eq!(decoded["total_length"], encoded.len(), "{name}");
        assert_eq!(&frame.payload[..], &b64(&decoded["payload"])[..], "{name}");
        let want = decoded["headers"].as_array().unwrap();
        assert_eq!(frame.headers.len(), want.len(), "{name}");
        for ((got_name, got), want) in frame.headers.iter().zip(want) {
            assert_eq!(got_name, want["name"].as_str().unwrap(), "{name}");
            let v = &want["value"];
            let expected = match want["type"].as_u64().unwrap() {
                0 | 1 => HeaderValue::Bool(v.as_bool().unwrap()),
                2 => HeaderValue::Byte(v.as_i64().unwrap() as i8),
                3 => HeaderValue::Short(v.as_i64().unwrap() as i16),
                4 => HeaderValue::Int(v.as_i64().unwrap() as i32),
                5 => HeaderValue::Long(v.as_i64().unwrap()),
                6 => HeaderValue::Bytes(b64(v).into()),
                7 => HeaderValue::String(String::from_utf8(b64(v)).unwrap()),
                8 => HeaderValue::Timestamp(v.as_i64().unwrap()),
                9 => HeaderValue::Uuid(b64(v).try_into().unwrap()),
                t => panic!("unknown type {t}"),
            };
            assert_eq!(got, &expected, "{name}: {got_name}");
        }
    }
}

#[test]
fn aws_negative_vectors_are_rejected_with_the_documented_error() {
    let dir = fixtures().join("eventstream");
    for name in [
        "corrupted_header_len",
        "corrupted_headers",
        "corrupted_length",
        "corrupted_payload",
    ] {
        let encoded = std::fs::read(dir.join("encoded/negative").join(name)).unwrap();
        let reason = std::fs::read_to_string(dir.join("decoded/negative").join(name)).unwrap();
        let err = decode_all(&[&encoded]).unwrap_err();
        match reason.trim() {
            "Prelude checksum mismatch" => assert!(
                matches!(err, EventStreamError::PreludeChecksum { .. }),
                "{name}: {err}"
            ),
            "Message checksum mismatch" => assert!(
                matches!(err, EventStreamError::MessageChecksum { .. }),
                "{name}: {err}"
            ),
            other => panic!("{name}: unexpected reason {other}"),
        }
    }
}

#[test]
fn encoder_matches_the_aws_vector_byte_for_byte() {
    let encoded =
        std::fs::read(fixtures().join("eventstream/encoded/positive/payload_one_str_header"))
            .unwrap();
    assert_eq!(
        encode_frame(&[("content-type", "application/json")], b"{'foo':'bar'}"),
        encoded
    );
    let empty =
        std::fs::read(fixtures().join("eventstream/encoded/positive/empty_message")).unwrap();
    assert_eq!(encode_frame(&[], b""), empty);
}

#[test]
fn frames_split_at_every_byte_offset() {
    let frames = sample_frames();
    let expected: Vec<Frame> = frames.iter().map(|f| expected_frame(f)).collect();
    let stream: Vec<u8> = frames.concat();
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(decode_all(&[a, b]).unwrap(), expected, "cut at {cut}");
    }
    // Two cuts, every pair, over the first two frames.
    let two: Vec<u8> = frames[..2].concat();
    for i in 0..=two.len() {
        for j in i..=two.len() {
            assert_eq!(
                decode_all(&[&two[..i], &two[i..j], &two[j..]]).unwrap(),
                expected[..2],
                "cuts {i},{j}"
            );
        }
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode_all(&bytes).unwrap(), expected);
}

#[test]
fn several_frames_in_one_chunk() {
    let frames = sample_frames();
    let stream = frames.concat();
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    decoder.feed(&stream, &mut out).unwrap();
    assert_eq!(out.len(), 3);
    assert!(decoder.is_idle());
    assert_eq!(out[0].event_type(), Some("messageStart"));
    assert_eq!(out[0].message_type(), Some("event"));
    assert_eq!(out[0].header_str(":content-type"), Some("application/json"));
    assert_eq!(&out[0].payload[..], br#"{"role":"assistant"}"#);
    assert!(out[1].headers.is_empty() && out[1].payload.is_empty());
    assert_eq!(out[2].header_str("\u{e9}t\u{e9}"), Some("\u{1F600} ok"));
    assert_eq!(out[2].exception_type(), None);
}

#[test]
fn every_single_byte_corruption_is_detected() {
    let frame = &sample_frames()[0];
    let mut rng = Rng(0x5EED_0001);
    for at in 0..frame.len() {
        let mut bad = frame.clone();
        bad[at] ^= 1 + (rng.byte() % 255);
        let err = decode_all(&[&bad]).unwrap_err();
        // The prelude CRC covers the lengths, so no corruption can make the decoder
        // wait for bytes that will never come.
        if at < PRELUDE_LEN {
            assert!(
                matches!(err, EventStreamError::PreludeChecksum { .. }),
                "byte {at}: {err}"
            );
        } else {
            assert!(
                matches!(err, EventStreamError::MessageChecksum { .. }),
                "byte {at}: {err}"
            );
        }
    }
}

#[test]
fn frames_before_an_error_are_kept_and_the_decoder_stays_failed() {
    let frames = sample_frames();
    let mut bad = frames[1].clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let mut decoder = EventStreamDecoder::new();
    let mut out = Vec::new();
    let err = decoder
        .feed(
            &[frames[0].clone(), bad, frames[2].clone()].concat(),
            &mut out,
        )
        .unwrap_err();
    assert!(matches!(err, EventStreamError::MessageChecksum { .. }));
    assert_eq!(out.len(), 1);
    assert!(!decoder.is_idle());
    assert_eq!(
        decoder.feed(&frames[2], &mut out),
        Err(EventStreamError::Failed)
    );
    assert_eq!(decoder.finish(), Err(EventStreamError::Failed));
    assert_eq!(out.len(), 1);
}

#[test]
fn truncated_input_is_an_error_at_finish() {
    let frame = &sample_frames()[0];
    for keep in 1..frame.len() {
        let mut decoder = EventStreamDecoder::new();
        let mut out = Vec::new();
        decoder.feed(&frame[..keep], &mut out).unwrap();
        assert!(out.is_empty());
        assert!(!decoder.is_idle());
        assert_eq!(
            decoder.finish(),
            Err(EventStreamError::Truncated { buffered: keep })
        );
    }
    let decoder = EventStreamDecoder::new();
    assert!(decoder.is_idle());
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn absurd_lengths_are_rejected_from_the_prelude_alone() {
    let too_big = prelude(17 * 1024 * 1024, 0);
    let mut decoder = EventStreamDecoder::new();
    let err = decoder.feed(&too_big, &mut Vec::new()).unwrap_err();
    assert_eq!(
        err,
        EventStreamError::FrameTooLarge {
            len: 17 * 1024 * 1024,
            max: DEFAULT_MAX_FRAME_SIZE
        }
    );

    let small = EventStreamDecoder::with_max_frame_size(64);
    let mut small = small;
    let err = small
        .feed(&sample_frames()[0], &mut Vec::new())
        .unwrap_err();
    assert!(matches!(
        err,
        EventStreamError::FrameTooLarge { max: 64, .. }
    ));

    for (total, headers) in [(0, 0), (15, 0), (16, 1), (100, 85), (300_000, 200_000)] {
        let err = decode_all(&[&prelude(total, headers)]).unwrap_err();
        assert_eq!(
            err,
            EventStreamError::InvalidLength { total, headers },
            "{total}/{headers}"
        );
    }
}

#[test]
fn malformed_headers_are_errors() {
    let cases: [(&[u8], &str); 7] = [
        (&[0], "empty header name"),
        (&[5, b'a'], "header runs past the header section"),
        (&[1, b'a'], "header runs past the header section"),
        (&[1, b'a', 42], "unknown header value type"),
        (
            &[1, b'a', 7, 0, 3, b'x'],
            "header runs past the header section",
        ),
        (&[1, b'a', 7, 0, 1, 0xff], "string header is not UTF-8"),
        (&[1, 0xc3, 0], "header name is not UTF-8"),
    ];
    for (headers, why) in cases {
        let err = decode_all(&[&frame_with_raw_headers(headers, b"payload")]).unwrap_err();
        assert_eq!(err, EventStreamError::InvalidHeader(why), "{headers:?}");
    }
    // A header value may not borrow bytes from the payload.
    let err = decode_all(&[&frame_with_raw_headers(&[1, b'a', 5, 0, 0], b"12345678")]).unwrap_err();
    assert_eq!(
        err,
        EventStreamError::InvalidHeader("header runs past the header section")
    );
}

#[test]
fn fuzz_random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x7011_6A7E);
    let valid: Vec<u8> = sample_frames().concat();
    for round in 0..3000 {
        let input: Vec<u8> = match round % 3 {
            0 => (0..rng.below(200)).map(|_| rng.byte()).collect(),
            1 => rng.mutate(&valid),
            _ => {
                // Valid CRCs around random header bytes reach the header parser.
                let headers: Vec<u8> = (0..rng.below(40)).map(|_| rng.byte()).collect();
                frame_with_raw_headers(&headers, b"{}")
            }
        };
        let mut decoder = EventStreamDecoder::with_max_frame_size(1 << 16);
        let mut out = Vec::new();
        let mut rest = &input[..];
        let mut result = Ok(());
        while !rest.is_empty() && result.is_ok() {
            let (chunk, tail) = rest.split_at(1 + rng.below(rest.len()));
            result = decoder.feed(chunk, &mut out);
            rest = tail;
        }
        let finished = result.and_then(|()| decoder.finish());
        if finished.is_ok() {
            // Whatever was accepted must re-encode to the exact input when every header is a string.
            let all_strings = out
                .iter()
                .all(|f| f.headers.iter().all(|(_, v)| v.as_str().is_some()));
            if all_strings {
                let again: Vec<u8> = out
                    .iter()
                    .flat_map(|f| {
                        let h: Vec<(&str, &str)> = f
                            .headers
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                            .collect();
                        encode_frame(&h, &f.payload)
                    })
                    .collect();
                assert_eq!(again, input, "round {round}");
            }
        }
    }
}

/// The ConverseStream fixtures, framed as Bedrock sends them.
fn bedrock_stream(name: &str) -> (Vec<u8>, Vec<(String, Value)>) {
    let dir = fixtures().join("bedrock_converse_stream").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut stream = Vec::new();
    let mut events = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let event = stem.split_once('-').unwrap().1.to_owned();
        let payload = std::fs::read(&file).unwrap();
        let json: Value = serde_json::from_slice(&payload).unwrap();
        let headers: Vec<(&str, &str)> = if event.ends_with("Exception") {
            vec![
                (":exception-type", &event),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ]
        } else {
            vec![
                (":event-type", &event),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ]
        };
        stream.extend(encode_frame(&headers, &payload));
        events.push((event, json));
    }
    (stream, events)
}

#[test]
fn bedrock_converse_stream_fixtures_round_trip_under_any_chunking() {
    for name in ["text", "tool_use", "exception"] {
        let (stream, events) = bedrock_stream(name);
        let mut rng = Rng(0xB0_0C);
        for _ in 0..50 {
            let mut decoder = EventStreamDecoder::new();
            let mut frames = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(1 + rng.below(rest.len().min(64)));
                decoder.feed(chunk, &mut frames).unwrap();
                rest = tail;
            }
            decoder.finish().unwrap();
            assert_eq!(frames.len(), events.len(), "{name}");
            for (frame, (event, json)) in frames.iter().zip(&events) {
                let kind = frame.event_type().or(frame.exception_type()).unwrap();
                assert_eq!(kind, event);
                assert_eq!(
                    &serde_json::from_slice::<Value>(&frame.payload).unwrap(),
                    json
                );
            }
        }
    }
    let (_, tool) = bedrock_stream("tool_use");
    let input: String = tool
        .iter()
        .filter_map(|(_, j)| j["delta"]["toolUse"]["input"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        serde_json::json!({"sign": "WZPZ"})
    );
    let (_, exception) = bedrock_stream("exception");
    assert_eq!(exception[1].0, "throttlingException");
}
