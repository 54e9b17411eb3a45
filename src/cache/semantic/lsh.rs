//! The approximate index of a large scope: random-hyperplane locality-sensitive
//! hashing (Charikar's SimHash) with multi-probe lookups (Lv et al., 2007).
//!
//! Each of [`TABLES`] tables hashes a vector to [`BITS`] sign bits, one per random
//! Gaussian hyperplane. Two unit vectors at angle `θ` agree on one bit with
//! probability `1 − θ/π`. A lookup visits, in every table, the query's bucket and
//! the [`BITS`] buckets one bit away, then compares only the rows found there
//! exactly. At similarity [`MIN_SIMILARITY`] (θ ≈ 25.8°) one table finds a row with
//! probability ≈ 0.38, so twelve tables miss it with probability ≈ 0.003; closer
//! rows are found more often. A semantic cache only needs neighbours above its
//! threshold, so the recall promise is exactly what it needs; a lookup with a lower
//! threshold scans the scope instead (see `super::SemanticIndex::lookup`).
//!
//! Why not a crate: `hnsw_rs` cannot delete (evicted and invalidated entries would
//! stay until a rebuild), `instant-distance` is built once and cannot insert, and
//! `usearch` is C++. LSH needs no training, inserts and deletes in `O(TABLES)`
//! bucket updates, and its buckets refer to the scope's existing `i8` rows, so an
//! entry costs `TABLES` ids and codes on top of its row.

use std::collections::HashMap;
use std::sync::Arc;

use super::dot_i8;

/// Hash tables per scope.
pub const TABLES: usize = 12;
/// Sign bits per table (so `2^BITS` buckets each).
pub const BITS: usize = 14;
/// The lowest threshold the recall promise (≥ 99 %) is made for.
pub const MIN_SIMILARITY: f32 = 0.9;

/// `TABLES × BITS` hyperplanes of one dimension count, row after row; the same for
/// every scope (deterministic), so they are made once per dimension count.
pub fn planes(dims: usize) -> Arc<[f32]> {
    let mut state = 0x853c_49e6_748f_ea9b_u64 ^ dims as u64;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        (x as f32 + 0.5) / (1u64 << 24) as f32
    };
    // Box–Muller: Gaussian coordinates make the hyperplanes' normals uniform on the
    // sphere, which the collision probability above assumes.
    (0..TABLES * BITS * dims)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
        })
        .collect()
}

/// The buckets of one scope's rows. Row ids are the scope's row positions, kept
/// in step with its `swap_remove`.
pub struct Lsh {
    dims: usize,
    planes: Arc<[f32]>,
    /// `(table << BITS) | code` → the rows in that bucket.
    buckets: HashMap<u32, Vec<u32>>,
    /// Each row's code in every table.
    codes: Vec<[u16; TABLES]>,
}

impl Lsh {
    /// Buckets for the existing `rows` (each `dims` long).
    pub fn build(dims: usize, planes: Arc<[f32]>, rows: &[i8]) -> Lsh {
        let mut lsh = Lsh {
            dims,
            planes,
            buckets: HashMap::new(),
            codes: Vec::with_capacity(rows.len() / dims.max(1)),
        };
        for row in rows.chunks_exact(dims) {
            lsh.push(row);
        }
        lsh
    }

    fn codes_of(&self, sign_of: impl Fn(&[f32]) -> bool) -> [u16; TABLES] {
        let mut codes = [0u16; TABLES];
        for (t, code) in codes.iter_mut().enumerate() {
            for b in 0..BITS {
                let at = (t * BITS + b) * self.dims;
                if sign_of(&self.planes[at..at + self.dims]) {
                    *code |= 1 << b;
                }
            }
        }
        codes
    }

    /// Adds the next row (its id is the number of rows before it).
    pub fn push(&mut self, row: &[i8]) {
        let id = self.codes.len() as u32;
        let codes = self.codes_of(|plane| dot_i8(plane, row) >= 0.0);
        for (t, &code) in codes.iter().enumerate() {
            self.buckets.entry(bucket(t, code)).or_default().push(id);
        }
        self.codes.push(codes);
    }

    /// Removes row `i`; the last row takes its id (as `Vec::swap_remove`).
    pub fn swap_remove(&mut self, i: usize) {
        let last = self.codes.len() - 1;
        let removed = self.codes.swap_remove(i);
        for (t, &code) in removed.iter().enumerate() {
            self.rename(bucket(t, code), i as u32, None);
        }
        if i != last {
            let moved = self.codes[i];
            for (t, &code) in moved.iter().enumerate() {
                self.rename(bucket(t, code), last as u32, Some(i as u32));
            }
        }
    }

    /// Replaces `from` by `to` in one bucket, or drops it.
    fn rename(&mut self, key: u32, from: u32, to: Option<u32>) {
        let Some(ids) = self.buckets.get_mut(&key) else {
            return;
        };
        if let Some(p) = ids.iter().position(|&id| id == from) {
            match to {
                Some(to) => ids[p] = to,
                None => {
                    ids.swap_remove(p);
                }
            }
        }
        if ids.is_empty() {
            self.buckets.remove(&key);
        }
    }

    /// The rows sharing a bucket with `query` (a unit vector), or one bit away, in
    /// any table: sorted, without repeats.
    pub fn candidates(&self, query: &[f32]) -> Vec<u32> {
        let codes = self.codes_of(|plane| super::dot(plane, query) >= 0.0);
        let mut out = Vec::new();
        for (t, &code) in codes.iter().enumerate() {
            let probes = std::iter::once(code).chain((0..BITS).map(|b| code ^ (1 << b)));
            for probe in probes {
                if let Some(ids) = self.buckets.get(&bucket(t, probe)) {
                    out.extend_from_slice(ids);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many rows the buckets hold.
    pub fn rows(&self) -> usize {
        self.codes.len()
    }
}

fn bucket(table: usize, code: u16) -> u32 {
    ((table as u32) << BITS) | u32::from(code)
}
