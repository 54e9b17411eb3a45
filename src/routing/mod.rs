//! Routing: from a public model name to the ordered chain of routes to try (the route
//! itself, then its fallbacks), and from a route to a target and an endpoint.
//!
//! A model name is either a configured alias (`models[].name`) or `provider/model`
//! for a direct call to any configured provider. A router name (`routers[].name`)
//! first goes through its rules ([`rules`]), which pick the alias.

pub mod budget;
pub mod capability;
pub mod complexity;
pub mod cost;
pub mod cursor;
pub mod facts;
pub mod health;
pub mod lease;
pub mod outcome;
pub mod pool;
pub mod prefix;
pub mod prefix_index;
pub mod reason;
pub mod rules;
pub mod select;
pub mod semantic;
pub mod ttft;

use std::sync::Arc;

use crate::config::{Config, ModelRoute, Provider, RetryPolicy, Strategy, Target};

use crate::error::{ErrorKind, GatewayError};
use crate::fx_hash::FxMap;
pub use select::{Candidate, Signals};

pub use cursor::{Failure, Pick, RouteCursor, Upstreams};
pub use lease::EndpointLease;
pub use outcome::Outcome;
pub use pool::EndpointPool;

/// The endpoint pools of all providers, by provider name. Pools are kept across
/// config reloads when their provider's endpoints did not change, so health and
/// statistics survive a reload.
#[derive(Default)]
pub struct Pools {
    by_provider: FxMap<String, Arc<EndpointPool>>,
}

impl Pools {
    /// Build the pools for `config`, reusing those of `previous` that did not change.
    pub async fn build(config: &Config, previous: Option<&Pools>) -> Pools {
        let mut by_provider = FxMap::default();
        for provider in &config.providers {
            let kept = previous
                .and_then(|p| p.by_provider.get(&provider.name))
                .filter(|pool| pool.same_shape(provider))
                .cloned();
            let pool = match kept {
                Some(pool) => pool,
                None => Arc::new(EndpointPool::new(provider).await),
            };
            by_provider.insert(provider.name.clone(), pool);
        }
        Pools { by_provider }
    }

    pub fn get(&self, provider: &str) -> Option<&Arc<EndpointPool>> {
        self.by_provider.get(provider)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<EndpointPool>)> {
        self.by_provider.iter()
    }
}

/// The routes one request may use, in order: the requested route, then its fallbacks.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    pub routes: Vec<Arc<ModelRoute>>,
}

/// Resolve a requested model name to its plan.
pub fn plan_for(config: &Config, model: &str) -> Result<RoutePlan, GatewayError> {
    let route = match config.model(model) {
        Some(route) => route.clone(),
        None => direct_route(config, model)?,
    };
    // The route moves into the plan, not a clone of it: its count is shared by every
    // worker thread, and each clone and drop takes that cache line from the others.
    let mut routes = Vec::with_capacity(1 + route.fallbacks.len());
    routes.push(route);
    for i in 0..routes[0].fallbacks.len() {
        if let Some(fallback) = config.model(&routes[0].fallbacks[i]).cloned() {
            routes.push(fallback);
        }
    }
    Ok(RoutePlan { routes })
}

/// `provider/model` → a one-target route with default policies.
fn direct_route(config: &Config, model: &str) -> Result<Arc<ModelRoute>, GatewayError> {
    let not_found = || {
        GatewayError::new(
            ErrorKind::ModelNotFound,
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_param("model")
    };
    let (provider_name, upstream_model) = model.split_once('/').ok_or_else(not_found)?;
    let provider = config.provider(provider_name).ok_or_else(not_found)?;
    if !is_plausible_model_name(upstream_model) {
        return Err(not_found());
    }
    let mut route = direct_model_route(model, provider, upstream_model);
    for t in &mut route.targets {
        t.caps = crate::config::capability::resolve(upstream_model, None, &config.capabilities);
    }
    Ok(Arc::new(route))
}

/// What a provider's model name can look like: 1 to 256 visible ASCII characters
/// (the same bound as configured names). The name goes upstream and into response
/// headers (`x-tollgate-model`, `x-tollgate-route`), where a control or non-ASCII
/// character would fail the answer after the upstream was paid for, so such a name is
/// refused as unknown before anything is sent.
fn is_plausible_model_name(name: &str) -> bool {
    (1..=256).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic())
}

fn direct_model_route(name: &str, provider: &Arc<Provider>, model: &str) -> ModelRoute {
    ModelRoute {
        name: name.to_string(),
        targets: vec![Target {
            provider: provider.clone(),
            model: model.to_string(),
            model_value: crate::edge::header_value::text(model),
            weight: 1,
            caps: None,
        }],
        strategy: Strategy::Weighted,
        hash_header: None,
        fallbacks: Vec::new(),
        fallback_on: Vec::new(),
        retry: RetryPolicy::default(),
        timeouts: Default::default(),
        failover_mid_stream: false,
        cache: None,
        balance: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const YAML: &str = r#"
auth: { mode: open }
providers:
  - name: a
    format: openai
    base_url: http://127.0.0.1:1
  - name: b
    format: anthropic
    base_url: http://127.0.0.1:2
models:
  - name: m
    targets:
      - { provider: a, model: a-model, weight: 3 }
      - { provider: b, model: b-model, weight: 1 }
    fallbacks: [n]
  - name: n
    targets:
      - { provider: b, model: n-model }
"#;

    fn config() -> Config {
        load_str(YAML, &|_| None).expect("config")
    }

    #[test]
    fn alias_plan_includes_fallbacks_in_order() {
        let plan = plan_for(&config(), "m").unwrap();
        let names: Vec<&str> = plan.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["m", "n"]);
    }

    #[test]
    fn direct_provider_model_call() {
        let plan = plan_for(&config(), "b/claude-x").unwrap();
        assert_eq!(plan.routes[0].targets[0].model, "claude-x");
        assert_eq!(plan.routes[0].targets[0].provider.name, "b");
    }

    #[test]
    fn unknown_model_is_404() {
        let long = format!("a/{}", "m".repeat(257));
        for name in [
            "nope",
            "zz/model",
            "a/",
            "a/bad\nname",
            "a/sp ace",
            "a/模型",
            &long,
        ] {
            let err = plan_for(&config(), name).unwrap_err();
            assert_eq!(err.status(), 404, "{name}");
        }
    }
}
