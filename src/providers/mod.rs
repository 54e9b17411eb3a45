//! Providers are facts, not logic: where a provider's API lives (path per endpoint
//! and wire format) and how it authenticates. Translation lives in `formats`.
//!
//! OpenAI-compatible servers (vLLM, Ollama, Groq, Mistral, Together, DeepSeek...) are
//! `openai` providers with another base URL. `direct` sends one request to a provider
//! outside the proxy path.

pub mod direct;

use std::borrow::Cow;

use pingora::http::RequestHeader;

use crate::config::{Provider, ProviderKind};
use crate::formats::WireFormat;

/// The API a request asks for, independent of the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    ChatCompletions,
    Embeddings,
    Messages,
    CountTokens,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
    /// Gemini `generateContent` and `streamGenerateContent` (the envelope says which).
    GenerateContent,
    /// Gemini `embedContent`: one input, one vector (`Embeddings` is the batch form:
    /// OpenAI `/v1/embeddings` and Gemini `batchEmbedContents`).
    EmbedContent,
}

impl Api {
    /// A chat-like API: a conversation in, an answer out.
    pub fn is_chat(self) -> bool {
        matches!(
            self,
            Api::ChatCompletions | Api::Messages | Api::Responses | Api::GenerateContent
        )
    }

    /// Either embeddings API.
    pub fn is_embeddings(self) -> bool {
        matches!(self, Api::Embeddings | Api::EmbedContent)
    }
}

/// The wire format a provider speaks.
pub fn wire_format(kind: ProviderKind) -> WireFormat {
    match kind {
        ProviderKind::OpenAi | ProviderKind::Azure => WireFormat::OpenAiChat,
        ProviderKind::Anthropic => WireFormat::AnthropicMessages,
        ProviderKind::Gemini => WireFormat::Gemini,
        ProviderKind::Bedrock => WireFormat::BedrockConverse,
    }
}

/// The wire format of a provider's traffic: its kind's, except for OpenAI-format
/// servers configured with `api: responses`.
pub fn provider_format(provider: &Provider) -> WireFormat {
    if provider.responses_api {
        WireFormat::OpenAiResponses
    } else {
        wire_format(provider.kind)
    }
}

/// Path and query of the upstream request, after the endpoint's path prefix.
/// `None` when the provider does not offer this API.
pub fn upstream_path(
    provider: &Provider,
    api: Api,
    model: &str,
    stream: bool,
) -> Option<Cow<'static, str>> {
    if provider.responses_api {
        // A Responses-only server: Responses clients pass through, chat-completions
        // and Messages clients are translated to it; nothing else fits.
        let fits = matches!(api, Api::Responses | Api::ChatCompletions | Api::Messages);
        return fits.then_some(Cow::Borrowed("/v1/responses"));
    }
    let path = match provider.kind {
        ProviderKind::OpenAi if api.is_chat() => Cow::Borrowed("/v1/chat/completions"),
        ProviderKind::OpenAi if api.is_embeddings() => Cow::Borrowed("/v1/embeddings"),
        ProviderKind::Azure if api.is_chat() || api.is_embeddings() => {
            let op = if api.is_embeddings() {
                "embeddings"
            } else {
                "chat/completions"
            };
            let version = provider.api_version.as_deref().unwrap_or("2024-10-21");
            Cow::Owned(format!(
                "/openai/deployments/{model}/{op}?api-version={version}"
            ))
        }
        ProviderKind::Anthropic if api.is_chat() => Cow::Borrowed("/v1/messages"),
        ProviderKind::Anthropic if api == Api::CountTokens => {
            Cow::Borrowed("/v1/messages/count_tokens")
        }
        ProviderKind::Gemini => {
            let method = match api {
                _ if api.is_chat() && stream => "streamGenerateContent?alt=sse",
                _ if api.is_chat() => "generateContent",
                Api::CountTokens => "countTokens",
                Api::EmbedContent => "embedContent",
                Api::Embeddings => "batchEmbedContents",
                _ => return None,
            };
            Cow::Owned(format!("/v1beta/models/{model}:{method}"))
        }
        ProviderKind::Bedrock if api.is_chat() => {
            let op = if stream {
                "converse-stream"
            } else {
                "converse"
            };
            Cow::Owned(format!(
                "/model/{}/{op}",
                crate::aws::encode_path_segment(model)
            ))
        }
        _ => return None,
    };
    Some(path)
}

/// Set the provider's credentials and extra headers on the upstream request.
/// Bedrock is signed separately (SigV4 needs the final body).
pub fn apply_auth(provider: &Provider, req: &mut RequestHeader) -> pingora::Result<()> {
    if let Some((name, value)) = &provider.auth {
        req.insert_header(*name, value.clone())?;
    }
    if provider.kind == ProviderKind::Anthropic && req.headers.get("anthropic-version").is_none() {
        req.insert_header("anthropic-version", provider.anthropic_version.as_str())?;
    }
    for (name, value) in &provider.headers {
        req.insert_header(name.clone(), value.expose())?;
    }
    Ok(())
}

/// Sign a Bedrock request with SigV4 (the signature covers the final body, so this
/// runs after the body for the attempt is known). `path_and_query` is what goes on
/// the wire; `host` the Host header value.
pub fn sign_bedrock(
    provider: &Provider,
    req: &mut RequestHeader,
    host: &str,
    path_and_query: &str,
    body: &[u8],
) -> pingora::Result<()> {
    let (Some(keys), Some(region)) = (&provider.aws, &provider.region) else {
        return Ok(());
    };
    let creds = crate::aws::AwsCredentials {
        access_key_id: keys.access_key_id.expose().to_string(),
        secret_access_key: keys.secret_access_key.expose().to_string(),
        session_token: keys.session_token.as_ref().map(|t| t.expose().to_string()),
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let params = crate::aws::SigningParams {
        method: "POST",
        host,
        path,
        query,
        region,
        service: "bedrock",
        payload: body,
        timestamp: std::time::SystemTime::now(),
        extra_headers: &[("content-type", "application/json")],
    };
    for (name, value) in crate::aws::sign(&creds, &params) {
        req.insert_header(name, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: az, format: azure, base_url: "https://r.openai.azure.com", api_key: k, api_version: "2024-10-21" }
  - { name: gem, format: gemini, base_url: "https://generativelanguage.googleapis.com", api_key: k }
  - { name: br, format: bedrock, base_url: "https://bedrock-runtime.us-east-1.amazonaws.com", aws_access_key_id: a, aws_secret_access_key: s }
  - { name: ant, format: anthropic, base_url: "https://api.anthropic.com", api_key: k }
"#;

    fn provider(name: &str) -> std::sync::Arc<Provider> {
        let config = load_str(YAML, &|_| None).expect("config");
        config.provider(name).expect("provider").clone()
    }

    #[test]
    fn paths_per_provider() {
        let path = |p: &str, api, model, stream| upstream_path(&provider(p), api, model, stream);
        assert_eq!(
            path("az", Api::ChatCompletions, "dep", false).as_deref(),
            Some("/openai/deployments/dep/chat/completions?api-version=2024-10-21")
        );
        assert_eq!(
            path("gem", Api::Messages, "gemini-2.0-flash", true).as_deref(),
            Some("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
        );
        assert_eq!(
            path(
                "br",
                Api::ChatCompletions,
                "anthropic.claude-3-haiku-20240307-v1:0",
                false
            )
            .as_deref(),
            Some("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        );
        assert_eq!(
            path("ant", Api::CountTokens, "c", false).as_deref(),
            Some("/v1/messages/count_tokens")
        );
        assert_eq!(path("ant", Api::Embeddings, "c", false), None);
    }

    #[test]
    fn auth_headers_per_provider() {
        let mut req = RequestHeader::build("POST", b"/", None).expect("header");
        apply_auth(&provider("az"), &mut req).expect("auth");
        assert_eq!(
            req.headers.get("api-key").map(|v| v.as_bytes()),
            Some(&b"k"[..])
        );
        let mut req = RequestHeader::build("POST", b"/", None).expect("header");
        apply_auth(&provider("ant"), &mut req).expect("auth");
        assert_eq!(
            req.headers.get("x-api-key").map(|v| v.as_bytes()),
            Some(&b"k"[..])
        );
        assert!(req.headers.get("anthropic-version").is_some());
    }
}
