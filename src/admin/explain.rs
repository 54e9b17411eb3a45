//! `POST /admin/route/explain`: which router rule, model route and targets a request
//! would get, and why — computed like the data plane does, without calling any model:
//! a router's semantic rules do call its embeddings model (as the data plane does),
//! and the answer gives the similarity and the example that matched.
//!
//! Body: `{"request": {...}, "dialect": "openai" | "anthropic", "key": "<key name>",
//! "headers": {"name": "value"}}`; only `request` is required. The answer lists the
//! route's targets, with what each lacks to serve the request (`skipped`) and, under
//! a cost-aware strategy, its expected cost; and `pick`: the target and endpoint a
//! first attempt would take now (live health and load) with the `x-tollgate-route`
//! reason it would carry — computed by the same cursor, claiming nothing.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::error::Dialect;
use crate::formats;
use crate::policy::KeyInfo;
use crate::routing::{self, facts, rules};
use crate::runtime::Runtime;

/// The answer and its status.
pub async fn explain(runtime: &Runtime, body: &[u8]) -> (StatusCode, Value) {
    match answer(runtime, body).await {
        Ok(v) => (StatusCode::OK, v),
        Err(msg) => (StatusCode::BAD_REQUEST, json!({ "error": msg })),
    }
}

async fn answer(runtime: &Runtime, body: &[u8]) -> Result<Value, String> {
    let input: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let request = input.get("request").ok_or("`request` is required")?;
    let dialect = match input.get("dialect").and_then(Value::as_str) {
        None | Some("openai") => Dialect::OpenAi,
        Some("anthropic") => Dialect::Anthropic,
        Some(_) => return Err("`dialect` is openai or anthropic".into()),
    };
    let key = match input.get("key").and_then(Value::as_str) {
        Some(name) => runtime
            .policy
            .key_named(name)
            .ok_or_else(|| format!("unknown key name {name:?}"))?,
        None => std::sync::Arc::new(KeyInfo::anonymous()),
    };
    let headers = headers(input.get("headers"))?;
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let envelope =
        formats::parse_envelope_with(dialect, &bytes, true).map_err(|e| e.message.clone())?;
    let mut out = json!({ "model": envelope.model });
    let mut model = envelope.model.clone();
    let mut decision = None;
    if let Some(router) = runtime.config.router(&envelope.model) {
        let body = facts::read(dialect, &bytes);
        let inputs = rules::Inputs {
            key: &key,
            headers: &headers,
            user: envelope.user.as_deref(),
            prompt_tokens: formats::estimate_prompt_tokens(dialect, &bytes),
            max_tokens: envelope.max_tokens,
            stream: envelope.stream,
            body: &body,
        };
        let d = routing::semantic::decide(runtime, router, &inputs)
            .await
            .ok_or("the router has no matching rule")?;
        out["router"] = json!(d.router);
        out["rule"] = json!(d.rule);
        out["tier"] = json!(d.tier.as_str());
        out["variant"] = json!(d.variant);
        out["prompt_tokens"] = json!(inputs.prompt_tokens);
        out["explanation"] = json!(d.explain());
        if let Some(hit) = d.semantic {
            out["similarity"] = json!(hit.similarity);
            out["example"] = json!(hit.example);
        }
        model = d.route.clone();
        decision = Some(d);
    }
    let plan = routing::plan_for(&runtime.config, &model).map_err(|e| e.message.clone())?;
    out["route"] = json!(model);
    out["routes"] = plan.routes.iter().map(|r| json!(r.name)).collect();
    if let Some(first) = plan.routes.first() {
        out["strategy"] = json!(first.strategy.as_str());
        let needs_shape =
            routing::capability::plan_needs_shape(&plan) || first.strategy.prices_requests();
        let shape = needs_shape.then(|| formats::request_shape(dialect, &bytes));
        out["targets"] = targets(runtime, first, shape.as_ref());
        let (key, blocks) = hash_key(first, &envelope, &headers, dialect, &bytes);
        let skipped = shape.as_ref().map_or(0, |s| {
            let lacking = routing::capability::lacking(first, s);
            lacking.iter().filter(|l| l.is_some()).count()
        });
        out["pick"] = match shape.as_ref() {
            Some(s) => match routing::capability::restrict(plan.clone(), s) {
                Ok(capable) => pick(
                    runtime,
                    &capable,
                    shape.as_ref(),
                    &key,
                    &blocks,
                    decision.as_ref(),
                    skipped,
                ),
                Err(e) => json!({ "error": e.message }),
            },
            None => pick(
                runtime,
                &plan,
                None,
                &key,
                &blocks,
                decision.as_ref(),
                skipped,
            ),
        };
    }
    Ok(out)
}

/// The consistent-hash key and prefix blocks a request would have (as `accept` does).
fn hash_key(
    route: &crate::config::ModelRoute,
    envelope: &formats::Envelope,
    headers: &HeaderMap,
    dialect: Dialect,
    body: &[u8],
) -> (Option<String>, Vec<u64>) {
    match route.strategy {
        crate::config::Strategy::PrefixAffinity => {
            routing::prefix::placement(dialect, body, &route.balance)
        }
        crate::config::Strategy::ConsistentHash => {
            let header = route.hash_header.as_deref().and_then(|h| headers.get(h));
            let key = header.and_then(|v| v.to_str().ok()).map(str::to_string);
            (key.or_else(|| envelope.user.clone()), Vec::new())
        }
        _ => (None, Vec::new()),
    }
}

/// The target and endpoint the first attempt would take now, and the same reason
/// text the data plane's `x-tollgate-route` would carry; or why there is none.
fn pick(
    runtime: &Runtime,
    plan: &routing::RoutePlan,
    shape: Option<&formats::RequestShape>,
    key: &Option<String>,
    blocks: &[u64],
    decision: Option<&rules::Decision>,
    skipped: usize,
) -> Value {
    let key_bytes = key.as_deref().map(str::as_bytes);
    let pick = match crate::proxy::attempt::preview_pick(runtime, plan, shape, key_bytes, blocks) {
        Ok(p) => p,
        Err(e) => return json!({ "error": e.message }),
    };
    let Some(route) = plan.routes.get(pick.route_index) else {
        return Value::Null;
    };
    let Some(target) = route.targets.get(pick.target_index) else {
        return Value::Null;
    };
    let reason = routing::reason::explain(&routing::reason::Facts {
        decision,
        strategy: route.strategy,
        provider: &target.provider.name,
        model: &target.model,
        signals: pick.signals,
        keyed: key.is_some(),
        skipped,
        attempts: 1,
    });
    json!({
        "route": route.name,
        "provider": target.provider.name,
        "model": target.model,
        "endpoint": pick.endpoint_index,
        "reason": reason,
    })
}

/// The route's targets; with the request's shape, what each lacks to serve it
/// (`skipped`) and, for cost-aware strategies, what it is expected to cost.
fn targets(
    runtime: &Runtime,
    route: &crate::config::ModelRoute,
    shape: Option<&formats::RequestShape>,
) -> Value {
    let lacking = shape.map(|s| routing::capability::lacking(route, s));
    route
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut v = json!({"provider": t.provider.name, "model": t.model, "weight": t.weight});
            if let Some(m) = lacking.as_ref().and_then(|l| l.get(i).copied().flatten()) {
                v["skipped"] = json!(format!("missing capability {}", m.as_str()));
            }
            let price = runtime.policy.price(&t.model);
            if let (true, Some(price), Some(shape)) =
                (route.strategy.prices_requests(), price, shape)
            {
                let expected = route.balance.expected_output_tokens;
                v["expected_cost_usd"] =
                    json!(routing::cost::expected_cost(&price, shape, expected));
            }
            v
        })
        .collect()
}

fn headers(v: Option<&Value>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    let Some(obj) = v.and_then(Value::as_object) else {
        return Ok(map);
    };
    for (name, value) in obj {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value = value
            .as_str()
            .and_then(|s| HeaderValue::from_str(s).ok())
            .ok_or_else(|| format!("header {name} needs a string value"))?;
        map.append(name, value);
    }
    Ok(map)
}
