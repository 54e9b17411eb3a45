//! The per-request metric series, resolved once instead of on every request.
//!
//! `with_label_values` hashes every label value, takes the vector's lock and clones
//! the child on each call; a request touched about a dozen series that way. Here the
//! children of one label set (`route`, `model`, `provider`, `variant`) are looked up once, kept in
//! a map owned by the runtime snapshot, and reached afterwards by one hash of the
//! three labels. Each child is still created on its first use only (`OnceLock`), so
//! the set of series a scrape shows is exactly the one the direct calls created.
//!
//! Bounded twice: label values come from the configuration and from enums only
//! (`model` is a configured route name, `other` or empty; `provider` a configured
//! provider or empty), and the map never holds more than [`MAX_SERIES`] label sets
//! (past it, a request resolves its children the old way). A reload builds a new
//! runtime and with it an empty map; the children are the same global series.

use std::hash::Hasher;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;

use crate::fx_hash::{FxHasher, FxMap};
use crate::genai_metrics;
use crate::metrics;
use crate::thread_metrics::{ThreadCounter, ThreadHistogram, ThreadHistogramVec};

/// Most label sets kept per runtime snapshot.
pub const MAX_SERIES: usize = 4096;

/// The labels of a request's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'a> {
    /// `route` label: the API (`metrics::route_label`).
    pub route: &'static str,
    /// `model` label: configured route name, `other` or empty.
    pub model: &'a str,
    /// Configured provider name, empty when no attempt was made.
    pub provider: &'a str,
    /// A/B variant: a configured variant name, or empty outside a split.
    pub variant: &'a str,
    /// `gen_ai_operation_name`, when the API has one.
    pub operation: Option<&'static str>,
    /// `gen_ai_system` of the provider's format, when there was an attempt.
    pub system: Option<&'static str>,
}

/// The children of one label set, each created on first use.
#[derive(Debug)]
pub struct Series {
    route: &'static str,
    model: String,
    provider: String,
    variant: String,
    operation: Option<&'static str>,
    system: Option<&'static str>,
    /// `tollgate_requests_total`, by status class (1xx … 5xx).
    requests: [OnceLock<ThreadCounter>; 5],
    seconds: OnceLock<ThreadHistogram>,
    ttfb: OnceLock<ThreadHistogram>,
    overhead: OnceLock<ThreadHistogram>,
    genai_duration: OnceLock<ThreadHistogram>,
    genai_input: OnceLock<ThreadHistogram>,
    genai_output: OnceLock<ThreadHistogram>,
    genai_ttft: OnceLock<ThreadHistogram>,
    genai_per_token: OnceLock<ThreadHistogram>,
}

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl Series {
    fn new(l: &Labels) -> Series {
        Series {
            route: l.route,
            model: l.model.to_string(),
            provider: l.provider.to_string(),
            variant: l.variant.to_string(),
            operation: l.operation,
            system: l.system,
            requests: Default::default(),
            seconds: OnceLock::new(),
            ttfb: OnceLock::new(),
            overhead: OnceLock::new(),
            genai_duration: OnceLock::new(),
            genai_input: OnceLock::new(),
            genai_output: OnceLock::new(),
            genai_ttft: OnceLock::new(),
            genai_per_token: OnceLock::new(),
        }
    }

    fn is(&self, l: &Labels) -> bool {
        self.route == l.route
            && self.model == l.model
            && self.provider == l.provider
            && self.variant == l.variant
            && self.operation == l.operation
            && self.system == l.system
    }

    /// `tollgate_requests_total{route, model, provider, status, variant}`.
    pub fn requests(&self, status: u16) -> &ThreadCounter {
        let class = metrics::status_class(status);
        let i = STATUS_CLASSES.iter().position(|c| *c == class).unwrap_or(4);
        self.requests[i].get_or_init(|| {
            metrics::REQUESTS.with_label_values(&[
                self.route,
                &self.model,
                &self.provider,
                class,
                &self.variant,
            ])
        })
    }

    /// `tollgate_request_duration_seconds{route, model, variant}`.
    pub fn seconds(&self) -> &ThreadHistogram {
        self.seconds.get_or_init(|| {
            metrics::REQUEST_SECONDS.with_label_values(&[self.route, &self.model, &self.variant])
        })
    }

    /// `tollgate_time_to_first_byte_seconds{route, model, variant}`.
    pub fn ttfb(&self) -> &ThreadHistogram {
        self.ttfb.get_or_init(|| {
            metrics::TTFB_SECONDS.with_label_values(&[self.route, &self.model, &self.variant])
        })
    }

    /// The gateway-overhead histogram of the route.
    pub fn overhead(&self) -> &ThreadHistogram {
        self.overhead
            .get_or_init(|| genai_metrics::GATEWAY_OVERHEAD.with_label_values(&[self.route]))
    }

    /// Record one operation in the GenAI histograms (what `genai_metrics::record`
    /// does, on the cached children). Nothing without an operation and a system.
    pub fn record_genai(&self, op: &genai_metrics::Operation) {
        let (Some(operation), Some(system)) = (self.operation, self.system) else {
            return;
        };
        let labels = [operation, system, self.model.as_str()];
        // Borrowed, not cloned: a clone writes the series' reference count, which
        // every worker thread shares.
        fn child<'c>(
            cell: &'c OnceLock<ThreadHistogram>,
            vec: &ThreadHistogramVec,
            labels: &[&str],
        ) -> &'c ThreadHistogram {
            cell.get_or_init(|| vec.with_label_values(labels))
        }
        child(
            &self.genai_duration,
            &genai_metrics::OPERATION_DURATION,
            &labels,
        )
        .observe(op.duration.as_secs_f64());
        if op.succeeded {
            for (cell, kind, tokens) in [
                (&self.genai_input, "input", op.input_tokens),
                (&self.genai_output, "output", op.output_tokens),
            ] {
                cell.get_or_init(|| {
                    genai_metrics::TOKEN_USAGE.with_label_values(&[
                        kind,
                        operation,
                        system,
                        &self.model,
                    ])
                })
                .observe(tokens as f64);
            }
        }
        if let Some(ttft) = op.time_to_first_token() {
            child(
                &self.genai_ttft,
                &genai_metrics::TIME_TO_FIRST_TOKEN,
                &labels,
            )
            .observe(ttft);
        }
        if let Some(per_token) = op.time_per_output_token() {
            child(
                &self.genai_per_token,
                &genai_metrics::TIME_PER_OUTPUT_TOKEN,
                &labels,
            )
            .observe(per_token);
        }
    }
}

/// The label sets seen by one runtime snapshot, keyed by a hash of their labels.
///
/// Read without a lock: the map is replaced whole when a label set is added (rare, and
/// bounded), so a request's look-up writes nothing shared; a lock's word, or a shared
/// `Arc`'s count, would be a cache line every worker thread takes on every request.
#[derive(Debug, Default)]
pub struct MetricHandles {
    series: Kept<Series>,
    /// `tollgate_upstream_attempts_total{provider, outcome}` of each configured
    /// provider: [ok, failed].
    attempts: FxMap<String, [ThreadCounter; 2]>,
}

impl MetricHandles {
    /// Handles for a configuration with these providers.
    pub fn new<'a>(providers: impl IntoIterator<Item = &'a str>) -> MetricHandles {
        let attempts = providers
            .into_iter()
            .map(|p| {
                let child = |outcome| metrics::UPSTREAM_ATTEMPTS.with_label_values(&[p, outcome]);
                (p.to_string(), [child("ok"), child("failed")])
            })
            .collect();
        MetricHandles {
            series: Kept::default(),
            attempts,
        }
    }

    /// Runs `f` on the series of these labels, without taking a reference on it.
    pub fn with_series<R>(&self, labels: &Labels, f: impl FnOnce(&Series) -> R) -> R {
        let is = |s: &Series| s.is(labels);
        self.series
            .with(hash_of(labels), is, || Series::new(labels), f)
    }

    /// The series of these labels: from the map, or created and kept while there is
    /// room. Past [`MAX_SERIES`] (or on a hash collision) a series that is not kept:
    /// its children are then resolved from the labelled vectors on use, as before.
    pub fn series(&self, labels: &Labels) -> Arc<Series> {
        let is = |s: &Series| s.is(labels);
        self.series
            .kept(hash_of(labels), is, || Series::new(labels))
            .unwrap_or_else(|| Arc::new(Series::new(labels)))
    }

    /// How many label sets are kept.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no label set is kept yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Count one upstream attempt of `provider` (`ok` or `failed`).
    pub fn attempt(&self, provider: &str, failed: bool) {
        match self.attempts.get(provider) {
            Some(pair) => pair[usize::from(failed)].inc(),
            None => metrics::UPSTREAM_ATTEMPTS
                .with_label_values(&[provider, if failed { "failed" } else { "ok" }])
                .inc(),
        }
    }
}

/// Values kept by a hash of their labels, at most [`MAX_SERIES`], read without a lock:
/// the map is replaced whole when one is added (rare, and bounded), so a look-up
/// writes nothing shared. Used for the request series here and the settlement's
/// children (`policy::settle_metrics`).
#[derive(Debug)]
pub(crate) struct Kept<T> {
    map: ArcSwap<FxMap<u64, Arc<T>>>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            map: ArcSwap::default(),
        }
    }
}

impl<T> Kept<T> {
    /// Runs `f` on the value kept under `hash` (`is` tells a collision), kept now if
    /// there is room, else a value made for this call only.
    pub(crate) fn with<R>(
        &self,
        hash: u64,
        is: impl Fn(&T) -> bool,
        make: impl Fn() -> T,
        f: impl FnOnce(&T) -> R,
    ) -> R {
        let map = self.map.load();
        if let Some(v) = map.get(&hash).filter(|v| is(v)) {
            return f(v);
        }
        drop(map);
        match self.kept(hash, is, &make) {
            Some(v) => f(&v),
            None => f(&make()),
        }
    }

    /// The value kept under `hash`, added while there is room; `None` past the bound
    /// or on a collision.
    pub(crate) fn kept(
        &self,
        hash: u64,
        is: impl Fn(&T) -> bool,
        make: impl Fn() -> T,
    ) -> Option<Arc<T>> {
        if let Some(v) = self.map.load().get(&hash) {
            return is(v).then(|| v.clone());
        }
        let mut kept = None;
        self.map.rcu(|map| {
            let mut map = FxMap::clone(map);
            if map.len() < MAX_SERIES || map.contains_key(&hash) {
                kept = Some(map.entry(hash).or_insert_with(|| Arc::new(make())).clone());
            }
            map
        });
        kept.filter(|v| is(v))
    }

    /// How many values are kept.
    pub(crate) fn len(&self) -> usize {
        self.map.load().len()
    }
}

/// One hash of every label (each string followed by a separator byte, so that
/// `("ab", "c")` and `("a", "bc")` differ).
fn hash_of(l: &Labels) -> u64 {
    // Fixed keys: the labels are configured names, not client input.
    let mut h = FxHasher::default();
    for part in [
        l.route,
        l.model,
        l.provider,
        l.variant,
        l.operation.unwrap_or("\u{0}"),
        l.system.unwrap_or("\u{0}"),
    ] {
        h.write(part.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

#[cfg(test)]
#[path = "metric_handles_tests.rs"]
mod tests;
