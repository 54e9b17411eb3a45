//! Gemini error bodies → [`GatewayError`]: Google's error model
//! `{"error":{"code","message","status","details"}}`
//! (<https://ai.google.dev/gemini-api/docs/troubleshooting>), as an HTTP error answer
//! or as a `data:` event inside a stream.
//!
//! The canonical `status` name decides the kind (`RESOURCE_EXHAUSTED` → rate limited,
//! `UNAVAILABLE` → overloaded, ...). Two cases the status misnames: an invalid API
//! key is a 400 `INVALID_ARGUMENT` whose `ErrorInfo.reason` is `API_KEY_INVALID` (the
//! gateway's credential, not the client's request), and a prompt over the context
//! window is a plain `INVALID_ARGUMENT` recognised by its message. A `RetryInfo`
//! detail becomes the error's `retry-after`.

use std::time::Duration;

use super::wire::{ErrorBodyIn, ErrorIn};
use crate::error::GatewayError;
use crate::formats::upstream_error::UpstreamError;

/// Longest `retryDelay` taken as a hint; anything longer is not a retry hint.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 3600);

/// An error answer (`status` >= 400) from a Gemini upstream.
pub(crate) fn upstream_error(status: u16, body: &[u8]) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorBodyIn>(body)
        .ok()
        .and_then(|b| b.error);
    from_parts(status, parsed.as_ref(), body)
}

/// The error of a body (`status` 0 for one that came inside a stream or a 200 body:
/// the error's own `code` stands in for the HTTP status then).
pub(crate) fn from_parts(status: u16, e: Option<&ErrorIn>, body: &[u8]) -> GatewayError {
    let status = match (status, e.and_then(|e| e.code)) {
        (0, Some(code)) => code,
        (s, _) => s,
    };
    let message = e.and_then(|e| e.message.as_deref());
    let kind = e.and_then(|e| kind(e, message.unwrap_or("")));
    let code = message
        .filter(|m| too_long(m))
        .map(|_| "context_length_exceeded");
    let mut err = UpstreamError {
        status,
        kind,
        code,
        param: None,
        message,
    }
    .into_gateway_error(body);
    if let Some(d) = e.and_then(retry_delay) {
        err = err.with_retry_after(d);
    }
    err
}

/// The shared error type (`upstream_error` vocabulary) for a Google status name.
fn kind(e: &ErrorIn, message: &str) -> Option<&'static str> {
    let key_invalid = e
        .details
        .iter()
        .any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"))
        || message.contains("API key not valid");
    if key_invalid {
        return Some("authentication_error");
    }
    Some(match e.status.as_deref()? {
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        "UNAVAILABLE" => "overloaded_error",
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "DEADLINE_EXCEEDED" => "timeout_error",
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => "invalid_request_error",
        "NOT_FOUND" => "not_found_error",
        "INTERNAL" | "UNKNOWN" => "api_error",
        _ => return None,
    })
}

/// Gemini's context-window message: "The input token count (N) exceeds the maximum
/// number of tokens allowed (M)."
fn too_long(message: &str) -> bool {
    message.contains("input token count") && message.contains("exceeds the maximum")
}

/// `RetryInfo.retryDelay`, a protobuf duration such as `"37s"` or `"0.5s"`.
fn retry_delay(e: &ErrorIn) -> Option<Duration> {
    let text = e.details.iter().find_map(|d| d.retry_delay.as_deref())?;
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_RETRY_DELAY.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Dialect, ErrorKind};

    #[test]
    fn statuses_map_to_kinds() {
        let body = |code: u16, status: &str| {
            format!(r#"{{"error":{{"code":{code},"message":"m","status":"{status}"}}}}"#)
        };
        let cases = [
            (429, "RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
            (503, "UNAVAILABLE", ErrorKind::Overloaded),
            (401, "UNAUTHENTICATED", ErrorKind::Unauthorized),
            (403, "PERMISSION_DENIED", ErrorKind::Forbidden),
            (504, "DEADLINE_EXCEEDED", ErrorKind::UpstreamTimeout),
            (400, "INVALID_ARGUMENT", ErrorKind::InvalidRequest),
            (400, "FAILED_PRECONDITION", ErrorKind::InvalidRequest),
            (404, "NOT_FOUND", ErrorKind::UpstreamStatus(404)),
            (500, "INTERNAL", ErrorKind::UpstreamStatus(500)),
        ];
        for (code, status, kind) in cases {
            assert_eq!(
                upstream_error(code, body(code, status).as_bytes()).kind,
                kind,
                "{status}"
            );
        }
    }

    #[test]
    fn in_stream_error_uses_its_code() {
        let e = from_parts(
            0,
            Some(&ErrorIn {
                code: Some(503),
                message: Some("The model is overloaded.".into()),
                status: None,
                details: Vec::new(),
            }),
            b"",
        );
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert_eq!(e.status_for(Dialect::Anthropic), 529);
    }

    #[test]
    fn invalid_key_is_the_gateways_credential() {
        let body = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        let e = upstream_error(400, body);
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert!(e.message.contains("credentials") && e.message.contains("API key not valid"));
    }

    #[test]
    fn context_window_and_retry_delay() {
        let body = br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(
            upstream_error(400, body).kind,
            ErrorKind::ContextWindowExceeded
        );
        let body = br#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#;
        let e = upstream_error(429, body);
        assert_eq!(e.retry_after, Some(Duration::from_secs(37)));
        let odd = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"-3s"},{"retryDelay":"soon"}]}}"#;
        assert_eq!(upstream_error(429, odd).retry_after, None);
    }

    #[test]
    fn non_json_body_falls_back_to_status() {
        let e = upstream_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(e.kind, ErrorKind::UpstreamStatus(502));
        assert!(e.message.contains("Bad Gateway"));
    }
}
