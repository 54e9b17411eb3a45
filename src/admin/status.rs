//! `GET /admin/status`: everything the status page shows, in one JSON document —
//! provider and endpoint health with cool-downs, request and error counters, the
//! latency and time-to-first-token histograms (summed over their labels, so the page
//! computes rates and p50 / p99 over any window from two snapshots), spend and budget
//! left per key and team, and the recent reloads. Read from the metrics registry and
//! the current runtime; nothing here is kept per request.

use std::collections::BTreeMap;

use prometheus::proto::{MetricFamily, MetricType};
use serde_json::{json, Value};

use crate::runtime::Gateway;

/// The histograms the page reads its quantiles from.
const LATENCY: &str = "tollgate_request_duration_seconds";
const TTFT: &str = "gen_ai_server_time_to_first_token_seconds";

pub async fn status(gateway: &Gateway) -> Value {
    let runtime = gateway.snapshot();
    let families = prometheus::gather();
    let mut by_status = BTreeMap::new();
    for (labels, value) in counter_values(&families, "tollgate_requests_total") {
        let class = labels.get("status").cloned().unwrap_or_default();
        *by_status.entry(class).or_insert(0.0) += value;
    }
    // Folded from +0.0: an empty float sum is -0.0.
    let requests = by_status.values().fold(0.0, |a, b| a + b);
    let formats: BTreeMap<&str, &str> = runtime
        .config
        .providers
        .iter()
        .map(|p| (p.name.as_str(), p.kind.as_str()))
        .collect();
    let mut providers = super::upstreams(&runtime);
    if let Some(list) = providers["providers"].as_array_mut() {
        for p in list {
            let name = p["provider"].as_str().unwrap_or("").to_string();
            p["format"] = json!(formats.get(name.as_str()));
        }
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": gateway.started.elapsed().as_secs_f64(),
        "providers": providers["providers"],
        "traffic": {
            "requests": requests,
            "by_status": by_status,
            "in_flight": crate::metrics::IN_FLIGHT.get(),
            "latency_seconds": histogram(&families, LATENCY),
            "ttft_seconds": histogram(&families, TTFT),
        },
        "usage": runtime.policy.usage_report().await,
        "reloads": gateway.reloads.recent(),
    })
}

/// (labels, value) of every series of a counter.
fn counter_values(families: &[MetricFamily], name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let Some(family) = families.iter().find(|f| f.name() == name) else {
        return Vec::new();
    };
    if family.get_field_type() != MetricType::COUNTER {
        return Vec::new();
    }
    family
        .get_metric()
        .iter()
        .map(|m| {
            let labels = m
                .get_label()
                .iter()
                .map(|l| (l.name().to_string(), l.value().to_string()))
                .collect();
            (labels, m.get_counter().value())
        })
        .collect()
}

/// A histogram summed over all its series: count, sum and cumulative buckets
/// `[[upper bound, count], ...]` (the `+Inf` bucket is the count).
fn histogram(families: &[MetricFamily], name: &str) -> Value {
    let mut count = 0u64;
    let mut sum = 0.0;
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    let family = families
        .iter()
        .find(|f| f.name() == name && f.get_field_type() == MetricType::HISTOGRAM);
    for m in family.map_or(&[][..], |f| f.get_metric()) {
        let h = m.get_histogram();
        count += h.sample_count();
        sum += h.sample_sum();
        for (i, b) in h.get_bucket().iter().enumerate() {
            match buckets.get_mut(i) {
                Some(slot) => slot.1 += b.cumulative_count(),
                None => buckets.push((b.upper_bound(), b.cumulative_count())),
            }
        }
    }
    json!({"count": count, "sum": sum, "buckets": buckets})
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{HistogramOpts, HistogramVec, Registry};

    #[test]
    fn histograms_are_summed_over_their_series() {
        let registry = Registry::new();
        let h = HistogramVec::new(
            HistogramOpts::new("h_seconds", "test").buckets(vec![0.1, 1.0]),
            &["route"],
        )
        .unwrap();
        registry.register(Box::new(h.clone())).unwrap();
        h.with_label_values(&["a"]).observe(0.05);
        h.with_label_values(&["b"]).observe(0.5);
        h.with_label_values(&["b"]).observe(5.0);
        let v = histogram(&registry.gather(), "h_seconds");
        assert_eq!(v["count"], 3);
        assert_eq!(v["sum"], 5.55);
        assert_eq!(v["buckets"], json!([[0.1, 1], [1.0, 2]]));
        assert_eq!(histogram(&registry.gather(), "missing")["count"], 0);
    }
}
