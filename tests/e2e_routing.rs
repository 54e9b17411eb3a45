//! Intelligent routing end to end: routers and their rules, through the real
//! `tollgate` binary against mock upstreams, spoken to over HTTP like a client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "e2e_routing/rules.rs"]
mod rules;

#[path = "e2e_routing/complexity.rs"]
mod complexity;

#[path = "e2e_routing/explain.rs"]
mod explain;

#[path = "e2e_routing/split.rs"]
mod split;

#[path = "e2e_routing/capability.rs"]
mod capability;

#[path = "e2e_routing/cost.rs"]
mod cost;

#[path = "e2e_routing/prompt_cache_key.rs"]
mod prompt_cache_key;

#[path = "e2e_routing/prefix.rs"]
mod prefix;

#[path = "e2e_routing/semantic.rs"]
mod semantic;
