use super::*;

fn load(name: &str) -> FileConfig {
    let path = format!(
        "{}/tests/fixtures/policy/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn errors(file: &FileConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    validate(file, &mut |path, msg| out.push((path, msg)));
    out
}

#[test]
fn the_documented_example_is_valid() {
    let file = load("governance.yaml");
    assert_eq!(errors(&file), vec![]);
    assert_eq!(file.keys[0].limits.tpm, Some(200_000));
    assert_eq!(file.teams[0].budget.monthly_usd, Some(4000.0));
    assert!(file.guardrails[3].global);
}

#[test]
fn every_mistake_is_reported_with_its_path() {
    let errs = errors(&load("invalid.yaml"));
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
    assert!(errors(&FileConfig::default()).is_empty());
}

#[test]
fn redis_backend_needs_a_url_and_expands_env() {
    let mut f = FileConfig::default();
    f.auth.mode = Some("open".into());
    f.state.backend = Some("redis".into());
    assert_eq!(errors(&f)[0].0, "state.redis_url");
    f.state.redis_url = Some("${TOLLGATE_TEST_SURELY_UNSET_VAR}".into());
    assert!(errors(&f)[0].1.contains("TOLLGATE_TEST_SURELY_UNSET_VAR"));
    std::env::set_var("TOLLGATE_TEST_REDIS_PW", "s3cret");
    f.state.redis_url = Some("redis://:${TOLLGATE_TEST_REDIS_PW}@127.0.0.1:6379/0".into());
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
}

#[test]
fn env_expansion() {
    std::env::set_var("TOLLGATE_TEST_EXPAND", "pw");
    assert_eq!(
        expand_env("redis://:${TOLLGATE_TEST_EXPAND}@h:1").unwrap(),
        "redis://:pw@h:1"
    );
    assert_eq!(expand_env("plain").unwrap(), "plain");
    assert!(expand_env("${UNTERMINATED").is_err());
}
