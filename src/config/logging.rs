//! `logging.user_from`: where the access log's `user` (the end user behind a request)
//! comes from. Applications identify their users in different places: the OpenAI
//! `user` field (or Anthropic's `metadata.user_id`), a header their own proxy sets, or
//! a field of the OpenAI `metadata` object.

use super::errors::key_path;
use super::validate::Ctx;

/// Headers that carry keys or sessions: never a user source.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
];

/// Where the end user is read from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UserSource {
    /// The request body's `user` (OpenAI) or `metadata.user_id` (Anthropic): the default.
    #[default]
    BodyUser,
    /// A request header (lower case), e.g. `x-end-user`.
    Header(String),
    /// A string field of the request body's `metadata` object.
    Metadata(String),
}

/// `logging.user_from` → the source; `None` as written means the default.
pub(crate) fn build(value: Option<&str>, cx: &mut Ctx) -> UserSource {
    let path = key_path("logging", "user_from");
    let Some(value) = value else {
        return UserSource::BodyUser;
    };
    let bad_name = |n: &str| {
        n.is_empty()
            || n.len() > 128
            || !n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match value.split_once(':') {
        None if value == "body_user" => UserSource::BodyUser,
        // The access log never holds a credential.
        Some(("header", name))
            if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) =>
        {
            cx.err(
                path,
                format!("header {name:?} carries credentials and is never logged"),
            );
            UserSource::BodyUser
        }
        Some(("header", name)) if !bad_name(name) => UserSource::Header(name.to_ascii_lowercase()),
        Some(("metadata", field)) if !bad_name(field) => UserSource::Metadata(field.to_string()),
        _ => {
            let shown = cx.show(&path, value);
            cx.err(
                path,
                format!(
                    "{shown} is not a user source: body_user, header:<name> or metadata:<field>"
                ),
            );
            UserSource::BodyUser
        }
    }
}
