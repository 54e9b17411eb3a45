//! Serde helpers shared by the wire formats: borrowed strings that work inside
//! `Option` and `Vec`, string-or-array fields, `data:` URLs, tool-argument JSON.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A string borrowed from the input when it has no escapes. serde only borrows a bare
/// `Cow<'a, str>` field; this newtype borrows inside `Option`, `Vec` and enums too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field that is either one string or an array of strings (OpenAI `stop`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct OneOrMany<'a>(pub Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for OneOrMany<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![Cow::Borrowed(v)]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![Cow::Owned(v.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Str<'de>>()? {
                    out.push(s.0);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Message content that is either a plain string or an array of typed parts (both
/// OpenAI `content` and Anthropic `content`/`system` take this shape).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextOrParts<'a, P> {
    Text(Cow<'a, str>),
    Parts(Vec<P>),
}

impl<'de: 'a, 'a, P: Deserialize<'de>> Deserialize<'de> for TextOrParts<'a, P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<P>(std::marker::PhantomData<P>);
        impl<'de, P: Deserialize<'de>> Visitor<'de> for V<P> {
            type Value = TextOrParts<'de, P>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TextOrParts::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextOrParts::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(p) = seq.next_element::<P>()? {
                    out.push(p);
                }
                Ok(TextOrParts::Parts(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Split a `data:<media type>;base64,<data>` URL, keeping borrows where possible.
pub(crate) fn parse_data_url(url: Cow<'_, str>) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let (media, data) = {
        let rest = url.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let media = meta.strip_suffix(";base64")?;
        (media.len(), (url.len() - data.len(), data.len()))
    };
    Some(match url {
        Cow::Borrowed(s) => (
            Cow::Borrowed(&s[5..5 + media]),
            Cow::Borrowed(&s[data.0..data.0 + data.1]),
        ),
        Cow::Owned(s) => (
            Cow::Owned(s[5..5 + media].to_owned()),
            Cow::Owned(s[data.0..].to_owned()),
        ),
    })
}

/// Tool arguments as a JSON object value, from the JSON text OpenAI carries. Empty
/// text (a call without arguments) is `{}`; text that is not a JSON object (models
/// sometimes emit broken JSON) also becomes `{}`, since formats that carry arguments
/// as an object cannot hold it and refusing would break the whole conversation.
pub(crate) fn arguments_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

/// Reject a request feature the target format cannot express.
pub(crate) fn unsupported(what: &str, target: &str) -> crate::error::GatewayError {
    crate::error::GatewayError::invalid(format!("{what} is not supported by {target} upstreams"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_borrows_unless_escaped() {
        let v: Vec<Str> = serde_json::from_str(r#"["plain", "esc\"aped"]"#).unwrap();
        assert!(matches!(v[0].0, Cow::Borrowed("plain")));
        assert!(matches!(v[1].0, Cow::Owned(_)));
        assert_eq!(v[1].as_str(), "esc\"aped");
    }

    #[test]
    fn one_or_many_and_text_or_parts() {
        let one: OneOrMany = serde_json::from_str(r#""x""#).unwrap();
        let many: OneOrMany = serde_json::from_str(r#"["x","y"]"#).unwrap();
        assert_eq!(one.0, vec!["x"]);
        assert_eq!(many.0, vec!["x", "y"]);
        let t: TextOrParts<u8> = serde_json::from_str(r#""hi""#).unwrap();
        let p: TextOrParts<u8> = serde_json::from_str("[1,2]").unwrap();
        assert_eq!(t, TextOrParts::Text("hi".into()));
        assert_eq!(p, TextOrParts::Parts(vec![1, 2]));
        assert!(serde_json::from_str::<TextOrParts<u8>>("{}").is_err());
    }

    #[test]
    fn data_urls() {
        let (m, d) = parse_data_url(Cow::Borrowed("data:image/png;base64,iVBORw0KG")).unwrap();
        assert!(matches!(m, Cow::Borrowed("image/png")));
        assert_eq!(d, "iVBORw0KG");
        let (m, d) = parse_data_url(Cow::Owned("data:image/jpeg;base64,/9j/4".into())).unwrap();
        assert_eq!((m.as_ref(), d.as_ref()), ("image/jpeg", "/9j/4"));
        assert!(parse_data_url(Cow::Borrowed("https://x/y.png")).is_none());
        assert!(parse_data_url(Cow::Borrowed("data:text/plain,hello")).is_none());
    }

    #[test]
    fn arguments_fall_back_to_empty_object() {
        assert_eq!(arguments_object(r#"{"a":1}"#)["a"], 1);
        assert_eq!(arguments_object(""), serde_json::json!({}));
        assert_eq!(arguments_object("{broken"), serde_json::json!({}));
        assert_eq!(arguments_object("[1]"), serde_json::json!({}));
    }
}
