//! Anthropic error bodies (`{"type":"error","error":{"type","message"}}`) →
//! [`GatewayError`], as HTTP error answers or `event: error` inside a stream
//! (<https://docs.anthropic.com/en/api/errors>).

use super::wire::ErrorBodyIn;
use crate::error::GatewayError;
use crate::formats::upstream_error::UpstreamError;

/// An error answer (`status` >= 400), or with `status` 0 the data of an
/// in-stream `error` event.
pub(crate) fn upstream_error(status: u16, body: &[u8]) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorBodyIn>(body)
        .ok()
        .and_then(|b| b.error);
    UpstreamError {
        status,
        kind: parsed.as_ref().and_then(|e| e.kind.as_deref()),
        code: None,
        param: None,
        message: parsed.as_ref().and_then(|e| e.message.as_deref()),
    }
    .into_gateway_error(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Dialect, ErrorKind};

    #[test]
    fn overloaded_529() {
        let e = upstream_error(
            529,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert_eq!(e.message, "Overloaded");
        assert_eq!(e.status_for(Dialect::OpenAi), 503);
    }

    #[test]
    fn prompt_too_long() {
        let e = upstream_error(
            400,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
        );
        assert_eq!(e.kind, ErrorKind::ContextWindowExceeded);
        assert_eq!(
            e.to_json(Dialect::OpenAi)["error"]["code"],
            "context_length_exceeded"
        );
    }
}
