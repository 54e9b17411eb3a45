//! What tollgate itself answers in OpenAI's dialect: error bodies
//! (`{"error":{"message","type","param","code"}}`, the shape the OpenAI SDKs raise
//! from) and the `GET /v1/models` list.

use serde_json::{json, Value};

use crate::error::{ErrorKind, GatewayError};

/// The error body of `e`.
pub(crate) fn render_error(e: &GatewayError) -> Value {
    json!({"error": {
        "message": e.message,
        "type": error_type(e.kind),
        "param": e.param,
        "code": error_code(e),
    }})
}

/// The models list: `{"object":"list","data":[{"id","object","created","owned_by"}]}`.
pub(crate) fn render_model_list<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    let data: Vec<_> = names
        .map(|n| json!({"id": n, "object": "model", "created": 0, "owned_by": "tollgate"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// `error.type`.
fn error_type(kind: ErrorKind) -> &'static str {
    use ErrorKind::*;
    match kind {
        InvalidRequest
        | ModelNotFound
        | RouteNotFound
        | NotFound
        | MethodNotAllowed
        | PayloadTooLarge
        | GuardrailBlocked
        | ContextWindowExceeded
        | ContentPolicy => "invalid_request_error",
        Unauthorized => "authentication_error",
        Forbidden => "permission_error",
        RateLimited => "rate_limit_error",
        BudgetExceeded => "insufficient_quota",
        UpstreamTimeout | ClientTimeout => "timeout_error",
        UpstreamStatus(s) if s < 500 => "invalid_request_error",
        _ => "api_error",
    }
}

/// `error.code`: the one set on the error, else the kind's usual OpenAI code.
fn error_code(e: &GatewayError) -> Option<&'static str> {
    use ErrorKind::*;
    e.code.or(match e.kind {
        ModelNotFound => Some("model_not_found"),
        Unauthorized => Some("invalid_api_key"),
        BudgetExceeded => Some("insufficient_quota"),
        RateLimited => Some("rate_limit_exceeded"),
        ContextWindowExceeded => Some("context_length_exceeded"),
        ContentPolicy => Some("content_policy_violation"),
        GuardrailBlocked => Some("guardrail_blocked"),
        PayloadTooLarge => Some("request_too_large"),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_has_all_four_fields() {
        let e = GatewayError::new(ErrorKind::ModelNotFound, "no such model: x").with_param("model");
        let v = render_error(&e);
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["message"], "no such model: x");
    }

    #[test]
    fn model_list_shape() {
        let v = render_model_list(["a", "b"].into_iter());
        assert_eq!(
            v.to_string(),
            r#"{"data":[{"created":0,"id":"a","object":"model","owned_by":"tollgate"},{"created":0,"id":"b","object":"model","owned_by":"tollgate"}],"object":"list"}"#
        );
    }
}
