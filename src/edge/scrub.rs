//! Scrubbing provider credentials out of upstream text before it reaches a client, a
//! log line or a metric.
//!
//! OpenAI-compatible servers echo the key they were given in their 401/403 messages
//! (`Incorrect API key provided: sk-abc…`, `invalid header: Bearer sk-…`); a gateway
//! that forwards or quotes such a message hands the provider key to every client. Two
//! nets, applied together:
//! - the exact secret values of the loaded configuration (provider keys, extra header
//!   values, AWS credentials), remembered at every (re)load together with those of the
//!   previous configuration, because requests started on it may still be answering;
//! - the usual key shapes, whatever their origin: `sk-…`, `Bearer …`, AWS access key
//!   ids (`AKIA…`/`ASIA…`), Google API keys (`AIza…`) and `key=`/`x-api-key:`-style
//!   assignments.
//!
//! Each match becomes `***` (a key-shaped match keeps its recognisable prefix, e.g.
//! `sk-***`, so the message still says what was wrong).

use std::borrow::Cow;
use std::sync::Arc;

use arc_swap::ArcSwap;
use once_cell::sync::Lazy;
use regex::bytes::{Captures, Regex, RegexBuilder};

use crate::config::Config;

/// Shortest configured value treated as a secret: shorter ones (a test key `x`) would
/// mask ordinary words.
const MIN_SECRET_LEN: usize = 8;

/// Key shapes. Group 1 is the prefix that is kept.
const SHAPES: &str = concat!(
    r"(?i:((?:bearer|basic)[ \t]+))[A-Za-z0-9._~+/*=-]{6,}",
    r"|(?-u:\b)(sk-)[A-Za-z0-9_*-]{6,}",
    r"|(?-u:\b)((?:AKIA|ASIA))[0-9A-Z*]{12,}",
    r"|(?-u:\b)(AIza)[0-9A-Za-z_*-]{20,}",
    r#"|(?i:((?:x-goog-api-key|x-api-key|api[_-]?key|access[_-]?token|key|token|secret|password|signature)["']?[ \t]*[:=][ \t]*["']?))[^\s"'&,;}]{4,}"#,
);

/// The shortest text a shape or a secret can match: `key=` and four characters (the
/// other shapes need more; secrets are at least [`MIN_SECRET_LEN`]).
const SHORTEST_MATCH: usize = 8;

static SHAPE_RE: Lazy<Option<Regex>> = Lazy::new(|| Regex::new(SHAPES).ok());

/// The secrets of the current and the previous configuration.
static CONFIGURED: Lazy<ArcSwap<Secrets>> = Lazy::new(|| ArcSwap::from_pointee(Secrets::none()));

/// Exact secret values, as one alternation.
pub struct Secrets {
    /// The values of the configuration last remembered.
    latest: Vec<String>,
    re: Option<Regex>,
}

impl Secrets {
    fn none() -> Secrets {
        Secrets {
            latest: Vec::new(),
            re: None,
        }
    }

    /// A matcher for these values (shorter than [`MIN_SECRET_LEN`] ignored).
    pub fn new(values: Vec<String>) -> Secrets {
        Self::with_previous(values, &[])
    }

    /// A matcher for `latest` and `previous` together.
    fn with_previous(mut latest: Vec<String>, previous: &[String]) -> Secrets {
        latest.retain(|v| v.len() >= MIN_SECRET_LEN);
        latest.sort();
        latest.dedup();
        let mut all: Vec<&String> = latest.iter().chain(previous).collect();
        // Longest first, so a secret containing another is masked whole.
        all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        all.dedup();
        let pattern = all
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|");
        let re = (!all.is_empty())
            .then(|| RegexBuilder::new(&pattern).size_limit(1 << 24).build().ok())
            .flatten();
        Secrets { latest, re }
    }

    /// Whether `scrub` would change `text` (a search, no allocation). Text shorter
    /// than any match (most header values: counts, `0ms`) is not searched.
    pub fn finds(&self, text: &[u8]) -> bool {
        if text.len() < SHORTEST_MATCH {
            return false;
        }
        self.re.as_ref().is_some_and(|re| re.is_match(text))
            || match SHAPE_RE.as_ref() {
                Some(shapes) => could_hold_a_shape(text) && shapes.is_match(text),
                None => true,
            }
    }

    /// `text` with every secret value and key shape replaced.
    pub fn scrub<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let exact = match &self.re {
            Some(re) => re.replace_all(text, &b"***"[..]),
            None => Cow::Borrowed(text),
        };
        let Some(shapes) = SHAPE_RE.as_ref() else {
            // The pattern is a constant and compiles (tested); if it ever did not, fail
            // closed rather than let a key through.
            return Cow::Owned(b"[upstream message withheld]".to_vec());
        };
        match exact {
            Cow::Borrowed(t) => shapes.replace_all(t, keep_prefix),
            Cow::Owned(t) => Cow::Owned(shapes.replace_all(&t, keep_prefix).into_owned()),
        }
    }
}

/// Whether `text` has a byte that every key shape needs: the blank after
/// `Bearer`/`Basic`, the `-` of `sk-`, the `A` of `AKIA`/`ASIA`/`AIza`, the `:` or
/// `=` of an assignment. Most header values (ids, hashes, media types) have none,
/// and this test costs a few instructions a byte where the regex search costs
/// hundreds per call.
fn could_hold_a_shape(text: &[u8]) -> bool {
    text.iter()
        .any(|b| matches!(b, b' ' | b'\t' | b'-' | b'A' | b':' | b'='))
}

fn keep_prefix(caps: &Captures) -> Vec<u8> {
    let prefix = (1..caps.len())
        .find_map(|i| caps.get(i))
        .map_or(&b""[..], |m| m.as_bytes());
    let mut out = prefix.to_vec();
    out.extend_from_slice(b"***");
    out
}

/// Every secret value of a configuration.
fn secrets_of(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for p in &config.providers {
        if let Some(k) = &p.api_key {
            out.push(k.expose().to_string());
        }
        for (_, v) in &p.headers {
            out.push(v.expose().to_string());
        }
        if let Some(aws) = &p.aws {
            out.push(aws.access_key_id.expose().to_string());
            out.push(aws.secret_access_key.expose().to_string());
            if let Some(t) = &aws.session_token {
                out.push(t.expose().to_string());
            }
        }
    }
    if let Some(t) = &config.admin_token {
        out.push(t.expose().to_string());
    }
    out
}

/// Remember the secrets of a configuration being loaded, with those of the one
/// before it: requests started on that one may still be answering. Only two
/// configurations' worth, so reloads cannot grow the list.
pub fn remember(config: &Config) {
    let current = CONFIGURED.load();
    let next = Secrets::with_previous(secrets_of(config), &current.latest);
    if next.latest != current.latest {
        CONFIGURED.store(Arc::new(next));
    }
}

/// Whether upstream bytes (a header value) carry a secret or a key shape.
pub fn has_secret(text: &[u8]) -> bool {
    CONFIGURED.load().finds(text)
}

/// Upstream bytes (an error body) scrubbed with the remembered secrets.
pub fn bytes(text: &[u8]) -> Cow<'_, [u8]> {
    CONFIGURED.load().scrub(text)
}

/// Upstream text (an error message) scrubbed with the remembered secrets.
pub fn text(text: &str) -> Cow<'_, str> {
    match bytes(text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A same-format upstream error body, which is otherwise forwarded as it came: held
/// until its end (error bodies are small; the caller dropped Content-Length) and sent
/// scrubbed. `held` is the response's buffer.
pub fn passthrough_error(held: &mut Vec<u8>, body: &mut Option<bytes::Bytes>, end: bool) {
    if let Some(chunk) = body.take() {
        held.extend_from_slice(&chunk);
    }
    if end {
        let all = std::mem::take(held);
        *body = Some(bytes::Bytes::from(bytes(&all).into_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_matches_are_searched_and_shorter_text_is_not() {
        let s = Secrets::new(vec!["12345678".into()]);
        for hit in ["key=abcd", "12345678", "sk-abcdef", "token:abcd"] {
            assert_eq!(
                hit.len() >= SHORTEST_MATCH,
                s.finds(hit.as_bytes()),
                "{hit}"
            );
            assert_ne!(s.scrub(hit.as_bytes()).as_ref(), hit.as_bytes(), "{hit}");
        }
        for short in ["key=abc", "1234567", "sk-abcd", "0ms", "99"] {
            assert!(!s.finds(short.as_bytes()), "{short}");
            assert_eq!(
                s.scrub(short.as_bytes()).as_ref(),
                short.as_bytes(),
                "{short}"
            );
        }
    }

    fn scrub(secrets: &[&str], text: &str) -> String {
        let s = Secrets::new(secrets.iter().map(|s| s.to_string()).collect());
        String::from_utf8(s.scrub(text.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn finds_agrees_with_scrub() {
        let s = Secrets::new(vec!["provider-secret-1234".to_string()]);
        for text in [
            "req_abc123",
            "application/json",
            "Bearer sk-live-abcdefgh",
            "x provider-secret-1234 y",
            "api_key=abcdef",
            "AKIAABCDEFGHIJKLMNOP",
            "",
        ] {
            let changed = matches!(s.scrub(text.as_bytes()), Cow::Owned(_));
            assert_eq!(s.finds(text.as_bytes()), changed, "{text}");
        }
    }

    /// The byte test in front of the shape search never hides a match: random text
    /// over the shapes' own letters and separators, and every shape example.
    #[test]
    fn the_byte_test_lets_every_shape_match_through() {
        let shapes = SHAPE_RE.as_ref().unwrap();
        // Fragments of the shapes and near-misses, glued in random order.
        let fragments: [&[u8]; 24] = [
            b"Bearer",
            b"bearer",
            b"BASIC",
            b"sk",
            b"-",
            b"AKIA",
            b"ASIA",
            b"AIza",
            b"key",
            b"token",
            b"api_key",
            b"x-api-key",
            b"secret",
            b":",
            b"=",
            b" ",
            b"\t",
            b"\"",
            b"'",
            b"abc123",
            b"Zq9",
            b"0000000000",
            b"_",
            b"/",
        ];
        let mut rng = crate::test_rng::Rng(0x5eed_5ca1);
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut text = Vec::new();
            for _ in 0..2 + rng.below(8) {
                text.extend_from_slice(fragments[rng.below(fragments.len())]);
            }
            if shapes.is_match(&text) {
                matched += 1;
                assert!(
                    could_hold_a_shape(&text),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        assert!(matched > 100, "the sample reaches the shapes ({matched})");
        for text in [
            "Bearer abcdefgh",
            "basic\tabcdefgh",
            "sk-abcdefgh",
            "AKIAABCDEFGHIJKLMNOP",
            "ASIAABCDEFGHIJKLMNOP",
            "AIzaSyA1234567890abcdefghij",
            "token=abcd",
            "password:abcd",
        ] {
            assert!(shapes.is_match(text.as_bytes()), "{text}");
            assert!(could_hold_a_shape(text.as_bytes()), "{text}");
        }
        for clean in ["application/json", "8c1bc9c6e9e370b7", "req_mock0000000001"] {
            assert!(!could_hold_a_shape(clean.as_bytes()), "{clean}");
        }
    }

    #[test]
    fn the_shapes_compile() {
        assert!(SHAPE_RE.is_some());
    }

    #[test]
    fn configured_values_go_whatever_their_shape() {
        let out = scrub(
            &["hunter2-provider-key"],
            "bad key hunter2-provider-key given",
        );
        assert_eq!(out, "bad key *** given");
        // Too short to be told from words: left alone.
        assert_eq!(scrub(&["abc"], "abc def"), "abc def");
    }

    #[test]
    fn key_shapes_go_keeping_their_prefix() {
        let cases = [
            (
                "Incorrect API key provided: sk-proj-AbCdEf1234567890xyz. You can find",
                "Incorrect API key provided: sk-***. You can find",
            ),
            (
                "Incorrect API key provided: sk-abc***************wxyz.",
                "Incorrect API key provided: sk-***.",
            ),
            (
                "invalid header Authorization: Bearer abc.def-ghi_jkl",
                "invalid header Authorization: Bearer ***",
            ),
            (
                "id AKIAIOSFODNN7EXAMPLE is unknown",
                "id AKIA*** is unknown",
            ),
            (
                "session ASIAXXXXXXXXXXXXXXXX expired",
                "session ASIA*** expired",
            ),
            (
                "key AIzaSyA-1234567890abcdefghijklmnopqrstu rejected",
                "key AIza*** rejected",
            ),
            ("x-goog-api-key: topsecretvalue", "x-goog-api-key: ***"),
            (
                "GET /v1?key=abcdef123456&alt=sse",
                "GET /v1?key=***&alt=sse",
            ),
            (r#"{"api_key": "abcdef123456"}"#, r#"{"api_key": "***"}"#),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(&[], input), want, "{input}");
        }
    }

    #[test]
    fn ordinary_messages_are_untouched() {
        for text in [
            "This model's maximum context length is 8192 tokens.",
            "Rate limit reached for requests",
            "task-abcdefghijklmnopqrstuvwxyz",
            "Overloaded",
        ] {
            assert_eq!(scrub(&["some-long-secret"], text), text);
        }
    }

    #[test]
    fn non_utf8_bodies_are_scrubbed_too() {
        let s = Secrets::new(vec!["secret-value-1".into()]);
        let out = s.scrub(b"\xff\xfe secret-value-1 \xff");
        assert_eq!(&*out, b"\xff\xfe *** \xff");
    }
}
