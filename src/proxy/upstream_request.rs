//! The request header sent upstream: path, method, Host, the provider's auth (and
//! SigV4 for Bedrock), with the client's credentials and hop-by-hop headers removed.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use pingora::http::RequestHeader;
use pingora::{Error, ErrorType, Result};

use crate::config::ProviderKind;
use crate::edge::header_value;
use crate::edge::heads::{self, X_REQUEST_ID};

use super::ctx::Ctx;

/// Hop-by-hop and credential headers never forwarded upstream.
const STRIPPED_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "expect",
    "transfer-encoding",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "upgrade",
    // We read (and may translate) the response body: ask for it uncompressed.
    "accept-encoding",
];

/// Client dialect headers that mean nothing to another format.
const DIALECT_HEADERS: &[&str] = &[
    "anthropic-version",
    "anthropic-beta",
    "openai-organization",
    "openai-project",
    "x-goog-api-client",
];

/// Rewrite the client's request header for the current attempt.
pub fn prepare(ctx: &Ctx, req: &mut RequestHeader) -> Result<()> {
    let Some(a) = &ctx.attempt else { return Ok(()) };
    let endpoint = a.provider.endpoints.get(a.endpoint_index);
    let prefix = endpoint.map_or("", |e| e.path_prefix.as_str());
    let path = match (&a.path, prefix.is_empty()) {
        (Cow::Borrowed(path), true) => Cow::Borrowed(*path),
        _ => Cow::Owned(format!("{prefix}{}", a.path)),
    };
    let bedrock = a.provider.kind == ProviderKind::Bedrock;
    let signed_path = bedrock.then(|| path.to_string());
    let uri = match path {
        // A static path is referenced, not copied.
        Cow::Borrowed(path) => http::Uri::from_maybe_shared(Bytes::from_static(path.as_bytes())),
        // From the `String` itself: parsing a `&str` would copy it once more.
        Cow::Owned(path) => http::Uri::try_from(path),
    }
    .map_err(|_| Error::explain(ErrorType::InternalError, "bad upstream path"))?;
    let mut head = heads::take_request(req);
    head.uri = uri;
    head.method = http::Method::POST;
    strip_headers(
        &mut head.headers,
        a.format.native_dialect() != Some(ctx.req.dialect),
    );
    if let Some(ep) = endpoint {
        head.headers.insert(HOST, ep.host_value.clone());
    }
    head.headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    head.headers
        .insert(CONTENT_LENGTH, header_value::count(a.body.len() as u64));
    head.headers
        .insert(X_REQUEST_ID, ctx.req.id.value().clone());
    heads::put_request(req, head);
    crate::providers::apply_auth(&a.provider, req)?;
    if let Some(path) = signed_path {
        let host = endpoint.and_then(|ep| ep.host_value.to_str().ok());
        crate::providers::sign_bedrock(&a.provider, req, host.unwrap_or(""), &path, &a.body)?;
    }
    Ok(())
}

/// Remove the stripped headers (and the dialect headers when the formats differ).
/// The client's few headers are looked at, instead of a map lookup per name on the
/// lists; only those present are removed, one at a time (a list of them would be an
/// allocation for the two or three a request has).
fn strip_headers(headers: &mut HeaderMap, cross_format: bool) {
    let doomed = |name: &&HeaderName| {
        let name = name.as_str();
        STRIPPED_HEADERS.contains(&name) || (cross_format && DIALECT_HEADERS.contains(&name))
    };
    while let Some(name) = headers.keys().find(doomed).cloned() {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_listed_headers_in_any_case_and_keeps_the_rest() {
        let mut req = RequestHeader::build("POST", b"/v1/chat/completions", None).unwrap();
        for (k, v) in [
            ("Authorization", "Bearer sk-x"),
            ("X-Api-Key", "k"),
            ("Cookie", "a=b"),
            ("Accept-Encoding", "gzip"),
            ("anthropic-version", "2023-06-01"),
            ("User-Agent", "sdk"),
            ("x-custom", "1"),
        ] {
            req.append_header(k, v).unwrap();
        }
        let mut same = req.headers.clone();
        strip_headers(&mut same, false);
        let kept = |h: &HeaderMap| {
            let mut k: Vec<String> = h.keys().map(|n| n.to_string()).collect();
            k.sort();
            k
        };
        assert_eq!(kept(&same), ["anthropic-version", "user-agent", "x-custom"]);
        let mut head = heads::take_request(&mut req);
        strip_headers(&mut head.headers, true);
        heads::put_request(&mut req, head);
        assert_eq!(kept(&req.headers), ["user-agent", "x-custom"]);
        let mut wire = Vec::new();
        req.header_to_h1_wire(&mut wire);
        let wire = String::from_utf8(wire).unwrap();
        assert!(
            wire.contains("user-agent: sdk") && !wire.to_lowercase().contains("cookie"),
            "{wire}"
        );
    }
}
