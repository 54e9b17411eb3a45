//! OpenAI error bodies (`{"error":{"message","type","param","code"}}`) → [`GatewayError`],
//! whether they come as an HTTP error answer or as a `data:` chunk inside a stream.

use serde_json::Value;

use super::wire::{ErrorBodyIn, ErrorIn};
use crate::error::GatewayError;
use crate::formats::upstream_error::UpstreamError;

/// An error answer (`status` >= 400) from an OpenAI-format upstream.
pub(crate) fn upstream_error(status: u16, body: &[u8]) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorBodyIn>(body)
        .ok()
        .and_then(|b| b.error);
    from_parts(status, parsed.as_ref(), body)
}

/// The `error` member of a stream chunk: an object as above, or (some servers) a string.
pub(crate) fn stream_error(error: &Value) -> GatewayError {
    match error {
        Value::String(s) => from_parts(0, None, s.as_bytes()),
        other => {
            let parsed = serde_json::from_value::<ErrorIn>(other.clone()).ok();
            from_parts(0, parsed.as_ref(), other.to_string().as_bytes())
        }
    }
}

fn from_parts(status: u16, e: Option<&ErrorIn>, body: &[u8]) -> GatewayError {
    let code = e.and_then(|e| match &e.code {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    });
    UpstreamError {
        status,
        kind: e.and_then(|e| e.kind.as_deref()),
        code,
        param: e.and_then(|e| e.param.as_deref()),
        message: e.and_then(|e| e.message.as_deref()),
    }
    .into_gateway_error(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn context_length_and_param() {
        let body = br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        let e = upstream_error(400, body);
        assert_eq!(e.kind, ErrorKind::ContextWindowExceeded);
        assert_eq!(e.param.as_deref(), Some("messages"));
        assert!(e.message.starts_with("This model's maximum context length"));
    }

    #[test]
    fn in_stream_string_error() {
        let e = stream_error(&Value::String("upstream crashed".into()));
        assert_eq!(e.kind, ErrorKind::UpstreamProtocol);
        assert!(e.message.contains("upstream crashed"));
    }
}
