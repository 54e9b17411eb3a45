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
