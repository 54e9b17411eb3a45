//! Semantic lookup: a question close enough in meaning to one answered before gets
//! that answer.
//!
//! - `text`: what is embedded (the last user turn plus the configured context; longer
//!   conversations are looked up exactly only) and the *scope* a match must share
//!   (route, cache version, namespace, instructions, tools and every parameter);
//! - `embed`: the call to the configured embeddings route, under its own timeout;
//! - [`SemanticIndex`]: the local index, bounded in entries (oldest dropped first).
//!   Stored vectors are unit rows quantised to `i8` with one scale each (a quarter
//!   of the memory of `f32`, and a scan is bound by memory bandwidth, so a quarter
//!   of the time too); the query stays `f32`. The similarity is off by well under
//!   0.01 from the exact one. A scope below [`ANN_MIN_ENTRIES`] rows is scanned
//!   whole (exact search is faster there); a larger one also keeps `lsh` buckets,
//!   and a lookup compares only the rows the buckets name (≥ 99 % recall of a
//!   neighbour at similarity ≥ `lsh::MIN_SIMILARITY`; lower thresholds scan).
//!   With Redis, records are also appended to a Redis stream that every replica
//!   reads into its own index (see `super::redis`).
//!
//! A match only names an exact entry (its key); the answer itself is fetched from the
//! store, so an entry that expired or was invalidated is a miss there and is dropped
//! from the index.

pub mod embed;
pub mod lsh;
pub mod text;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use super::metrics;

/// One semantic entry: the vector of a question, and the exact entry answering it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub scope: [u8; 32],
    pub key: [u8; 32],
    /// Unix milliseconds after which the answer is gone.
    pub expires_ms: u64,
    pub route: Arc<str>,
    pub namespace: Arc<str>,
    pub vector: Arc<[f32]>,
}

struct Meta {
    key: [u8; 32],
    expires_ms: u64,
    route: Arc<str>,
    namespace: Arc<str>,
}

/// Scopes with at least this many rows keep `lsh` buckets and are searched through
/// them. Measured with `benches/cache.rs` (`semantic_lookup/{exact,ann}`, 1536
/// floats): a scan costs ~0.15 µs a row, a bucket lookup ~19 µs at 256 rows (most
/// of it hashing the query), so they break even near 128 rows; below, a whole scan
/// is faster and needs no buckets.
pub const ANN_MIN_ENTRIES: usize = 128;

/// The entries of one scope: metadata, scales and vectors in parallel, vectors as
/// one contiguous array of `dims`-long quantised rows (a linear scan is then cache
/// friendly and vectorised by the compiler).
struct Scope {
    dims: usize,
    meta: Vec<Meta>,
    /// Row `i` is `rows[i * dims..]` times `scales[i]`.
    rows: Vec<i8>,
    scales: Vec<f32>,
    /// Buckets over `rows`, while the scope is large (built at `ANN_MIN_ENTRIES`,
    /// dropped below half of it).
    lsh: Option<lsh::Lsh>,
}

impl Scope {
    fn new(dims: usize) -> Scope {
        Scope {
            dims,
            meta: Vec::new(),
            rows: Vec::new(),
            scales: Vec::new(),
            lsh: None,
        }
    }

    fn position(&self, key: &[u8; 32]) -> Option<usize> {
        self.meta.iter().position(|m| &m.key == key)
    }

    fn swap_remove(&mut self, i: usize) {
        let last = self.meta.len() - 1;
        if i != last {
            let (head, tail) = self.rows.split_at_mut(last * self.dims);
            head[i * self.dims..(i + 1) * self.dims].copy_from_slice(&tail[..self.dims]);
        }
        self.rows.truncate(last * self.dims);
        self.meta.swap_remove(i);
        self.scales.swap_remove(i);
        if self.meta.len() < ANN_MIN_ENTRIES / 2 {
            self.lsh = None;
        } else if let Some(lsh) = &mut self.lsh {
            lsh.swap_remove(i);
        }
    }

    /// Appends a quantised row (and its buckets, building them when the scope has
    /// just grown large enough).
    fn push(&mut self, row: &[i8], scale: f32, meta: Meta, planes: impl FnOnce() -> Arc<[f32]>) {
        self.rows.extend_from_slice(row);
        self.scales.push(scale);
        self.meta.push(meta);
        match &mut self.lsh {
            Some(lsh) => lsh.push(row),
            None if self.meta.len() >= ANN_MIN_ENTRIES => {
                self.lsh = Some(lsh::Lsh::build(self.dims, planes(), &self.rows));
            }
            None => {}
        }
    }

    /// The best live row at or above `threshold` among `rows` (all when `None`).
    fn best(
        &self,
        query: &[f32],
        threshold: f32,
        now_ms: u64,
        rows: Option<&[u32]>,
    ) -> Option<Match> {
        let mut best: Option<Match> = None;
        let mut consider = |i: usize| {
            let meta = &self.meta[i];
            if meta.expires_ms <= now_ms {
                return;
            }
            let row = &self.rows[i * self.dims..(i + 1) * self.dims];
            let similarity = dot_i8(query, row) * self.scales[i];
            if similarity >= threshold && best.is_none_or(|b| similarity > b.similarity) {
                best = Some(Match {
                    key: meta.key,
                    similarity,
                });
            }
        };
        match rows {
            Some(ids) => ids.iter().for_each(|&i| consider(i as usize)),
            None => (0..self.meta.len()).for_each(consider),
        }
        best
    }
}

#[derive(Default)]
struct Inner {
    scopes: HashMap<[u8; 32], Scope>,
    /// The LSH hyperplanes per dimension count, shared by every large scope.
    planes: HashMap<usize, Arc<[f32]>>,
    /// Insertion order, for dropping the oldest when full (may name removed entries).
    order: VecDeque<([u8; 32], [u8; 32])>,
    len: usize,
}

impl Inner {
    fn remove(&mut self, scope: &[u8; 32], key: &[u8; 32]) -> bool {
        let Some(s) = self.scopes.get_mut(scope) else {
            return false;
        };
        let Some(i) = s.position(key) else {
            return false;
        };
        s.swap_remove(i);
        if s.meta.is_empty() {
            self.scopes.remove(scope);
        }
        self.len -= 1;
        true
    }

    fn purge_expired(&mut self, now_ms: u64) {
        let mut removed = 0;
        self.scopes.retain(|_, s| {
            let mut i = 0;
            while i < s.meta.len() {
                if s.meta[i].expires_ms <= now_ms {
                    s.swap_remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
            !s.meta.is_empty()
        });
        self.len -= removed;
    }
}

/// The bounded local index.
pub struct SemanticIndex {
    inner: RwLock<Inner>,
    max_entries: usize,
}

/// A match: the exact entry's key and how similar its question was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub key: [u8; 32],
    pub similarity: f32,
}

impl SemanticIndex {
    pub fn new(max_entries: usize) -> SemanticIndex {
        SemanticIndex {
            inner: RwLock::new(Inner::default()),
            max_entries: max_entries.max(1),
        }
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.len).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a record (again: no-op); drops expired entries, then the oldest, when full.
    pub fn insert(&self, r: &Record, now_ms: u64) {
        let Some(unit) = normalized(&r.vector) else {
            return;
        };
        if r.expires_ms <= now_ms {
            return;
        }
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        let (row, scale) = quantized(&unit);
        let dims = unit.len();
        let planes = inner
            .planes
            .entry(dims)
            .or_insert_with(|| lsh::planes(dims))
            .clone();
        let scope = inner
            .scopes
            .entry(r.scope)
            .or_insert_with(|| Scope::new(dims));
        // Another embeddings model (other dimensions) cannot be compared: the newer
        // model's vectors replace the scope's.
        if scope.dims != unit.len() {
            let dropped = scope.meta.len();
            *scope = Scope::new(dims);
            inner.len -= dropped;
        }
        let Some(scope) = inner.scopes.get_mut(&r.scope) else {
            return;
        };
        if scope.position(&r.key).is_some() {
            return;
        }
        let meta = Meta {
            key: r.key,
            expires_ms: r.expires_ms,
            route: r.route.clone(),
            namespace: r.namespace.clone(),
        };
        scope.push(&row, scale, meta, || planes);
        inner.len += 1;
        inner.order.push_back((r.scope, r.key));
        if inner.len > self.max_entries {
            inner.purge_expired(now_ms);
        }
        while inner.len > self.max_entries {
            let Some((s, k)) = inner.order.pop_front() else {
                break;
            };
            inner.remove(&s, &k);
        }
        // The order queue names removed entries too; keep it proportional.
        if inner.order.len() > 2 * self.max_entries + 16 {
            let live: std::collections::HashSet<([u8; 32], [u8; 32])> = inner
                .scopes
                .iter()
                .flat_map(|(s, sc)| sc.meta.iter().map(move |m| (*s, m.key)))
                .collect();
            inner.order.retain(|p| live.contains(p));
        }
        metrics::SEMANTIC_ENTRIES.set(inner.len as i64);
    }

    /// The most similar live entry of `scope` at or above `threshold`: through the
    /// scope's LSH buckets when it has them and the threshold is one they promise
    /// recall for, else by scanning the scope.
    pub fn lookup(
        &self,
        scope: &[u8; 32],
        vector: &[f32],
        threshold: f32,
        now_ms: u64,
    ) -> Option<Match> {
        self.search(scope, vector, threshold, now_ms, true)
    }

    /// As [`Self::lookup`], always scanning the whole scope (the reference the
    /// approximate search is measured against).
    pub fn lookup_exact(
        &self,
        scope: &[u8; 32],
        vector: &[f32],
        threshold: f32,
        now_ms: u64,
    ) -> Option<Match> {
        self.search(scope, vector, threshold, now_ms, false)
    }

    /// Whether a lookup in a scope this index may hold scans many rows (worth
    /// moving off a request's worker thread).
    pub fn may_scan_long(&self, threshold: f32, rows: usize) -> bool {
        self.len() > rows && threshold < lsh::MIN_SIMILARITY
    }

    fn search(
        &self,
        scope: &[u8; 32],
        vector: &[f32],
        threshold: f32,
        now_ms: u64,
        approximate: bool,
    ) -> Option<Match> {
        let query = normalized(vector)?;
        let inner = self.inner.read().ok()?;
        let s = inner.scopes.get(scope)?;
        if s.dims != query.len() {
            return None;
        }
        match &s.lsh {
            Some(lsh) if approximate && threshold >= lsh::MIN_SIMILARITY => {
                s.best(&query, threshold, now_ms, Some(&lsh.candidates(&query)))
            }
            _ => s.best(&query, threshold, now_ms, None),
        }
    }

    /// Drops one entry (its answer is gone from the store).
    pub fn remove(&self, scope: &[u8; 32], key: &[u8; 32]) {
        if let Ok(mut inner) = self.inner.write() {
            inner.remove(scope, key);
            metrics::SEMANTIC_ENTRIES.set(inner.len as i64);
        }
    }

    /// Drops every entry, or those of one route and/or namespace.
    pub fn invalidate(&self, route: Option<&str>, namespace: Option<&str>) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        let mut removed = 0;
        inner.scopes.retain(|_, s| {
            let mut i = 0;
            while i < s.meta.len() {
                let m = &s.meta[i];
                if route.is_none_or(|r| &*m.route == r)
                    && namespace.is_none_or(|n| &*m.namespace == n)
                {
                    s.swap_remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
            !s.meta.is_empty()
        });
        inner.len -= removed;
        if inner.len == 0 {
            inner.order.clear();
        }
        metrics::SEMANTIC_ENTRIES.set(inner.len as i64);
    }
}

/// `v` scaled to unit length; `None` for an empty, zero or non-finite vector.
fn normalized(v: &[f32]) -> Option<Vec<f32>> {
    let norm = dot(v, v).sqrt();
    if v.is_empty() || !norm.is_finite() || norm == 0.0 {
        return None;
    }
    Some(v.iter().map(|x| x / norm).collect())
}

/// A unit vector as `i8` steps of `max |x| / 127`, and that step.
fn quantized(unit: &[f32]) -> (Vec<i8>, f32) {
    let max = unit.iter().fold(0f32, |m, x| m.max(x.abs()));
    let step = max / 127.0;
    let row = unit
        .iter()
        .map(|x| (x / step).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (row, step)
}

/// `a · b` of an `f32` query and an `i8` row, in eight independent lanes.
pub fn dot_i8(a: &[f32], b: &[i8]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, &y)| x * f32::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * f32::from(y[i]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Dot product in eight independent lanes (the compiler keeps them in SIMD registers).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
