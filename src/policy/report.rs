//! `/admin/usage`: requests, tokens, spend, budgets and live limit state per key, team
//! and upstream model, read from the store in one call (plus one for the models).
//! With Redis the numbers are those of every replica.

use serde_json::{json, Map, Value};

use super::admission::MODELS_SET;
use super::budget::{nanos_to_usd, Calendar, ScopeKeys};
use super::limits::{self, format_reset, Bucket, Kind, Scope};
use super::store::{ReadRequest, ReadResult};
use super::Inner;
use crate::config::governance::{BudgetConfig, LimitsConfig};

/// Counters read per scope, in [`ScopeKeys`] order.
fn counter_keys(scope: &str, name: &str, cal: &Calendar) -> Vec<String> {
    ScopeKeys::new(scope, name, cal)
        .0
        .iter()
        .map(|k| k.to_string())
        .collect()
}

/// One key or team to report on.
struct Entry<'a> {
    scope: Scope,
    name: &'a str,
    limits: &'a LimitsConfig,
    budget: &'a BudgetConfig,
    extra: Map<String, Value>,
    /// Its rate-limit buckets and their positions in the read answer.
    buckets: Vec<(Bucket, usize)>,
}

fn entries(inner: &Inner) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for k in inner.keys.keys() {
        let mut extra = Map::new();
        extra.insert("team".into(), json!(k.team_name()));
        extra.insert("metadata".into(), json!(k.metadata));
        out.push(entry(Scope::Key, &k.name, &k.limits, &k.budget, extra));
    }
    for t in inner.keys.teams() {
        out.push(entry(
            Scope::Team,
            &t.name,
            &t.limits,
            &t.budget,
            Map::new(),
        ));
    }
    out
}

fn entry<'a>(
    scope: Scope,
    name: &'a str,
    limits: &'a LimitsConfig,
    budget: &'a BudgetConfig,
    extra: Map<String, Value>,
) -> Entry<'a> {
    Entry {
        scope,
        name,
        limits,
        budget,
        extra,
        buckets: Vec::new(),
    }
}

fn spend_json(c: &[i64]) -> Value {
    json!({"today": nanos_to_usd(c[0]), "month": nanos_to_usd(c[1]), "total": nanos_to_usd(c[2])})
}

/// Reads everything and renders the report.
pub(crate) async fn build(inner: &Inner) -> Value {
    let cal = Calendar::now();
    let mut list = entries(inner);
    let mut req = ReadRequest {
        sets: vec![MODELS_SET.to_string()],
        ..ReadRequest::default()
    };
    for e in &mut list {
        req.counters
            .extend(counter_keys(e.scope.as_str(), e.name, &cal));
        req.slots.push(limits::slot_key(e.scope, e.name));
        for (kind, limit) in [(Kind::Requests, e.limits.rpm), (Kind::Tokens, e.limits.tpm)] {
            let Some(limit) = limit else { continue };
            let key = limits::bucket_key(e.scope, e.name, kind);
            req.buckets.push(key.clone());
            let b = Bucket::new(e.scope, e.name, kind, limit, key.into());
            e.buckets.push((b, req.buckets.len() - 1));
        }
    }
    let got = match inner.store.read(&req).await {
        Ok(r) => r,
        Err(e) => return json!({"backend": inner.store.backend(), "error": e.message}),
    };
    let mut keys = Vec::new();
    let mut teams = Vec::new();
    for (i, e) in list.into_iter().enumerate() {
        let scope = e.scope;
        let v = entry_json(e, &got, i);
        match scope {
            Scope::Key => keys.push(v),
            Scope::Team => teams.push(v),
        }
    }
    let models = models_json(inner, &got, &cal).await;
    json!({
        "backend": inner.store.backend(),
        "period": {"day": cal.day, "month": cal.month},
        "keys": keys,
        "teams": teams,
        "models": models,
    })
}

/// The report of the `i`-th entry.
fn entry_json(e: Entry<'_>, got: &ReadResult, i: usize) -> Value {
    let c = &got.counters[5 * i..5 * i + 5];
    let mut limits_v = Map::new();
    for (b, at) in &e.buckets {
        let until_full = got.buckets[*at];
        limits_v.insert(
            b.kind.as_str().into(),
            json!({"limit": b.limit, "remaining": b.remaining(until_full), "reset": format_reset(until_full)}),
        );
    }
    if let Some(max) = e.limits.max_concurrent {
        limits_v.insert(
            "max_concurrent".into(),
            json!({"limit": max, "in_flight": got.slots[i]}),
        );
    }
    let remaining = |cap: Option<f64>, spent: i64| cap.map(|cap| cap - nanos_to_usd(spent));
    let mut v = e.extra;
    v.insert("name".into(), json!(e.name));
    v.insert("scope".into(), json!(e.scope.as_str()));
    v.insert("requests".into(), json!(c[3]));
    v.insert("tokens".into(), json!(c[4]));
    v.insert("spend_usd".into(), spend_json(c));
    v.insert(
        "budget".into(),
        json!({
            "daily_usd": e.budget.daily_usd,
            "monthly_usd": e.budget.monthly_usd,
            "daily_remaining_usd": remaining(e.budget.daily_usd, c[0]),
            "monthly_remaining_usd": remaining(e.budget.monthly_usd, c[1]),
        }),
    );
    v.insert("limits".into(), Value::Object(limits_v));
    Value::Object(v)
}
async fn models_json(inner: &Inner, got: &ReadResult, cal: &Calendar) -> Value {
    let mut names = got.sets.first().cloned().unwrap_or_default();
    names.sort();
    let counters = names
        .iter()
        .flat_map(|m| counter_keys("model", m, cal))
        .collect();
    let read = inner
        .store
        .read(&ReadRequest {
            counters,
            ..ReadRequest::default()
        })
        .await;
    let Ok(r) = read else { return json!([]) };
    let rows: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let c = &r.counters[5 * i..5 * i + 5];
            json!({"model": m, "requests": c[3], "tokens": c[4], "spend_usd": spend_json(c)})
        })
        .collect();
    Value::Array(rows)
}
