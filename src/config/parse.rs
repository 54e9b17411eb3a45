//! Structural pass: YAML text → [`FileConfig`], with every shape error (unknown key,
//! wrong type, missing field) reported with its key path, all at once.
//!
//! serde stops at the first error, so the file is first read as a `serde_yaml::Value`
//! and each section, and each item of a list section, is deserialized on its own: one
//! bad provider does not hide the errors of the next. To report the item's inner path
//! (`providers[2].timeouts.connect_ms`) and the line and column, a failing item is
//! deserialized once more straight from the original text by [`probe`], which skips
//! everything but that item; serde_yaml then knows both.
//!
//! Sections are listed in [`build`]: a new section of `FileConfig` must be added there
//! too (a unit test compares the two lists).

use std::collections::HashSet;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_yaml::{Mapping, Value};

use super::env::{expand_tree, key_name, Expansions};
use super::errors::{index_path, ConfigErrors};
use super::file::FileConfig;

/// The file after the structural pass.
pub(crate) struct Parsed {
    /// Sections and items that deserialized, `${ENV}` expanded.
    pub file: FileConfig,
    /// `file.providers[i]` is `providers[provider_idx[i]]` in the file (items that
    /// failed are missing from `file`, paths must still name the right index).
    pub provider_idx: Vec<usize>,
    pub model_idx: Vec<usize>,
    pub router_idx: Vec<usize>,
    /// Every provider / model name written in the file, items that failed included,
    /// so a reference to a broken item is not reported a second time as unknown.
    pub provider_names: HashSet<String>,
    pub model_names: HashSet<String>,
    pub expansions: Expansions,
    /// The tree exactly as written (for the redacted view).
    pub as_written: Value,
}

/// Runs the structural pass; `None` when the text is not a YAML mapping at all.
pub(crate) fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut ConfigErrors,
) -> Option<Parsed> {
    let as_written = read_tree(text, errors)?;
    let mut merged = as_written.clone();
    if let Err(e) = merged.apply_merge() {
        errors.push("", format!("YAML merge key (`<<`): {e}"));
        return None;
    }
    // Locations from the text are only meaningful when the tree is the text.
    let probe_text = (merged == as_written).then_some(text);
    let mut expanded = merged;
    let expansions = expand_tree(&mut expanded, env, errors);
    let map = expanded.as_mapping().cloned().unwrap_or_default();
    let built = build(&map, probe_text, errors);
    Some(Parsed {
        provider_names: names_in(&map, "providers"),
        model_names: names_in(&map, "models"),
        file: built.file,
        provider_idx: built.provider_idx,
        model_idx: built.model_idx,
        router_idx: built.router_idx,
        expansions,
        as_written,
    })
}

/// The text as a YAML tree whose top is a mapping (an empty file is an empty mapping).
fn read_tree(text: &str, errors: &mut ConfigErrors) -> Option<Value> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Null) => Some(Value::Mapping(Mapping::new())),
        Ok(v @ Value::Mapping(_)) => Some(v),
        Ok(_) => {
            errors.push("", "the config must be a YAML mapping of sections (server, listeners, providers, models, ...)");
            None
        }
        Err(e) => {
            errors.push("", format!("invalid YAML: {e}"));
            None
        }
    }
}

struct Built {
    file: FileConfig,
    provider_idx: Vec<usize>,
    model_idx: Vec<usize>,
    router_idx: Vec<usize>,
}

/// Every top-level section of `FileConfig`.
pub(crate) const SECTIONS: [&str; 20] = [
    "server",
    "listeners",
    "limits",
    "client",
    "providers",
    "models",
    "routers",
    "auth",
    "keys",
    "teams",
    "pricing",
    "pricing_file",
    "unpriced",
    "guardrails",
    "state",
    "logging",
    "cache",
    "capabilities",
    "responses",
    "traces",
];

fn build(map: &Mapping, text: Option<&str>, errors: &mut ConfigErrors) -> Built {
    let mut f = FileConfig::default();
    let (mut provider_idx, mut model_idx, mut router_idx) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            errors.push(key_name(k), "section names are strings");
            continue;
        };
        if v.is_null() {
            continue; // `section:` left empty means its defaults
        }
        let cx = Cx {
            text,
            key,
            errors: &mut *errors,
        };
        match key {
            "server" => cx.one(&mut f.server, v),
            "listeners" => cx.one(&mut f.listeners, v),
            "limits" => cx.one(&mut f.limits, v),
            "client" => cx.one(&mut f.client, v),
            "providers" => provider_idx = cx.list(&mut f.providers, v),
            "models" => model_idx = cx.list(&mut f.models, v),
            "routers" => router_idx = cx.list(&mut f.routers, v),
            "auth" => cx.one(&mut f.auth, v),
            "keys" => _ = cx.list(&mut f.keys, v),
            "teams" => _ = cx.list(&mut f.teams, v),
            "pricing" => _ = cx.list(&mut f.pricing, v),
            "pricing_file" => cx.one(&mut f.pricing_file, v),
            "unpriced" => cx.one(&mut f.unpriced, v),
            "guardrails" => _ = cx.list(&mut f.guardrails, v),
            "state" => cx.one(&mut f.state, v),
            "logging" => cx.one(&mut f.logging, v),
            "cache" => cx.one(&mut f.cache, v),
            "capabilities" => _ = cx.list(&mut f.capabilities, v),
            "responses" => cx.one(&mut f.responses, v),
            "traces" => cx.one(&mut f.traces, v),
            _ => errors.push(
                key,
                format!("unknown section; expected one of: {}", SECTIONS.join(", ")),
            ),
        }
    }
    Built {
        file: f,
        provider_idx,
        model_idx,
        router_idx,
    }
}

/// Deserializing one section.
struct Cx<'a> {
    text: Option<&'a str>,
    key: &'a str,
    errors: &'a mut ConfigErrors,
}

impl Cx<'_> {
    fn one<T: DeserializeOwned>(self, slot: &mut T, v: &Value) {
        match deserialize::<T>(v) {
            Ok(t) => *slot = t,
            Err(e) => self.report::<T>(e, None),
        }
    }

    /// Deserializes each item on its own; returns the file index of each kept item.
    fn list<T: DeserializeOwned>(self, slot: &mut Vec<T>, v: &Value) -> Vec<usize> {
        let Value::Sequence(items) = v else {
            self.errors
                .push(self.key, format!("expected a list, found {}", kind(v)));
            return Vec::new();
        };
        let mut kept = Vec::new();
        let Cx { text, key, errors } = self;
        for (i, item) in items.iter().enumerate() {
            match deserialize::<T>(item) {
                Ok(t) => {
                    slot.push(t);
                    kept.push(i);
                }
                Err(e) => Cx {
                    text,
                    key,
                    errors: &mut *errors,
                }
                .report::<T>(e, Some(i)),
            }
        }
        kept
    }

    /// Records a structural error, preferring the probe's exact path and location.
    fn report<T: DeserializeOwned>(self, e: serde_yaml::Error, index: Option<usize>) {
        let prefix = index.map_or_else(|| self.key.to_string(), |i| index_path(self.key, i));
        let probed = self
            .text
            .and_then(|text| probe::<T>(text, self.key, index).err())
            .and_then(|pe| from_probe(&pe, &prefix));
        let (path, msg) = probed.unwrap_or_else(|| from_subtree(&e, &prefix));
        self.errors.push(path, msg);
    }
}

/// Deserializes a subtree the way a file is read (serde_yaml's text deserializer is
/// lenient where the `Value` one is not: `x-version: 1` is a fine string).
fn deserialize<T: DeserializeOwned>(v: &Value) -> Result<T, serde_yaml::Error> {
    serde_yaml::from_str(&serde_yaml::to_string(v)?)
}

/// `(path, message)` of a probe error: the path is absolute and must lie inside
/// `expect` (else the probe failed for some other reason and is not used); the
/// location is the original file's.
fn from_probe(e: &serde_yaml::Error, expect: &str) -> Option<(String, String)> {
    let (path, msg) = split_path(e);
    let inside = path == expect
        || path.starts_with(&format!("{expect}."))
        || path.starts_with(&format!("{expect}["));
    if !inside {
        return None;
    }
    Some(match e.location() {
        Some(l) => (
            path,
            format!("{msg} (line {}, column {})", l.line(), l.column()),
        ),
        None => (path, msg),
    })
}

/// `(path, message)` of an error from [`deserialize`]: its path is relative to the
/// subtree, its location is in rebuilt text and therefore dropped.
fn from_subtree(e: &serde_yaml::Error, prefix: &str) -> (String, String) {
    let (rel, msg) = split_path(e);
    let path = if rel.is_empty() {
        prefix.to_string()
    } else if rel.starts_with('[') {
        format!("{prefix}{rel}")
    } else {
        format!("{prefix}.{rel}")
    };
    (path, msg)
}

/// serde_yaml writes `path: message at line L column C`; splits off the path (empty
/// at the root) and drops the location.
fn split_path(e: &serde_yaml::Error) -> (String, String) {
    let mut text = e.to_string();
    if let Some(l) = e.location() {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if text.ends_with(&suffix) {
            text.truncate(text.len() - suffix.len());
        }
    }
    match text.split_once(": ") {
        // Messages start with words (`invalid type: ...`); paths have no spaces.
        Some((p, m)) if !p.is_empty() && !p.contains(' ') => (p.to_string(), m.to_string()),
        _ => (String::new(), text),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Names (`name:` of each item) of a list section, as written.
fn names_in(map: &Mapping, section: &str) -> HashSet<String> {
    map.get(section)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// Deserializes only `section` (or its item `index`) as `T` from the whole text,
/// skipping everything else, so serde_yaml's error carries the full path and the line.
fn probe<T: DeserializeOwned>(
    text: &str,
    section: &str,
    index: Option<usize>,
) -> Result<(), serde_yaml::Error> {
    let seed = Probe::<T> {
        section,
        index,
        _t: PhantomData,
    };
    seed.deserialize(serde_yaml::Deserializer::from_str(text))
}

struct Probe<'a, T> {
    section: &'a str,
    index: Option<usize>,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Probe<'_, T> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Probe<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a mapping of sections")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<Value>()? {
            match (k.as_str() == Some(self.section), self.index) {
                (true, None) => _ = map.next_value::<T>()?,
                (true, Some(i)) => map.next_value_seed(Item::<T> {
                    index: i,
                    _t: PhantomData,
                })?,
                (false, _) => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

struct Item<T> {
    index: usize,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Item<T> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Item<T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        loop {
            let more = if n == self.index {
                seq.next_element::<T>()?.is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            n += 1;
        }
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
