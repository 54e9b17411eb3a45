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
    ) || ["_key", "_token", "_secret", "_password", "_key_id"]
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

/// `redis://user:pw@host/x?token=t&db=1` → `redis://user:***@host/x?token=***&db=1`,
/// in each URL of a comma-separated list (the seed nodes of a Redis Cluster).
fn redact_url_password(s: &str) -> String {
    s.split(',')
        .map(|url| redact_query_secrets(&redact_userinfo_password(url)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A URL for an error message: no userinfo at all (`http://***@host`), and secret
/// query values replaced. Anything else is returned as it is.
pub fn url_for_message(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    redact_query_secrets(&format!("{scheme}://{rest}"))
}

/// Query parameter names whose values are credentials (`key` is Google's API key).
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "key" | "sig" | "code")
        || [
            "key",
            "token",
            "secret",
            "password",
            "passwd",
            "pwd",
            "signature",
            "credential",
            "auth",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// `?api_key=v&x=1` → `?api_key=***&x=1`.
fn redact_query_secrets(s: &str) -> String {
    let Some((base, query)) = s.split_once('?') else {
        return s.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
            _ => p.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `redis://user:pw@host` → `redis://user:***@host`.
fn redact_userinfo_password(s: &str) -> String {
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

    #[test]
    fn urls_lose_passwords_and_secret_query_values() {
        let out = redacted(
            "state: {redis_url: 'redis://:REDISPASS@localhost:6379/0?password=QP&db=1'}\nproviders:\n- {name: a, base_url: 'https://h/x?key=GKEY&alt=sse', aws_access_key_id: AKIAIOSFODNN7EXAMPLE}\n",
        );
        for gone in ["REDISPASS", "QP", "GKEY", "AKIAIOSFODNN7EXAMPLE"] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        for kept in [
            "localhost:6379/0",
            "db=1",
            "alt=sse",
            "password=***",
            "key=***",
        ] {
            assert!(out.contains(kept), "{kept} not in {out}");
        }
    }

    #[test]
    fn urls_in_messages_show_no_userinfo() {
        assert_eq!(
            url_for_message("http://user:PW@host:1/x?token=T&a=b"),
            "http://***@host:1/x?token=***&a=b"
        );
        assert_eq!(url_for_message("htp:/broken"), "htp:/broken");
        assert_eq!(url_for_message("http://h/x"), "http://h/x");
    }

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
