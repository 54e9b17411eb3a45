use super::*;

use crate::test_rng::Rng;

fn decode_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut dec = SseDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        out.extend(dec.feed(c).unwrap());
    }
    out.extend(dec.finish());
    out
}

fn ev(event: Option<&str>, data: &str) -> SseEvent {
    SseEvent {
        event: event.map(str::to_owned),
        data: data.to_owned(),
        id: None,
    }
}

const STREAM: &str = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: delta\r\ndata: line1\r\ndata: line2\r\n\r\ndata:no-space\rdata:  two-spaces\r\rdata\n\nevent: x\nretry: 10\nunknown: y\ndata: last\n\n";

fn expected() -> Vec<SseEvent> {
    vec![
        ev(Some("message_start"), "{\"a\":1}"),
        ev(Some("delta"), "line1\nline2"),
        ev(None, "no-space\n two-spaces"),
        ev(None, ""),
        ev(Some("x"), "last"),
    ]
}

#[test]
fn whole_stream_in_one_chunk() {
    assert_eq!(decode_chunks(&[STREAM.as_bytes()]), expected());
}

#[test]
fn every_one_byte_split() {
    let chunks: Vec<&[u8]> = STREAM.as_bytes().chunks(1).collect();
    assert_eq!(decode_chunks(&chunks), expected());
}

#[test]
fn every_two_way_split() {
    let bytes = STREAM.as_bytes();
    for cut in 0..=bytes.len() {
        let (a, b) = bytes.split_at(cut);
        assert_eq!(decode_chunks(&[a, b]), expected(), "cut at {cut}");
    }
}

#[test]
fn random_splits_fixed_seed() {
    let bytes = STREAM.as_bytes();
    let mut rng = Rng(0x5EED_0001);
    for _ in 0..200 {
        let mut chunks = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let n = 1 + rng.below(9);
            let end = (pos + n).min(bytes.len());
            chunks.push(&bytes[pos..end]);
            pos = end;
        }
        assert_eq!(decode_chunks(&chunks), expected());
    }
}

#[test]
fn crlf_split_between_cr_and_lf_is_one_line_end() {
    let got = decode_chunks(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]);
    assert_eq!(got, vec![ev(None, "a"), ev(None, "b")]);
}

#[test]
fn id_field_is_reported_and_nul_ids_ignored() {
    let mut dec = SseDecoder::new();
    let got = dec
        .feed(b"id: 7\ndata: x\n\nid: a\0b\ndata: y\n\n")
        .unwrap();
    assert_eq!(got[0].id.as_deref(), Some("7"));
    assert_eq!(got[1].id, None);
}

#[test]
fn bom_at_stream_start_is_skipped() {
    let got = decode_chunks(&[b"\xEF\xBB", b"\xBFdata: x\n\n"]);
    assert_eq!(got, vec![ev(None, "x")]);
}

#[test]
fn finish_flushes_unterminated_event() {
    assert_eq!(
        decode_chunks(&[b"event: e\ndata: tail"]),
        vec![ev(Some("e"), "tail")]
    );
    assert_eq!(decode_chunks(&[b"data: tail\n"]), vec![ev(None, "tail")]);
    assert!(decode_chunks(&[b"event: only\n"]).is_empty());
}

#[test]
fn end_offsets_cut_at_event_boundaries() {
    let chunk = b"data: a\n\n: c\ndata: b\r\n\r\nda";
    let mut dec = SseDecoder::new();
    let mut ends = Vec::new();
    dec.feed_with(chunk, |e| {
        ends.push(e.end);
        Ok::<(), SseError>(())
    })
    .unwrap();
    assert_eq!(ends, vec![9, 24]);
}

#[test]
fn oversized_event_is_an_error_not_growth() {
    let mut dec = SseDecoder::with_max_event_size(64);
    let big = vec![b'x'; 100];
    let mut chunk = b"data: ".to_vec();
    chunk.extend_from_slice(&big);
    assert_eq!(dec.feed(&chunk), Err(SseError::EventTooLarge { limit: 64 }));

    // Many small data lines add up too.
    let mut dec = SseDecoder::with_max_event_size(64);
    let mut err = None;
    for _ in 0..20 {
        if let Err(e) = dec.feed(b"data: 0123456789\n") {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err, Some(SseError::EventTooLarge { limit: 64 }));
    // Split one byte at a time: the partial line is bounded as well.
    let mut dec = SseDecoder::with_max_event_size(64);
    let failed = chunk.chunks(1).any(|c| dec.feed(c).is_err());
    assert!(failed);
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    let mut rng = Rng(42);
    let alphabet = b"data: event:id\r\n:{}x";
    for _ in 0..300 {
        let mut dec = SseDecoder::with_max_event_size(256);
        for _ in 0..20 {
            let len = rng.below(64);
            let chunk: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(8) == 0 {
                        rng.next() as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            let _ = dec.feed(&chunk);
            assert!(dec.line.len() <= 256 && dec.data.len() <= 256 + 64);
        }
        let _ = dec.finish();
    }
}

#[test]
fn callback_error_stops_decoding() {
    #[derive(Debug, PartialEq)]
    enum E {
        Sse,
        Stop,
    }
    impl From<SseError> for E {
        fn from(_: SseError) -> Self {
            E::Sse
        }
    }
    let mut dec = SseDecoder::new();
    let mut seen = 0;
    let r = dec.feed_with(b"data: 1\n\ndata: 2\n\n", |_| {
        seen += 1;
        Err(E::Stop)
    });
    assert_eq!(r, Err(E::Stop));
    assert_eq!(seen, 1);
}
