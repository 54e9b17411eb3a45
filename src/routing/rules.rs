//! Routing rules: which model a router sends this request to. The first rule whose
//! every condition holds wins; none → the router's `default`. This happens before
//! the route cursor, which then walks the chosen model's route and fallbacks.

use http::HeaderMap;

use crate::config::{Matcher, Router, Tier, Variant};
use crate::policy::keys::KeyInfo;

use super::complexity::{self, Shape};
use super::facts::BodyFacts;
use super::semantic::{self, Embedded, Hit, Need};

/// Everything a rule may look at.
pub struct Inputs<'a> {
    pub key: &'a KeyInfo,
    pub headers: &'a HeaderMap,
    pub user: Option<&'a str>,
    pub prompt_tokens: u64,
    pub max_tokens: Option<u64>,
    pub stream: bool,
    pub body: &'a BodyFacts,
}

/// A router's choice, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub router: String,
    /// The rule's name, or `default`.
    pub rule: String,
    /// The model the request goes to.
    pub route: String,
    /// The A/B variant, when the rule splits.
    pub variant: Option<String>,
    pub tier: Tier,
    /// The closest example of a semantic rule, and how close.
    pub semantic: Option<Hit>,
}

impl Decision {
    /// The `x-tollgate-route` header and access-log value: `router=auto; rule=vision;
    /// route=gpt-vision; tier=simple`. Every part comes from the config or an enum.
    pub fn explain(&self) -> String {
        let variant = self
            .variant
            .as_deref()
            .map(|v| format!("variant={v}; "))
            .unwrap_or_default();
        let semantic = self
            .semantic
            .map(|h| format!("; similarity={:.3}; example={}", h.similarity, h.example))
            .unwrap_or_default();
        format!(
            "router={}; rule={}; {variant}route={}; tier={}{semantic}",
            self.router,
            self.rule,
            self.route,
            self.tier.as_str()
        )
    }
}

/// The complexity tier of the request for `router`'s thresholds.
pub fn tier_of(router: &Router, body: &BodyFacts) -> Tier {
    let shape = Shape {
        tools: body.tools,
        turns: body.turns,
    };
    complexity::classify(&body.text, shape, router.complexity)
}

/// Runs `router`'s rules over `inputs`, with what is `known` of the embeddings of its
/// semantic rules (`semantic::decide` makes the ones a rule [`Need`]s). `Ok(None)` only
/// for a router without a matching rule nor a default, which validation refuses.
pub fn decide(
    router: &Router,
    inputs: &Inputs,
    known: &Embedded,
) -> Result<Option<Decision>, Need> {
    let tier = tier_of(router, inputs.body);
    let mut chosen = None;
    for (k, r) in router.rules.iter().enumerate() {
        if !matches(&r.when, inputs, tier) {
            continue;
        }
        let hit = match &r.when.semantic {
            Some(m) => match semantic::check(m, k, known)? {
                Some(hit) => Some(hit),
                None => continue,
            },
            None => None,
        };
        chosen = Some((r, hit));
        break;
    }
    let Some((rule, hit)) = chosen else {
        return Ok(router.default.as_ref().map(|d| Decision {
            router: router.name.clone(),
            rule: "default".to_string(),
            route: d.clone(),
            variant: None,
            tier,
            semantic: None,
        }));
    };
    let sticky = inputs.user.unwrap_or(&inputs.key.name);
    let variant = pick_variant(&rule.split, &router.name, &rule.name, sticky);
    Ok(Some(Decision {
        router: router.name.clone(),
        rule: rule.name.clone(),
        route: variant.map_or(rule.route.clone(), |v| v.route.clone()),
        variant: variant.map(|v| v.name.clone()),
        tier,
        semantic: hit,
    }))
}

/// The variant of `split` for `sticky` (the end user, else the key): a stable hash
/// (FNV-1a 64 of router, rule and the sticky value, the same in every process and
/// build) into the cumulative weights, so one user always sees one variant while the
/// weights do not change.
pub fn pick_variant<'a>(
    split: &'a [Variant],
    router: &str,
    rule: &str,
    sticky: &str,
) -> Option<&'a Variant> {
    let total: u64 = split.iter().map(|v| u64::from(v.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in [router, "\0", rule, "\0", sticky]
        .iter()
        .flat_map(|s| s.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits mix poorly: fold the high half in before reducing.
    let mut point = (h ^ (h >> 32)) % total;
    split.iter().find(|v| {
        let w = u64::from(v.weight);
        if point < w {
            return true;
        }
        point -= w;
        false
    })
}

/// Whether every condition of `m` but the semantic one holds.
pub fn matches(m: &Matcher, i: &Inputs, tier: Tier) -> bool {
    let any = |list: &[String], v: Option<&str>| {
        list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
    };
    let flag = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
    any(&m.keys, Some(&i.key.name))
        && any(&m.teams, i.key.team.as_ref().map(|t| t.name.as_str()))
        && m.key_metadata
            .iter()
            .all(|(k, vs)| any(vs, i.key.metadata.get(k).map(String::as_str)))
        && m.headers.iter().all(|(name, vs)| {
            i.headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| vs.iter().any(|x| x == v))
        })
        && any(&m.users, i.user)
        && m.prompt_tokens.is_none_or(|r| r.contains(i.prompt_tokens))
        && m.max_tokens
            .is_none_or(|r| i.max_tokens.is_some_and(|v| r.contains(v)))
        && m.turns.is_none_or(|r| r.contains(u64::from(i.body.turns)))
        && flag(m.stream, i.stream)
        && flag(m.tools, i.body.tools)
        && flag(m.images, i.body.images)
        && flag(m.response_format, i.body.response_format)
        && flag(m.reasoning, i.body.reasoning)
        && m.last_user_message
            .as_ref()
            .is_none_or(|re| re.is_match(&i.body.last_user))
        && (m.complexity.is_empty() || m.complexity.contains(&tier))
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
