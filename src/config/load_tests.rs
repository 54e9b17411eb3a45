//! Loading the shipped configs, the runtime accessors, and a bounded fuzz run.

use std::path::PathBuf;
use std::time::Duration;

use serde_yaml::Value;

use super::*;

fn conf(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("conf")
        .join(name)
}

/// Every variable the example references, with recognisable values.
fn example_env(name: &str) -> Option<String> {
    match name {
        "OPENAI_ORG_ID" | "AWS_SESSION_TOKEN" => None,
        n => Some(format!("SECRET-{n}-7f3a")),
    }
}

fn example() -> Config {
    load_file_with(&conf("tollgate.example.yaml"), &example_env).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn demo_loads_from_the_process_environment() {
    let c = load_file(&conf("demo.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.data_listeners, ["127.0.0.1:8080"]);
    assert_eq!(c.admin_listener, "127.0.0.1:9090");
    let mock = c.provider("mock").unwrap();
    assert_eq!(mock.kind, ProviderKind::OpenAi);
    let ports: Vec<u16> = mock.endpoints.iter().map(|e| e.port).collect();
    assert_eq!(ports, [9001, 9002]);
    assert_eq!(
        mock.health,
        HealthCheck::Http {
            path: "/health".into(),
            interval: Duration::from_millis(1000)
        }
    );
    let names: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["gpt-4o-mini", "demo"]);
    assert_eq!(c.model("demo").unwrap().targets[0].provider.name, "mock");
    assert_eq!(c.governance.auth, crate::config::AuthMode::Open);
    assert!(c.admin_token.is_none());
}

#[test]
fn example_loads_with_every_provider_kind() {
    let c = example();
    let kinds: Vec<&str> = c.providers.iter().map(|p| p.kind.as_str()).collect();
    for k in ProviderKind::NAMES {
        assert!(kinds.contains(&k), "{k} missing");
    }
    let bedrock = c.provider("bedrock").unwrap();
    assert_eq!(bedrock.region.as_deref(), Some("us-east-1"));
    let aws = bedrock.aws.as_ref().unwrap();
    assert_eq!(aws.access_key_id.expose(), "SECRET-AWS_ACCESS_KEY_ID-7f3a");
    assert!(aws.session_token.is_none(), "empty default means no token");
    let openai = c.provider("openai").unwrap();
    assert!(
        openai.headers.is_empty(),
        "empty optional header is dropped"
    );
    assert_eq!(
        openai.api_key.as_ref().unwrap().expose(),
        "SECRET-OPENAI_API_KEY-7f3a"
    );
    assert!(c.provider("openai-responses").unwrap().responses_api);
    assert!(!openai.responses_api, "chat completions is the default api");
    assert_eq!(
        c.responses,
        crate::config::ResponsesSettings {
            store_ttl: std::time::Duration::from_secs(2_592_000),
            max_stored_bytes: 1 << 20,
            memory_max_bytes: 64 << 20,
        }
    );
    let vllm = c.provider("vllm").unwrap();
    let weights: Vec<usize> = vllm.endpoints.iter().map(|e| e.weight).collect();
    assert_eq!(weights, [2, 1, 1]);
    let gpt = c.model("gpt-4o").unwrap();
    assert_eq!(gpt.fallbacks, ["claude-sonnet"]);
    assert_eq!(gpt.retry.attempts, 3);
    assert!(gpt.fallback_on.contains(&ErrorClass::ContextWindowExceeded));
    let llama = c.model("llama-3.3-70b").unwrap();
    assert_eq!(
        (llama.strategy, llama.hash_header.as_deref()),
        (Strategy::ConsistentHash, Some("x-session-id"))
    );
    assert!(c.model("nope").is_none() && c.provider("nope").is_none());
    assert_eq!(
        c.admin_token.as_ref().unwrap().expose(),
        "SECRET-TOLLGATE_ADMIN_TOKEN-7f3a"
    );
}

#[test]
fn no_secret_in_debug_or_redacted_view() {
    let c = example();
    let debug = format!("{c:?}");
    let redacted = c.redacted_yaml();
    for text in [&debug, &redacted] {
        assert!(!text.contains("7f3a"), "a secret leaked:\n{text}");
    }
    assert!(redacted.contains("${OPENAI_API_KEY}"), "{redacted}");
    assert!(serde_yaml::from_str::<Value>(&redacted).is_ok());
}

#[test]
fn server_conf_defaults_and_overrides() {
    let c = load_str("server: {threads: 3, grace_period_seconds: 5}\n", &|_| None).unwrap();
    let s = c.server_conf();
    assert_eq!((s.threads, s.grace_period_seconds), (3, Some(5)));
    assert_eq!(s.graceful_shutdown_timeout_seconds, Some(10));
    assert_eq!(s.upgrade_sock, "/tmp/tollgate_upgrade.sock");
    assert_eq!(s.pid_file, "/tmp/tollgate.pid");
    assert_eq!(s.max_retries, 16);
    let d = load_str("", &|_| None).unwrap();
    let s = d.server_conf();
    assert_eq!(
        s.threads,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    assert_eq!(s.grace_period_seconds, Some(600));
    assert_eq!(d.data_listeners, [DEFAULT_DATA_LISTENER]);
    assert_eq!(d.max_body_bytes, 32 << 20);
    assert!(d.access_log);
}

#[test]
fn client_section_defaults_and_ranges() {
    let d = load_str("", &|_| None).unwrap().client;
    assert_eq!(d, crate::config::client::ClientLimits::default());
    assert_eq!(d.header_timeout, std::time::Duration::from_secs(60));
    assert_eq!(d.keepalive_timeout, std::time::Duration::from_secs(75));
    let c = load_str(
        "client: {header_timeout_ms: 5000, max_connections_per_ip: 20, body_memory_bytes: 0}\n",
        &|_| None,
    )
    .unwrap()
    .client;
    assert_eq!(c.header_timeout, std::time::Duration::from_secs(5));
    assert_eq!((c.max_connections_per_ip, c.body_memory_bytes), (20, 0));
    let errors = load_str(
        "client: {header_timeout_ms: 5, max_headers: 1000, keepalive_timeout_ms: 10, bogus: 1}\n",
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(errors.contains("bogus"), "{errors}");
    let errors = load_str(
        "client: {header_timeout_ms: 5, max_headers: 1000, keepalive_timeout_ms: 10}\n",
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    for path in [
        "client.header_timeout_ms",
        "client.max_headers",
        "client.keepalive_timeout_ms",
    ] {
        assert!(errors.contains(path), "{path} missing in {errors}");
    }
}

#[test]
fn upgrade_facts_name_the_effective_paths() {
    let c = load_str(
        "server: {pid_file: \"${RUN:-/run}/t.pid\", grace_period_seconds: 7}\n",
        &|_| None,
    )
    .unwrap();
    let facts = c.upgrade_facts();
    assert!(facts.contains("server.pid_file: /run/t.pid\n"), "{facts}");
    assert!(facts.contains("server.upgrade_sock: /tmp/tollgate_upgrade.sock\n"));
    assert!(facts.contains("server.grace_period_seconds: 7\n"));
    assert!(facts.contains("server.graceful_shutdown_timeout_seconds: 10\n"));
    assert!(facts.contains("listeners.admin: 127.0.0.1:9090\n"));
}

#[test]
fn timeouts_override_per_route() {
    let base = Timeouts::default();
    assert_eq!(base.connect, Duration::from_secs(5));
    let o = file::TimeoutsSection {
        first_byte_ms: Some(7),
        total_ms: Some(9),
        ..Default::default()
    };
    let t = base.with_override(&o);
    assert_eq!(t.connect, Duration::from_secs(5));
    assert_eq!(t.first_byte, Duration::from_millis(7));
    assert_eq!(t.idle, Duration::from_secs(120));
    assert_eq!(t.total, Some(Duration::from_millis(9)));
}

use crate::test_rng::Rng;

/// Loads must return, never panic; error messages never carry an env value.
fn check(text: &str) {
    if let Err(errors) = load_str(text, &example_env) {
        let shown = errors.to_string();
        assert!(
            !shown.contains("7f3a"),
            "secret in errors of:\n{text}\n---\n{shown}"
        );
    }
}

#[test]
fn fuzz_text_mutations_never_panic() {
    let base = std::fs::read_to_string(conf("tollgate.example.yaml")).unwrap();
    let lines: Vec<&str> = base.lines().collect();
    let noise = [
        ":", "-", "[", "{", "}", "'", "\"", "#", "&a", "*a", "!t", "${", "$", " ", "\n", "0", "-1",
        "|", "<<: ", "\t", "é",
    ];
    let mut rng = Rng(0x5eed_0fc0_ffee);
    for _ in 0..600 {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(l.len());
            match rng.below(4) {
                0 => drop(l.remove(i)),
                1 => {
                    let dup = l[rng.below(l.len())].clone();
                    l.insert(i, dup);
                }
                2 => {
                    let cut = l[i]
                        .char_indices()
                        .map(|(k, _)| k)
                        .nth(rng.below(l[i].chars().count() + 1))
                        .unwrap_or(l[i].len());
                    let n = noise[rng.below(noise.len())];
                    l[i].insert_str(cut, n);
                }
                _ => {
                    let j = rng.below(l.len());
                    l.swap(i, j);
                }
            }
        }
        check(&l.join("\n"));
    }
}

#[test]
fn fuzz_tree_mutations_never_panic() {
    let base: Value =
        serde_yaml::from_str(&std::fs::read_to_string(conf("tollgate.example.yaml")).unwrap())
            .unwrap();
    let replacements: Vec<Value> = [
        "~",
        "0",
        "-1",
        "18446744073709551615",
        "1.5",
        "true",
        "''",
        "x",
        "'${NOPE}'",
        "'htp:/x'",
        "'[::]:0'",
        "[]",
        "{}",
        "[1, 2]",
        "{a: 1}",
        "'${OPENAI_API_KEY}'",
        "'bogus'",
        "'http://h:1/p/'",
        "'none'",
        "'gpt-4o'",
        "'openai'",
    ]
    .iter()
    .map(|s| serde_yaml::from_str(s).unwrap())
    .collect();
    let mut rng = Rng(0xdead_beef_1234);
    for _ in 0..600 {
        let mut v = base.clone();
        for _ in 0..1 + rng.below(3) {
            let r = replacements[rng.below(replacements.len())].clone();
            mutate(&mut v, &mut rng, r);
        }
        check(&serde_yaml::to_string(&v).unwrap());
    }
}

/// Replaces one random node of the tree (walking down at random) by `r`.
fn mutate(v: &mut Value, rng: &mut Rng, r: Value) {
    let stop = rng.below(4) == 0;
    match v {
        Value::Mapping(m) if !m.is_empty() && !stop => {
            let k = rng.below(m.len());
            if let Some((_, child)) = m.iter_mut().nth(k) {
                mutate(child, rng, r);
            }
        }
        Value::Sequence(s) if !s.is_empty() && !stop => {
            let k = rng.below(s.len());
            mutate(&mut s[k], rng, r);
        }
        _ => *v = r,
    }
}

#[test]
fn hostile_yaml_is_an_error_not_a_panic() {
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let deep = format!("providers: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    for text in [
        "? [a]\n: 1\n",
        "!tag {a: 1}\n",
        "providers: [!x {name: a}]\n",
        "providers:\n  - ? {a: 1}\n    : 2\n",
        "models: [{name: m, targets: [{provider: !p x, model: y}]}]\n",
        "--- a\n--- b\n",
        "\u{feff}server: {}\n",
        "server: {threads: 99999999999999999999999}\n",
        "listeners: {data: [\"${A:-${B}}\"]}\n",
        laughs,
        &deep,
        "\0",
    ] {
        check(text);
    }
}
