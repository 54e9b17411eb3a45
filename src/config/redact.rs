//! The redacted view of the config (`/admin/config`): the tree as written, `${VAR}`
//! references kept, literal secrets replaced by `***`.
//!
//! A value is secret by the key it sits under: `api_key`, `admin_token`, `password`,
//! `secret`, `token`, any key ending in `_key`, `_token`, `_secret` or `_password`, and
//! every value of a `headers` mapping. Under such a key a literal becomes `***`, a
//! reference's default becomes `***` (`${KEY:-***}`), and literal text around a
//! reference is kept only when it is an auth scheme word (`Bearer ${TOKEN}`). Keys
//! ending in `url` have the password of `scheme://user:password@host` replaced.
//! (The policy module's sections follow the same rule by their key names.)

use serde_yaml::Value;

use super::env::{parse_refs, Segment};

/// A copy of the tree with every secret replaced.
pub fn redact(value: &Value) -> Value {
    let mut v = value.clone();
    walk(&mut v, Position::Plain);
    v
}

#[derive(Clone, Copy, PartialEq)]
enum Position {
    Plain,
    Secret,
    Url,
}

fn walk(value: &mut Value, pos: Position) {
    match value {
        Value::String(s) => match pos {
            Position::Secret => *s = redact_secret(s),
            Position::Url => *s = redact_url_password(s),
            Position::Plain => {}
        },
        // Anything but a string under a secret key (a number used as a key) goes too.
        Value::Number(_) | Value::Bool(_) if pos == Position::Secret => {
            *value = Value::String("***".into())
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| walk(i, pos)),
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let child = match (pos, k.as_str()) {
                    (Position::Secret, _) => Position::Secret,
                    (_, Some("headers")) => Position::Secret,
                    (_, Some(name)) => position_of(name),
                    (_, None) => Position::Plain,
                };
                walk(v, child);
            }
        }
        Value::Tagged(t) => walk(&mut t.value, pos),
        _ => {}
    }
}

fn position_of(key: &str) -> Position {
    let k = key.to_ascii_lowercase();
    let secret = matches!(
        k.as_str(),
        "api_key" | "admin_token" | "password" | "secret" | "token"
    ) || ["_key", "_token", "_secret", "_password"]
        .iter()
        .any(|s| k.ends_with(s));
    if secret {
        Position::Secret
    } else if k.ends_with("url") || k.ends_with("urls") {
        Position::Url
    } else {
        Position::Plain
    }
}

fn redact_secret(s: &str) -> String {
    let Ok(segments) = parse_refs(s) else {
        return "***".into();
    };
    if !segments
        .iter()
        .any(|seg| matches!(seg, Segment::Var { .. }))
    {
        return "***".into();
    }
    segments
        .into_iter()
        .map(|seg| match seg {
            Segment::Literal(t) if is_scheme_word(&t) => t,
            Segment::Literal(_) => "***".into(),
            Segment::Var {
                name,
                default: None,
            } => format!("${{{name}}}"),
            Segment::Var {
                name,
                default: Some(_),
            } => format!("${{{name}:-***}}"),
        })
        .collect()
}

/// `Bearer `, `Basic `, `Token `: one word and a space, as in an `Authorization` value.
fn is_scheme_word(t: &str) -> bool {
    t.strip_suffix(' ').is_some_and(|w| {
        !w.is_empty() && w.len() <= 16 && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// `redis://user:pw@host` → `redis://user:***@host`, in each URL of a
/// comma-separated list (the seed nodes of a Redis Cluster).
fn redact_url_password(s: &str) -> String {
    s.split(',')
        .map(redact_one_url)
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_one_url(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return s.to_string();
    };
    let user = rest[..at].split_once(':').map_or(&rest[..at], |(u, _)| u);
    format!("{scheme}://{user}:***{}", &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(yaml: &str) -> String {
        serde_yaml::to_string(&redact(&serde_yaml::from_str(yaml).unwrap())).unwrap()
    }

    #[test]
    fn literal_secrets_go_references_stay() {
        let out = redacted(
            "providers:\n- name: a\n  api_key: sk-literal\n  headers: {x-a: lit, authorization: 'Bearer ${TOK}', x-b: '${B:-dflt}'}\n  aws_secret_access_key: ${AWS_SECRET_ACCESS_KEY}\nlisteners: {admin_token: adm1n}\n",
        );
        for gone in ["sk-literal", "lit\n", "dflt", "adm1n"] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        for kept in [
            "Bearer ${TOK}",
            "${B:-***}",
            "${AWS_SECRET_ACCESS_KEY}",
            "name: a",
        ] {
            assert!(out.contains(kept), "{kept} missing in {out}");
        }
    }

    #[test]
    fn url_passwords_and_odd_values() {
        let out = redacted(
            "state: {redis_url: 'redis://u:pw@h:6379/0'}\nx: {password: 1234, token: ['a']}\n",
        );
        assert!(out.contains("redis://u:***@h:6379/0"), "{out}");
        assert!(
            !out.contains("pw@") && !out.contains("1234") && !out.contains("- a"),
            "{out}"
        );
        assert_eq!(redact_url_password("https://h/p@x"), "https://h/p@x");
        assert_eq!(
            redact_url_password("redis://u:pw1@a:7000, redis://:pw2@b:7001/"),
            "redis://u:***@a:7000, redis://:***@b:7001/"
        );
        assert_eq!(redact_secret("pre${A}post"), "***${A}***");
        assert_eq!(redact_secret("${"), "***");
    }
}
