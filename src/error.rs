//! One error type for the whole gateway.
//!
//! Every failure, whether found while parsing a request, enforcing a policy or talking
//! to an upstream, becomes a [`GatewayError`]. It knows its HTTP status, its
//! low-cardinality metric label, and how to render itself in each client dialect
//! (OpenAI `{"error":{...}}` or Anthropic `{"type":"error","error":{...}}`), both as a
//! whole JSON body and as an in-band SSE error event for streams that already started.

use std::fmt;
use std::time::Duration;

use serde_json::json;

/// The client-facing API dialect a request arrived in; errors are rendered in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// OpenAI Chat Completions, embeddings, models (`/v1/chat/completions`, ...).
    #[default]
    OpenAi,
    /// Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`).
    Anthropic,
}

/// What went wrong, independent of how it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed JSON, missing or invalid field (400).
    InvalidRequest,
    /// Missing or unknown credential (401).
    Unauthorized,
    /// Key is valid but may not use this model (403).
    Forbidden,
    /// No route for this model name (404).
    ModelNotFound,
    /// Path not served by the gateway (404).
    RouteNotFound,
    /// Method not allowed on this path (405).
    MethodNotAllowed,
    /// Request body over the configured limit (413).
    PayloadTooLarge,
    /// A rate limit was hit (429).
    RateLimited,
    /// A budget is exhausted (429, `insufficient_quota`).
    BudgetExceeded,
    /// A guardrail blocked the request or response (400).
    GuardrailBlocked,
    /// Prompt does not fit the model's context window (400).
    ContextWindowExceeded,
    /// Provider refused the content (400).
    ContentPolicy,
    /// Upstream could not be connected to (502).
    UpstreamUnreachable,
    /// Upstream answered something unusable (502).
    UpstreamProtocol,
    /// No healthy endpoint left to try (503).
    NoHealthyUpstream,
    /// Upstream is overloaded (Anthropic 529, 503).
    Overloaded,
    /// Upstream did not answer in time (504).
    UpstreamTimeout,
    /// The client was too slow sending its request (408); never an upstream's fault.
    ClientTimeout,
    /// Upstream answered with this status; passed through as is.
    UpstreamStatus(u16),
    /// A bug or an unexpected state in the gateway (500).
    Internal,
}

/// A gateway error: a kind, a human message (never containing a secret), optional
/// OpenAI `param` / `code`, and an optional `retry-after` hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
    pub retry_after: Option<Duration>,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        GatewayError {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// HTTP status as the provider itself would use it.
    pub fn status(&self) -> u16 {
        use ErrorKind::*;
        match self.kind {
            InvalidRequest | GuardrailBlocked | ContextWindowExceeded | ContentPolicy => 400,
            Unauthorized => 401,
            Forbidden => 403,
            ModelNotFound | RouteNotFound => 404,
            MethodNotAllowed => 405,
            PayloadTooLarge => 413,
            RateLimited | BudgetExceeded => 429,
            Internal => 500,
            UpstreamUnreachable | UpstreamProtocol => 502,
            NoHealthyUpstream => 503,
            Overloaded => 529,
            UpstreamTimeout => 504,
            ClientTimeout => 408,
            UpstreamStatus(s) => s,
        }
    }

    /// Status for a given dialect: only Anthropic clients know 529.
    pub fn status_for(&self, dialect: Dialect) -> u16 {
        match (self.kind, dialect) {
            (ErrorKind::Overloaded, Dialect::OpenAi) => 503,
            _ => self.status(),
        }
    }

    /// Low-cardinality label for metrics (never contains request data).
    pub fn metric_label(&self) -> &'static str {
        use ErrorKind::*;
        match self.kind {
            InvalidRequest => "invalid_request",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            ModelNotFound => "model_not_found",
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
            RateLimited => "rate_limited",
            BudgetExceeded => "budget_exceeded",
            GuardrailBlocked => "guardrail_blocked",
            ContextWindowExceeded => "context_window_exceeded",
            ContentPolicy => "content_policy",
            UpstreamUnreachable => "upstream_unreachable",
            UpstreamProtocol => "upstream_protocol",
            NoHealthyUpstream => "no_healthy_upstream",
            Overloaded => "overloaded",
            UpstreamTimeout => "upstream_timeout",
            ClientTimeout => "client_timeout",
            UpstreamStatus(s) if s >= 500 => "upstream_5xx",
            UpstreamStatus(_) => "upstream_4xx",
            Internal => "internal",
        }
    }

    /// OpenAI `error.type`.
    fn openai_type(&self) -> &'static str {
        use ErrorKind::*;
        match self.kind {
            InvalidRequest
            | ModelNotFound
            | RouteNotFound
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

    /// OpenAI `error.code` default when none was set.
    fn openai_code(&self) -> Option<&'static str> {
        use ErrorKind::*;
        self.code.or(match self.kind {
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

    /// Anthropic `error.type` (https://docs.anthropic.com/en/api/errors).
    fn anthropic_type(&self) -> &'static str {
        use ErrorKind::*;
        match self.kind {
            InvalidRequest
            | MethodNotAllowed
            | GuardrailBlocked
            | ContextWindowExceeded
            | ContentPolicy => "invalid_request_error",
            Unauthorized => "authentication_error",
            Forbidden | BudgetExceeded => "permission_error",
            ModelNotFound | RouteNotFound => "not_found_error",
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

    /// The JSON value of the error body in the given dialect.
    pub fn to_json(&self, dialect: Dialect) -> serde_json::Value {
        match dialect {
            Dialect::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": self.param,
                "code": self.openai_code(),
            }}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": self.anthropic_type(),
                "message": self.message,
            }}),
        }
    }

    /// The whole error response body in the given dialect.
    pub fn body(&self, dialect: Dialect) -> Vec<u8> {
        self.to_json(dialect).to_string().into_bytes()
    }

    /// An in-band SSE error event for a stream that already started, in the given
    /// dialect. OpenAI SDKs raise on a `data:` chunk carrying an `error` object;
    /// Anthropic SDKs on an `event: error`.
    pub fn sse_event(&self, dialect: Dialect) -> Vec<u8> {
        match dialect {
            Dialect::OpenAi => format!("data: {}\n\n", self.to_json(dialect)).into_bytes(),
            Dialect::Anthropic => {
                format!("event: error\ndata: {}\n\n", self.to_json(dialect)).into_bytes()
            }
        }
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.metric_label(), self.message)
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape_has_all_four_fields() {
        let e = GatewayError::new(ErrorKind::ModelNotFound, "no such model: x").with_param("model");
        let v = e.to_json(Dialect::OpenAi);
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["message"], "no such model: x");
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn anthropic_shape_and_overloaded_status() {
        let e = GatewayError::new(ErrorKind::Overloaded, "busy");
        let v = e.to_json(Dialect::Anthropic);
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(e.status_for(Dialect::Anthropic), 529);
        assert_eq!(e.status_for(Dialect::OpenAi), 503);
    }

    #[test]
    fn upstream_status_passes_through() {
        let e = GatewayError::new(ErrorKind::UpstreamStatus(418), "teapot");
        assert_eq!(e.status(), 418);
        assert_eq!(e.metric_label(), "upstream_4xx");
    }

    #[test]
    fn sse_event_is_framed() {
        let e = GatewayError::new(ErrorKind::UpstreamTimeout, "stalled");
        let ev = String::from_utf8(e.sse_event(Dialect::Anthropic)).unwrap_or_default();
        assert!(ev.starts_with("event: error\ndata: {"));
        assert!(ev.ends_with("\n\n"));
    }
}
