//! A provider's resilience policies: `breaker` (passive health, when an endpoint or
//! one model on it leaves rotation and how it comes back) and `retry_budget` (how much
//! load retries may add to a struggling provider).
//!
//! Defaults follow Envoy's outlier detection and retry budget, scaled to LLM APIs:
//! five consecutive failures or half of at least ten requests in 10 s trip a breaker
//! for 2 s, doubling per repeated trip up to 30 s; at most half of a pool is ejected;
//! retries may add 20 % to the requests in the window, with 3 concurrent retries always
//! allowed so a quiet gateway still retries.

use std::time::Duration;

use super::errors::key_path;
use super::file::{BreakerSection, RetryBudgetSection};
use super::validate::Ctx;

/// Passive health of one provider's endpoints and (endpoint, model) pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that trip the breaker.
    pub consecutive_failures: u32,
    /// Failure share over the window that trips it (0 = off).
    pub failure_ratio: f64,
    /// Length of the sliding window of outcomes.
    pub window: Duration,
    /// Outcomes in the window before `failure_ratio` applies.
    pub min_requests: u32,
    /// Cool-down of a first trip; doubled per repeated trip.
    pub cooldown: Duration,
    /// Largest cool-down, also the cap on an upstream's `retry-after`.
    pub max_cooldown: Duration,
    /// Requests let through at once when a cool-down ends (half-open).
    pub half_open_probes: u32,
    /// Largest share of a pool's endpoints out of rotation at once (at least one).
    pub max_ejection_percent: u32,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            consecutive_failures: 5,
            failure_ratio: 0.5,
            window: Duration::from_secs(10),
            min_requests: 10,
            cooldown: Duration::from_secs(2),
            max_cooldown: Duration::from_secs(30),
            half_open_probes: 1,
            max_ejection_percent: 50,
        }
    }
}

/// Envoy's `retry_budget`: retries in flight may be at most `percent` of the
/// provider's requests (over `window`), and `min_concurrency` retries are always allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudgetPolicy {
    pub percent: f64,
    pub min_concurrency: u32,
    pub window: Duration,
}

impl Default for RetryBudgetPolicy {
    fn default() -> Self {
        RetryBudgetPolicy {
            percent: 20.0,
            min_concurrency: 3,
            window: Duration::from_secs(10),
        }
    }
}

/// `providers[i].breaker` → [`BreakerPolicy`]; errors with key paths.
pub(crate) fn breaker(sec: Option<&BreakerSection>, path: &str, cx: &mut Ctx) -> BreakerPolicy {
    let d = BreakerPolicy::default();
    let Some(s) = sec else { return d };
    let ms = |v: Option<u64>, key: &str, default: Duration, cx: &mut Ctx| {
        positive_ms(v, &key_path(path, key), cx).unwrap_or(default)
    };
    let policy = BreakerPolicy {
        consecutive_failures: at_least_one(
            s.consecutive_failures,
            path,
            "consecutive_failures",
            cx,
        )
        .unwrap_or(d.consecutive_failures),
        failure_ratio: ratio(s.failure_ratio, &key_path(path, "failure_ratio"), cx)
            .unwrap_or(d.failure_ratio),
        window: ms(s.window_ms, "window_ms", d.window, cx),
        min_requests: at_least_one(s.min_requests, path, "min_requests", cx)
            .unwrap_or(d.min_requests),
        cooldown: ms(s.cooldown_ms, "cooldown_ms", d.cooldown, cx),
        max_cooldown: ms(s.max_cooldown_ms, "max_cooldown_ms", d.max_cooldown, cx),
        half_open_probes: at_least_one(s.half_open_probes, path, "half_open_probes", cx)
            .unwrap_or(d.half_open_probes),
        max_ejection_percent: percent_u32(s.max_ejection_percent, path, cx)
            .unwrap_or(d.max_ejection_percent),
    };
    if policy.max_cooldown < policy.cooldown {
        cx.err(
            key_path(path, "max_cooldown_ms"),
            "must not be less than cooldown_ms",
        );
    }
    policy
}

/// `providers[i].retry_budget` → [`RetryBudgetPolicy`]; errors with key paths.
pub(crate) fn retry_budget(
    sec: Option<&RetryBudgetSection>,
    path: &str,
    cx: &mut Ctx,
) -> RetryBudgetPolicy {
    let d = RetryBudgetPolicy::default();
    let Some(s) = sec else { return d };
    let percent = match s.percent {
        Some(p) if !(0.0..=100.0).contains(&p) || p.is_nan() => {
            cx.err(
                key_path(path, "percent"),
                format!("{p} is out of range: 0 to 100"),
            );
            d.percent
        }
        Some(p) => p,
        None => d.percent,
    };
    RetryBudgetPolicy {
        percent,
        min_concurrency: s.min_concurrency.unwrap_or(d.min_concurrency),
        window: positive_ms(s.window_ms, &key_path(path, "window_ms"), cx).unwrap_or(d.window),
    }
}

fn positive_ms(v: Option<u64>, path: &str, cx: &mut Ctx) -> Option<Duration> {
    match v {
        Some(0) => {
            cx.err(path, "must be greater than 0 (milliseconds)");
            None
        }
        v => v.map(Duration::from_millis),
    }
}

fn at_least_one(v: Option<u32>, path: &str, key: &str, cx: &mut Ctx) -> Option<u32> {
    match v {
        Some(0) => {
            cx.err(key_path(path, key), "must be at least 1");
            None
        }
        v => v,
    }
}

fn ratio(v: Option<f64>, path: &str, cx: &mut Ctx) -> Option<f64> {
    match v {
        Some(r) if !(0.0..=1.0).contains(&r) || r.is_nan() => {
            cx.err(path, format!("{r} is out of range: 0 (off) to 1"));
            None
        }
        v => v,
    }
}

fn percent_u32(v: Option<u32>, path: &str, cx: &mut Ctx) -> Option<u32> {
    match v {
        Some(p) if p > 100 => {
            cx.err(
                key_path(path, "max_ejection_percent"),
                format!("{p} is out of range: 0 to 100"),
            );
            None
        }
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    fn errors(extra: &str) -> String {
        let yaml = format!(
            "auth: {{ mode: open }}\nproviders:\n  - name: p\n    format: openai\n    base_url: http://127.0.0.1:1\n{extra}"
        );
        match load_str(&yaml, &|_| None) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let yaml = "auth: { mode: open }\nproviders:\n  - name: p\n    format: openai\n    base_url: http://127.0.0.1:1\n    breaker: { consecutive_failures: 2, cooldown_ms: 50 }\n    retry_budget: { percent: 50 }\n";
        let config = load_str(yaml, &|_| None).unwrap();
        let p = config.provider("p").unwrap();
        assert_eq!(p.breaker.consecutive_failures, 2);
        assert_eq!(p.breaker.cooldown.as_millis(), 50);
        assert_eq!(p.breaker.max_ejection_percent, 50);
        assert_eq!(p.retry_budget.percent, 50.0);
        assert_eq!(p.retry_budget.min_concurrency, 3);
    }

    #[test]
    fn bad_values_name_their_key_path() {
        let e = errors("    breaker: { consecutive_failures: 0, failure_ratio: 1.5, cooldown_ms: 500, max_cooldown_ms: 100, max_ejection_percent: 101 }\n    retry_budget: { percent: -1, window_ms: 0 }\n");
        for path in [
            "providers[0].breaker.consecutive_failures",
            "providers[0].breaker.failure_ratio",
            "providers[0].breaker.max_cooldown_ms",
            "providers[0].breaker.max_ejection_percent",
            "providers[0].retry_budget.percent",
            "providers[0].retry_budget.window_ms",
        ] {
            assert!(e.contains(path), "{path} missing in:\n{e}");
        }
    }
}
