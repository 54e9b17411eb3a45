use super::*;

fn record(scope: u8, key: u8, vector: Vec<f32>, expires_ms: u64) -> Record {
    Record {
        scope: [scope; 32],
        key: [key; 32],
        expires_ms,
        route: Arc::from("r"),
        namespace: Arc::from(if key.is_multiple_of(2) {
            "team:a"
        } else {
            "team:b"
        }),
        vector: vector.into(),
    }
}

#[test]
fn the_best_match_above_the_threshold_within_the_scope() {
    let idx = SemanticIndex::new(100);
    idx.insert(&record(1, 1, vec![1.0, 0.0, 0.0], 1000), 0);
    idx.insert(&record(1, 2, vec![0.8, 0.6, 0.0], 1000), 0);
    idx.insert(&record(2, 3, vec![0.0, 1.0, 0.0], 1000), 0);
    let m = idx.lookup(&[1; 32], &[0.9, 0.43, 0.0], 0.9, 10).unwrap();
    assert_eq!(m.key, [2; 32]);
    assert!(m.similarity > 0.97);
    // Another scope's entry never matches, however close.
    assert!(idx.lookup(&[1; 32], &[0.0, 1.0, 0.0], 0.9, 10).is_none());
    // Unnormalised queries are normalised.
    assert_eq!(
        idx.lookup(&[1; 32], &[5.0, 0.0, 0.0], 0.99, 10)
            .unwrap()
            .key,
        [1; 32]
    );
    // Other dimensions are not comparable.
    assert!(idx.lookup(&[1; 32], &[1.0, 0.0], 0.5, 10).is_none());
    // Expired entries are not found.
    assert!(idx.lookup(&[1; 32], &[1.0, 0.0, 0.0], 0.5, 1000).is_none());
    assert_eq!(idx.len(), 3);
}

#[test]
fn the_index_is_bounded_and_drops_the_oldest() {
    let idx = SemanticIndex::new(3);
    for k in 0..10u8 {
        idx.insert(&record(1, k, vec![1.0, f32::from(k)], 1000), 0);
        assert!(idx.len() <= 3);
    }
    assert!(idx.lookup(&[1; 32], &[1.0, 9.0], 0.9999, 0).is_some());
    assert!(idx.lookup(&[1; 32], &[1.0, 0.0], 0.9999, 0).is_none());
    // The same record again is not a second entry.
    idx.insert(&record(1, 9, vec![1.0, 9.0], 1000), 0);
    assert_eq!(idx.len(), 3);
}

#[test]
fn removal_and_invalidation() {
    let idx = SemanticIndex::new(10);
    idx.insert(&record(1, 1, vec![1.0, 0.0], 1000), 0);
    idx.insert(&record(1, 2, vec![0.0, 1.0], 1000), 0);
    idx.insert(&record(1, 4, vec![0.7, 0.7], 1000), 0);
    idx.remove(&[1; 32], &[1; 32]);
    assert_eq!(idx.len(), 2);
    idx.invalidate(None, Some("team:a"));
    assert_eq!(idx.len(), 0);
    assert!(idx.is_empty());
}

#[test]
fn dot_matches_the_naive_sum() {
    let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.1).collect();
    let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.01).collect();
    let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!((dot(&a, &b) - naive).abs() < 1e-3);
}

#[test]
fn quantised_rows_keep_the_similarity_within_a_hundredth() {
    let mut state = 7u64;
    let mut next = || {
        let v: Vec<f32> = (0..384)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        normalized(&v).unwrap()
    };
    for _ in 0..50 {
        let (a, b) = (next(), next());
        // A pair with a known similarity: b mixed into a.
        let mixed: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.9 * x + 0.3 * y).collect();
        let mixed = normalized(&mixed).unwrap();
        let (row, step) = quantized(&mixed);
        let exact = dot(&a, &mixed);
        let approx = dot_i8(&a, &row) * step;
        assert!((exact - approx).abs() < 0.01, "{exact} vs {approx}");
    }
}

/// Deterministic Gaussian-ish unit vectors (xorshift64*, sum of uniforms).
struct Gen(u64);

impl Gen {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    }

    fn unit(&mut self, dims: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dims)
            .map(|_| (0..4).map(|_| self.uniform()).sum::<f32>() - 2.0)
            .collect();
        normalized(&v).unwrap()
    }

    /// A unit vector at similarity ≈ `s` to the unit vector `x`.
    fn near(&mut self, x: &[f32], s: f32) -> Vec<f32> {
        let noise = self.unit(x.len());
        let along = dot(&noise, x);
        let ortho: Vec<f32> = noise.iter().zip(x).map(|(n, x)| n - along * x).collect();
        let ortho = normalized(&ortho).unwrap();
        let t = (1.0 - s * s).sqrt();
        x.iter().zip(&ortho).map(|(x, o)| s * x + t * o).collect()
    }
}

fn keyed(i: usize) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&(i as u64).to_le_bytes());
    key
}

#[test]
fn above_the_ann_size_the_buckets_find_the_true_nearest_neighbour() {
    const DIMS: usize = 256;
    const ENTRIES: usize = 4_000;
    const { assert!(ENTRIES > 4 * ANN_MIN_ENTRIES) };
    let idx = SemanticIndex::new(ENTRIES);
    let mut gen = Gen(0x5eed_1234_abcd_0001);
    let vectors: Vec<Vec<f32>> = (0..ENTRIES).map(|_| gen.unit(DIMS)).collect();
    for (i, v) in vectors.iter().enumerate() {
        let mut r = record(1, 0, v.clone(), u64::MAX);
        r.key = keyed(i);
        idx.insert(&r, 0);
    }
    // Removals move rows (swap_remove): the buckets must follow them.
    let removed: Vec<usize> = (0..ENTRIES).step_by(7).collect();
    for &i in &removed {
        idx.remove(&[1; 32], &keyed(i));
    }
    assert_eq!(idx.len(), ENTRIES - removed.len());
    let (mut asked, mut found) = (0, 0);
    for q in 0..600 {
        let target = (q * 13 + 1) % ENTRIES;
        let s = 0.9 + 0.09 * gen.uniform();
        let query = gen.near(&vectors[target], s);
        let exact = idx.lookup_exact(&[1; 32], &query, 0.9, 1);
        let ann = idx.lookup(&[1; 32], &query, 0.9, 1);
        if target.is_multiple_of(7) {
            // A removed entry is never found, by either search.
            assert!(exact.is_none_or(|m| m.key != keyed(target)));
            assert!(ann.is_none_or(|m| m.key != keyed(target)));
        }
        if let Some(exact) = exact {
            asked += 1;
            if ann.map(|m| m.key) == Some(exact.key) {
                found += 1;
            }
        } else {
            assert!(ann.is_none());
        }
    }
    eprintln!("recall at similarity 0.90-0.99: {found}/{asked}");
    assert!(asked > 400, "{asked} queries had a neighbour above 0.9");
    assert!(
        found * 100 >= asked * 99,
        "recall {found}/{asked} is below 99 %"
    );
    // Unrelated questions find nothing, and a lower threshold is served by a scan.
    let unrelated = gen.unit(DIMS);
    assert!(idx.lookup(&[1; 32], &unrelated, 0.9, 1).is_none());
    let low = idx.lookup(&[1; 32], &vectors[1], 0.5, 1).unwrap();
    assert_eq!(low.key, keyed(1));
}

#[test]
fn a_scope_shrinking_below_half_the_ann_size_drops_its_buckets_and_still_finds() {
    let idx = SemanticIndex::new(4 * ANN_MIN_ENTRIES);
    let mut gen = Gen(7);
    let vectors: Vec<Vec<f32>> = (0..ANN_MIN_ENTRIES).map(|_| gen.unit(64)).collect();
    for (i, v) in vectors.iter().enumerate() {
        let mut r = record(1, 0, v.clone(), u64::MAX);
        r.key = keyed(i);
        idx.insert(&r, 0);
    }
    let has_lsh = |idx: &SemanticIndex| {
        idx.inner.read().unwrap().scopes[&[1; 32]]
            .lsh
            .as_ref()
            .map(|l| l.rows())
    };
    assert_eq!(has_lsh(&idx), Some(ANN_MIN_ENTRIES));
    for i in 0..=ANN_MIN_ENTRIES / 2 {
        idx.remove(&[1; 32], &keyed(i));
    }
    assert_eq!(has_lsh(&idx), None);
    let last = ANN_MIN_ENTRIES - 1;
    assert_eq!(
        idx.lookup(&[1; 32], &vectors[last], 0.95, 1).unwrap().key,
        keyed(last)
    );
}
