use bytes::BytesMut;

use super::*;

fn head(raw: &str) -> RequestHead {
    let (head, used) = parse_head(raw.as_bytes()).unwrap().unwrap();
    assert_eq!(used, raw.len(), "whole input is one head");
    head
}

#[test]
fn parses_request_line_and_headers() {
    let h = head("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nX-Key:  v v \t\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(h.method(), "POST");
    assert_eq!(h.target(), "/v1/chat/completions?x=1");
    assert_eq!((h.path(), h.query()), ("/v1/chat/completions", Some("x=1")));
    assert_eq!(h.header("x-key"), Some(&b"v v"[..]));
    assert_eq!(h.header("HOST"), Some(&b"a"[..]));
    assert_eq!(h.framing, Framing::Length(5));
    assert!(h.keep_alive && !h.expect_continue && !h.http10);
    let names: Vec<&[u8]> = h.headers().map(|(n, _)| n).collect();
    assert_eq!(names, vec![&b"Host"[..], b"X-Key", b"Content-Length"]);
}

#[test]
fn incomplete_heads_need_more_bytes_at_every_split() {
    let raw = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";
    for cut in 0..raw.len() {
        assert!(parse_head(&raw[..cut]).unwrap().is_none(), "cut at {cut}");
    }
    assert!(parse_head(raw).unwrap().is_some());
}

#[test]
fn pipelined_requests_parse_one_after_another() {
    let raw = b"GET /a HTTP/1.1\r\nhost: x\r\n\r\nPOST /b HTTP/1.1\r\ncontent-length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n";
    let (first, used) = parse_head(raw).unwrap().unwrap();
    assert_eq!((first.target(), first.framing), ("/a", Framing::Empty));
    let rest = &raw[used..];
    let (second, used2) = parse_head(rest).unwrap().unwrap();
    assert_eq!(
        (second.target(), second.framing),
        ("/b", Framing::Length(2))
    );
    let (third, _) = parse_head(&rest[used2 + 2..]).unwrap().unwrap();
    assert_eq!(third.target(), "/c");
}

#[test]
fn leading_empty_lines_and_bare_lf_are_tolerated() {
    let h = head("\r\n\r\nGET / HTTP/1.1\nhost: x\n\n");
    assert_eq!((h.method(), h.header("host")), ("GET", Some(&b"x"[..])));
}

#[test]
fn connection_semantics() {
    assert!(!head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
    assert!(head("GET / HTTP/1.1\r\nConnection: upgrade, keep-alive\r\n\r\n").keep_alive);
    assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
    let h10 = head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(h10.keep_alive && h10.http10);
    assert!(
        head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\ncontent-length: 1\r\n\r\n")
            .expect_continue
    );
}

#[test]
fn framing_rules() {
    assert_eq!(
        head("POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n").framing,
        Framing::Empty
    );
    let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
    // Both headers: chunked wins and the connection must not be reused.
    let both = head("POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n");
    assert_eq!((both.framing, both.keep_alive), (Framing::Chunked, false));
    let same_twice = head("POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n");
    assert_eq!(same_twice.framing, Framing::Length(3));
}

#[test]
fn malformed_heads_are_rejected() {
    let bad = [
        "GET /\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nno colon\r\n\r\n",
        "GET / HTTP/1.1\r\nbad name: x\r\n\r\n",
        "GET / HTTP/1.1\r\na: b\r\n folded\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: 1x\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n",
    ];
    for raw in bad {
        let err = parse_head(raw.as_bytes()).unwrap_err();
        assert_eq!(err.status(), 400, "{raw:?} -> {err:?}");
    }
}

#[test]
fn oversized_heads_are_rejected_early() {
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    while raw.len() <= MAX_HEAD {
        raw.extend_from_slice(b"x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(parse_head(&raw).unwrap_err(), HttpError::HeadTooLarge);
}

/// Feeds `input` to a decoder in pieces of `step` bytes; returns the body and leftovers.
fn decode_in_steps(input: &[u8], step: usize, max: usize) -> Result<(Vec<u8>, Vec<u8>), HttpError> {
    let mut decoder = ChunkedDecoder::new(max);
    let (mut buf, mut out) = (BytesMut::new(), BytesMut::new());
    let mut fed = 0;
    while fed < input.len() {
        let end = (fed + step).min(input.len());
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        if decoder.decode(&mut buf, &mut out)? {
            let mut rest = buf.to_vec();
            rest.extend_from_slice(&input[fed..]);
            return Ok((out.to_vec(), rest));
        }
    }
    Err(HttpError::Malformed("incomplete"))
}

#[test]
fn chunked_body_survives_every_split() {
    let input = b"4\r\nWiki\r\n5;name=val\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
    for step in 1..=input.len() {
        let (body, rest) = decode_in_steps(input, step, 1024).unwrap();
        assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.", "step {step}");
        assert_eq!(rest, b"NEXT", "step {step}");
    }
}

#[test]
fn chunked_errors() {
    let cases: [(&[u8], u16); 5] = [
        (b"zz\r\n", 400),
        (b"\r\n", 400),
        (b"3\r\nabcX\r\n0\r\n\r\n", 400),
        (b"ffffffffffffffffffff\r\n", 413),
        (b"400\r\n", 413),
    ];
    for (input, status) in cases {
        let err = decode_in_steps(input, input.len(), 1000).unwrap_err();
        assert_eq!(err.status(), status, "{:?}", String::from_utf8_lossy(input));
    }
    // Many small chunks adding up past the limit.
    let many = b"200\r\n"
        .iter()
        .chain(&[b'a'; 0x200])
        .chain(b"\r\n")
        .copied()
        .collect::<Vec<u8>>()
        .repeat(3);
    assert_eq!(
        decode_in_steps(&many, 100, 1000).unwrap_err(),
        HttpError::BodyTooLarge
    );
}

#[test]
fn large_chunked_body_is_byte_exact() {
    let body: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut input = Vec::new();
    for piece in body.chunks(7919) {
        input.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
        input.extend_from_slice(piece);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    let (decoded, rest) = decode_in_steps(&input, 65_536, 1 << 20).unwrap();
    assert!(decoded == body && rest.is_empty());
}
