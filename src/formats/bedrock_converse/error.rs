//! Bedrock errors → [`GatewayError`]: HTTP error answers (`{"message": ...}`, the
//! exception name in the `x-amzn-ErrorType` header, which the translators do not see,
//! so the status decides) and exception frames inside a `ConverseStream`
//! (`:message-type: exception`, the name in `:exception-type`).
//!
//! Documented errors (Converse API reference): 400 `ValidationException`, 403
//! `AccessDeniedException` (the gateway's AWS credentials), 404
//! `ResourceNotFoundException`, 408 `ModelTimeoutException`, 424 `ModelErrorException`,
//! 429 `ThrottlingException` / `ModelNotReadyException`, 500
//! `InternalServerException`, 503 `ServiceUnavailableException`; in streams the same
//! names in camel case plus `modelStreamErrorException`.

use super::wire::ErrorIn;
use crate::aws::Frame;
use crate::error::GatewayError;
use crate::formats::upstream_error::UpstreamError;

/// An error answer (`status` >= 400) from Bedrock.
pub(crate) fn upstream_error(status: u16, body: &[u8]) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorIn>(body).unwrap_or_default();
    // `__type` (AWS JSON protocols) may be `ns#ThrottlingException` or carry a `:` suffix.
    let exception = parsed
        .kind
        .as_deref()
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .map(|t| t.split(':').next().unwrap_or(t));
    build(status, exception, parsed.message.as_deref(), body)
}

/// An `exception` or `error` frame of a `ConverseStream` response.
pub(crate) fn stream_error(frame: &Frame) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorIn>(&frame.payload).unwrap_or_default();
    let exception = frame.exception_type().or(frame.error_code());
    let message = parsed.message.as_deref().or(frame.error_message());
    build(0, exception, message, &frame.payload)
}

fn build(status: u16, exception: Option<&str>, message: Option<&str>, body: &[u8]) -> GatewayError {
    let code = message
        .filter(|m| too_long(m))
        .map(|_| "context_length_exceeded");
    UpstreamError {
        status,
        kind: exception.and_then(kind),
        code,
        param: None,
        message,
    }
    .into_gateway_error(body)
}

/// The shared error type (`upstream_error` vocabulary) of an exception name, in
/// either case convention.
fn kind(exception: &str) -> Option<&'static str> {
    let name = exception.strip_suffix("Exception").unwrap_or(exception);
    Some(match name.to_ascii_lowercase().as_str() {
        "throttling" | "servicequotaexceeded" => "rate_limit_error",
        "serviceunavailable" | "modelnotready" => "overloaded_error",
        "validation" => "invalid_request_error",
        "accessdenied" => "permission_error",
        "unrecognizedclient" | "expiredtoken" => "authentication_error",
        "resourcenotfound" => "not_found_error",
        "modeltimeout" => "timeout_error",
        "internalserver" | "modelstreamerror" | "modelerror" => "api_error",
        _ => return None,
    })
}

/// Bedrock's context-window messages ("Input is too long for requested model.",
/// Claude's "prompt is too long" is recognised by the shared classifier).
fn too_long(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("input is too long") || m.contains("too many input tokens")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::EventStreamDecoder;
    use crate::error::{Dialect, ErrorKind};
    use tollgate_mock::eventstream::encode_frame;

    #[test]
    fn statuses_map_to_kinds() {
        let cases = [
            (429, ErrorKind::RateLimited),
            (400, ErrorKind::InvalidRequest),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::UpstreamStatus(404)),
            (408, ErrorKind::UpstreamTimeout),
            (424, ErrorKind::UpstreamStatus(424)),
            (500, ErrorKind::UpstreamStatus(500)),
            (503, ErrorKind::Overloaded),
        ];
        for (status, kind) in cases {
            let e = upstream_error(status, br#"{"message":"something"}"#);
            assert_eq!(e.kind, kind, "{status}");
        }
        let e = upstream_error(403, br#"{"Message":"User is not authorized"}"#);
        assert!(e.message.contains("gateway's credentials") && e.message.contains("authorized"));
    }

    #[test]
    fn type_field_and_context_window() {
        let e = upstream_error(
            400,
            br#"{"__type":"com.amazon.coral#ThrottlingException","message":"slow"}"#,
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        let e = upstream_error(
            400,
            br#"{"message":"Input is too long for requested model."}"#,
        );
        assert_eq!(e.kind, ErrorKind::ContextWindowExceeded);
        assert_eq!(
            e.to_json(Dialect::OpenAi)["error"]["code"],
            "context_length_exceeded"
        );
    }

    fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Frame {
        let mut frames = Vec::new();
        let bytes = encode_frame(headers, payload);
        EventStreamDecoder::new().feed(&bytes, &mut frames).unwrap();
        frames.pop().unwrap()
    }

    #[test]
    fn exception_frames() {
        let f = frame(
            &[
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
            ],
            br#"{"message":"Too many requests"}"#,
        );
        let e = stream_error(&f);
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.message, "Too many requests");
        let f = frame(
            &[
                (":message-type", "exception"),
                (":exception-type", "modelStreamErrorException"),
            ],
            br#"{"message":"stream broke"}"#,
        );
        assert_eq!(stream_error(&f).kind, ErrorKind::UpstreamStatus(500));
        let f = frame(
            &[
                (":message-type", "error"),
                (":error-code", "InternalFailure"),
                (":error-message", "boom"),
            ],
            b"",
        );
        let e = stream_error(&f);
        assert_eq!(e.kind, ErrorKind::UpstreamProtocol);
        assert_eq!(e.message, "boom");
    }
}
