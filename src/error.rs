//! One error type for the whole gateway.
//!
//! Every failure, whether found while parsing a request, enforcing a policy or talking
//! to an upstream, becomes a [`GatewayError`]. It knows its HTTP status, its
//! low-cardinality metric label and its status in each client dialect. How it is
//! rendered (OpenAI `{"error":{...}}` or Anthropic `{"type":"error","error":{...}}`, as
//! a whole body or an in-band SSE event) is the format modules' business: see
//! `formats::render`, which defines `to_json`, `body` and `sse_event`.

use std::fmt;
use std::time::Duration;

/// The client-facing API dialect a request arrived in; errors are rendered in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// OpenAI Chat Completions, embeddings, models (`/v1/chat/completions`, ...).
    #[default]
    OpenAi,
    /// Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`).
    Anthropic,
    /// OpenAI Responses (`/v1/responses`); errors are OpenAI's shape.
    OpenAiResponses,
    /// Google Gemini (`/v1beta/models/{model}:generateContent` and its siblings);
    /// errors are Google's `{"error":{"code","message","status"}}`.
    Gemini,
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
    /// An object the client named (a stored response) does not exist for its key (404).
    NotFound,
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
    // Cold: a request that fails takes these, one that succeeds never does. The
    // attribute tells the optimiser that every branch calling them is unlikely, so
    // it moves those branches out of the hot code's cache lines.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        GatewayError {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    #[cold]
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    #[cold]
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
            ModelNotFound | RouteNotFound | NotFound => 404,
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
            (ErrorKind::Overloaded, d) if d != Dialect::Anthropic => 503,
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
            NotFound => "not_found",
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
    fn overloaded_status_depends_on_the_dialect() {
        let e = GatewayError::new(ErrorKind::Overloaded, "busy");
        assert_eq!(e.status_for(Dialect::Anthropic), 529);
        assert_eq!(e.status_for(Dialect::OpenAi), 503);
        let e = GatewayError::new(ErrorKind::ModelNotFound, "no such model: x");
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn upstream_status_passes_through() {
        let e = GatewayError::new(ErrorKind::UpstreamStatus(418), "teapot");
        assert_eq!(e.status(), 418);
        assert_eq!(e.metric_label(), "upstream_4xx");
    }
}
