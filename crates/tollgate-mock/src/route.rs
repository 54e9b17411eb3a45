//! Which endpoint a request addresses, decided from its method, path and query.

use std::borrow::Cow;

use super::http::RequestHead;

/// The wire format an endpoint speaks; errors are rendered in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
}

/// An endpoint of the mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `GET /health`.
    Health,
    /// `GET /__mock/requests`.
    Requests,
    /// `GET /__mock/stats`.
    Stats,
    /// `POST /__mock/reset`.
    Reset,
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/responses`.
    Responses,
    /// `GET` or `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`.
    StoredResponse { id: &'a str, input_items: bool },
    /// `GET /v1/models`.
    Models,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`.
    Gemini {
        model: &'a str,
        stream: bool,
        sse: bool,
    },
    /// `POST /v1beta/models/{model}:embedContent` or `:batchEmbedContents`.
    GeminiEmbed { model: &'a str, batch: bool },
    /// `POST /v1beta/models/{model}:countTokens`.
    GeminiCountTokens { model: &'a str },
    /// `POST /model/{modelId}/converse` or `/converse-stream`.
    Bedrock { model: Cow<'a, str>, stream: bool },
    /// A path the mock does not serve.
    NotFound(Format),
    /// A served path with the wrong method.
    MethodNotAllowed(Format),
}

impl<'a> Route<'a> {
    /// Classifies a request.
    pub fn classify(head: &'a RequestHead) -> Route<'a> {
        let (method, path) = (head.method(), head.path());
        let (route, want) = match path {
            "/health" => (Route::Health, "GET"),
            "/__mock/requests" => (Route::Requests, "GET"),
            "/__mock/stats" => (Route::Stats, "GET"),
            "/__mock/reset" => (Route::Reset, "POST"),
            "/v1/chat/completions" => (Route::Chat, "POST"),
            "/v1/embeddings" => (Route::Embeddings, "POST"),
            "/v1/responses" => (Route::Responses, "POST"),
            "/v1/models" => (Route::Models, "GET"),
            "/v1/messages" => (Route::Messages, "POST"),
            "/v1/messages/count_tokens" => (Route::CountTokens, "POST"),
            _ if let Some((route, deletable)) = stored_response(path) => {
                let want = if deletable && method == "DELETE" {
                    "DELETE"
                } else {
                    "GET"
                };
                (route, want)
            }
            _ => match gemini(path, head.query()).or_else(|| bedrock(path)) {
                Some(route) => (route, "POST"),
                None => return Route::NotFound(format_of_path(path)),
            },
        };
        if method == want {
            route
        } else {
            Route::MethodNotAllowed(route.format())
        }
    }

    /// The format of the endpoint (OpenAI for the mock's own endpoints).
    pub fn format(&self) -> Format {
        match self {
            Route::Messages | Route::CountTokens => Format::Anthropic,
            Route::Gemini { .. } | Route::GeminiEmbed { .. } | Route::GeminiCountTokens { .. } => {
                Format::Gemini
            }
            Route::Bedrock { .. } => Format::Bedrock,
            Route::NotFound(f) | Route::MethodNotAllowed(f) => *f,
            _ => Format::OpenAi,
        }
    }

    /// Whether requests to this route are counted and recorded (provider API calls;
    /// not health probes or the mock's own endpoints).
    pub fn is_recorded(&self) -> bool {
        !matches!(
            self,
            Route::Health | Route::Requests | Route::Stats | Route::Reset
        )
    }

    /// The model named in the path (Gemini, Bedrock).
    pub fn path_model(&self) -> Option<&str> {
        match self {
            Route::Gemini { model, .. }
            | Route::GeminiEmbed { model, .. }
            | Route::GeminiCountTokens { model } => Some(model),
            Route::Bedrock { model, .. } => Some(model),
            _ => None,
        }
    }
}

/// `/v1/responses/{id}` (which may also be deleted) or `.../{id}/input_items`.
fn stored_response(path: &str) -> Option<(Route<'_>, bool)> {
    let rest = path.strip_prefix("/v1/responses/")?;
    let (id, input_items) = match rest.split_once('/') {
        Some((id, "input_items")) => (id, true),
        Some(_) => return None,
        None => (rest, false),
    };
    (!id.is_empty()).then_some((Route::StoredResponse { id, input_items }, !input_items))
}

/// `/v1beta/models/{model}:{action}` (also `/v1/models/...`).
fn gemini<'a>(path: &'a str, query: Option<&str>) -> Option<Route<'a>> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, action) = rest.rsplit_once(':')?;
    let stream = match action {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "embedContent" => {
            return Some(Route::GeminiEmbed {
                model,
                batch: false,
            })
        }
        "batchEmbedContents" => return Some(Route::GeminiEmbed { model, batch: true }),
        "countTokens" => return Some(Route::GeminiCountTokens { model }),
        _ => return None,
    };
    let sse = query.is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    Some(Route::Gemini { model, stream, sse })
}

/// `/model/{modelId}/converse` and `/model/{modelId}/converse-stream`.
fn bedrock(path: &str) -> Option<Route<'_>> {
    let rest = path.strip_prefix("/model/")?;
    let (id, action) = rest.rsplit_once('/')?;
    let stream = match action {
        "converse" => false,
        "converse-stream" => true,
        _ => return None,
    };
    (!id.is_empty()).then(|| Route::Bedrock {
        model: percent_decode(id),
        stream,
    })
}

/// The format to render a 404 in, guessed from the path.
fn format_of_path(path: &str) -> Format {
    if path.starts_with("/v1beta/") {
        Format::Gemini
    } else if path.starts_with("/model/") {
        Format::Bedrock
    } else if path.starts_with("/v1/messages") {
        Format::Anthropic
    } else {
        Format::OpenAi
    }
}

/// Decodes `%XX` escapes (Bedrock model ids such as ARNs arrive URL-encoded).
pub(crate) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_head;

    fn route_of(line: &str) -> String {
        let raw = format!("{line} HTTP/1.1\r\nhost: x\r\n\r\n");
        let (head, _) = parse_head(raw.as_bytes()).unwrap().unwrap();
        format!("{:?}", Route::classify(&head))
    }

    #[test]
    fn classifies_every_endpoint() {
        assert_eq!(route_of("POST /v1/chat/completions"), "Chat");
        assert_eq!(route_of("GET /v1/models"), "Models");
        assert_eq!(route_of("POST /v1/messages/count_tokens"), "CountTokens");
        assert_eq!(
            route_of("POST /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"),
            r#"Gemini { model: "gemini-2.0-flash", stream: true, sse: true }"#
        );
        assert_eq!(
            route_of("POST /model/us.anthropic.claude%3Av1/converse-stream"),
            r#"Bedrock { model: "us.anthropic.claude:v1", stream: true }"#
        );
        assert_eq!(
            route_of("GET /v1/chat/completions"),
            "MethodNotAllowed(OpenAi)"
        );
        assert_eq!(route_of("POST /v1beta/nothing"), "NotFound(Gemini)");
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }
}
