//! Routing rules: which model a router sends this request to. The first rule whose
//! every condition holds wins; none → the router's `default`. This happens before
//! the route cursor, which then walks the chosen model's route and fallbacks.

use http::HeaderMap;

use crate::config::{Matcher, Router, Tier};
use crate::policy::keys::KeyInfo;

use super::complexity::{self, Shape};
use super::facts::BodyFacts;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub router: String,
    /// The rule's name, or `default`.
    pub rule: String,
    /// The model the request goes to.
    pub route: String,
    pub tier: Tier,
}

impl Decision {
    /// The `x-tollgate-route` header and access-log value: `router=auto; rule=vision;
    /// route=gpt-vision; tier=simple`. Every part comes from the config or an enum.
    pub fn explain(&self) -> String {
        format!(
            "router={}; rule={}; route={}; tier={}",
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

/// Runs `router`'s rules over `inputs`. `None` only for a router without a matching
/// rule nor a default, which validation refuses.
pub fn decide(router: &Router, inputs: &Inputs) -> Option<Decision> {
    let tier = tier_of(router, inputs.body);
    let chosen = router
        .rules
        .iter()
        .find(|r| matches(&r.when, inputs, tier))
        .map(|r| (r.name.clone(), r.route.clone()))
        .or_else(|| {
            router
                .default
                .as_ref()
                .map(|d| ("default".to_string(), d.clone()))
        })?;
    Some(Decision {
        router: router.name.clone(),
        rule: chosen.0,
        route: chosen.1,
        tier,
    })
}

/// Whether every condition of `m` holds.
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
