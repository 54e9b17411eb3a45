//! A non-streaming pass-through answer is either complete or an error.
//!
//! Same-format non-streaming answers are held (header and body) until their end; at
//! the end, before anything is released, the body must be one complete JSON document:
//! an object or array whose brackets balance outside strings, followed by nothing but
//! white space. A body cut mid-way (the upstream closed early), or an HTML or text
//! page with a `200`, becomes a `502` in the client's dialect — retried or handed to a
//! fallback like any upstream failure, since nothing reached the client — instead of a
//! complete-looking `200`. The check is a single pass with O(1) state (no parse, no
//! allocation): correctness of the JSON inside is the upstream's business, its
//! completeness is ours.
//!
//! The body is judged on the chunks the body filter saw ([`AnswerWatch`]), never on
//! what the session wrapper holds at that moment: Pingora may hand the filter the end
//! of the body before the wrapper has received the chunks before it.

use crate::error::{ErrorKind, GatewayError};

/// Nesting deeper than this is refused (no upstream answers like that).
const MAX_DEPTH: u32 = 1024;

/// The scanner's state, fed slice by slice.
#[derive(Debug, Default)]
pub struct JsonCompleteness {
    depth: u32,
    started: bool,
    closed: bool,
    in_string: bool,
    escaped: bool,
    broken: bool,
}

impl JsonCompleteness {
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.broken {
                return;
            }
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        let space = matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        if self.closed {
            self.broken |= !space;
            return;
        }
        if !self.started {
            match b {
                b'{' | b'[' => {
                    self.started = true;
                    self.depth = 1;
                }
                _ => self.broken |= !space,
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.depth += 1;
                self.broken |= self.depth > MAX_DEPTH;
            }
            b'}' | b']' => {
                self.depth -= 1;
                self.closed = self.depth == 0;
            }
            _ => {}
        }
    }

    /// Whether everything fed was one complete object or array.
    pub fn complete(&self) -> bool {
        self.started && self.closed && !self.broken && !self.in_string
    }
}

/// Whether `parts`, in order, form one complete JSON document.
pub fn is_complete(parts: &[&[u8]]) -> bool {
    let mut scan = JsonCompleteness::default();
    for part in parts {
        scan.feed(part);
    }
    scan.complete()
}

/// The error for an answer that is not one complete document.
pub fn cut_short() -> GatewayError {
    GatewayError::new(
        ErrorKind::UpstreamProtocol,
        "the upstream's answer was cut short or is not JSON",
    )
}

/// A held answer as the body filter sees it, chunk by chunk: copied while it fits the
/// limit (the usage parse and the response cache read the copy), only scanned for
/// completeness once it does not.
#[derive(Debug, Default)]
pub struct AnswerWatch {
    copy: Vec<u8>,
    scan: Option<JsonCompleteness>,
}

impl AnswerWatch {
    /// Nothing seen yet.
    pub fn is_empty(&self) -> bool {
        self.copy.is_empty() && self.scan.is_none()
    }

    pub fn feed(&mut self, chunk: &[u8], limit: usize) {
        if let Some(scan) = &mut self.scan {
            scan.feed(chunk);
        } else if self.copy.len() + chunk.len() <= limit {
            self.copy.extend_from_slice(chunk);
        } else {
            let mut scan = JsonCompleteness::default();
            scan.feed(&self.copy);
            scan.feed(chunk);
            self.copy = Vec::new();
            self.scan = Some(scan);
        }
    }

    /// The end: the whole answer when it was copied (to be parsed; whether it is
    /// complete is then the caller's to find), `None` when it was too large to copy
    /// and is complete, the error when it is not.
    pub fn finish(self) -> Result<Option<Vec<u8>>, GatewayError> {
        match self.scan {
            None => Ok(Some(self.copy)),
            Some(scan) if scan.complete() => Ok(None),
            Some(_) => Err(cut_short()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_documents_pass_in_any_split() {
        let doc = br#" {"id":"x","choices":[{"message":{"content":"a \"}\" b \\"}}],"n":[1,2]} "#;
        for cut in 0..doc.len() {
            assert!(is_complete(&[&doc[..cut], &doc[cut..]]), "split at {cut}");
        }
        assert!(is_complete(&[b"[]\n"]));
    }

    #[test]
    fn truncated_html_and_trailing_garbage_fail() {
        let doc = br#"{"id":"x","choices":[{"message":{"content":"hello"}}]}"#;
        for cut in 0..doc.len() {
            assert!(!is_complete(&[&doc[..cut]]), "cut at {cut} passed");
        }
        for bad in [
            &b"<html><body>502 Bad Gateway</body></html>"[..],
            b"",
            b"   ",
            b"null",
            b"\"text\"",
            br#"{"a":1}{"b":2}"#,
            br#"{"a":1}data: {"error":{}}"#,
            br#"{"a":"unterminated}"#,
        ] {
            assert!(!is_complete(&[bad]), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn absurd_nesting_is_refused() {
        let deep = "[".repeat(2000) + &"]".repeat(2000);
        assert!(!is_complete(&[deep.as_bytes()]));
    }

    #[test]
    fn a_watched_answer_is_copied_while_it_fits_and_scanned_after() {
        let doc = br#"{"a":"x}","b":[1,2,{"c":null}]}"#;
        for limit in [0, 5, doc.len() - 1, doc.len(), 1 << 20] {
            for cut in 0..=doc.len() {
                let mut whole = AnswerWatch::default();
                whole.feed(&doc[..cut], limit);
                whole.feed(&doc[cut..], limit);
                match whole.finish() {
                    Ok(Some(copy)) => assert!(limit >= doc.len() && copy == doc),
                    Ok(None) => assert!(limit < doc.len()),
                    Err(e) => panic!("limit {limit}, split {cut}: {e:?}"),
                }
                let mut cut_off = AnswerWatch::default();
                cut_off.feed(&doc[..cut], limit);
                let seen = cut_off.finish();
                match seen {
                    Ok(Some(copy)) => assert_eq!(copy, &doc[..cut]),
                    Ok(None) => assert_eq!(cut, doc.len(), "limit {limit}"),
                    Err(_) => assert!(limit < cut && cut < doc.len()),
                }
            }
        }
        assert!(AnswerWatch::default().is_empty());
    }

    /// `proxy::outbound` takes a parsed usage probe as proof of completeness and skips
    /// this scan: that must never let through a body the scan would refuse.
    #[test]
    fn whatever_the_usage_probe_parses_the_scan_finds_complete() {
        use crate::formats::{usage_probe, WireFormat};
        let answer = br#"{"id":"x","choices":[{"message":{"content":"a \"}\" b"}}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;
        let deep = "[".repeat(200) + &"]".repeat(200);
        let mut bodies: Vec<Vec<u8>> = vec![
            answer.to_vec(),
            b" {\"usage\":null}\r\n".to_vec(),
            b"[null]".to_vec(),
            b"[]".to_vec(),
            b"{}".to_vec(),
            b"null".to_vec(),
            b"{\"a\":1}{\"b\":2}".to_vec(),
            b"{\"a\":1} x".to_vec(),
            deep.into_bytes(),
            b"<html></html>".to_vec(),
        ];
        bodies.extend((0..answer.len()).map(|cut| answer[..cut].to_vec()));
        let formats = [
            WireFormat::OpenAiChat,
            WireFormat::AnthropicMessages,
            WireFormat::Gemini,
            WireFormat::BedrockConverse,
            WireFormat::OpenAiResponses,
        ];
        for format in formats {
            for body in &bodies {
                if usage_probe(format, body).is_some() {
                    assert!(
                        is_complete(&[body]),
                        "{format:?}: {}",
                        String::from_utf8_lossy(body)
                    );
                }
            }
            assert!(usage_probe(format, answer).is_some(), "{format:?}");
        }
    }
}
