//! The metric children a settlement writes, tokens by kind and spend per (model,
//! provider, key), resolved once per label set and kept by the policy (as
//! `crate::metric_handles` keeps a request's series).
//!
//! A labelled look-up per write hashed four labels, took the vector's lock and cloned
//! the child; the lock word and the child's count are cache lines every worker thread
//! wrote, three to six times a request. The kept sets (`metric_handles::Kept`) are read through an `ArcSwap`
//! (replaced whole when a set is added), so finding one writes nothing shared.
//!
//! Bounded: the labels are an upstream model named in the configuration or `other`, a
//! configured provider and a configured key name, and at most
//! `metric_handles::MAX_SERIES` sets are kept (past it a settlement resolves its
//! children the old way).

use std::hash::Hasher;
use std::sync::OnceLock;

use super::metrics::{SPEND_USD, TOKENS};
use crate::fx_hash::FxHasher;
use crate::metric_handles::Kept;
use crate::thread_metrics::{ThreadCounter, ThreadFloatCounter};

/// The `kind` label of `tollgate_tokens_total`, in the order of [`SettleSeries::tokens`].
pub(crate) const KINDS: [&str; 5] = ["input", "cache_read", "cache_write", "output", "reasoning"];

/// The children of one (model, provider, key), each created on first use.
pub(crate) struct SettleSeries {
    labels: [String; 3],
    tokens: [OnceLock<Option<ThreadCounter>>; 5],
    spend: OnceLock<Option<ThreadFloatCounter>>,
}

impl SettleSeries {
    fn new(labels: [&str; 3]) -> SettleSeries {
        SettleSeries {
            labels: labels.map(str::to_string),
            tokens: Default::default(),
            spend: OnceLock::new(),
        }
    }

    fn is(&self, labels: [&str; 3]) -> bool {
        self.labels.iter().zip(labels).all(|(a, b)| a == b)
    }

    /// Adds `n` tokens of `KINDS[kind]`.
    pub(crate) fn tokens(&self, kind: usize, n: u64) {
        let [model, provider, key] = &self.labels;
        let child = self.tokens[kind].get_or_init(|| {
            let labels = [model.as_str(), provider, key, KINDS[kind]];
            TOKENS.as_ref().map(|v| v.with_label_values(&labels))
        });
        if let Some(c) = child {
            c.inc_by(n);
        }
    }

    /// Adds `usd` of spend.
    pub(crate) fn spend(&self, usd: f64) {
        let [model, provider, key] = &self.labels;
        let child = self.spend.get_or_init(|| {
            let labels = [model.as_str(), provider, key];
            SPEND_USD.as_ref().map(|v| v.with_label_values(&labels))
        });
        if let Some(c) = child {
            c.inc_by(usd);
        }
    }
}

/// The kept label sets of one policy.
#[derive(Default)]
pub(crate) struct SettleMetrics {
    sets: Kept<SettleSeries>,
}

impl SettleMetrics {
    /// Runs `f` on the children of `[model, provider, key]`.
    pub(crate) fn with<R>(&self, labels: [&str; 3], f: impl FnOnce(&SettleSeries) -> R) -> R {
        let is = |s: &SettleSeries| s.is(labels);
        self.sets
            .with(hash_of(labels), is, || SettleSeries::new(labels), f)
    }

    /// How many label sets are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }
}

/// One hash of the labels, each followed by a separator byte.
fn hash_of(labels: [&str; 3]) -> u64 {
    // Fixed keys: the labels are configured names, not client input.
    let mut h = FxHasher::default();
    for part in labels {
        h.write(part.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_total(labels: [&str; 4]) -> u64 {
        TOKENS
            .as_ref()
            .map_or(0, |v| v.with_label_values(&labels).get())
    }

    #[test]
    fn kept_children_count_into_the_labelled_vectors() {
        let m = SettleMetrics::default();
        let labels = ["sm-model", "sm-provider", "sm-key"];
        let before = tokens_total(["sm-model", "sm-provider", "sm-key", "output"]);
        m.with(labels, |s| s.tokens(3, 5));
        m.with(labels, |s| s.tokens(3, 2));
        assert_eq!(
            tokens_total(["sm-model", "sm-provider", "sm-key", "output"]),
            before + 7
        );
        m.with(labels, |s| s.spend(0.25));
        let spend = SPEND_USD
            .as_ref()
            .map_or(0.0, |v| v.with_label_values(&labels).get());
        assert!((spend - 0.25).abs() < 1e-9, "{spend}");
        // Labels that only differ in where one string ends are two sets.
        m.with(["sm-mode", "lsm-provider", "sm-key"], |s| s.tokens(0, 1));
        assert_eq!(m.len(), 2);
    }
}
