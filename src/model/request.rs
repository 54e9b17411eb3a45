//! Canonical chat request: what any supported API can ask of a model.
//!
//! Strings are `Cow<'a, str>` borrowed from the ingress body where serde can borrow
//! (no escapes), so large base64 images and plain text cross the translation without
//! a copy. Values that are free-form JSON by nature (tool schemas, metadata) stay
//! `serde_json::Value`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// A chat request in canonical form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest<'a> {
    pub model: Cow<'a, str>,
    /// Conversation in order. System and developer instructions are messages too
    /// (Anthropic's top-level `system` becomes a leading `System` message), so their
    /// position survives for formats that keep it.
    pub messages: Vec<Message<'a>>,
    pub tools: Vec<ToolDef<'a>>,
    pub tool_choice: Option<ToolChoice<'a>>,
    /// `Some(false)`: at most one tool call per turn.
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat<'a>>,
    pub sampling: Sampling<'a>,
    /// Cap on generated tokens (OpenAI `max_completion_tokens` / `max_tokens`,
    /// Anthropic `max_tokens`).
    pub max_tokens: Option<u64>,
    /// Number of choices; only OpenAI-format upstreams can return more than one.
    pub n: Option<u32>,
    /// End-user identifier (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<Cow<'a, str>>,
    /// OpenAI `metadata` (string map); formats without it drop it.
    pub metadata: Option<Map<String, Value>>,
    pub stream: bool,
    /// The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    pub include_usage: bool,
    pub reasoning: Option<Reasoning<'a>>,
}

/// Sampling parameters; all optional, passed on only when set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampling<'a> {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: Vec<Cow<'a, str>>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
}

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    /// OpenAI's `developer` role (system instructions for reasoning models).
    Developer,
    User,
    Assistant,
    /// OpenAI `tool` messages; their content is [`ContentPart::ToolResult`] parts.
    Tool,
}

impl Role {
    /// System or developer instructions.
    pub fn is_instruction(self) -> bool {
        matches!(self, Role::System | Role::Developer)
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    pub role: Role,
    pub content: Vec<ContentPart<'a>>,
    /// OpenAI participant `name`.
    pub name: Option<Cow<'a, str>>,
}

impl<'a> Message<'a> {
    pub fn new(role: Role, content: Vec<ContentPart<'a>>) -> Self {
        Message {
            role,
            content,
            name: None,
        }
    }
}

/// A piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart<'a> {
    Text(Cow<'a, str>),
    Image(Image<'a>),
    /// Model reasoning (Anthropic `thinking` with its `signature`, OpenAI-compatible
    /// `reasoning_content`).
    Reasoning {
        text: Cow<'a, str>,
        signature: Option<Cow<'a, str>>,
    },
    /// Encrypted reasoning (Anthropic `redacted_thinking`), passed back verbatim.
    RedactedReasoning(Cow<'a, str>),
    /// An assistant's call of a tool.
    ToolCall(ToolCall<'a>),
    /// The answer to a tool call.
    ToolResult(ToolResult<'a>),
    /// OpenAI assistant `refusal`.
    Refusal(Cow<'a, str>),
    /// Cache everything up to the preceding part (Anthropic `cache_control` on that
    /// part, Bedrock `cachePoint`); formats without prompt caching drop it.
    CacheBreakpoint(CacheTtl),
}

/// Lifetime of a prompt-cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheTtl {
    /// The provider's default (5 minutes at Anthropic).
    #[default]
    Default,
    /// One hour (Anthropic `"ttl": "1h"`).
    OneHour,
}

/// An image input.
#[derive(Debug, Clone, PartialEq)]
pub struct Image<'a> {
    pub source: ImageSource<'a>,
    /// OpenAI `detail` (`low`, `high`, `auto`).
    pub detail: Option<Cow<'a, str>>,
}

/// Where an image's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource<'a> {
    /// An http(s) URL the provider fetches.
    Url(Cow<'a, str>),
    /// Inline base64 data (from a `data:` URL or an explicit base64 source).
    Base64 {
        media_type: Cow<'a, str>,
        data: Cow<'a, str>,
    },
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall<'a> {
    pub id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    /// The arguments as JSON text (an object), as OpenAI carries them.
    pub arguments: Cow<'a, str>,
}

/// The result of a tool call, sent back by the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult<'a> {
    pub tool_call_id: Cow<'a, str>,
    /// Text and image parts.
    pub content: Vec<ContentPart<'a>>,
    pub is_error: bool,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef<'a> {
    pub name: Cow<'a, str>,
    pub description: Option<Cow<'a, str>>,
    /// JSON schema of the arguments object.
    pub parameters: Value,
    /// OpenAI structured-outputs `strict`.
    pub strict: Option<bool>,
    /// Cache the prompt up to and including this tool definition.
    pub cache_breakpoint: Option<CacheTtl>,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice<'a> {
    Auto,
    None,
    /// Some tool (OpenAI `required`, Anthropic `any`).
    Required,
    /// This tool.
    Tool(Cow<'a, str>),
}

/// Constraints on the shape of the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat<'a> {
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        name: Cow<'a, str>,
        description: Option<Cow<'a, str>>,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Extended reasoning settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reasoning<'a> {
    /// `false` when the client explicitly turned reasoning off.
    pub enabled: bool,
    /// Token budget (Anthropic `thinking.budget_tokens`).
    pub budget_tokens: Option<u64>,
    /// Effort level (OpenAI `reasoning_effort`: minimal, low, medium, high).
    pub effort: Option<Cow<'a, str>>,
}

impl Reasoning<'_> {
    /// A budget for formats that take one, derived from the effort when only that was
    /// given (the same steps LiteLLM uses: low 1024, medium 2048, high 4096).
    pub fn budget_or_from_effort(&self) -> u64 {
        if let Some(b) = self.budget_tokens {
            return b;
        }
        match self.effort.as_deref() {
            Some("medium") => 2048,
            Some("high") => 4096,
            _ => 1024,
        }
    }

    /// An effort level for formats that take one, derived from the budget.
    pub fn effort_or_from_budget(&self) -> &str {
        if let Some(e) = self.effort.as_deref() {
            return e;
        }
        match self.budget_tokens.unwrap_or(0) {
            0..=1024 => "low",
            1025..=4096 => "medium",
            _ => "high",
        }
    }
}
