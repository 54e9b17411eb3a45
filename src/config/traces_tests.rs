use crate::config::load_str;

const BASE: &str = "providers:\n  - name: p\n    format: openai\n    base_url: http://127.0.0.1:1\nmodels:\n  - name: m\n    targets: [{provider: p, model: x}]\n";

fn load(traces: &str) -> Result<crate::config::Config, String> {
    let env = |name: &str| (name == "OTLP_TOKEN").then(|| "s3cret-value".to_string());
    load_str(&format!("{BASE}traces:\n{traces}"), &env).map_err(|e| e.to_string())
}

#[test]
fn defaults_and_the_default_path() {
    let c = load("  endpoint: http://collector:4318\n").unwrap();
    let t = c.traces.unwrap();
    assert_eq!(t.path, "/v1/traces");
    assert_eq!(t.sample_ratio, 1.0);
    assert_eq!((t.queue_size, t.batch_size), (2048, 512));
    assert_eq!(t.service_name, "tollgate");
    let c = load("  endpoint: https://otlp.example.com/otlp/v1/traces\n  sample_ratio: 0.25\n")
        .unwrap();
    let t = c.traces.unwrap();
    assert_eq!(t.path, "/otlp/v1/traces");
    assert!(t.endpoint.tls && t.endpoint.port == 443);
    assert!(load("  enabled: false\n").unwrap().traces.is_none());
    assert!(load_str(BASE, &|_| None).unwrap().traces.is_none());
}

#[test]
fn every_bad_setting_names_its_key_and_hides_secrets() {
    let e = load(concat!(
        "  sample_ratio: 1.5\n  queue_size: 0\n  batch_size: 10\n",
        "  flush_interval_ms: 1\n  export_timeout_ms: 999999\n  service_name: ' '\n",
        "  headers: {\"bad name\": x, authorization: \"Bearer ${OTLP_TOKEN}\"}\n"
    ))
    .unwrap_err();
    for path in [
        "traces.endpoint",
        "traces.sample_ratio",
        "traces.queue_size",
        "traces.batch_size",
        "traces.flush_interval_ms",
        "traces.export_timeout_ms",
        "traces.service_name",
        "traces.headers.bad name",
    ] {
        assert!(e.contains(path), "{path} missing in:\n{e}");
    }
    assert!(!e.contains("s3cret"), "{e}");
    let e = load("  endpoint: ftp://x\n").unwrap_err();
    assert!(e.contains("traces.endpoint"), "{e}");
    let e = load("  endpoint: http://x\n  sampel_ratio: 1\n").unwrap_err();
    assert!(e.contains("sampel_ratio"), "{e}");
}

#[test]
fn header_values_are_redacted_in_the_admin_view() {
    let c = load("  endpoint: http://c:4318\n  headers: {x-token: literal-token}\n").unwrap();
    assert!(!c.redacted_yaml().contains("literal-token"));
    assert_eq!(c.traces.unwrap().headers[0].1.expose(), "literal-token");
}
