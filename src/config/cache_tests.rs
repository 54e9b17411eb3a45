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
