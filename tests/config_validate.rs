#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Config validation through the public API: every error class names its key path,
//! all errors come at once, and secrets never show in errors or `Debug`.

use std::time::Duration;

use tollgate::config::{
    load_str, Config, ConfigErrors, ErrorClass, HealthCheck, ProviderKind, Strategy,
};

const SECRET: &str = "sk-RECOGNISABLE-5ecr3t";

fn env(name: &str) -> Option<String> {
    match name {
        "OPENAI_API_KEY"
        | "ADMIN_TOKEN"
        | "AWS_ACCESS_KEY_ID"
        | "AWS_SECRET_ACCESS_KEY"
        | "HDR" => Some(format!("{SECRET}-{name}")),
        "PORT_ADDR" => Some("127.0.0.1:8181".into()),
        _ => None,
    }
}

fn load(yaml: &str) -> Result<Config, ConfigErrors> {
    load_str(yaml, &env)
}

fn errors(yaml: &str) -> Vec<String> {
    match load(yaml) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that one error starts with `path: ` and contains `fragment`.
fn assert_error(errs: &[String], path: &str, fragment: &str) {
    let prefix = format!("{path}: ");
    assert!(
        errs.iter()
            .any(|e| e.starts_with(&prefix) && e.contains(fragment)),
        "no error `{path}: ...{fragment}...` in:\n{}",
        errs.join("\n")
    );
}

/// A provider list prefix every test can extend.
const ONE_PROVIDER: &str = "
providers:
  - name: openai
    format: openai
    base_url: https://api.openai.com
    api_key: ${OPENAI_API_KEY}
";

const GOOD: &str = "
server: {threads: 2}
listeners:
  data: ['0.0.0.0:8080', '${PORT_ADDR}']
  admin: 127.0.0.1:9090
  admin_token: ${ADMIN_TOKEN}
limits: {max_body_bytes: 1048576}
logging: {access_log: false}
providers:
  - name: openai
    format: openai
    base_url: https://api.openai.com/
    api_key: ${OPENAI_API_KEY}
    headers: {X-Team: '${HDR}'}
    timeouts: {connect_ms: 1000, total_ms: 60000}
  - name: az
    format: azure
    base_url: https://r.openai.azure.com
    api_key: ${AZURE_KEY:-unset}
    api_version: '2024-10-21'
  - name: br
    format: bedrock
    base_urls: [https://bedrock-runtime.eu-west-1.amazonaws.com]
  - name: local
    format: openai
    base_urls:
      - {url: 'http://127.0.0.1:9001', weight: 3}
      - http://127.0.0.1:9002/prefix/
    health_check: {kind: http, path: /health, interval_ms: 250}
models:
  - name: gpt-4o
    targets:
      - {provider: openai, model: gpt-4o, weight: 2}
      - {provider: az, model: gpt-4o-deploy}
    strategy: least_inflight
    fallbacks: [local]
    fallback_on: [rate_limit, context_window_exceeded]
    retry: {attempts: 5, backoff_ms: 50, max_backoff_ms: 500, on: [connect, timeout]}
    timeouts: {first_byte_ms: 30000}
  - name: local
    targets: [{provider: local, model: llama}]
    strategy: consistent_hash
    hash_header: X-Session
  - name: claude
    targets: [{provider: br, model: anthropic.claude-3-haiku-20240307-v1:0}]
";

#[test]
fn good_config_builds_the_runtime_types() {
    let c = load(GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.data_listeners, ["0.0.0.0:8080", "127.0.0.1:8181"]);
    assert_eq!(
        c.admin_token.as_ref().unwrap().expose(),
        format!("{SECRET}-ADMIN_TOKEN")
    );
    assert_eq!(c.max_body_bytes, 1 << 20);
    assert!(!c.access_log);

    let openai = c.provider("openai").unwrap();
    assert_eq!(openai.kind, ProviderKind::OpenAi);
    let e = &openai.endpoints[0];
    assert_eq!(
        (
            e.url.as_str(),
            e.tls,
            e.host.as_str(),
            e.port,
            e.path_prefix.as_str()
        ),
        ("https://api.openai.com", true, "api.openai.com", 443, "")
    );
    assert_eq!(openai.headers[0].0, "x-team");
    assert_eq!(openai.headers[0].1.expose(), format!("{SECRET}-HDR"));
    assert_eq!(openai.timeouts.connect, Duration::from_secs(1));
    assert_eq!(openai.timeouts.first_byte, Duration::from_secs(120));
    assert_eq!(openai.timeouts.total, Some(Duration::from_secs(60)));
    assert_eq!(
        openai.health,
        HealthCheck::Tcp {
            interval: Duration::from_secs(5)
        }
    );
    assert_eq!(openai.anthropic_version, "2023-06-01");

    let az = c.provider("az").unwrap();
    assert_eq!(az.api_key.as_ref().unwrap().expose(), "unset");
    assert_eq!(az.api_version.as_deref(), Some("2024-10-21"));

    let br = c.provider("br").unwrap();
    assert_eq!(
        br.region.as_deref(),
        Some("eu-west-1"),
        "derived from the host"
    );
    assert_eq!(
        br.aws.as_ref().unwrap().secret_access_key.expose(),
        format!("{SECRET}-AWS_SECRET_ACCESS_KEY"),
        "from AWS_* env"
    );

    let local = c.provider("local").unwrap();
    assert_eq!(local.endpoints[0].weight, 3);
    assert_eq!(local.endpoints[1].path_prefix, "/prefix");
    assert_eq!(local.endpoints[1].url, "http://127.0.0.1:9002/prefix");
    assert_eq!(
        local.health,
        HealthCheck::Http {
            path: "/health".into(),
            interval: Duration::from_millis(250)
        }
    );

    let gpt = c.model("gpt-4o").unwrap();
    assert_eq!(gpt.targets.len(), 2);
    assert_eq!((gpt.targets[0].weight, gpt.targets[1].weight), (2, 1));
    assert_eq!(gpt.targets[1].provider.name, "az");
    assert_eq!(gpt.strategy, Strategy::LeastInflight);
    assert_eq!(gpt.fallbacks, ["local"]);
    assert_eq!(
        gpt.fallback_on,
        [ErrorClass::RateLimit, ErrorClass::ContextWindowExceeded]
    );
    assert_eq!(gpt.retry.attempts, 5);
    assert_eq!(gpt.retry.on, [ErrorClass::Connect, ErrorClass::Timeout]);
    assert_eq!(
        openai.timeouts.with_override(&gpt.timeouts).first_byte,
        Duration::from_secs(30)
    );
    let local_route = c.model("local").unwrap();
    assert_eq!(local_route.hash_header.as_deref(), Some("x-session"));
    assert_eq!(local_route.retry.attempts, 3);
    assert_eq!(local_route.retry.backoff, Duration::from_millis(100));
    assert_eq!(local_route.retry.max_backoff, Duration::from_secs(2));
    assert_eq!(local_route.retry.on, ErrorClass::RETRYABLE);
    assert_eq!(local_route.fallback_on, ErrorClass::RETRYABLE);

    let order: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(order, ["gpt-4o", "local", "claude"]);
    // The operator's view keeps references unexpanded.
    assert!(c.redacted_yaml().contains("${OPENAI_API_KEY}"));
}

#[test]
fn responses_settings_are_checked_with_their_paths() {
    let errs =
        errors("responses: {store_ttl_seconds: 0, max_stored_bytes: 10, memory_max_bytes: 1024}");
    assert_error(&errs, "responses.store_ttl_seconds", "between 1 and");
    assert_error(&errs, "responses.max_stored_bytes", "between 1024 and");
    assert_error(&errs, "responses.memory_max_bytes", "at least 1048576");
    let errs = errors("responses: {max_stored_bytes: 4194304, memory_max_bytes: 2097152}");
    assert_error(
        &errs,
        "responses.memory_max_bytes",
        "at least responses.max_stored_bytes",
    );
    let errs = errors("responses: {store_ttl: 5}");
    assert!(errs.iter().any(|e| e.contains("store_ttl")), "{errs:?}");
}

#[test]
fn provider_errors_name_their_path() {
    let yaml = "
providers:
  - {name: a, format: openai, base_url: 'https://a'}
  - {name: a, format: openai, base_url: 'https://b'}
  - {name: c, format: openai, base_urls: ['htp:/x', 'https://ok', 'https://ok/', {url: 'https://w', weight: 0}]}
  - {name: d, format: opnai, base_url: 'https://d'}
  - {name: e, format: openai}
  - {name: f, format: openai, base_url: 'https://f', base_urls: ['https://g']}
  - {name: g, format: azure, base_url: 'https://g'}
  - {name: h, format: bedrock, base_url: 'https://bedrock.example.com', aws_access_key_id: x}
  - {name: i, format: openai, base_url: 'https://i?x=1', api_version: v, region: r}
  - name: j
    format: openai
    base_url: https://j
    timeouts: {connect_ms: 0, first_byte_ms: 1, idle_ms: 0}
    health_check: {kind: http, path: health}
  - {name: k, format: openai, base_url: 'https://k', health_check: {kind: udp}}
  - {name: l, format: openai, base_url: 'https://l', health_check: {kind: http}}
  - {name: m/n, format: openai, base_url: 'https://m', headers: {Host: x, 'bad header': y}}
  - {name: o, format: openai, base_url: 'https://o', api: respones}
  - {name: p, format: anthropic, base_url: 'https://p', api: responses}
";
    let errs = errors(yaml);
    assert_error(
        &errs,
        "providers[13].api",
        "unknown api \"respones\"; expected one of: chat_completions, responses",
    );
    assert_error(&errs, "providers[14].api", "only for format openai");
    assert_error(
        &errs,
        "providers[1].name",
        "duplicate provider name \"a\" (first at providers[0])",
    );
    assert_error(
        &errs,
        "providers[2].base_urls[0]",
        "invalid URL \"htp:/x\": expected http://",
    );
    assert_error(&errs, "providers[2].base_urls[2]", "duplicate base URL");
    assert_error(&errs, "providers[2].base_urls[3].weight", "at least 1");
    assert_error(
        &errs,
        "providers[3].format",
        "unknown format \"opnai\"; expected one of: openai, azure, anthropic, gemini, bedrock",
    );
    assert_error(&errs, "providers[4]", "a base URL is required");
    assert_error(&errs, "providers[5]", "not both");
    assert_error(&errs, "providers[6]", "format azure needs api_version");
    assert_error(&errs, "providers[7]", "needs a region");
    assert_error(
        &errs,
        "providers[7]",
        "set both aws_access_key_id and aws_secret_access_key",
    );
    assert_error(&errs, "providers[8].base_url", "no query or fragment");
    assert_error(
        &errs,
        "providers[8].api_version",
        "only used by format azure",
    );
    assert_error(&errs, "providers[8].region", "only used by format bedrock");
    assert_error(&errs, "providers[9].timeouts.connect_ms", "greater than 0");
    assert_error(&errs, "providers[9].timeouts.idle_ms", "greater than 0");
    assert_error(
        &errs,
        "providers[9].health_check.path",
        "must start with '/'",
    );
    assert_error(
        &errs,
        "providers[10].health_check.kind",
        "unknown kind \"udp\"; expected one of: http, tcp, none",
    );
    assert_error(
        &errs,
        "providers[11].health_check",
        "kind http needs a path",
    );
    assert_error(&errs, "providers[12].name", "invalid provider name");
    assert_error(&errs, "providers[12].headers.Host", "set by the gateway");
    assert_error(
        &errs,
        "providers[12].headers.bad header",
        "invalid header name",
    );
    assert!(
        !errs.iter().any(|e| e.contains("timeouts.first_byte_ms")),
        "{errs:#?}"
    );
}

#[test]
fn bedrock_without_any_credentials() {
    let yaml = "providers:\n  - {name: b, format: bedrock, region: us-east-1, base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com'}\n";
    let errs = match load_str(yaml, &|_| None) {
        Err(e) => e.iter().map(ToString::to_string).collect::<Vec<_>>(),
        Ok(_) => panic!("loaded without credentials"),
    };
    assert_error(&errs, "providers[0]", "needs AWS credentials");
    // Credentials from the environment are enough.
    assert!(load(yaml).is_ok());
}

#[test]
fn model_errors_name_their_path() {
    let yaml = format!(
        "{ONE_PROVIDER}
models:
  - {{name: a, targets: []}}
  - {{name: b, targets: [{{provider: opneai, model: x}}, {{provider: openai, model: '', weight: 0}}], strategy: random}}
  - {{name: a, targets: [{{provider: openai, model: x}}], hash_header: x-user}}
  - {{name: d, targets: [{{provider: openai, model: x}}], fallbacks: [d, nope, b, b]}}
  - name: e
    targets: [{{provider: openai, model: x}}]
    retry: {{attempts: 0, backoff_ms: 500, max_backoff_ms: 100, on: [connect, teapot]}}
    fallback_on: [sometimes]
    timeouts: {{total_ms: 0}}
  - {{name: f, targets: [{{provider: openai, model: x}}], retry: {{attempts: 11}}}}
"
    );
    let errs = errors(&yaml);
    assert_error(&errs, "models[0].targets", "at least one target");
    assert_error(
        &errs,
        "models[1].targets[0].provider",
        "unknown provider \"opneai\", did you mean \"openai\"?",
    );
    assert_error(&errs, "models[1].targets[1].model", "is empty");
    assert_error(&errs, "models[1].targets[1].weight", "at least 1");
    assert_error(&errs, "models[1].strategy", "unknown strategy \"random\"; expected one of: weighted, least_inflight, latency, consistent_hash");
    assert_error(
        &errs,
        "models[2].name",
        "duplicate model name \"a\" (first at models[0])",
    );
    assert_error(
        &errs,
        "models[2].hash_header",
        "only used with strategy consistent_hash",
    );
    assert_error(
        &errs,
        "models[3].fallbacks[0]",
        "cannot fall back to itself",
    );
    assert_error(&errs, "models[3].fallbacks[1]", "unknown model \"nope\"");
    assert_error(&errs, "models[3].fallbacks[3]", "listed twice");
    assert_error(&errs, "models[4].retry.attempts", "out of range: 1 to 10");
    assert_error(
        &errs,
        "models[4].retry.max_backoff_ms",
        "less than backoff_ms",
    );
    assert_error(
        &errs,
        "models[4].retry.on[1]",
        "unknown error class \"teapot\"",
    );
    assert_error(
        &errs,
        "models[4].fallback_on[0]",
        "unknown error class \"sometimes\"",
    );
    assert_error(
        &errs,
        "models[4].fallback_on",
        "no effect without fallbacks",
    );
    assert_error(&errs, "models[4].timeouts.total_ms", "greater than 0");
    assert_error(&errs, "models[5].retry.attempts", "11 is out of range");
}

#[test]
fn fallback_cycles_are_reported_with_their_path() {
    let yaml = format!(
        "{ONE_PROVIDER}
models:
  - {{name: solo, targets: [{{provider: openai, model: x}}]}}
  - {{name: a, targets: [{{provider: openai, model: x}}], fallbacks: [b]}}
  - {{name: b, targets: [{{provider: openai, model: x}}], fallbacks: [solo, c]}}
  - {{name: c, targets: [{{provider: openai, model: x}}], fallbacks: [a]}}
  - {{name: x, targets: [{{provider: openai, model: x}}], fallbacks: [y]}}
  - {{name: y, targets: [{{provider: openai, model: x}}], fallbacks: [x, a]}}
"
    );
    let errs = errors(&yaml);
    assert_error(
        &errs,
        "models[1].fallbacks",
        "fallback cycle: a -> b -> c -> a",
    );
    assert_error(&errs, "models[4].fallbacks", "fallback cycle: x -> y -> x");
    assert_eq!(errs.len(), 2, "{errs:#?}");
    // A chain that is no cycle is fine.
    let ok = format!(
        "{ONE_PROVIDER}
models:
  - {{name: a, targets: [{{provider: openai, model: x}}], fallbacks: [b, c]}}
  - {{name: b, targets: [{{provider: openai, model: x}}], fallbacks: [c]}}
  - {{name: c, targets: [{{provider: openai, model: x}}]}}
"
    );
    assert!(load(&ok).is_ok());
}

#[test]
fn listener_and_limit_errors_name_their_path() {
    let errs = errors("listeners: {data: ['0.0.0.0:8080', 'localhost:80', '0.0.0.0:8080'], admin: '127.0.0.1:8080'}\nlimits: {max_body_bytes: 1000}\n");
    assert_error(
        &errs,
        "listeners.data[1]",
        "invalid listen address \"localhost:80\"",
    );
    assert_error(&errs, "listeners.data[2]", "listed twice");
    assert_error(
        &errs,
        "listeners.admin",
        "overlaps data listener listeners.data[0]",
    );
    assert_error(
        &errs,
        "limits.max_body_bytes",
        "between 1024 (1 KiB) and 1073741824 (1 GiB)",
    );
    let errs = errors("listeners: {admin: nowhere, admin_token: ''}\nlimits: {max_body_bytes: 1073741825}\nserver: {threads: 0}\n");
    assert_error(
        &errs,
        "listeners.admin",
        "invalid listen address \"nowhere\"",
    );
    assert_error(&errs, "listeners.admin_token", "is empty");
    assert_error(&errs, "limits.max_body_bytes", "out of range");
    assert_error(&errs, "server.threads", "at least 1");
    // Same port on different addresses, and port 0 twice, are fine.
    assert!(
        load("listeners: {data: ['127.0.0.1:9090', '0.0.0.0:0'], admin: '127.0.0.2:9090'}\n")
            .is_ok()
    );
    assert!(load("listeners: {data: ['127.0.0.1:0'], admin: '127.0.0.1:0'}\n").is_ok());
    assert!(load("limits: {max_body_bytes: 1024}\n").is_ok());
}

#[path = "config_validate/reporting.rs"]
mod reporting;
