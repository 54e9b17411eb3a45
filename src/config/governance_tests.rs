use super::super::{load_str, ConfigErrors};
use super::*;

fn text(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/policy/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn errors(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    match load_str(yaml, env) {
        Ok(_) => Vec::new(),
        Err(ConfigErrors(all)) => all.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

#[test]
fn the_documented_example_is_valid() {
    let g = load_str(&text("governance.yaml"), &no_env)
        .unwrap()
        .governance;
    assert_eq!(g.keys[0].limits.tpm, Some(200_000));
    assert_eq!(g.teams[0].budget.monthly_usd, Some(4000.0));
    assert!(g.guardrails[3].global);
}

#[test]
fn every_mistake_is_reported_with_its_path() {
    let errs = errors(&text("invalid.yaml"), &no_env);
    let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    for want in [
        "auth.mode",
        "teams[0].limits.rpm",
        "teams[1].name",
        "keys[0].hash",
        "keys[0].team",
        "keys[0].models[0]",
        "keys[0].limits.tpm",
        "keys[0].budget.daily_usd",
        "keys[0].guardrails[0]",
        "keys[2].hash",
        "pricing[0].input_per_mtok",
        "pricing[1]",
        "guardrails[0].patterns[0]",
        "guardrails[1].patterns[0]",
        "guardrails[2].detectors[0]",
        "guardrails[2].action",
        "guardrails[2].apply_to",
        "guardrails[3].max_tokens",
        "guardrails[3].action",
        "guardrails[3].apply_to",
        "guardrails[4].kind",
        "state.redis_url",
        "state.on_error",
        "state.timeout_ms",
    ] {
        assert!(paths.contains(&want), "missing {want} in {errs:#?}");
    }
    assert_eq!(errs.len(), 24, "{errs:#?}");
    let all = format!("{errs:?}");
    assert!(!all.contains("plaintext-key"), "a pasted key was echoed");
    assert!(!all.contains("hunter2"), "a password was echoed");
}

#[test]
fn an_empty_config_is_valid() {
    // No keys in `keys` mode is allowed (every request is refused with 401).
    let g = load_str("", &no_env).unwrap().governance;
    assert_eq!(g, Governance::default());
}

#[test]
fn redis_backend_needs_a_url_and_expands_env_through_the_config_environment() {
    let base = "auth: {mode: open}\nstate:\n  backend: redis\n";
    assert_eq!(errors(base, &no_env)[0].0, "state.redis_url");
    let unset = format!("{base}  redis_url: ${{TOLLGATE_TEST_REDIS_PW_UNSET}}\n");
    let errs = errors(&unset, &no_env);
    assert_eq!(errs[0].0, "state.redis_url");
    assert!(
        errs[0].1.contains("TOLLGATE_TEST_REDIS_PW_UNSET"),
        "{errs:?}"
    );
    // The injected environment answers, not the process one.
    let yaml = format!("{base}  redis_url: \"redis://:${{REDIS_PW}}@127.0.0.1:6379/0\"\n");
    let env = |name: &str| (name == "REDIS_PW").then(|| "s3cret".to_string());
    let g = load_str(&yaml, &env).unwrap().governance;
    assert_eq!(
        g.state.backend,
        StateBackend::Redis {
            url: Secret::new("redis://:s3cret@127.0.0.1:6379/0"),
            ca_pem: None,
        }
    );
}

#[test]
fn a_bad_redis_url_from_the_environment_is_not_echoed() {
    let yaml = "state:\n  backend: redis\n  redis_url: ${URL}\n";
    let env = |_: &str| Some("http://user:hunter2@h:1".to_string());
    let errs = errors(yaml, &env);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(!format!("{errs:?}").contains("hunter2"));
}

#[test]
fn governance_values_are_typed() {
    let yaml = r#"
keys:
  - name: k
    hash: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    guardrails: [g]
guardrails:
  - name: g
    kind: pii
    action: redact
    apply_to: both
state:
  on_error: fail_closed
  timeout_ms: 75
  key_prefix: "x:"
"#;
    let g = load_str(yaml, &no_env).unwrap().governance;
    assert_eq!(g.keys[0].digest[0], 0xba);
    let guard = &g.guardrails[0];
    assert_eq!(guard.check, GuardrailCheck::Pii(Detector::ALL.to_vec()));
    assert_eq!(guard.action, GuardrailAction::Redact);
    assert!(guard.input && guard.output);
    assert_eq!(g.state.on_error, OnError::FailClosed);
    assert_eq!(g.state.timeout, Duration::from_millis(75));
    assert_eq!(g.state.key_prefix, "x:");
}

#[test]
fn hashes_parse_in_either_case() {
    let h = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(parse_hash(h).map(|d| d[31]), Some(0xad));
    assert!(parse_hash(&h.to_uppercase().replace("SHA256", "sha256")).is_some());
    assert!(parse_hash("sha256:abc").is_none());
    assert!(parse_hash("sk-plaintext").is_none());
}

#[test]
fn a_rediss_ca_file_is_read_and_checked() {
    let ca = format!("{}/tests/fixtures/tls/ca.pem", env!("CARGO_MANIFEST_DIR"));
    let yaml = |url: &str, file: &str| {
        format!("state:\n  backend: redis\n  redis_url: \"{url}\"\n  tls_ca_file: \"{file}\"\n")
    };
    let g = load_str(&yaml("rediss://h:6380/", &ca), &no_env)
        .unwrap()
        .governance;
    match g.state.backend {
        StateBackend::Redis {
            ca_pem: Some(pem), ..
        } => {
            assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----"))
        }
        other => panic!("{other:?}"),
    }
    let shown = format!(
        "{:?}",
        load_str(&yaml("rediss://u:pw@h:6380/", &ca), &no_env)
    );
    assert!(shown.contains("bytes") && !shown.contains("pw@"), "{shown}");
    let errs = errors(&yaml("redis://h:6379/", &ca), &no_env);
    assert_eq!(errs[0].0, "state.tls_ca_file", "{errs:?}");
    let errs = errors(&yaml("rediss://h:6380/", "/nonexistent/ca.pem"), &no_env);
    assert!(errs[0].1.starts_with("cannot read"), "{errs:?}");
    let readme = format!("{}/README.md", env!("CARGO_MANIFEST_DIR"));
    let errs = errors(&yaml("rediss://h:6380/", &readme), &no_env);
    assert!(errs[0].1.contains("no PEM certificate"), "{errs:?}");
}

#[test]
fn a_redis_cluster_takes_comma_separated_seeds() {
    let yaml =
        "state:\n  backend: redis_cluster\n  redis_url: \"redis://a:7000, redis://b:7001\"\n";
    let g = load_str(yaml, &no_env).unwrap().governance;
    assert_eq!(
        g.state.backend,
        StateBackend::RedisCluster {
            seeds: vec![Secret::new("redis://a:7000"), Secret::new("redis://b:7001")],
            ca_pem: None,
        }
    );
    let bad = "state:\n  backend: redis_cluster\n  redis_url: \"redis://a:7000,http://b\"\n";
    assert_eq!(errors(bad, &no_env)[0].0, "state.redis_url");
    let none = "state:\n  backend: redis_cluster\n";
    assert_eq!(errors(none, &no_env)[0].0, "state.redis_url");
}
