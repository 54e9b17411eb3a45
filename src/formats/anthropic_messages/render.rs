//! What tollgate itself answers in Anthropic's dialect: error bodies
//! (`{"type":"error","error":{"type","message"}}`,
//! <https://docs.anthropic.com/en/api/errors>) and the `GET /v1/models` list
//! (<https://docs.anthropic.com/en/api/models-list>).

use serde_json::{json, Value};

use crate::error::{ErrorKind, GatewayError};

/// The error body of `e`.
pub(crate) fn render_error(e: &GatewayError) -> Value {
    json!({"type": "error", "error": {
        "type": error_type(e.kind),
        "message": e.message,
    }})
}

/// The models list with Anthropic's paging fields (everything fits on one page).
pub(crate) fn render_model_list<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    let data: Vec<_> = names
        .map(|n| json!({"type": "model", "id": n, "display_name": n, "created_at": "1970-01-01T00:00:00Z"}))
        .collect();
    let first = data.first().map(|d| d["id"].clone());
    let last = data.last().map(|d| d["id"].clone());
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

/// `error.type`.
fn error_type(kind: ErrorKind) -> &'static str {
    use ErrorKind::*;
    match kind {
        InvalidRequest
        | MethodNotAllowed
        | GuardrailBlocked
        | ContextWindowExceeded
        | ContentPolicy => "invalid_request_error",
        Unauthorized => "authentication_error",
        Forbidden | BudgetExceeded => "permission_error",
        ModelNotFound | RouteNotFound | NotFound => "not_found_error",
        PayloadTooLarge => "request_too_large",
        RateLimited => "rate_limit_error",
        Overloaded | NoHealthyUpstream => "overloaded_error",
        UpstreamTimeout | ClientTimeout => "timeout_error",
        UpstreamStatus(400) => "invalid_request_error",
        UpstreamStatus(401) => "authentication_error",
        UpstreamStatus(403) => "permission_error",
        UpstreamStatus(404) => "not_found_error",
        UpstreamStatus(429) => "rate_limit_error",
        UpstreamStatus(529) => "overloaded_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shape() {
        let v = render_error(&GatewayError::new(ErrorKind::Overloaded, "busy"));
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(v["error"]["message"], "busy");
    }

    #[test]
    fn model_list_pages() {
        let v = render_model_list(["a", "b"].into_iter());
        assert_eq!(v["first_id"], "a");
        assert_eq!(v["last_id"], "b");
        assert_eq!(v["has_more"], false);
        let empty = render_model_list(std::iter::empty());
        assert!(empty["first_id"].is_null());
    }
}
