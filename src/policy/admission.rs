//! An admitted request: the rate-limit headers to send, and what must be given back
//! or recorded when it ends ([`Admission::settle`]). Dropping an unsettled admission
//! (client gone, task cancelled) releases its concurrency slots at once — synchronously
//! with the memory store, on a spawned task with Redis — and keeps the token estimate
//! charged, since the upstream may have worked on the request.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::budget::{nanos_to_usd, usd_to_nanos, Calendar};
use super::keys::KeyInfo;
use super::limits::Scope;
use super::metrics;
use super::pricing::{split_prompt, TokenSplit};
use super::store::{SettleRequest, StoreError};
use super::{DayKeys, Inner, ModelDay, PerKey};
use crate::model::Usage;

/// Set key of the upstream model names that have recorded usage.
pub(crate) const MODELS_SET: &str = "models";

/// An admitted request. Settle it with [`super::Policy::settle`] (or
/// [`Admission::settle`]) when the request ends.
pub struct Admission {
    /// `x-ratelimit-*` headers for the response (empty when the key has no rate limit).
    pub headers: Vec<super::limits::RateLimitHeader>,
    inner: Arc<Inner>,
    key: Arc<KeyInfo>,
    per: Arc<PerKey>,
    estimated_tokens: u64,
    lease_id: u64,
    /// Whether buckets and slots were taken (false: no limits, or store failed open).
    metered: bool,
    done: bool,
    /// The model was named by the client (a direct `provider/model` call): metrics and
    /// the per-model usage set record it as `other`, so clients cannot grow them.
    unlisted_model: bool,
    /// Tokens the rate limits keep for this request whatever its usage (a cache hit
    /// on a route that counts hits against TPM); `None`: the usage's.
    limit_tokens: Option<u64>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("key", &self.key.name)
            .field("estimated_tokens", &self.estimated_tokens)
            .field("metered", &self.metered)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Admission {
    pub(crate) fn new(
        inner: Arc<Inner>,
        key: Arc<KeyInfo>,
        per: Arc<PerKey>,
        estimated_tokens: u64,
        lease_id: u64,
    ) -> Admission {
        Admission {
            headers: Vec::new(),
            inner,
            key,
            per,
            estimated_tokens,
            lease_id,
            metered: false,
            done: false,
            unlisted_model: false,
            limit_tokens: None,
        }
    }

    /// Counts `tokens` against the token rate limits when settled, whatever the usage
    /// (spend and usage counters still follow the usage).
    pub fn count_tokens_against_limits(&mut self, tokens: u64) {
        self.limit_tokens = Some(tokens);
    }

    /// See `unlisted_model`: the upstream model is still used for pricing.
    pub fn record_model_as_other(&mut self) {
        self.unlisted_model = true;
    }

    /// Marks buckets and slots as taken, with the headers of the admission.
    pub(crate) fn metered(mut self, headers: Vec<super::limits::RateLimitHeader>) -> Admission {
        self.headers = headers;
        self.metered = true;
        self
    }

    /// The key that was admitted.
    pub fn key(&self) -> &Arc<KeyInfo> {
        &self.key
    }

    /// Whether limits were enforced (false when the key has none, or when the store
    /// failed and `on_error: fail_open` let the request through).
    pub fn is_metered(&self) -> bool {
        self.metered
    }

    fn release_request(&self) -> SettleRequest<'_> {
        release_request(&self.per, self.metered, self.lease_id)
    }

    /// Ends the request; see [`super::Policy::settle`].
    pub async fn settle(self, provider: &str, upstream_model: &str, usage: &Usage, cost: f64) {
        let Some(mut this) = self.settle_now(provider, upstream_model, usage, cost) else {
            return;
        };
        // The store must be awaited (Redis).
        let (day, model, split) = this.settlement_keys(upstream_model, usage);
        let req = this.settle_request(&day, model.as_deref(), upstream_model, &split, cost);
        let result = this.inner.store.settle(&req).await;
        drop(req);
        let settled = Settled::of(result, &day, model.as_deref());
        this.settled(settled, [provider, upstream_model], &split, usage, cost);
    }

    /// [`Self::settle`] at once, when the store answers without waiting (memory):
    /// `Some(self)`, unsettled, when it must be awaited instead.
    pub fn settle_now(
        mut self,
        provider: &str,
        upstream_model: &str,
        usage: &Usage,
        cost: f64,
    ) -> Option<Admission> {
        let (day, model, split) = self.settlement_keys(upstream_model, usage);
        let req = self.settle_request(&day, model.as_deref(), upstream_model, &split, cost);
        let Some(result) = self.inner.store.settle_now(&req) else {
            drop(req);
            return Some(self);
        };
        drop(req);
        let settled = Settled::of(result, &day, model.as_deref());
        self.settled(settled, [provider, upstream_model], &split, usage, cost);
        None
    }

    /// What a settlement's request borrows: today's counter keys of the key (and
    /// team) and of the model, and the usage split by kind.
    fn settlement_keys(
        &self,
        upstream_model: &str,
        usage: &Usage,
    ) -> (Arc<DayKeys>, Option<Arc<ModelDay>>, TokenSplit) {
        let cal = Calendar::now();
        let label_model = self.label_model(upstream_model);
        let model = (!usage.is_empty()).then(|| self.inner.model_keys(label_model, &cal));
        let day = self.per.day(&self.key, &cal);
        (day, model, split_prompt(upstream_model, usage))
    }

    /// The name usage is recorded under: the upstream model, or `other`.
    fn label_model<'a>(&self, upstream_model: &'a str) -> &'a str {
        if self.unlisted_model {
            "other"
        } else {
            upstream_model
        }
    }

    /// What a settlement writes: the slots given back, the token estimate corrected,
    /// the spend and usage counters of key, team and model.
    fn settle_request<'a>(
        &'a self,
        day: &'a DayKeys,
        model: Option<&'a ModelDay>,
        upstream_model: &str,
        split: &TokenSplit,
        cost: f64,
    ) -> SettleRequest<'a> {
        let nanos = usd_to_nanos(cost);
        let mut req = self.release_request();
        if self.metered {
            let used = self.limit_tokens.unwrap_or(split.total());
            let delta = used as i64 - self.estimated_tokens as i64;
            req.adjust = self
                .per
                .buckets
                .iter()
                .filter_map(|b| b.correct(delta))
                .collect();
        }
        let tokens = split.total();
        req.counters.extend(day.key.counters(nanos, tokens));
        if let Some(team) = &day.team {
            req.counters.extend(team.counters(nanos, tokens));
        }
        if let Some(model) = model {
            req.counters.extend(model.keys.counters(nanos, tokens));
            // Once a day per model is enough: the set never loses a member.
            if !model.listed.load(Ordering::Relaxed) {
                let label_model = self.label_model(upstream_model).to_string();
                req.members.push((MODELS_SET.to_string(), label_model));
            }
        }
        req
    }

    /// After the store answered: metrics, the model's listing, the budget gauges.
    fn settled(
        &mut self,
        settled: Settled<'_>,
        [provider, upstream_model]: [&str; 2],
        split: &TokenSplit,
        usage: &Usage,
        cost: f64,
    ) {
        self.done = true;
        let labels = [
            self.label_model(upstream_model),
            provider,
            self.key.name.as_str(),
        ];
        record_metrics(&self.inner, labels, split, usage, cost);
        match settled.result {
            Ok(values) => {
                let listing = settled.model.filter(|m| !m.listed.load(Ordering::Relaxed));
                if let Some(model) = listing {
                    model.listed.store(true, Ordering::Relaxed);
                }
                self.update_budget_gauges(&values, settled.has_team)
            }
            Err(e) => self.inner.warn_store(&e),
        }
    }

    /// Sets `tollgate_budget_remaining_usd` from the spend counters just written
    /// (5 counters per scope: day, month, total, requests, tokens).
    fn update_budget_gauges(&self, values: &[i64], has_team: bool) {
        let Some(vec) = metrics::BUDGET_REMAINING_USD.as_ref() else {
            return;
        };
        let team = match (has_team, &self.key.team) {
            (true, Some(team)) => Some((Scope::Team, team.name.as_str(), &team.budget)),
            _ => None,
        };
        let key = (Scope::Key, self.key.name.as_str(), &self.key.budget);
        for (s, (scope, name, budget)) in [Some(key), team].into_iter().flatten().enumerate() {
            for (p, (period, cap)) in [("daily", budget.daily_usd), ("monthly", budget.monthly_usd)]
                .into_iter()
                .enumerate()
            {
                let (Some(cap), Some(&spent)) = (cap, values.get(s * 5 + p)) else {
                    continue;
                };
                let gauge = self.per.budget_gauges[s * 2 + p].get_or_init(|| {
                    vec.get_metric_with_label_values(&[scope.as_str(), name, period])
                        .ok()
                });
                if let Some(g) = gauge {
                    g.set(cap - nanos_to_usd(spent));
                }
            }
        }
    }
}

/// Tokens by kind and spend, on the children kept for (model, provider, key).
fn record_metrics(inner: &Inner, labels: [&str; 3], split: &TokenSplit, usage: &Usage, cost: f64) {
    inner.settle_metrics.with(labels, |series| {
        let counts = [
            split.uncached,
            split.cache_read,
            split.cache_write,
            split.output,
            usage.reasoning_tokens,
        ];
        for (kind, n) in counts.into_iter().enumerate() {
            if n > 0 {
                series.tokens(kind, n);
            }
        }
        if cost > 0.0 {
            series.spend(cost);
        }
    });
}

/// The store's answer to a settlement, with what the admission does after it.
struct Settled<'a> {
    result: Result<Vec<i64>, StoreError>,
    model: Option<&'a ModelDay>,
    has_team: bool,
}

impl<'a> Settled<'a> {
    fn of(
        result: Result<Vec<i64>, StoreError>,
        day: &DayKeys,
        model: Option<&'a ModelDay>,
    ) -> Self {
        Settled {
            result,
            model,
            has_team: day.team.is_some(),
        }
    }
}

/// The settlement that gives back the concurrency slots of a metered admission.
fn release_request(per: &PerKey, metered: bool, lease_id: u64) -> SettleRequest<'_> {
    SettleRequest {
        release: if metered {
            per.slots.iter().map(|s| &s.key).collect()
        } else {
            Vec::new()
        },
        lease_id,
        // Five counters for each of key, team and model: grown once, not thrice.
        counters: Vec::with_capacity(15),
        ..SettleRequest::default()
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.done || !self.metered || self.per.slots.is_empty() {
            return;
        }
        let req = self.release_request();
        if self.inner.store.settle_now(&req).is_some() {
            return;
        }
        let (inner, per, lease_id) = (self.inner.clone(), self.per.clone(), self.lease_id);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let req = release_request(&per, true, lease_id);
                    if let Err(e) = inner.store.settle(&req).await {
                        inner.warn_store(&e);
                    }
                });
            }
            // No runtime: the Redis lease expires by itself (LEASE_TTL).
            Err(_) => log::debug!("admission dropped outside a runtime; slot lease left to expire"),
        }
    }
}
