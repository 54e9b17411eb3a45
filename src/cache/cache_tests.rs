use super::memory::MemoryStore;
use super::*;
use crate::config::{CacheSettings, StateSpec};

fn entry(route: &str, ns: &str, ttl: Duration, body_len: usize) -> Entry {
    Entry {
        format: WireFormat::OpenAiChat,
        body: Bytes::from(vec![b'x'; body_len]),
        usage: Usage::default(),
        upstream_model: Arc::from("gpt-4o-mini"),
        created: SystemTime::now(),
        route: Arc::from(route),
        namespace: Arc::from(ns),
        ttl,
        gaps_ms: Vec::new(),
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn invalidation_by_route_and_namespace() {
    let store = MemoryStore::new(1 << 20);
    store.insert([1; 32], Arc::new(entry("a", "team:x", HOUR, 10)));
    store.insert([2; 32], Arc::new(entry("a", "team:y", HOUR, 10)));
    store.insert([3; 32], Arc::new(entry("b", "team:x", HOUR, 10)));
    store.invalidate(Some("a"), Some("team:x"));
    assert!(store.get(&[1; 32]).is_none());
    assert!(store.get(&[2; 32]).is_some());
    store.invalidate(None, Some("team:x"));
    assert!(store.get(&[3; 32]).is_none());
    assert!(store.get(&[2; 32]).is_some());
    store.invalidate(None, None);
    assert!(store.get(&[2; 32]).is_none());
}

#[test]
fn entries_expire_after_their_ttl() {
    let store = MemoryStore::new(1 << 20);
    store.insert(
        [1; 32],
        Arc::new(entry("a", "global", Duration::from_millis(50), 10)),
    );
    assert!(store.get(&[1; 32]).is_some());
    std::thread::sleep(Duration::from_millis(120));
    assert!(store.get(&[1; 32]).is_none());
}

#[test]
fn the_store_stays_within_its_byte_bound() {
    let store = MemoryStore::new(1 << 20);
    for i in 0..200u8 {
        let mut k = [0u8; 32];
        k[0] = i;
        store.insert(k, Arc::new(entry("a", "global", HOUR, 16 << 10)));
        store.entries.run_pending_tasks();
    }
    assert!(store.entries.weighted_size() <= 1 << 20);
    assert!(store.entries.entry_count() < 200);
}

#[tokio::test]
async fn a_reload_keeps_the_store_unless_its_settings_change() {
    let state = StateSpec::default();
    let small = CacheSettings {
        max_bytes: 1 << 20,
        ..CacheSettings::default()
    };
    let a = Arc::new(CacheStore::build(&small, &state).await.unwrap());
    assert!(a.memory().is_some());
    let same = CacheStore::for_reload(Some(&a), &small, &state)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a, &same));
    let bigger = CacheSettings {
        max_bytes: 2 << 20,
        ..small.clone()
    };
    let other = CacheStore::for_reload(Some(&a), &bigger, &state)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &other));
}

#[tokio::test]
async fn a_memory_store_finds_what_it_stored_and_its_semantic_record() {
    let store = CacheStore::in_memory(1 << 20);
    let record = semantic::Record {
        scope: [5; 32],
        key: [1; 32],
        expires_ms: codec::unix_ms(SystemTime::now() + HOUR),
        route: Arc::from("a"),
        namespace: Arc::from("global"),
        vector: vec![1.0, 0.0].into(),
    };
    store.insert([1; 32], entry("a", "global", HOUR, 10), Some(record));
    assert!(store.get("a", "global", &[1; 32]).await.is_some());
    let now = codec::unix_ms(SystemTime::now());
    let m = store
        .semantic
        .lookup(&[5; 32], &[0.9, 0.1], 0.9, now)
        .unwrap();
    assert_eq!(m.key, [1; 32]);
    assert_eq!(store.invalidate(Some("a"), None).await, 1);
    assert!(store
        .semantic
        .lookup(&[5; 32], &[1.0, 0.0], 0.9, now)
        .is_none());
}
