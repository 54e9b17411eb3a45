//! Which upstream response headers reach the client: an allow-list.
//!
//! A provider's response carries its own cookies (`set-cookie` for its load
//! balancers), account identifiers (`openai-organization`, `anthropic-organization-id`,
//! `openai-project`), auth challenges and whatever a self-hosted server adds. None of it
//! is the client's business, and some of it identifies the gateway's provider account.
//! What passes: framing and content headers, dates and caching, request ids,
//! rate-limit headers and `retry-after`, processing times, and provider `x-*` headers
//! whose name says nothing of credentials, cookies or sessions. A value that carries a
//! key shape or a configured secret drops its header.

use std::cell::RefCell;

use http::{header, HeaderMap, HeaderName};
use once_cell::sync::Lazy;
use regex::Regex;

use crate::fx_hash::FxMap;

/// Headers passed as they are.
const EXACT: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "date",
    "cache-control",
    "retry-after",
    "retry-after-ms",
    "request-id",
    "openai-processing-ms",
    "openai-version",
    "cf-ray",
];

/// Rate-limit headers of OpenAI-style and Anthropic upstreams (their names speak of
/// tokens, which would otherwise keep them out).
const RATE_LIMIT_PREFIXES: &[&str] = &["x-ratelimit-", "anthropic-ratelimit-"];

/// Words that keep an otherwise allowed name out.
const DENIED_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "auth",
    "cookie",
    "session",
    "credential",
    "signature",
    "password",
    "organization",
    "project",
    "user",
    "account",
    "forwarded",
    "real-ip",
    "client-ip",
];

/// All the denied words in one automaton: one pass over a name instead of a substring
/// search (and its searcher set-up) per word. `None` only if the constant pattern did
/// not compile (tested): every `x-` name is then kept out, failing closed.
static DENIED: Lazy<Option<Regex>> = Lazy::new(|| {
    let words: Vec<String> = DENIED_WORDS.iter().map(|w| regex::escape(w)).collect();
    Regex::new(&words.join("|")).ok()
});

/// Whether an upstream header of this (lower-case) name may reach the client. The
/// exact names hold none of the denied words, so they are checked first (most
/// headers of an answer are among them) and the word search runs only on `x-` names.
pub fn allowed(name: &str) -> bool {
    if EXACT.contains(&name) || RATE_LIMIT_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return true;
    }
    name.starts_with("x-") && DENIED.as_ref().is_some_and(|d| !d.is_match(name))
}

/// Most names decided per worker thread at once. A provider sends the same few dozen
/// names on every answer; a self-hosted upstream that invents names only empties the
/// cache now and then.
const DECIDED_MAX: usize = 256;

thread_local! {
    /// [`allowed`] by name: its word search costs more than a lookup.
    static DECIDED: RefCell<FxMap<HeaderName, bool>> = RefCell::new(FxMap::default());
}

/// [`allowed`], remembered per worker thread.
fn allowed_name(name: &HeaderName) -> bool {
    DECIDED.with(|decided| {
        if let Some(&ok) = decided.borrow().get(name) {
            return ok;
        }
        let ok = allowed(name.as_str());
        let mut decided = decided.borrow_mut();
        if decided.len() >= DECIDED_MAX {
            decided.clear();
        }
        decided.insert(name.clone(), ok);
        ok
    })
}

/// Whether the client must not see this header: a name off the list, or a value
/// that carries a secret.
fn dropped(name: &HeaderName, value: &[u8]) -> bool {
    !allowed_name(name) || super::scrub::has_secret(value)
}

/// Remove every header the client must not see, deciding once per header (the
/// secret search is the expensive part); no allocation when none is dropped.
pub fn filter(headers: &mut HeaderMap) {
    let mut drop: Vec<HeaderName> = Vec::new();
    for (name, value) in headers.iter() {
        if dropped(name, value.as_bytes()) {
            drop.push(name.clone());
        }
    }
    for name in drop {
        headers.remove(name);
    }
}

/// Filter the upstream's headers; when the body will be scrubbed (and so may change
/// length), drop its Content-Length so that Pingora frames it chunked.
pub fn prepare(headers: &mut HeaderMap, body_scrubbed: bool) {
    filter(headers);
    if body_scrubbed {
        headers.remove(header::CONTENT_LENGTH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingora::http::ResponseHeader;

    #[test]
    fn provider_headers_are_filtered() {
        let mut resp = ResponseHeader::build(401, None).unwrap();
        for (k, v) in [
            ("content-type", "application/json"),
            ("x-request-id", "req_123"),
            ("request-id", "req_abc"),
            ("x-ratelimit-remaining-requests", "99"),
            ("anthropic-ratelimit-tokens-remaining", "1000"),
            ("retry-after", "3"),
            ("openai-processing-ms", "12"),
            ("x-envoy-upstream-service-time", "5"),
            ("set-cookie", "__cf_bm=abc; path=/"),
            ("openai-organization", "acme-prod"),
            ("anthropic-organization-id", "org-1"),
            ("www-authenticate", "Bearer realm=x"),
            ("x-api-key", "abc"),
            ("x-amz-security-token", "abc"),
            ("x-debug", "sent Bearer sk-abcdefghijklmnop"),
            ("server", "uvicorn"),
            ("connection", "keep-alive"),
        ] {
            resp.append_header(k, v).unwrap();
        }
        let mut head = crate::edge::heads::take_response(&mut resp);
        filter(&mut head.headers);
        crate::edge::heads::put_response(&mut resp, head);
        let mut kept: Vec<&str> = resp.headers.keys().map(|k| k.as_str()).collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "anthropic-ratelimit-tokens-remaining",
                "content-type",
                "openai-processing-ms",
                "request-id",
                "retry-after",
                "x-envoy-upstream-service-time",
                "x-ratelimit-remaining-requests",
                "x-request-id",
            ]
        );
    }

    #[test]
    fn remembered_decisions_are_the_decisions_and_the_memory_is_bounded() {
        for round in 0..2 {
            for i in 0..(DECIDED_MAX * 3) {
                for name in [format!("x-name-{i}"), format!("x-token-{i}")] {
                    let header = HeaderName::from_bytes(name.as_bytes()).unwrap();
                    assert_eq!(allowed_name(&header), allowed(&name), "{name} {round}");
                }
            }
            DECIDED.with(|d| assert!(d.borrow().len() <= DECIDED_MAX));
        }
        assert!(allowed_name(&header::CONTENT_TYPE));
        assert!(!allowed_name(&header::SET_COOKIE));
    }

    #[test]
    fn denied_words_match_the_plain_substring_search() {
        assert!(DENIED.is_some());
        for word in DENIED_WORDS {
            for name in [
                format!("x-{word}"),
                format!("x-a-{word}-b"),
                format!("x-{word}s"),
            ] {
                assert!(!allowed(&name), "{name}");
            }
        }
        for name in [
            "x-envoy-upstream-service-time",
            "x-request-id",
            "x-mock-name",
        ] {
            let plain = !DENIED_WORDS.iter().any(|w| name.contains(w));
            assert_eq!(allowed(name), plain, "{name}");
        }
    }
}
