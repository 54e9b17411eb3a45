//! Counters and histograms that every thread writes in a slot of its own, summed when
//! they are scraped.
//!
//! The `prometheus` crate's counters and histograms are atomics all threads share: a
//! histogram's `observe` makes four atomic read-modify-writes (its shard index, a
//! bucket, the sum, the count) on cache lines the other worker thread wrote last, and
//! a request observes about eight histograms and counts itself once. Each such
//! operation waits for the line to come over from the other core. Here a thread adds
//! to a slot of its own: its own cache lines (each slot is aligned to 128 bytes, two
//! lines, so that neither a neighbour nor the prefetcher's pair shares it), created
//! the first time that thread records. A scrape reads every slot and sums them.
//!
//! The first [`PRIVATE`] threads to record each take a slot of their own, which only
//! they ever write (a thread's number is never given again): an addition there is a
//! load and a store, not a `lock`-prefixed read-modify-write (about 20 cycles each,
//! some 25 a request). Threads after those share one last slot, where additions stay
//! atomic. A scrape is not a snapshot: an observation made during it may be counted
//! in a bucket and not yet in the sum; the count is the sum of the buckets, so
//! `_count` always equals the `+Inf` bucket.
//!
//! Registered in the default registry like any collector, and exposed exactly like
//! the crate's vectors: one family per vector, one metric per label set.

use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

use crate::fx_hash::{FxHasher, FxMap};

/// Threads with a slot of their own.
pub const PRIVATE: usize = 16;

/// Slots per counter or histogram: the private ones and the one later threads share.
pub const SLOTS: usize = PRIVATE + 1;

/// Most bucket bounds a histogram may have (the `+Inf` bucket comes on top).
pub const MAX_BOUNDS: usize = 24;

/// The calling thread's slot, and whether it is the slot's only writer.
fn slot_index() -> (usize, bool) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: (usize, bool) = match NEXT.fetch_add(1, Relaxed) {
            n if n < PRIVATE => (n, true),
            _ => (PRIVATE, false),
        };
    }
    SLOT.with(|s| *s)
}

/// A cell of a slot, with how it may be written.
#[derive(Clone, Copy)]
struct Cell<'a> {
    cell: &'a AtomicU64,
    /// The calling thread is the cell's only writer: no read-modify-write needed (a
    /// scrape's load still sees a whole value).
    private: bool,
}

impl Cell<'_> {
    fn add(self, n: u64) {
        if self.private {
            self.cell
                .store(self.cell.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            self.cell.fetch_add(n, Relaxed);
        }
    }

    /// Adds `v` to the `f64` whose bits the cell holds.
    fn add_f64(self, v: f64) {
        let plus = |old: u64| (f64::from_bits(old) + v).to_bits();
        if self.private {
            self.cell.store(plus(self.cell.load(Relaxed)), Relaxed);
        } else {
            let _ = self
                .cell
                .fetch_update(Relaxed, Relaxed, |old| Some(plus(old)));
        }
    }
}

/// One thread's share of a histogram.
#[repr(align(128))]
struct HistogramSlot {
    /// Observations per bucket, not cumulative; the last one is `+Inf`.
    counts: [AtomicU64; MAX_BOUNDS + 1],
    /// The sum of the observations, as `f64` bits.
    sum: AtomicU64,
}

impl HistogramSlot {
    fn new() -> HistogramSlot {
        HistogramSlot {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }
}

/// One thread's share of a counter.
#[repr(align(128))]
struct CounterSlot(AtomicU64);

/// The slots of one series, each created by the first thread that writes it.
struct Slots<T>([OnceLock<Box<T>>; SLOTS]);

impl<T> Slots<T> {
    fn new() -> Slots<T> {
        Slots(std::array::from_fn(|_| OnceLock::new()))
    }

    /// The calling thread's slot, and whether it is the slot's only writer.
    fn mine(&self, make: impl FnOnce() -> T) -> (&T, bool) {
        let (index, private) = slot_index();
        (self.0[index].get_or_init(|| Box::new(make())), private)
    }

    fn written(&self) -> impl Iterator<Item = &T> {
        self.0.iter().filter_map(|s| s.get().map(|b| &**b))
    }
}

struct HistogramCore {
    bounds: Arc<[f64]>,
    slots: Slots<HistogramSlot>,
    labels: Vec<LabelPair>,
}

/// A histogram series (one label set). Cloning it shares the series.
#[derive(Clone)]
pub struct ThreadHistogram(Arc<HistogramCore>);

impl std::fmt::Debug for ThreadHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadHistogram")
            .field("count", &self.sample_count())
            .finish()
    }
}

impl ThreadHistogram {
    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let core = &*self.0;
        let bucket = core
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(core.bounds.len());
        let (slot, private) = core.slots.mine(HistogramSlot::new);
        Cell {
            cell: &slot.counts[bucket],
            private,
        }
        .add(1);
        Cell {
            cell: &slot.sum,
            private,
        }
        .add_f64(v);
    }

    /// Observations so far, over all threads.
    pub fn sample_count(&self) -> u64 {
        self.bucket_counts().iter().sum()
    }

    /// The sum of the observations so far, over all threads.
    pub fn sample_sum(&self) -> f64 {
        (self.0.slots.written())
            .map(|s| f64::from_bits(s.sum.load(Relaxed)))
            .sum()
    }

    /// Observations per bucket (not cumulative; the last is `+Inf`), over all threads.
    fn bucket_counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.0.bounds.len() + 1];
        for slot in self.0.slots.written() {
            for (total, c) in counts.iter_mut().zip(&slot.counts) {
                *total += c.load(Relaxed);
            }
        }
        counts
    }

    fn metric(&self) -> proto::Metric {
        let mut h = proto::Histogram::default();
        let counts = self.bucket_counts();
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.0.bounds.len());
        for (bound, count) in self.0.bounds.iter().zip(&counts) {
            cumulative += count;
            let mut b = proto::Bucket::default();
            b.set_upper_bound(*bound);
            b.set_cumulative_count(cumulative);
            buckets.push(b);
        }
        h.set_bucket(buckets);
        h.set_sample_count(counts.iter().sum());
        h.set_sample_sum(self.sample_sum());
        let mut m = proto::Metric::default();
        m.set_label(self.0.labels.clone());
        m.set_histogram(h);
        m
    }
}

pub struct CounterCore {
    slots: Slots<CounterSlot>,
    labels: Vec<LabelPair>,
}

impl CounterCore {
    fn new(labels: Vec<LabelPair>) -> Arc<CounterCore> {
        Arc::new(CounterCore {
            slots: Slots::new(),
            labels,
        })
    }

    fn slot(&self) -> Cell<'_> {
        let (slot, private) = self.slots.mine(|| CounterSlot(AtomicU64::new(0)));
        Cell {
            cell: &slot.0,
            private,
        }
    }

    fn metric(&self, value: f64) -> proto::Metric {
        let mut c = proto::Counter::default();
        c.set_value(value);
        let mut m = proto::Metric::default();
        m.set_label(self.labels.clone());
        m.set_counter(c);
        m
    }
}

/// A counter series (one label set). Cloning it shares the series.
#[derive(Clone)]
pub struct ThreadCounter(Arc<CounterCore>);

impl std::fmt::Debug for ThreadCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadCounter")
            .field("value", &self.get())
            .finish()
    }
}

impl ThreadCounter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.slot().add(n);
    }

    /// The count so far, over all threads.
    pub fn get(&self) -> u64 {
        self.0.slots.written().map(|s| s.0.load(Relaxed)).sum()
    }

    fn metric(&self) -> proto::Metric {
        self.0.metric(self.get() as f64)
    }
}

/// A counter of fractions (spend in USD), one label set. Cloning it shares the series.
#[derive(Clone)]
pub struct ThreadFloatCounter(Arc<CounterCore>);

impl std::fmt::Debug for ThreadFloatCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadFloatCounter")
            .field("value", &self.get())
            .finish()
    }
}

impl ThreadFloatCounter {
    /// Adds `v`; a counter never goes down, so a negative or NaN `v` is ignored.
    pub fn inc_by(&self, v: f64) {
        if v > 0.0 {
            self.0.slot().add_f64(v);
        }
    }

    /// The total so far, over all threads.
    pub fn get(&self) -> f64 {
        (self.0.slots.written())
            .map(|s| f64::from_bits(s.0.load(Relaxed)))
            .sum()
    }

    fn metric(&self) -> proto::Metric {
        self.0.metric(self.get())
    }
}

/// The series of one metric name by label values, as the crate's `*Vec` types.
struct Family<S> {
    desc: Desc,
    /// Hash of the label values → the series with those values (a list, for the
    /// rare collision).
    children: RwLock<FxMap<u64, Vec<Child<S>>>>,
}

/// A series and its label values.
type Child<S> = (Vec<String>, S);

fn hash_values(values: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    for v in values {
        h.write(v.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

impl<S: Clone> Family<S> {
    fn new(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<Family<S>> {
        let names = labels.iter().map(|l| l.to_string()).collect();
        Ok(Family {
            desc: Desc::new(
                name.to_string(),
                help.to_string(),
                names,
                Default::default(),
            )?,
            children: RwLock::default(),
        })
    }

    /// The series of `values` (in the order the labels were declared), created on
    /// first use by `make` with its label pairs. The caller bounds the label values.
    fn series(&self, values: &[&str], make: impl FnOnce(Vec<LabelPair>) -> S) -> S {
        // Every caller passes a constant list, one value per declared label.
        debug_assert_eq!(values.len(), self.desc.variable_labels.len());
        let hash = hash_values(values);
        let same = |(k, _): &&Child<S>| k.iter().eq(values.iter());
        let children = self.children.read().unwrap_or_else(|e| e.into_inner());
        if let Some((_, s)) = children.get(&hash).and_then(|l| l.iter().find(same)) {
            return s.clone();
        }
        drop(children);
        let mut children = self.children.write().unwrap_or_else(|e| e.into_inner());
        let list = children.entry(hash).or_default();
        if let Some((_, s)) = list.iter().find(same) {
            return s.clone();
        }
        let series = make(self.label_pairs(values));
        let key = values.iter().map(|v| v.to_string()).collect();
        list.push((key, series.clone()));
        series
    }

    /// Label pairs sorted by name, as the crate's vectors expose them.
    fn label_pairs(&self, values: &[&str]) -> Vec<LabelPair> {
        let mut pairs: Vec<LabelPair> = (self.desc.variable_labels.iter())
            .zip(values)
            .map(|(name, value)| {
                let mut p = LabelPair::default();
                p.set_name(name.clone());
                p.set_value(value.to_string());
                p
            })
            .collect();
        pairs.sort_by(|a, b| a.name().cmp(b.name()));
        pairs
    }

    fn family(&self, kind: MetricType, metric: impl Fn(&S) -> proto::Metric) -> MetricFamily {
        let mut f = MetricFamily::default();
        f.set_name(self.desc.fq_name.clone());
        f.set_help(self.desc.help.clone());
        f.set_field_type(kind);
        let children = self.children.read().unwrap_or_else(|e| e.into_inner());
        let metrics = children.values().flatten().map(|(_, s)| metric(s));
        f.set_metric(metrics.collect());
        f
    }
}

/// A histogram by label values, like `prometheus::HistogramVec`. Cloning it shares
/// the vector.
#[derive(Clone)]
pub struct ThreadHistogramVec {
    family: Arc<Family<ThreadHistogram>>,
    bounds: Arc<[f64]>,
}

impl ThreadHistogramVec {
    /// A vector with these bucket bounds (ascending, at most [`MAX_BOUNDS`]).
    pub fn new(
        name: &str,
        help: &str,
        bounds: &[f64],
        labels: &[&str],
    ) -> prometheus::Result<ThreadHistogramVec> {
        let ascending = bounds.windows(2).all(|w| w[0] < w[1]);
        if bounds.len() > MAX_BOUNDS || !ascending {
            let msg = format!("{name}: up to {MAX_BOUNDS} ascending bucket bounds");
            return Err(prometheus::Error::Msg(msg));
        }
        Ok(ThreadHistogramVec {
            family: Arc::new(Family::new(name, help, labels)?),
            bounds: bounds.into(),
        })
    }

    /// The series of these label values, created on first use.
    pub fn with_label_values(&self, values: &[&str]) -> ThreadHistogram {
        self.family.series(values, |labels| {
            ThreadHistogram(Arc::new(HistogramCore {
                bounds: self.bounds.clone(),
                slots: Slots::new(),
                labels,
            }))
        })
    }
}

impl Collector for ThreadHistogramVec {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.family.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        vec![(self.family).family(MetricType::HISTOGRAM, ThreadHistogram::metric)]
    }
}

/// A counter by label values, like `prometheus::IntCounterVec` (`S` =
/// [`ThreadCounter`]) or `CounterVec` (`S` = [`ThreadFloatCounter`]). Cloning it
/// shares the vector.
#[derive(Clone)]
pub struct CounterVecOf<S> {
    family: Arc<Family<S>>,
}

/// Integer counters by label values.
pub type ThreadCounterVec = CounterVecOf<ThreadCounter>;
/// Fractional counters by label values.
pub type ThreadFloatCounterVec = CounterVecOf<ThreadFloatCounter>;

/// What a counter vector needs of its series type.
pub trait CounterSeries: Clone + Send + Sync + 'static {
    fn from_core(core: Arc<CounterCore>) -> Self;
    fn metric(&self) -> proto::Metric;
}

impl CounterSeries for ThreadCounter {
    fn from_core(core: Arc<CounterCore>) -> Self {
        ThreadCounter(core)
    }
    fn metric(&self) -> proto::Metric {
        ThreadCounter::metric(self)
    }
}

impl CounterSeries for ThreadFloatCounter {
    fn from_core(core: Arc<CounterCore>) -> Self {
        ThreadFloatCounter(core)
    }
    fn metric(&self) -> proto::Metric {
        ThreadFloatCounter::metric(self)
    }
}

impl<S: CounterSeries> CounterVecOf<S> {
    pub fn new(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<CounterVecOf<S>> {
        Ok(CounterVecOf {
            family: Arc::new(Family::new(name, help, labels)?),
        })
    }

    /// The series of these label values, created on first use.
    pub fn with_label_values(&self, values: &[&str]) -> S {
        (self.family).series(values, |labels| S::from_core(CounterCore::new(labels)))
    }
}

impl<S: CounterSeries> Collector for CounterVecOf<S> {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.family.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        vec![(self.family).family(MetricType::COUNTER, S::metric)]
    }
}

/// A gauge a request raises and lowers (requests in flight): per-thread slots of a
/// signed value, summed when read.
pub struct ThreadGauge {
    desc: Desc,
    slots: Arc<Slots<CounterSlot>>,
}

impl Clone for ThreadGauge {
    fn clone(&self) -> ThreadGauge {
        ThreadGauge {
            desc: self.desc.clone(),
            slots: self.slots.clone(),
        }
    }
}

impl ThreadGauge {
    pub fn new(name: &str, help: &str) -> prometheus::Result<ThreadGauge> {
        let desc = Desc::new(name.into(), help.into(), vec![], Default::default())?;
        Ok(ThreadGauge {
            desc,
            slots: Arc::new(Slots::new()),
        })
    }

    fn slot(&self) -> Cell<'_> {
        let (slot, private) = self.slots.mine(|| CounterSlot(AtomicU64::new(0)));
        Cell {
            cell: &slot.0,
            private,
        }
    }

    pub fn inc(&self) {
        self.slot().add(1);
    }

    /// Lowers by one (adds 2^64 - 1: the slot wraps); another thread's slot may go
    /// below zero, the sum does not.
    pub fn dec(&self) {
        self.slot().add(u64::MAX);
    }

    /// The value over all threads (two's complement: slots wrap, the sum does not).
    pub fn get(&self) -> i64 {
        let sum = (self.slots.written()).fold(0u64, |a, s| a.wrapping_add(s.0.load(Relaxed)));
        sum as i64
    }
}

impl Collector for ThreadGauge {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut g = proto::Gauge::default();
        g.set_value(self.get() as f64);
        let mut m = proto::Metric::default();
        m.set_gauge(g);
        let mut f = MetricFamily::default();
        f.set_name(self.desc.fq_name.clone());
        f.set_help(self.desc.help.clone());
        f.set_field_type(MetricType::GAUGE);
        f.set_metric(vec![m]);
        vec![f]
    }
}

#[cfg(test)]
#[path = "thread_metrics_tests.rs"]
mod tests;
