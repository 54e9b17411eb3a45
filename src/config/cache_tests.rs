use crate::config::load_str;

fn errors_of(yaml: &str) -> String {
    match load_str(yaml, &|_| None) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

const BASE: &str = "providers:\n  - name: p\n    format: openai\n    base_url: http://127.0.0.1:1\nmodels:\n  - name: m\n    targets: [{provider: p, model: x}]\n";

#[test]
fn route_cache_defaults() {
    let yaml = format!("{BASE}    cache: {{}}\n");
    let cfg = load_str(&yaml, &|_| None).unwrap();
    let c = cfg.model("m").unwrap().cache.clone().unwrap();
    assert_eq!(c.ttl.as_secs(), 300);
    assert_eq!(c.namespace, super::CacheNamespace::Team);
    assert_eq!(cfg.cache.max_bytes, super::DEFAULT_MAX_BYTES);
}

#[test]
fn disabled_route_has_no_cache() {
    let yaml = format!("{BASE}    cache: {{enabled: false}}\n");
    let cfg = load_str(&yaml, &|_| None).unwrap();
    assert!(cfg.model("m").unwrap().cache.is_none());
}

#[test]
fn bad_values_name_their_key_paths() {
    let yaml = format!(
        "{BASE}    cache: {{ttl_seconds: 0, namespace: world}}\ncache:\n  backend: disk\n  max_bytes: 10\n"
    );
    let text = errors_of(&yaml);
    assert!(text.contains("models[0].cache.ttl_seconds"), "{text}");
    assert!(text.contains("models[0].cache.namespace"), "{text}");
    assert!(text.contains("cache.backend"), "{text}");
    assert!(text.contains("cache.max_bytes"), "{text}");
}

#[test]
fn version_changes_with_targets() {
    let a = load_str(&format!("{BASE}    cache: {{}}\n"), &|_| None).unwrap();
    let b_yaml = format!("{BASE}    cache: {{}}\n").replace("model: x", "model: y");
    let b = load_str(&b_yaml, &|_| None).unwrap();
    let va = a.model("m").unwrap().cache.as_ref().unwrap().version;
    let vb = b.model("m").unwrap().cache.as_ref().unwrap().version;
    assert_ne!(va, vb);
}

const TWO: &str = "providers:\n  - name: p\n    format: openai\n    base_url: http://127.0.0.1:1\n  - name: a\n    format: anthropic\n    base_url: http://127.0.0.1:2\nmodels:\n  - name: emb\n    targets: [{provider: p, model: e}]\n  - name: claude\n    targets: [{provider: a, model: c}]\n  - name: m\n    targets: [{provider: p, model: x}]\n";

#[test]
fn semantic_settings_and_their_defaults() {
    let yaml = format!("{TWO}    cache: {{replay: paced, semantic: {{embeddings_route: emb}}}}\n");
    let cfg = load_str(&yaml, &|_| None).unwrap();
    let c = cfg.model("m").unwrap().cache.clone().unwrap();
    assert_eq!(c.replay, super::Replay::Paced);
    let s = c.semantic.unwrap();
    assert_eq!(s.embeddings_route, "emb");
    assert!((s.threshold - 0.95).abs() < 1e-6);
    assert_eq!(s.context_messages, 0);
    assert_eq!(s.timeout.as_millis(), 1000);
}

#[test]
fn bad_semantic_settings_name_their_key_paths() {
    let cases = [
        (
            "{threshold: 1.5, embeddings_route: emb}",
            "models[2].cache.semantic.threshold",
        ),
        (
            "{threshold: 0, embeddings_route: emb}",
            "models[2].cache.semantic.threshold",
        ),
        (
            "{threshold: 0.9}",
            "models[2].cache.semantic.embeddings_route: is required",
        ),
        (
            "{embeddings_route: nope}",
            "models[2].cache.semantic.embeddings_route: no model route named",
        ),
        ("{embeddings_route: claude}", "cannot embed"),
        (
            "{embeddings_route: emb, timeout_ms: 0}",
            "models[2].cache.semantic.timeout_ms",
        ),
        (
            "{embeddings_route: emb, context_messages: 1000}",
            "models[2].cache.semantic.context_messages",
        ),
    ];
    for (semantic, expected) in cases {
        let text = errors_of(&format!("{TWO}    cache: {{semantic: {semantic}}}\n"));
        assert!(text.contains(expected), "{semantic}: {text}");
    }
    let text = errors_of(&format!("{TWO}    cache: {{replay: slow}}\n"));
    assert!(text.contains("models[2].cache.replay"), "{text}");
}

#[test]
fn a_redis_cache_needs_the_state_sections_redis() {
    let text = errors_of(&format!("{BASE}cache: {{backend: redis}}\n"));
    assert!(
        text.contains("cache.backend: redis uses the Redis of the state section"),
        "{text}"
    );
    let ok = format!(
        "{BASE}state: {{backend: redis, redis_url: \"redis://127.0.0.1:6379/\"}}\ncache: {{backend: redis, timeout_ms: 80}}\n"
    );
    let cfg = load_str(&ok, &|_| None).unwrap();
    assert_eq!(cfg.cache.backend, super::CacheBackend::Redis);
    assert_eq!(cfg.cache.timeout.as_millis(), 80);
    let text = errors_of(&format!(
        "{BASE}cache: {{on_error: fail_closed, timeout_ms: 0, semantic_max_entries: 0}}\n"
    ));
    for path in [
        "cache.on_error",
        "cache.timeout_ms",
        "cache.semantic_max_entries",
    ] {
        assert!(text.contains(path), "{path}: {text}");
    }
}
