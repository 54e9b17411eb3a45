use super::*;

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
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn invalidation_by_route_and_namespace() {
    let store = CacheStore::new(1 << 20);
    store.insert([1; 32], entry("a", "team:x", HOUR, 10));
    store.insert([2; 32], entry("a", "team:y", HOUR, 10));
    store.insert([3; 32], entry("b", "team:x", HOUR, 10));
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
    let store = CacheStore::new(1 << 20);
    store.insert([1; 32], entry("a", "global", Duration::from_millis(50), 10));
    assert!(store.get(&[1; 32]).is_some());
    std::thread::sleep(Duration::from_millis(120));
    assert!(store.get(&[1; 32]).is_none());
}

#[test]
fn the_store_stays_within_its_byte_bound() {
    let store = CacheStore::new(1 << 20);
    for i in 0..200u8 {
        let mut k = [0u8; 32];
        k[0] = i;
        store.insert(k, entry("a", "global", HOUR, 16 << 10));
        store.entries.run_pending_tasks();
    }
    assert!(store.entries.weighted_size() <= 1 << 20);
    assert!(store.entries.entry_count() < 200);
}

#[test]
fn a_reload_keeps_the_store_unless_its_size_changes() {
    let a = Arc::new(CacheStore::new(1 << 20));
    assert!(Arc::ptr_eq(&a, &CacheStore::for_reload(Some(&a), 1 << 20)));
    assert!(!Arc::ptr_eq(&a, &CacheStore::for_reload(Some(&a), 2 << 20)));
}
