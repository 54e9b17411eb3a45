//! Prometheus metrics of the policy layer, registered in the default registry (the one
//! `/metrics` exposes). Label values are configured names (key, team, model, guardrail)
//! or fixed words, never request data or secrets.
//!
//! Each metric is an `Option` so that a registration problem (e.g. another module
//! registering the same name) is logged instead of panicking.

use once_cell::sync::Lazy;
use prometheus::{GaugeVec, IntCounterVec, Opts};

use crate::metrics::registered as register;
use crate::thread_metrics::{ThreadCounterVec, ThreadFloatCounterVec};

fn int_counter(name: &str, help: &str, labels: &[&str]) -> Option<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
        .ok()
        .map(register)
}

/// Failed or timed-out state-store calls, by backend.
pub static STATE_ERRORS: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    int_counter(
        "tollgate_state_errors_total",
        "State store calls that failed or timed out (then state.on_error applied).",
        &["backend"],
    )
});

/// Tokens by model, provider, key name and kind (input, output, cache_read, cache_write, reasoning).
/// Written by every settlement: per-thread slots (see `crate::thread_metrics`).
pub static TOKENS: Lazy<Option<ThreadCounterVec>> = Lazy::new(|| {
    ThreadCounterVec::new(
        "tollgate_tokens_total",
        "Tokens reported by upstreams.",
        &["model", "provider", "key", "kind"],
    )
    .ok()
    .map(register)
});

/// Spend in USD by model, provider and key name.
/// Written by every priced settlement: per-thread slots.
pub static SPEND_USD: Lazy<Option<ThreadFloatCounterVec>> = Lazy::new(|| {
    ThreadFloatCounterVec::new(
        "tollgate_spend_usd_total",
        "Spend in USD computed from usage and prices.",
        &["model", "provider", "key"],
    )
    .ok()
    .map(register)
});

/// Budget left in USD by scope (key or team), name and period (daily or monthly).
pub static BUDGET_REMAINING_USD: Lazy<Option<GaugeVec>> = Lazy::new(|| {
    GaugeVec::new(
        Opts::new(
            "tollgate_budget_remaining_usd",
            "Budget left in the current period, in USD.",
        ),
        &["scope", "name", "period"],
    )
    .ok()
    .map(register)
});

/// Requests refused by a limit, by scope (key or team), name and limit (rpm, tpm, concurrency, budget).
pub static LIMITED: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    int_counter(
        "tollgate_limited_total",
        "Requests refused by a rate limit, concurrency cap or budget.",
        &["scope", "name", "limit"],
    )
});

/// Guardrail hits by guardrail name, detector, action and direction (input or output).
pub static GUARDRAIL_HITS: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    int_counter(
        "tollgate_guardrail_hits_total",
        "Guardrail detector matches.",
        &["guardrail", "detector", "action", "direction"],
    )
});

/// Adds `by` to an integer counter, if it exists.
pub fn inc(metric: &Lazy<Option<IntCounterVec>>, labels: &[&str], by: u64) {
    if let Some(m) = metric.as_ref() {
        if let Ok(c) = m.get_metric_with_label_values(labels) {
            c.inc_by(by);
        }
    }
}

/// Requests for a model without a price, by provider, `unpriced.action` and outcome
/// (`served`, `refused`).
pub static UNPRICED: Lazy<Option<IntCounterVec>> = Lazy::new(|| {
    int_counter(
        "tollgate_unpriced_requests_total",
        "Requests for a model without a price, by unpriced.action and outcome.",
        &["provider", "action", "outcome"],
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_builds_and_registers() {
        assert!(STATE_ERRORS.is_some());
        assert!(TOKENS.is_some());
        assert!(SPEND_USD.is_some());
        assert!(BUDGET_REMAINING_USD.is_some());
        assert!(LIMITED.is_some());
        assert!(GUARDRAIL_HITS.is_some());
        inc(&STATE_ERRORS, &["test-backend"], 2);
        let names: Vec<String> = prometheus::gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(
            names.iter().any(|n| n == "tollgate_state_errors_total"),
            "{names:?}"
        );
    }
}
