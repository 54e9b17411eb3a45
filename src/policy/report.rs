//! `/admin/usage`: requests, tokens, spend, budgets and live limit state per key, team
//! and upstream model, read from the store in one call (plus one for the models).
//! With Redis the numbers are those of every replica.

use serde_json::{json, Map, Value};

use super::admission::MODELS_SET;
use super::budget::{nanos_to_usd, spend_key, usage_key, Calendar};
use super::limits::{self, format_reset, Bucket, Kind, Scope};
use super::store::{ReadRequest, ReadResult};
use super::Inner;
use crate::config::governance::{BudgetConfig, LimitsConfig};

/// Counters read per scope, in this order.
fn counter_keys(scope: &str, name: &str, cal: &Calendar) -> [String; 5] {
    [
        spend_key(scope, name, &format!("d:{}", cal.day)),
        spend_key(scope, name, &format!("m:{}", cal.month)),
        spend_key(scope, name, "total"),
        usage_key(scope, name, "requests"),
        usage_key(scope, name, "tokens"),
    ]
}

/// One key or team to report on.
struct Entry<'a> {
    scope: Scope,
    name: &'a str,
    limits: &'a LimitsConfig,
    budget: &'a BudgetConfig,
    extra: Map<String, Value>,
}

fn entries(inner: &Inner) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for k in inner.keys.keys() {
        let mut extra = Map::new();
        extra.insert("team".into(), json!(k.team_name()));
        extra.insert("metadata".into(), json!(k.metadata));
        out.push(Entry {
            scope: Scope::Key,
            name: &k.name,
            limits: &k.limits,
            budget: &k.budget,
            extra,
        });
    }
    for t in inner.keys.teams() {
        out.push(Entry {
            scope: Scope::Team,
            name: &t.name,
            limits: &t.limits,
            budget: &t.budget,
            extra: Map::new(),
        });
    }
    out
}

fn bucket_of(e: &Entry<'_>, kind: Kind, limit: Option<u64>) -> Option<Bucket> {
    limit.map(|limit| Bucket {
        scope: e.scope,
        name: e.name.to_string(),
        kind,
        limit,
        key: limits::bucket_key(e.scope, e.name, kind),
    })
}

fn spend_json(c: &[i64]) -> Value {
    json!({"today": nanos_to_usd(c[0]), "month": nanos_to_usd(c[1]), "total": nanos_to_usd(c[2])})
}

/// Reads everything and renders the report.
pub(crate) async fn build(inner: &Inner) -> Value {
    let cal = Calendar::now();
    let list = entries(inner);
    let mut req = ReadRequest {
        sets: vec![MODELS_SET.to_string()],
        ..ReadRequest::default()
    };
    let mut buckets = Vec::new();
    for e in &list {
        req.counters
            .extend(counter_keys(e.scope.as_str(), e.name, &cal));
        req.slots.push(limits::slot_key(e.scope, e.name));
        for b in [
            bucket_of(e, Kind::Requests, e.limits.rpm),
            bucket_of(e, Kind::Tokens, e.limits.tpm),
        ] {
            req.buckets
                .push(b.as_ref().map_or_else(String::new, |b| b.key.clone()));
            buckets.push(b);
        }
    }
    let got = match inner.store.read(&req).await {
        Ok(r) => r,
        Err(e) => return json!({"backend": inner.store.backend(), "error": e.message}),
    };
    let mut keys = Vec::new();
    let mut teams = Vec::new();
    for (i, e) in list.into_iter().enumerate() {
        let v = entry_json(
            e.scope,
            e.name,
            e.limits,
            e.budget,
            e.extra,
            &got,
            i,
            &buckets[2 * i..2 * i + 2],
        );
        match e.scope {
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

#[allow(clippy::too_many_arguments)]
fn entry_json(
    scope: Scope,
    name: &str,
    lim: &LimitsConfig,
    budget: &BudgetConfig,
    mut extra: Map<String, Value>,
    got: &ReadResult,
    i: usize,
    buckets: &[Option<Bucket>],
) -> Value {
    let c = &got.counters[5 * i..5 * i + 5];
    let mut limits_v = Map::new();
    for (j, b) in buckets.iter().enumerate() {
        if let Some(b) = b {
            let until_full = got.buckets[2 * i + j];
            limits_v.insert(
                b.kind.as_str().into(),
                json!({"limit": b.limit, "remaining": b.remaining(until_full), "reset": format_reset(until_full)}),
            );
        }
    }
    if let Some(max) = lim.max_concurrent {
        limits_v.insert(
            "max_concurrent".into(),
            json!({"limit": max, "in_flight": got.slots[i]}),
        );
    }
    let remaining = |cap: Option<f64>, spent: i64| cap.map(|cap| cap - nanos_to_usd(spent));
    extra.insert("name".into(), json!(name));
    extra.insert("scope".into(), json!(scope.as_str()));
    extra.insert("requests".into(), json!(c[3]));
    extra.insert("tokens".into(), json!(c[4]));
    extra.insert("spend_usd".into(), spend_json(c));
    extra.insert(
        "budget".into(),
        json!({
            "daily_usd": budget.daily_usd,
            "monthly_usd": budget.monthly_usd,
            "daily_remaining_usd": remaining(budget.daily_usd, c[0]),
            "monthly_remaining_usd": remaining(budget.monthly_usd, c[1]),
        }),
    );
    extra.insert("limits".into(), Value::Object(limits_v));
    Value::Object(extra)
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
