use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::*;

fn add(map: &Shards<AtomicI64>, key: &Arc<str>, n: i64) -> i64 {
    map.with_arc(key, |v| v.fetch_add(n, Ordering::AcqRel) + n)
}

#[test]
fn an_arc_key_and_a_plain_key_reach_the_same_value() {
    let map = Shards::<AtomicI64>::new();
    let key: Arc<str> = "spend:key:a:d:1".into();
    assert_eq!(add(&map, &key, 2), 2);
    assert_eq!(add(&map, &key, 3), 5, "remembered cell");
    assert_eq!(
        map.with("spend:key:a:d:1", |v| v.load(Ordering::Acquire)),
        5
    );
    // Another Arc with the same text finds the same value through the map.
    let twin: Arc<str> = "spend:key:a:d:1".into();
    assert_eq!(add(&map, &twin, 1), 6);
}

#[test]
fn a_retired_cell_is_looked_up_again() {
    let map = Shards::<AtomicI64>::new();
    let key: Arc<str> = "usage:key:a:requests".into();
    add(&map, &key, 7);
    map.reset("usage:key:a:requests", AtomicI64::new(1));
    assert_eq!(
        add(&map, &key, 1),
        2,
        "the new cell, not the remembered one"
    );
    map.retain(|_| false);
    assert_eq!(add(&map, &key, 1), 1, "swept: starts over");
    assert_eq!(
        map.peek("usage:key:a:requests", |v| v
            .map(|v| v.load(Ordering::Acquire))),
        Some(1)
    );
}

#[test]
fn peek_arc_does_not_create_and_sees_later_values() {
    let map = Shards::<AtomicI64>::new();
    let key: Arc<str> = "spend:key:b:total".into();
    let read =
        |map: &Shards<AtomicI64>| map.peek_arc(&key, |v| v.map(|v| v.load(Ordering::Acquire)));
    assert_eq!(read(&map), None);
    assert!(!map.peek("spend:key:b:total", |v| v.is_some()));
    map.with("spend:key:b:total", |v| v.store(4, Ordering::Release));
    assert_eq!(read(&map), Some(4));
    map.with("spend:key:b:total", |v| v.store(9, Ordering::Release));
    assert_eq!(
        read(&map),
        Some(9),
        "remembered cell reads the current value"
    );
    map.retain(|_| false);
    assert_eq!(read(&map), None, "a retired cell is not read");
}

#[test]
fn two_maps_never_share_remembered_cells() {
    let key: Arc<str> = "slots:key:c".into();
    let first = Shards::<AtomicI64>::new();
    let second = Shards::<AtomicI64>::new();
    add(&first, &key, 5);
    assert_eq!(add(&second, &key, 1), 1);
    drop(first);
    let third = Shards::<AtomicI64>::new();
    assert_eq!(
        add(&third, &key, 1),
        1,
        "a new map at the old address starts empty"
    );
}

#[test]
fn the_memory_is_bounded() {
    let map = Shards::<AtomicI64>::new();
    let keys: Vec<Arc<str>> = (0..REMEMBERED + 10)
        .map(|i| format!("k{i}").into())
        .collect();
    for k in &keys {
        add(&map, k, 1);
    }
    assert!(MEMORY.with_borrow(|m| m.len()) <= REMEMBERED);
    for k in &keys {
        assert_eq!(add(&map, k, 1), 2, "{k}");
    }
}

#[test]
fn threads_adding_through_their_memories_lose_nothing() {
    let map = Arc::new(Shards::<AtomicI64>::new());
    let key: Arc<str> = "usage:key:d:tokens".into();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (map, key) = (map.clone(), key.clone());
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    add(&map, &key, 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap_or_else(|_| panic!("adder panicked"));
    }
    assert_eq!(
        map.with("usage:key:d:tokens", |v| v.load(Ordering::Acquire)),
        40_000
    );
}
