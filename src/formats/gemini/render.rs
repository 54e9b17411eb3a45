//! What tollgate itself answers to Gemini clients, in Google's shapes: errors as
//! `{"error":{"code","message","status","details"}}` (the `google.rpc.Status` the
//! SDKs raise from, <https://ai.google.dev/gemini-api/docs/troubleshooting>), the
//! `countTokens` answer, and the model list.

use serde_json::{json, Value};

use crate::error::{Dialect, GatewayError};

/// The error body of `e`. `details` carries an `ErrorInfo` whose `reason` is the
/// error's metric label (low-cardinality, never request data) and, on limits, the
/// `RetryInfo` Google sends with its own 429s.
pub(crate) fn render_error(e: &GatewayError) -> Value {
    let code = e.status_for(Dialect::Gemini);
    let mut details = vec![json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": e.metric_label().to_ascii_uppercase(),
        "domain": "tollgate",
    })];
    if let Some(after) = e.retry_after {
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{}s", after.as_secs().max(1)),
        }));
    }
    json!({"error": {
        "code": code,
        "message": e.message,
        "status": status_name(code),
        "details": details,
    }})
}

/// The canonical `google.rpc.Code` name for an HTTP status.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 | 501 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        502 | 503 | 529 => "UNAVAILABLE",
        400..=499 => "FAILED_PRECONDITION",
        _ => "UNKNOWN",
    }
}

/// `countTokens`: `{"totalTokens": n}`.
pub(crate) fn render_token_count(tokens: u64) -> Value {
    json!({ "totalTokens": tokens })
}

/// `GET /v1beta/models`: `{"models":[{"name":"models/<name>", ...}]}`.
pub(crate) fn render_model_list<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    let models: Vec<_> = names
        .map(|n| {
            json!({
                "name": format!("models/{n}"),
                "displayName": n,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            })
        })
        .collect();
    json!({ "models": models })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::time::Duration;

    #[test]
    fn errors_in_googles_shape() {
        let e = GatewayError::new(ErrorKind::Unauthorized, "Invalid API key");
        let v = render_error(&e);
        assert_eq!(v["error"]["code"], 401);
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
        assert_eq!(v["error"]["message"], "Invalid API key");
        assert_eq!(v["error"]["details"][0]["reason"], "UNAUTHORIZED");
        let e = GatewayError::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_secs(7));
        let v = render_error(&e);
        assert_eq!(
            (v["error"]["code"].as_u64(), v["error"]["status"].as_str()),
            (Some(429), Some("RESOURCE_EXHAUSTED"))
        );
        assert_eq!(v["error"]["details"][1]["retryDelay"], "7s");
        // Only Anthropic clients know 529.
        let v = render_error(&GatewayError::new(ErrorKind::Overloaded, "busy"));
        assert_eq!(
            (v["error"]["code"].as_u64(), v["error"]["status"].as_str()),
            (Some(503), Some("UNAVAILABLE"))
        );
        for (status, name) in [
            (400, "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (504, "DEADLINE_EXCEEDED"),
            (413, "INVALID_ARGUMENT"),
        ] {
            assert_eq!(status_name(status), name);
        }
    }
}
