//! The upstream's response head, edited as plain `http` parts.
//!
//! Pingora's `ResponseHeader` keeps a second map with the upstream's header-name case,
//! so that a proxied head can go out byte for byte; every `insert_header` or
//! `remove_header` then parses the name, copies it and updates both maps. A client
//! has no use for the provider's spelling (HTTP field names are case-insensitive, and
//! Pingora still writes the common ones title-cased), so an answer's head is taken
//! out once, edited as an `http::HeaderMap` with names parsed at compile time, and
//! put back without the case map.

use http::response::Parts;
use pingora::http::ResponseHeader;

/// The head's parts, without the case map; `resp` holds an empty head until
/// [`put`] gives it back.
pub fn take(resp: &mut ResponseHeader) -> Parts {
    let (empty, ()) = http::Response::new(()).into_parts();
    Parts::from(std::mem::replace(resp, ResponseHeader::from(empty)))
}

/// Put an edited head back (its reason phrase is the status's own).
pub fn put(resp: &mut ResponseHeader, parts: Parts) {
    *resp = ResponseHeader::from(parts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    #[test]
    fn an_edited_head_keeps_status_and_headers_and_goes_out_in_one_spelling() {
        let mut resp = ResponseHeader::build(201, None).unwrap();
        resp.append_header("Content-Type", "application/json")
            .unwrap();
        resp.append_header("X-Custom-Thing", "a").unwrap();
        resp.append_header("X-Custom-Thing", "b").unwrap();
        let mut head = take(&mut resp);
        assert!(resp.headers.is_empty());
        head.headers.insert(
            HeaderName::from_static("x-tollgate-model"),
            HeaderValue::from_static("gpt"),
        );
        put(&mut resp, head);
        assert_eq!(resp.status.as_u16(), 201);
        assert!(!resp.has_case());
        let values: Vec<_> = resp.headers.get_all("x-custom-thing").iter().collect();
        assert_eq!(values, ["a", "b"]);
        let mut wire = Vec::new();
        resp.header_to_h1_wire(&mut wire);
        let wire = String::from_utf8(wire).unwrap();
        assert!(
            wire.contains("Content-Type: application/json\r\n"),
            "{wire}"
        );
        assert!(
            wire.contains("x-custom-thing: a\r\nx-custom-thing: b\r\n"),
            "{wire}"
        );
        assert!(wire.contains("x-tollgate-model: gpt\r\n"), "{wire}");
    }
}
