//! Request and response heads edited as plain `http` parts.
//!
//! Pingora's `RequestHeader` and `ResponseHeader` keep a second map with each header
//! name's original case, so that a proxied head can go out byte for byte; every
//! `insert_header` or `remove_header` then parses the name, copies it and updates both
//! maps. Neither a provider nor a client has use for the other side's spelling (HTTP
//! field names are case-insensitive, and Pingora still writes the common ones
//! title-cased), so the head crossing the gateway is taken out once, edited as an
//! `http::HeaderMap` with names parsed at compile time, and put back without the case
//! map: a move of the parts, not a copy of the headers.

use http::{request, response, HeaderName};
use pingora::http::{RequestHeader, ResponseHeader};

/// The request id the gateway sets on upstream requests and on answers.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// An answer's head, without the case map; `resp` holds an empty head until
/// [`put_response`] gives it back.
pub fn take_response(resp: &mut ResponseHeader) -> response::Parts {
    let (empty, ()) = http::Response::new(()).into_parts();
    response::Parts::from(std::mem::replace(resp, ResponseHeader::from(empty)))
}

/// Put an edited answer's head back (its reason phrase is the status's own).
pub fn put_response(resp: &mut ResponseHeader, parts: response::Parts) {
    *resp = ResponseHeader::from(parts);
}

/// A request's head, without the case map; `req` holds an empty head until
/// [`put_request`] gives it back. For a head whose target is then set from a URI
/// (`set_uri`): a raw request-target the URI does not hold is not kept.
pub fn take_request(req: &mut RequestHeader) -> request::Parts {
    let (empty, ()) = http::Request::new(()).into_parts();
    request::Parts::from(std::mem::replace(req, RequestHeader::from(empty)))
}

/// Put an edited request head back.
pub fn put_request(req: &mut RequestHeader, parts: request::Parts) {
    *req = RequestHeader::from(parts);
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
        let mut head = take_response(&mut resp);
        assert!(resp.headers.is_empty());
        head.headers.insert(
            HeaderName::from_static("x-tollgate-model"),
            HeaderValue::from_static("gpt"),
        );
        put_response(&mut resp, head);
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

    #[test]
    fn an_edited_request_head_keeps_method_target_and_headers() {
        let mut req = RequestHeader::build("GET", b"/v1/models?x=1", None).unwrap();
        req.append_header("X-Client-Thing", "a").unwrap();
        let mut head = take_request(&mut req);
        assert!(req.headers.is_empty());
        head.method = http::Method::POST;
        head.uri = http::Uri::from_static("/prefix/v1/chat/completions");
        head.headers.insert(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("r1"),
        );
        put_request(&mut req, head);
        assert!(!req.has_case());
        let mut wire = Vec::new();
        req.header_to_h1_wire(&mut wire);
        let wire = String::from_utf8(wire).unwrap();
        assert_eq!(req.method, http::Method::POST);
        assert_eq!(req.raw_path(), b"/prefix/v1/chat/completions");
        assert!(wire.contains("x-client-thing: a\r\n"), "{wire}");
        assert!(wire.contains("x-request-id: r1\r\n"), "{wire}");
    }
}
