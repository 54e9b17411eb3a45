use super::*;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: p, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - name: m
    targets: [{ provider: p, model: gpt-4o-mini }]
"#;

async fn runtime() -> Runtime {
    let config = config::load_str(YAML, &|_| None).unwrap();
    Runtime::build(config, None).await.unwrap()
}

#[tokio::test]
async fn a_thread_shares_one_reference_per_snapshot_and_keeps_none_alive() {
    let gateway = Gateway::new(runtime().await, PathBuf::from("/nonexistent.yaml"));
    let a = gateway.snapshot_here();
    let b = gateway.snapshot_here();
    assert!(Arc::ptr_eq(&a, &b), "one reference per thread and snapshot");
    assert!(Arc::ptr_eq(a.shared(), &gateway.snapshot()));

    // Another thread takes a reference of its own to the same snapshot.
    let (here, there) = std::thread::scope(|s| {
        let there = s.spawn(|| gateway.snapshot_here()).join().unwrap();
        (gateway.snapshot_here(), there)
    });
    assert!(!Arc::ptr_eq(&here, &there));
    assert!(Arc::ptr_eq(here.shared(), there.shared()));
    drop((here, there));

    // A reload: the next request sees the new snapshot; the old one lives as long
    // as its requests do, not longer.
    gateway.current.store(Arc::new(runtime().await));
    let c = gateway.snapshot_here();
    assert!(!Arc::ptr_eq(a.shared(), c.shared()));
    assert!(Arc::ptr_eq(c.shared(), &gateway.snapshot()));
    let old = Arc::downgrade(a.shared());
    drop((a, b));
    assert!(
        old.upgrade().is_none(),
        "the replaced snapshot was released"
    );

    // Nothing holds this thread's reference between requests.
    let current = Arc::downgrade(&c);
    drop(c);
    assert!(current.upgrade().is_none());
    assert!(Arc::ptr_eq(
        gateway.snapshot_here().shared(),
        &gateway.snapshot()
    ));
}
