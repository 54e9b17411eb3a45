//! Classification of upstream errors, shared by the formats: each format's `error.rs`
//! pulls status, type, code, param and message out of its body; this decides the
//! [`ErrorKind`] and builds the [`GatewayError`].

use crate::error::{ErrorKind, GatewayError};

/// The parts of an upstream error body that matter, whatever the format.
#[derive(Debug, Default)]
pub(crate) struct UpstreamError<'a> {
    /// HTTP status; 0 for an error reported inside a stream.
    pub status: u16,
    /// Error type (`rate_limit_error`, `invalid_request_error`, `overloaded_error`...).
    pub kind: Option<&'a str>,
    /// OpenAI `code` (`context_length_exceeded`, `content_policy_violation`...).
    pub code: Option<&'a str>,
    pub param: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// Longest piece of a non-JSON upstream body quoted in a message.
const SNIPPET: usize = 200;

impl UpstreamError<'_> {
    /// Build the gateway error. `body` is quoted (shortened) when it held no message.
    pub fn into_gateway_error(self, body: &[u8]) -> GatewayError {
        let kind = self.classify();
        let text = match self.message.filter(|m| !m.is_empty()) {
            Some(m) => m.to_owned(),
            None => fallback_message(self.status, body),
        };
        // Upstreams echo the key they were sent: never let it reach a client or a log.
        let text = crate::edge::scrub::text(&text).into_owned();
        let message = match kind {
            ErrorKind::Unauthorized | ErrorKind::Forbidden => {
                format!("the provider rejected the gateway's credentials: {text}")
            }
            _ => text,
        };
        let mut e = GatewayError::new(kind, message);
        if let Some(p) = self.param.filter(|p| !p.is_empty()) {
            e = e.with_param(crate::edge::scrub::text(p).as_ref());
        }
        e
    }

    fn says(&self, needles: &[&str]) -> bool {
        let m = self.message.unwrap_or("").to_ascii_lowercase();
        needles.iter().any(|n| m.contains(n))
    }

    fn classify(&self) -> ErrorKind {
        let kind = self.kind.unwrap_or("");
        let code = self.code.unwrap_or("");
        if code == "context_length_exceeded"
            || self.says(&[
                "prompt is too long",
                "maximum context length",
                "context window",
                "context length",
            ])
        {
            return ErrorKind::ContextWindowExceeded;
        }
        if matches!(code, "content_policy_violation" | "content_filter")
            || kind == "content_policy_violation"
            || self.says(&["content filtering policy", "content management policy"])
        {
            return ErrorKind::ContentPolicy;
        }
        match (self.status, kind) {
            (429, _) | (_, "rate_limit_error" | "rate_limit_exceeded") => ErrorKind::RateLimited,
            (503 | 529, _) | (_, "overloaded_error") => ErrorKind::Overloaded,
            (401, _) | (_, "authentication_error") => ErrorKind::Unauthorized,
            (403, _) | (_, "permission_error") => ErrorKind::Forbidden,
            (413, _) | (_, "request_too_large") => ErrorKind::PayloadTooLarge,
            (408 | 504, _) | (_, "timeout_error") => ErrorKind::UpstreamTimeout,
            (400 | 422, _) | (0, "invalid_request_error") => ErrorKind::InvalidRequest,
            (0, "api_error" | "server_error") => ErrorKind::UpstreamStatus(500),
            (0, _) => ErrorKind::UpstreamProtocol,
            (s, _) => ErrorKind::UpstreamStatus(s),
        }
    }
}

/// A message for a body without one: the status and the start of the body, on one line.
fn fallback_message(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET * 4)]);
    let snippet: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET)
        .collect();
    let snippet = snippet.trim();
    match (status, snippet.is_empty()) {
        (0, true) => "the provider reported an error in the stream".to_owned(),
        (0, false) => format!("the provider reported an error in the stream: {snippet}"),
        (s, true) => format!("the provider answered HTTP {s}"),
        (s, false) => format!("the provider answered HTTP {s}: {snippet}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, kind: Option<&str>, code: Option<&str>, message: &str) -> ErrorKind {
        UpstreamError {
            status,
            kind,
            code,
            message: Some(message),
            param: None,
        }
        .classify()
    }

    #[test]
    fn classification() {
        assert_eq!(kind(429, None, None, "slow down"), ErrorKind::RateLimited);
        assert_eq!(
            kind(529, Some("overloaded_error"), None, "Overloaded"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind(0, Some("overloaded_error"), None, "Overloaded"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind(
                400,
                Some("invalid_request_error"),
                None,
                "prompt is too long: 208310 tokens > 200000 maximum"
            ),
            ErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            kind(
                400,
                Some("invalid_request_error"),
                Some("context_length_exceeded"),
                "too long"
            ),
            ErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            kind(400, None, Some("content_filter"), "filtered"),
            ErrorKind::ContentPolicy
        );
        assert_eq!(
            kind(401, None, Some("invalid_api_key"), "bad key"),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            kind(400, Some("invalid_request_error"), None, "bad"),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind(500, Some("api_error"), None, "oops"),
            ErrorKind::UpstreamStatus(500)
        );
        assert_eq!(
            kind(404, Some("not_found_error"), None, "no model"),
            ErrorKind::UpstreamStatus(404)
        );
        assert_eq!(
            kind(0, Some("api_error"), None, "oops"),
            ErrorKind::UpstreamStatus(500)
        );
        assert_eq!(kind(0, None, None, "?"), ErrorKind::UpstreamProtocol);
    }

    #[test]
    fn fallback_quotes_a_short_single_line() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(1000));
        let e = UpstreamError {
            status: 502,
            ..Default::default()
        }
        .into_gateway_error(body.as_bytes());
        assert!(e
            .message
            .starts_with("the provider answered HTTP 502: <html> <body>xxx"));
        assert!(e.message.len() < 260 && !e.message.contains('\n'));
        assert_eq!(e.kind, ErrorKind::UpstreamStatus(502));
    }
}
