//! `${VAR}` and `${VAR:-default}` references in string values.
//!
//! Expansion runs on the parsed YAML tree, not on the text, so a value containing YAML
//! syntax (a key with `: ` or `#`) cannot change the structure of the file. Only string
//! scalars are expanded; mapping keys, numbers and booleans are not (so `${PORT}` is
//! not allowed where a number is expected).
//!
//! Syntax: `${NAME}` is the variable (an error when unset), `${NAME:-text}` is the
//! variable or `text` when it is unset or empty, `$${` is a literal `${`; any other `$`
//! is literal. Names are `[A-Za-z_][A-Za-z0-9_]*`. Errors name the key path and the
//! variable, never a value.

use std::collections::HashMap;

use serde_yaml::Value;

use super::errors::{index_path, key_path, ConfigErrors};

/// A piece of a string value: literal text or a variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Var {
        name: String,
        default: Option<String>,
    },
}

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvError {
    /// `${NAME}` without default and the variable is not set.
    Missing(String),
    /// `${` without a closing `}`.
    Unterminated,
    /// `${...}` whose name is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName,
}

impl std::fmt::Display for EnvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvError::Missing(name) => write!(
                f,
                "environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
            ),
            EnvError::Unterminated => f.write_str("`${` without a closing `}`"),
            EnvError::BadName => f.write_str(
                "invalid `${...}` reference: the name must match [A-Za-z_][A-Za-z0-9_]* (write `$${` for a literal `${`)",
            ),
        }
    }
}

/// Splits a string into literal text and references.
pub fn parse_refs(s: &str) -> Result<Vec<Segment>, EnvError> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            lit.push_str("${");
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let end = body_and_tail.find('}').ok_or(EnvError::Unterminated)?;
            let body = &body_and_tail[..end];
            let (name, default) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d.to_string())),
                None => (body, None),
            };
            if !valid_name(name) {
                return Err(EnvError::BadName);
            }
            if !lit.is_empty() {
                out.push(Segment::Literal(std::mem::take(&mut lit)));
            }
            out.push(Segment::Var {
                name: name.to_string(),
                default,
            });
            rest = &body_and_tail[end + 1..];
        } else {
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Segment::Literal(lit));
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True when the string contains at least one `${...}` reference.
pub fn has_refs(s: &str) -> bool {
    parse_refs(s).is_ok_and(|segs| segs.iter().any(|s| matches!(s, Segment::Var { .. })))
}

/// Expands one string. Public so code reading the unexpanded `Config::file` (policy:
/// a Redis URL) can expand a value the same way the loader does.
pub fn expand_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    Ok(expand_segments(s, env)?.0)
}

/// The expanded string and the values taken from the environment.
fn expand_segments(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), EnvError> {
    let mut out = String::with_capacity(s.len());
    let mut taken = Vec::new();
    for seg in parse_refs(s)? {
        match seg {
            Segment::Literal(t) => out.push_str(&t),
            Segment::Var { name, default } => match (env(&name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(&d),
                (Some(v), _) => {
                    out.push_str(&v);
                    taken.push(v);
                }
                (None, Some(d)) => out.push_str(&d),
                (None, None) => return Err(EnvError::Missing(name)),
            },
        }
    }
    Ok((out, taken))
}

/// What expansion did, for error messages: the string as written at each expanded key
/// path, and every value taken from the environment (to scrub from messages).
#[derive(Debug, Default)]
pub struct Expansions {
    raw_by_path: HashMap<String, String>,
    values: Vec<String>,
}

impl Expansions {
    /// How to quote the value at `path` in a message: as written in the file when it
    /// came from the environment (the value might be a secret), else the value.
    pub fn show(&self, path: &str, value: &str) -> String {
        match self.raw_by_path.get(path) {
            Some(raw) => format!("{raw:?} (after env expansion)"),
            // A URL may carry credentials (`user:password@`, `?key=`): never quoted.
            None => format!("{:?}", super::redact::url_for_message(value)),
        }
    }

    /// Every value substituted from the environment.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

/// Expands every string scalar of the tree in place; problems go to `errors` with
/// their key path, and the string is left as written.
pub fn expand_tree(
    value: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut ConfigErrors,
) -> Expansions {
    let mut exp = Expansions::default();
    walk(value, "", env, errors, &mut exp);
    exp
}

fn walk(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut ConfigErrors,
    exp: &mut Expansions,
) {
    match value {
        Value::String(s) if s.contains('$') => match expand_segments(s, env) {
            Ok((expanded, taken)) => {
                if expanded != *s {
                    exp.raw_by_path.insert(path.to_string(), std::mem::take(s));
                    *s = expanded;
                }
                exp.values.extend(taken);
            }
            Err(e) => errors.push(path, e.to_string()),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &index_path(path, i), env, errors, exp);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                walk(v, &key_path(path, &key_name(k)), env, errors, exp);
            }
        }
        Value::Tagged(t) => walk(&mut t.value, path, env, errors, exp),
        _ => {}
    }
}

/// A mapping key as it appears in a key path.
pub(crate) fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
