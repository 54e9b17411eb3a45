//! The end user behind a request, for the access log and the request span, from the
//! source `logging.user_from` names: the body's `user` / `metadata.user_id` (default),
//! a request header, or a field of the body's `metadata` object. Cut to
//! [`MAX_USER_CHARS`] so a client cannot make log lines grow without bound. Resolved
//! once, in `logging`.

use pingora_proxy::Session;
use serde::Deserialize;

use crate::config::logging::UserSource;

use super::ctx::Ctx;

/// Longest end-user id kept.
pub const MAX_USER_CHARS: usize = 128;

/// Sets `ctx.req.end_user` from the configured source.
pub fn resolve(session: &Session, ctx: &mut Ctx) {
    let Some(runtime) = ctx.req.runtime.clone() else {
        return;
    };
    let user = match &runtime.config.user_from {
        UserSource::BodyUser => ctx.req.envelope.as_ref().and_then(|e| e.user.clone()),
        UserSource::Header(name) => session
            .req_header()
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        UserSource::Metadata(field) => metadata_field(&ctx.req.body, field),
    };
    ctx.req.end_user = user
        .filter(|u| !u.is_empty())
        .map(|u| truncate_chars(&u, MAX_USER_CHARS).to_string());
}

/// The body's `metadata` object, and nothing else of it.
#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A string field of the body's `metadata` object (OpenAI's is a map of strings).
fn metadata_field(body: &[u8], field: &str) -> Option<String> {
    let parsed: Metadata = serde_json::from_slice(body).ok()?;
    match parsed.metadata?.remove(field)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    }
}

pub fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_fields_are_read_as_strings_only() {
        let body = br#"{"model":"m","metadata":{"end_user":"u-42","n":7},"messages":[]}"#;
        assert_eq!(metadata_field(body, "end_user").as_deref(), Some("u-42"));
        assert_eq!(metadata_field(body, "n"), None);
        assert_eq!(metadata_field(body, "missing"), None);
        assert_eq!(metadata_field(br#"{"model":"m"}"#, "end_user"), None);
        assert_eq!(metadata_field(b"not json", "end_user"), None);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("ab", 5), "ab");
        assert_eq!(
            truncate_chars(&"é".repeat(300), MAX_USER_CHARS)
                .chars()
                .count(),
            128
        );
    }
}
