use super::*;
use crate::trace::span::{SpanKind, SpanStatus};

#[test]
fn varints_and_key_values_follow_the_protobuf_encoding() {
    let mut out = Vec::new();
    varint(&mut out, 300);
    assert_eq!(out, [0xac, 0x02]);
    let mut kv = Vec::new();
    key_value_body(&mut kv, "a", &AttrValue::from("b"));
    // key = 1 ("a"), value = 2 (AnyValue { string_value = 1: "b" })
    assert_eq!(kv, [0x0a, 0x01, b'a', 0x12, 0x03, 0x0a, 0x01, b'b']);
    let mut any = Vec::new();
    any_value(&mut any, &AttrValue::Int(-1));
    // int64 -1 is a ten-byte varint.
    assert_eq!(any.len(), 11);
    assert_eq!(any[0], 0x18);
}

#[test]
fn a_span_carries_ids_times_kind_and_status() {
    let span = SpanRecord {
        trace_id: [1; 16],
        span_id: [2; 8],
        parent: Some([3; 8]),
        name: "chat m".into(),
        kind: SpanKind::Client,
        start_unix_nanos: 5,
        end_unix_nanos: 9,
        attributes: vec![],
        status: SpanStatus::Error,
    };
    let mut out = Vec::new();
    encode_span(&mut out, &span);
    let mut expected = vec![0x0a, 16];
    expected.extend([1; 16]);
    expected.extend([0x12, 8]);
    expected.extend([2; 8]);
    expected.extend([0x22, 8]);
    expected.extend([3; 8]);
    expected.extend([0x2a, 6]);
    expected.extend(b"chat m");
    expected.extend([0x30, 3, 0x39]);
    expected.extend(5u64.to_le_bytes());
    expected.push(0x41);
    expected.extend(9u64.to_le_bytes());
    expected.extend([0x7a, 2, 0x18, 2]);
    assert_eq!(out, expected);
    let body = encode_export("svc", std::slice::from_ref(&span));
    assert_eq!(body[0], 0x0a);
    assert!(body.windows(out.len()).any(|w| w == out.as_slice()));
}
