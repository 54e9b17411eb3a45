//! Governance: who may call (virtual keys), how much (rate limits, concurrency caps,
//! budgets), at what cost (prices, spend), and with what content (guardrails).
//!
//! [`Policy`] is the facade the proxy calls, built from the validated
//! [`Governance`] of a config (never from the file: parsing and checking are the
//! config module's) and a
//! [`StateStore`] (in memory, or Redis to share state between replicas). It is cheap to
//! clone (one `Arc`) and immutable: a reload builds a new one with
//! [`Policy::reload`], which keeps the same store so counters survive, while
//! in-flight requests finish on the [`Admission`] they got from the old one.
//!
//! Per request, in order:
//! 1. `authenticate(presented_key(authorization, x_api_key))` → `Arc<KeyInfo>` (401)
//! 2. `authorize_model(&key, model)` (403)
//! 3. `check_input(&key, model, body)` → maybe a redacted body (400 when blocked)
//! 4. `admit(&key, estimated_tokens).await` → [`Admission`] with the
//!    `x-ratelimit-*` headers to add to the response (429 when limited or over budget)
//! 5. `output_scanner(&key, model)` → scan streamed text; or `check_output` on a body
//! 6. `settle(admission, provider, upstream_model, &usage).await` at the end (with
//!    `Usage::default()` when the request failed before any upstream usage), which
//!    corrects the token estimate, frees the concurrency slot and records spend.
//!    Dropping an `Admission` without settling frees its slot but keeps the estimate.
//!
//! The in-memory hot path (`authenticate` + `admit` without Redis) takes no global
//! lock: keys are an immutable hash map, state is sharded atomics.

pub mod admission;
pub mod budget;
pub mod detectors;
pub mod gcra;
pub mod glob;
pub mod guardrails;
pub mod keys;
pub mod limits;
mod memory_shards;
pub mod memory_store;
pub mod metrics;
pub mod pricing;
mod pricing_table;
pub(crate) mod redis_conn;
mod redis_docs;
pub(crate) mod redis_link;
mod redis_scripts;
pub mod redis_store;
mod report;
pub mod scanner;
mod settle_metrics;
pub mod store;
pub mod unpriced;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use admission::Admission;
pub use guardrails::{estimate_body_tokens, estimate_tokens};
pub use keys::{hash_key, presented_key, KeyInfo, TeamInfo};
pub use scanner::{OutputScanner, Verdict};
pub use store::{DocStore, StateStore};

use crate::config::{AuthMode, Governance, OnError, Secret, StateBackend, StateSpec};
use crate::error::{ErrorKind, GatewayError};
use crate::fx_hash::FxMap;
use crate::model::Usage;
use arc_swap::{ArcSwap, ArcSwapOption};
use budget::{Calendar, DayKeys, ScopeKeys};
use guardrails::{Direction, GuardSet, Guardrails};
use keys::KeyStore;
use limits::{Bucket, Slot};
use memory_store::MemoryStore;
use pricing::Pricing;
use redis_store::RedisStore;
use store::{AdmitOutcome, AdmitRequest};

/// The governance layer of one config generation.
#[derive(Clone)]
pub struct Policy {
    inner: Arc<Inner>,
}

/// What applies to one key, computed once per config.
pub(crate) struct PerKey {
    pub(crate) buckets: Vec<Bucket>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) guards: GuardSet,
    pub(crate) has_budget: bool,
    /// Budget caps and counter keys of the current day, rebuilt when the day changes.
    day: ArcSwapOption<DayKeys>,
    /// `tollgate_budget_remaining_usd` of (key, team) × (daily, monthly), resolved on
    /// first use (a labelled look-up per settlement wrote the vector's shared lock).
    pub(crate) budget_gauges: [OnceLock<Option<prometheus::Gauge>>; 4],
}

impl PerKey {
    /// The caps and counter keys of `key` for the day of `cal`.
    pub(crate) fn day(&self, key: &KeyInfo, cal: &Calendar) -> Arc<DayKeys> {
        if let Some(d) = self.day.load_full().filter(|d| d.day_no == cal.day_no) {
            return d;
        }
        let d = Arc::new(DayKeys::new(key, cal));
        self.day.store(Some(d.clone()));
        d
    }
}

/// Counter keys of upstream models for one day, copied on write (new models are rare).
#[derive(Default)]
struct ModelKeys {
    day_no: u64,
    keys: FxMap<String, Arc<ModelDay>>,
}

/// One upstream model's counter keys for a day, and whether a settlement already put
/// it in the set of models with usage (`admission::MODELS_SET`).
pub(crate) struct ModelDay {
    pub(crate) keys: ScopeKeys,
    pub(crate) listed: AtomicBool,
}

/// Models remembered per day; beyond that keys are built per request.
const MODEL_KEYS_CAP: usize = 1024;

pub(crate) struct Inner {
    pub(crate) keys: KeyStore,
    pub(crate) pricing: Pricing,
    unpriced: crate::config::UnpricedPolicy,
    unpriced_logged: unpriced::Logged,
    pub(crate) per_key: FxMap<String, Arc<PerKey>>,
    pub(crate) anonymous: Arc<PerKey>,
    guardrails: Guardrails,
    pub(crate) store: Arc<dyn StateStore>,
    state: StateSpec,
    on_error: OnError,
    epoch: Instant,
    last_store_warning_ms: AtomicU64,
    model_keys: ArcSwap<ModelKeys>,
    pub(crate) settle_metrics: settle_metrics::SettleMetrics,
}

fn rules_of(key: &KeyInfo, guardrails: &Guardrails) -> PerKey {
    let has_budget = [Some(&key.budget), key.team.as_ref().map(|t| &t.budget)]
        .into_iter()
        .flatten()
        .any(|b| b.daily_usd.is_some() || b.monthly_usd.is_some());
    PerKey {
        buckets: limits::buckets(key),
        slots: limits::slots(key),
        guards: guardrails.for_key(key),
        has_budget,
        day: ArcSwapOption::empty(),
        budget_gauges: Default::default(),
    }
}

impl Policy {
    /// Builds the policy and its store from the config. A Redis store that cannot be
    /// reached yet is not an error: it reconnects on use, and `state.on_error` decides
    /// meanwhile.
    pub async fn from_config(gov: &Governance) -> Result<Policy, String> {
        let store = build_store(&gov.state).await?;
        Policy::with_store(gov, store)
    }

    /// Builds the policy over a given store (tests, or a store shared across reloads).
    pub fn with_store(gov: &Governance, store: Arc<dyn StateStore>) -> Result<Policy, String> {
        let keys = KeyStore::from_config(gov)?;
        if keys.mode() == AuthMode::Keys && keys.keys().is_empty() {
            log::warn!(
                "auth.mode is `keys` but no keys are configured: every request will get a 401"
            );
        }
        let guardrails = Guardrails::from_config(&gov.guardrails)?;
        let per_key: FxMap<String, Arc<PerKey>> = keys
            .keys()
            .iter()
            .map(|k| (k.name.clone(), Arc::new(rules_of(k, &guardrails))))
            .collect();
        let anonymous = Arc::new(rules_of(&KeyInfo::anonymous(), &guardrails));
        Ok(Policy {
            inner: Arc::new(Inner {
                keys,
                pricing: Pricing::new(&gov.pricing)
                    .with_builtin(gov.builtin_prices)
                    .with_fallback(gov.unpriced),
                unpriced: gov.unpriced,
                unpriced_logged: unpriced::Logged::default(),
                per_key,
                anonymous,
                guardrails,
                store,
                state: gov.state.clone(),
                on_error: gov.state.on_error,
                epoch: Instant::now(),
                last_store_warning_ms: AtomicU64::new(0),
                model_keys: ArcSwap::from_pointee(ModelKeys::default()),
                settle_metrics: settle_metrics::SettleMetrics::default(),
            }),
        })
    }

    /// The policy of a new config generation. The store is kept when the `state`
    /// section is unchanged, so limits and spend carry over.
    pub async fn reload(&self, gov: &Governance) -> Result<Policy, String> {
        if gov.state == self.inner.state {
            Policy::with_store(gov, self.inner.store.clone())
        } else {
            Policy::from_config(gov).await
        }
    }

    /// The state store (for readiness checks and reports).
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.inner.store
    }

    /// Identifies the caller from the presented key (see [`presented_key`]).
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Arc<KeyInfo>, GatewayError> {
        self.inner.keys.authenticate(presented)
    }

    /// A configured key by name; `None` for unknown names.
    pub fn key_named(&self, name: &str) -> Option<Arc<KeyInfo>> {
        self.inner.keys.by_name(name)
    }

    /// Whether `key` may call `model` (the name the client sent).
    pub fn authorize_model(&self, key: &KeyInfo, model: &str) -> Result<(), GatewayError> {
        keys::authorize_model(key, model)
    }

    /// Runs `f` on the rules of `key` without taking a reference on them (the count
    /// of a shared `Arc` is a cache line both worker threads write).
    fn with_per<R>(&self, key: &KeyInfo, f: impl FnOnce(&PerKey) -> R) -> R {
        if key.anonymous {
            return f(&self.inner.anonymous);
        }
        match self.inner.per_key.get(&key.name) {
            Some(p) => f(p),
            None => f(&rules_of(key, &self.inner.guardrails)),
        }
    }

    pub(crate) fn per(&self, key: &KeyInfo) -> Arc<PerKey> {
        if key.anonymous {
            return self.inner.anonymous.clone();
        }
        match self.inner.per_key.get(&key.name) {
            Some(p) => p.clone(),
            // A key from another config generation: derive its rules from itself.
            None => Arc::new(rules_of(key, &self.inner.guardrails)),
        }
    }

    /// The admission of a request of `key`, holding the policy and the key's rules
    /// (moved in: another clone would write their shared count once more).
    fn admission(
        &self,
        key: &Arc<KeyInfo>,
        per: Arc<PerKey>,
        estimated_tokens: u64,
        lease_id: u64,
    ) -> Admission {
        let inner = self.inner.clone();
        Admission::new(inner, key.clone(), per, estimated_tokens, lease_id)
    }

    /// Admits a request of `key` that may use `estimated_tokens` (prompt estimate +
    /// max output tokens): takes from the rate limits, a concurrency slot, and checks
    /// the budgets (all per key and team, whatever the model; which models a key may
    /// call is `KeyStore::authorize_model`). The [`Admission`] carries the
    /// `x-ratelimit-*` headers.
    pub async fn admit(
        &self,
        key: &Arc<KeyInfo>,
        estimated_tokens: u64,
    ) -> Result<Admission, GatewayError> {
        let per = self.per(key);
        let day = per.has_budget.then(|| per.day(key, &Calendar::now()));
        let caps: &[budget::Cap] = day.as_deref().map_or(&[], |d| &d.caps);
        let lease_id = next_lease_id();
        if per.buckets.is_empty() && per.slots.is_empty() && caps.is_empty() {
            return Ok(self.admission(key, per, estimated_tokens, lease_id));
        }
        let req = AdmitRequest {
            buckets: per
                .buckets
                .iter()
                .map(|b| b.take(estimated_tokens))
                .collect(),
            budgets: caps.iter().map(budget::Cap::op).collect(),
            slots: per.slots.iter().map(Slot::take).collect(),
            lease_id,
            lease_ttl: limits::LEASE_TTL,
        };
        let answer = match self.inner.store.admit_now(&req) {
            Some(answer) => answer,
            None => self.inner.store.admit(&req).await,
        };
        drop(req);
        let outcome = match answer {
            Ok(o) => o,
            Err(e) => {
                let base = self.admission(key, per, estimated_tokens, lease_id);
                return self.store_failed(base, &e);
            }
        };
        let limited = |scope: limits::Scope, name: &str, what: &str| {
            metrics::inc(&metrics::LIMITED, &[scope.as_str(), name, what], 1);
        };
        match outcome {
            AdmitOutcome::Admitted { until_full } => {
                let headers = limits::headers(&per.buckets, &until_full);
                Ok(self
                    .admission(key, per, estimated_tokens, lease_id)
                    .metered(headers))
            }
            AdmitOutcome::RateLimited { index, retry_after } => {
                let b = &per.buckets[index];
                limited(b.scope, &b.name, b.kind.as_str());
                Err(b.refusal(retry_after, estimated_tokens))
            }
            AdmitOutcome::OverBudget { index, spent } => {
                let c = &caps[index];
                limited(c.scope, &c.name, "budget");
                Err(c.refusal(spent, &Calendar::now(), budget::unix_now()))
            }
            AdmitOutcome::Concurrency { index, .. } => {
                let s = &per.slots[index];
                limited(s.scope, &s.name, "concurrency");
                Err(s.refusal())
            }
        }
    }

    /// `state.on_error` when the store failed at admission.
    fn store_failed(
        &self,
        base: Admission,
        e: &store::StoreError,
    ) -> Result<Admission, GatewayError> {
        self.warn_store(e);
        match self.inner.on_error {
            OnError::FailOpen => Ok(base),
            OnError::FailClosed => Err(GatewayError::new(
                ErrorKind::Overloaded,
                "rate limit state is unavailable; try again shortly",
            )
            .with_retry_after(Duration::from_secs(1))),
        }
    }

    /// Logs a store failure at most once every 10 s (each one is counted in the metric).
    fn warn_store(&self, e: &store::StoreError) {
        self.inner.warn_store(e);
    }

    /// Ends a request: corrects the token estimate with `usage`, frees the
    /// concurrency slot, records tokens and spend for `upstream_model` on `provider`.
    pub async fn settle(
        &self,
        admission: Admission,
        provider: &str,
        upstream_model: &str,
        usage: &Usage,
    ) {
        let cost = self.cost(upstream_model, usage);
        admission
            .settle(provider, upstream_model, usage, cost)
            .await;
    }

    /// Input guardrails on a JSON request body: `Ok(Some(body))` when redacted,
    /// `Err` (400 `guardrail_blocked`) when blocked.
    pub fn check_input(
        &self,
        key: &KeyInfo,
        _model: &str,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, GatewayError> {
        self.with_per(key, |per| {
            guardrails::check_body(&per.guards.input, body, Direction::Input, &key.name)
        })
    }

    /// Output guardrails on a whole (non-streamed) JSON response body.
    pub fn check_output(
        &self,
        key: &KeyInfo,
        _model: &str,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, GatewayError> {
        self.with_per(key, |per| {
            guardrails::check_body(&per.guards.output, body, Direction::Output, &key.name)
        })
    }

    /// Output guardrails on a plain text (e.g. a translated answer's content).
    pub fn check_output_text(
        &self,
        key: &KeyInfo,
        _model: &str,
        text: &str,
    ) -> Result<Option<String>, GatewayError> {
        self.with_per(key, |per| {
            guardrails::scan_text(&per.guards.output, text, Direction::Output, &key.name)
        })
    }

    /// A stream scanner when `key` has output guardrails, else None (no hold-back).
    pub fn output_scanner(&self, key: &KeyInfo, _model: &str) -> Option<OutputScanner> {
        self.with_per(key, |per| {
            let guards = &per.guards.output;
            (!guards.is_empty()).then(|| OutputScanner::new(guards.clone(), &key.name))
        })
    }

    /// The price of an upstream model (configured, built in, or the default price).
    pub fn price(&self, upstream_model: &str) -> Option<pricing::Price> {
        self.inner.pricing.price(upstream_model)
    }

    /// USD cost of `usage` on an upstream model (0 when the model has no price).
    pub fn cost(&self, upstream_model: &str, usage: &Usage) -> f64 {
        self.inner.pricing.cost(upstream_model, usage)
    }

    /// The cost of `usage` on `upstream_model`; `None` when the model has no price
    /// (one look-up).
    pub fn priced_cost(&self, upstream_model: &str, usage: &Usage) -> Option<f64> {
        self.inner.pricing.priced_cost(upstream_model, usage)
    }

    /// Per key, team and model: requests, tokens, spend, budgets, limit state.
    pub async fn usage_report(&self) -> serde_json::Value {
        report::build(&self.inner).await
    }
}

impl Inner {
    /// Counter keys of an upstream model for the day of `cal`.
    pub(crate) fn model_keys(&self, model: &str, cal: &Calendar) -> Arc<ModelDay> {
        let cached = self.model_keys.load();
        if cached.day_no == cal.day_no {
            if let Some(k) = cached.keys.get(model) {
                return k.clone();
            }
        }
        let keys = Arc::new(ModelDay {
            keys: ScopeKeys::new("model", model, cal),
            listed: AtomicBool::new(false),
        });
        if cached.keys.len() < MODEL_KEYS_CAP || cached.day_no != cal.day_no {
            self.model_keys.rcu(|old| {
                let mut next = ModelKeys {
                    day_no: cal.day_no,
                    keys: FxMap::default(),
                };
                if old.day_no == cal.day_no {
                    next.keys = old.keys.clone();
                }
                next.keys.insert(model.to_string(), keys.clone());
                next
            });
        }
        keys
    }

    pub(crate) fn warn_store(&self, e: &store::StoreError) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let last = self.last_store_warning_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 10_000)
            && self
                .last_store_warning_ms
                .compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            log::warn!(
                "state store ({}) failed: {e}; on_error applies",
                self.store.backend()
            );
        }
    }
}

thread_local! {
    /// Per-thread lease counter starting at a random point: unique ids without a
    /// shared atomic (a 64-bit random start makes collisions between threads and
    /// replicas negligible).
    static LEASE: std::cell::Cell<u64> = std::cell::Cell::new(
        std::collections::hash_map::RandomState::new().hash_one(std::process::id()),
    );
}

/// A fresh concurrency-lease id.
fn next_lease_id() -> u64 {
    LEASE.with(|c| {
        let id = c.get().wrapping_add(1);
        c.set(id);
        id
    })
}

/// The store a `state` section asks for.
pub async fn build_store(state: &StateSpec) -> Result<Arc<dyn StateStore>, String> {
    match &state.backend {
        StateBackend::Memory => Ok(Arc::new(MemoryStore::default())),
        StateBackend::Redis { url, ca_pem } => {
            let store = RedisStore::with_tls_ca(
                url.expose(),
                ca_pem.as_deref(),
                state.timeout,
                &state.key_prefix,
            )?;
            connect_or_warn(&store).await;
            Ok(Arc::new(store))
        }
        StateBackend::RedisCluster { seeds, ca_pem } => {
            let seeds: Vec<&str> = seeds.iter().map(Secret::expose).collect();
            let store =
                RedisStore::cluster(&seeds, ca_pem.as_deref(), state.timeout, &state.key_prefix)?;
            connect_or_warn(&store).await;
            Ok(Arc::new(store))
        }
    }
}

/// A Redis that cannot be reached yet is not an error: the store reconnects on use.
async fn connect_or_warn(store: &RedisStore) {
    if let Err(e) = store.connect_now().await {
        log::warn!("redis state store not reachable yet ({e}); will retry on use");
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
