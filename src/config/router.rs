//! Routers: a public model name (`auto`, or any name that is not a model) whose
//! ordered rules pick the route a request takes. `routers[i]` → [`Router`].
//!
//! Checked at load, each with its key path: names (unique, not a model's), rule names
//! (unique per router, usable as metric labels), routes (an existing model), regexes,
//! ranges, and reachability (no rule after a catch-all; a `default` unless the last
//! rule catches all, and not both).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;

use super::errors::{index_path, key_path};
use super::parse::Parsed;
use super::router_semantic::{
    self, RouterSemantic, RouterSemanticSection, SemanticMatch, SemanticMatchSection,
};
use super::validate::Ctx;

/// Largest compiled size of a `last_user_message` regex: a rule is a filter, not a
/// program, and a huge automaton would cost every request that reaches it.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `routers[i]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<RuleSection>,
    /// The model used when no rule matched.
    pub default: Option<String>,
    /// Score thresholds of the complexity classifier.
    #[serde(default)]
    pub complexity: ComplexitySection,
    /// The embeddings model of the rules' `when.semantic` conditions.
    pub semantic: Option<RouterSemanticSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    pub name: String,
    /// The model (`models[].name`) this rule sends to (or `split`).
    #[serde(default)]
    pub route: String,
    /// A/B variants instead of one `route`: weighted, sticky per `user` (else key).
    #[serde(default)]
    pub split: Vec<VariantSection>,
    /// Conditions, all of which must hold; none = catch-all.
    #[serde(default)]
    pub when: MatchSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSection {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub key_metadata: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub users: Vec<String>,
    pub prompt_tokens: Option<RangeSection>,
    pub max_tokens: Option<RangeSection>,
    pub turns: Option<RangeSection>,
    pub stream: Option<bool>,
    pub tools: Option<bool>,
    pub images: Option<bool>,
    pub response_format: Option<bool>,
    pub reasoning: Option<bool>,
    pub last_user_message: Option<String>,
    #[serde(default)]
    pub complexity: Vec<String>,
    pub semantic: Option<SemanticMatchSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSection {
    /// Label value of `variant` (label-safe, unique in the rule).
    pub name: String,
    pub route: String,
    pub weight: u32,
}

/// `{min, max}`, both inclusive, either optional.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSection {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplexitySection {
    pub standard_at: Option<u32>,
    pub complex_at: Option<u32>,
}

/// A router as the data plane uses it.
#[derive(Debug)]
pub struct Router {
    pub name: String,
    pub rules: Vec<Rule>,
    pub default: Option<String>,
    pub complexity: ComplexityThresholds,
    pub semantic: Option<RouterSemantic>,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    /// The model, or the first variant's when the rule splits.
    pub route: String,
    /// `(name, route, weight)`; empty = no split.
    pub split: Vec<Variant>,
    pub when: Matcher,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub route: String,
    pub weight: u32,
}

/// Every condition of a rule; an empty list or `None` does not constrain.
#[derive(Debug, Default)]
pub struct Matcher {
    pub keys: Vec<String>,
    pub teams: Vec<String>,
    pub key_metadata: Vec<(String, Vec<String>)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, Vec<String>)>,
    pub users: Vec<String>,
    pub prompt_tokens: Option<Range>,
    pub max_tokens: Option<Range>,
    pub turns: Option<Range>,
    pub stream: Option<bool>,
    pub tools: Option<bool>,
    pub images: Option<bool>,
    pub response_format: Option<bool>,
    pub reasoning: Option<bool>,
    pub last_user_message: Option<regex::Regex>,
    pub complexity: Vec<Tier>,
    pub semantic: Option<SemanticMatch>,
}

impl Matcher {
    /// Matches every request.
    pub fn is_catch_all(&self) -> bool {
        self.keys.is_empty()
            && self.teams.is_empty()
            && self.key_metadata.is_empty()
            && self.headers.is_empty()
            && self.users.is_empty()
            && self.prompt_tokens.is_none()
            && self.max_tokens.is_none()
            && self.turns.is_none()
            && self.stream.is_none()
            && self.tools.is_none()
            && self.images.is_none()
            && self.response_format.is_none()
            && self.reasoning.is_none()
            && self.last_user_message.is_none()
            && self.complexity.is_empty()
            && self.semantic.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
}

impl Range {
    pub fn contains(&self, v: u64) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

/// A request's complexity tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Simple,
    Standard,
    Complex,
}

impl Tier {
    pub const NAMES: [&'static str; 3] = ["simple", "standard", "complex"];

    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "simple" => Some(Tier::Simple),
            "standard" => Some(Tier::Standard),
            "complex" => Some(Tier::Complex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Tier::NAMES[self as usize]
    }
}

/// Score at or above which a request is `standard`, and `complex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplexityThresholds {
    pub standard_at: u32,
    pub complex_at: u32,
}

impl Default for ComplexityThresholds {
    fn default() -> Self {
        ComplexityThresholds {
            standard_at: 3,
            complex_at: 7,
        }
    }
}

/// Builds every router; errors go to `cx`. Routers with errors are left out.
pub(crate) fn build_all(parsed: &Parsed, cx: &mut Ctx) -> Vec<Arc<Router>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (r, &i) in parsed.file.routers.iter().zip(&parsed.router_idx) {
        let path = index_path("routers", i);
        let before = cx.count();
        check_router_name(r, &path, parsed, &mut seen, cx);
        let router = build(r, &path, parsed, cx);
        if cx.count() == before {
            out.push(Arc::new(router));
        }
    }
    out
}

fn check_router_name(
    r: &RouterSection,
    path: &str,
    parsed: &Parsed,
    seen: &mut HashSet<String>,
    cx: &mut Ctx,
) {
    let npath = key_path(path, "name");
    if r.name.is_empty() || r.name.contains('/') || r.name.chars().any(char::is_whitespace) {
        cx.err(
            npath,
            format!("invalid router name {:?}: no spaces, no `/`", r.name),
        );
    } else if parsed.model_names.contains(&r.name) {
        cx.err(npath, format!("{:?} is already a model name", r.name));
    } else if !seen.insert(r.name.clone()) {
        cx.err(npath, format!("duplicate router name {:?}", r.name));
    }
}

fn build(r: &RouterSection, path: &str, parsed: &Parsed, cx: &mut Ctx) -> Router {
    let semantic = router_semantic::router(r.semantic.as_ref(), path, parsed, cx);
    let mut rules = Vec::new();
    let mut names = HashSet::new();
    let mut catch_all: Option<usize> = None;
    for (k, rs) in r.rules.iter().enumerate() {
        let rpath = index_path(&key_path(path, "rules"), k);
        if let Some(c) = catch_all {
            cx.err(
                &*rpath,
                format!("unreachable: rules[{c}] before it matches every request"),
            );
        }
        if !label_safe(&rs.name) || rs.name == "default" {
            cx.err(
                key_path(&rpath, "name"),
                format!(
                    "invalid rule name {:?}: 1 to 64 of [A-Za-z0-9_.-], not `default`",
                    rs.name
                ),
            );
        } else if !names.insert(rs.name.as_str()) {
            cx.err(
                key_path(&rpath, "name"),
                format!("duplicate rule name {:?}", rs.name),
            );
        }
        let split = split(rs, &rpath, parsed, cx);
        let before = cx.count();
        let when = matcher(&rs.when, &key_path(&rpath, "when"), semantic.is_some(), cx);
        // A condition dropped for an error of its own does not make a catch-all.
        if when.is_catch_all() && cx.count() == before && catch_all.is_none() {
            catch_all = Some(k);
        }
        rules.push(Rule {
            name: rs.name.clone(),
            route: split.first().map_or(rs.route.clone(), |v| v.route.clone()),
            split,
            when,
        });
    }
    match (&r.default, catch_all) {
        (Some(d), None) => check_route(d, &key_path(path, "default"), parsed, cx),
        (Some(_), Some(c)) => cx.err(
            key_path(path, "default"),
            format!("unreachable: rules[{c}] matches every request"),
        ),
        (None, None) => cx.err(
            key_path(path, "default"),
            "is required unless the last rule matches every request",
        ),
        (None, Some(_)) => {}
    }
    Router {
        name: r.name.clone(),
        rules,
        default: r.default.clone(),
        complexity: thresholds(&r.complexity, &key_path(path, "complexity"), cx),
        semantic,
    }
}

/// `route`, or `split` variants (each checked), exactly one of them.
fn split(rs: &RuleSection, rpath: &str, parsed: &Parsed, cx: &mut Ctx) -> Vec<Variant> {
    if rs.split.is_empty() {
        check_route(&rs.route, &key_path(rpath, "route"), parsed, cx);
        return Vec::new();
    }
    if !rs.route.is_empty() {
        cx.err(key_path(rpath, "route"), "give route or split, not both");
    }
    if rs.split.len() < 2 {
        cx.err(
            key_path(rpath, "split"),
            "a split needs at least two variants",
        );
    }
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (k, v) in rs.split.iter().enumerate() {
        let vpath = index_path(&key_path(rpath, "split"), k);
        if !label_safe(&v.name) || !names.insert(v.name.as_str()) {
            cx.err(
                key_path(&vpath, "name"),
                format!("{:?}: unique, 1 to 64 of [A-Za-z0-9_.-]", v.name),
            );
        }
        if v.weight == 0 {
            cx.err(key_path(&vpath, "weight"), "must be at least 1");
        }
        check_route(&v.route, &key_path(&vpath, "route"), parsed, cx);
        out.push(Variant {
            name: v.name.clone(),
            route: v.route.clone(),
            weight: v.weight,
        });
    }
    out
}

/// Metric label values come only from configuration; keep them short and plain.
fn label_safe(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn check_route(route: &str, path: &str, parsed: &Parsed, cx: &mut Ctx) {
    if parsed.model_names.contains(route) {
        return;
    }
    let what = if parsed.file.routers.iter().any(|r| r.name == route) {
        "is a router; a rule routes to a model"
    } else {
        "is not a model (models[].name)"
    };
    let shown = cx.show(path, route);
    cx.err(path, format!("{shown} {what}"));
}

fn matcher(m: &MatchSection, path: &str, semantic_router: bool, cx: &mut Ctx) -> Matcher {
    Matcher {
        keys: m.keys.clone(),
        teams: m.teams.clone(),
        key_metadata: m
            .key_metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        headers: headers(&m.headers, &key_path(path, "headers"), cx),
        users: m.users.clone(),
        prompt_tokens: range(m.prompt_tokens, &key_path(path, "prompt_tokens"), cx),
        max_tokens: range(m.max_tokens, &key_path(path, "max_tokens"), cx),
        turns: range(m.turns, &key_path(path, "turns"), cx),
        stream: m.stream,
        tools: m.tools,
        images: m.images,
        response_format: m.response_format,
        reasoning: m.reasoning,
        last_user_message: m
            .last_user_message
            .as_deref()
            .and_then(|re| regex(re, &key_path(path, "last_user_message"), cx)),
        complexity: tiers(&m.complexity, &key_path(path, "complexity"), cx),
        semantic: router_semantic::matcher(m.semantic.as_ref(), path, semantic_router, cx),
    }
}

fn headers(
    h: &BTreeMap<String, Vec<String>>,
    path: &str,
    cx: &mut Ctx,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (name, values) in h {
        match http::HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => out.push((n.as_str().to_string(), values.clone())),
            Err(_) => cx.err(key_path(path, name), "invalid header name"),
        }
        if values.is_empty() {
            cx.err(key_path(path, name), "list at least one value");
        }
    }
    out
}

fn range(r: Option<RangeSection>, path: &str, cx: &mut Ctx) -> Option<Range> {
    let r = r?;
    let out = Range {
        min: r.min.unwrap_or(0),
        max: r.max.unwrap_or(u64::MAX),
    };
    if r.min.is_none() && r.max.is_none() {
        cx.err(path, "give min, max or both");
    } else if out.min > out.max {
        cx.err(path, format!("min {} is above max {}", out.min, out.max));
    }
    Some(out)
}

fn regex(re: &str, path: &str, cx: &mut Ctx) -> Option<regex::Regex> {
    match regex::RegexBuilder::new(re)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            cx.err(path, format!("invalid regex: {e}"));
            None
        }
    }
}

fn tiers(names: &[String], path: &str, cx: &mut Ctx) -> Vec<Tier> {
    let mut out = Vec::new();
    for (k, n) in names.iter().enumerate() {
        match Tier::parse(n) {
            Some(t) => out.push(t),
            None => cx.err(
                index_path(path, k),
                format!(
                    "unknown tier {n:?}; expected one of: {}",
                    Tier::NAMES.join(", ")
                ),
            ),
        }
    }
    out
}

fn thresholds(c: &ComplexitySection, path: &str, cx: &mut Ctx) -> ComplexityThresholds {
    let d = ComplexityThresholds::default();
    let t = ComplexityThresholds {
        standard_at: c.standard_at.unwrap_or(d.standard_at),
        complex_at: c.complex_at.unwrap_or(d.complex_at),
    };
    if t.standard_at == 0 || t.complex_at <= t.standard_at {
        cx.err(
            path,
            format!(
                "need 0 < standard_at < complex_at (got {} and {})",
                t.standard_at, t.complex_at
            ),
        );
    }
    t
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
