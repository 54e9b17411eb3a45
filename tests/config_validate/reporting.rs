//! How errors are reported: structural errors with path and location, many at once,
//! missing environment variables by name only, and secrets never shown.

use super::*;

#[test]
fn structural_errors_carry_path_and_location() {
    let yaml = "providers:
  - name: a
    format: openai
    base_url: https://a
    timeout: {connect_ms: 5}
models:
  - name: m
    targets:
      - {provider: a, model: x, weight: heavy}
listeners: [1]
extra: true
";
    let errs = errors(yaml);
    assert_error(&errs, "providers[0]", "unknown field `timeout`");
    assert_error(&errs, "providers[0]", "(line 5, column 5)");
    assert_error(
        &errs,
        "models[0].targets[0].weight",
        "invalid type: string \"heavy\"",
    );
    assert_error(&errs, "models[0].targets[0].weight", "(line 9");
    assert_error(&errs, "listeners", "invalid type: sequence");
    assert_error(&errs, "extra", "unknown section");
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let errs = errors("providers: [\n");
    assert!(
        errs[0].starts_with("invalid YAML: ") && errs[0].contains("line"),
        "{errs:?}"
    );
}

#[test]
fn many_errors_are_reported_together() {
    let yaml = "
listeners: {data: [bad]}
limits: {max_body_bytes: 1}
providers:
  - {name: p, format: nope, base_url: 'https://p'}
  - {name: q, format: openai, base_url: 'ftp://q', bogus: 1}
  - {name: r, format: openai, base_url: 'ftp://r'}
models:
  - {name: m, targets: [{provider: zz, model: x}], strategy: fastest}
  - {name: n, targets: [{provider: q, model: x}], fallbacks: [n]}
";
    let e = load(yaml).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers[1]",
            "listeners.data[0]",
            "limits.max_body_bytes",
            "providers[0].format",
            "providers[2].base_url",
            "models[0].targets[0].provider",
            "models[0].strategy",
            "models[1].fallbacks[0]",
        ],
        "{e}"
    );
    // Display: one line per error, `path: message`.
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 8);
    assert!(shown.lines().all(|l| l.contains(": ")));
    let as_error: &dyn std::error::Error = &e;
    assert_eq!(as_error.to_string(), shown);
}

#[test]
fn missing_env_var_names_path_and_variable_only() {
    let yaml = "
listeners: {admin_token: '${ADMIN_TOKEN}'}
providers:
  - name: p
    format: openai
    base_url: https://p
    api_key: ${OPENAI_API_KEY}
    headers: {x-a: '${HDR}', x-b: 'v-${NOT_SET_ANYWHERE}'}
";
    let errs = errors(yaml);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_error(
        &errs,
        "providers[0].headers.x-b",
        "environment variable NOT_SET_ANYWHERE is not set",
    );
    assert!(!errs[0].contains(SECRET), "{}", errs[0]);
    let errs = errors("listeners: {admin: '${X'}\nproviders: [{name: 'a${1}', format: openai, base_url: 'https://a'}]\n");
    assert_error(&errs, "listeners.admin", "without a closing `}`");
    assert_error(&errs, "providers[0].name", "invalid `${...}` reference");
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    // Success: Debug of the whole Config.
    let c = load(GOOD).unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains(SECRET), "secret in Debug output");
    assert!(debug.contains("\"***\""));
    assert!(!c.redacted_yaml().contains(SECRET));

    // Failure: env values landing where they are quoted back, and in serde messages.
    let yaml = "
listeners: {admin: '${ADMIN_TOKEN}', admin_token: '${ADMIN_TOKEN}'}
limits: {max_body_bytes: '${OPENAI_API_KEY}'}
providers:
  - name: '${HDR}'
    format: '${OPENAI_API_KEY}'
    base_url: 'https://${AWS_SECRET_ACCESS_KEY}'
    api_key: ${OPENAI_API_KEY}
    headers: {x-bad: \"${HDR}\\n\"}
  - {name: q, format: bedrock, base_url: '${OPENAI_API_KEY}', region: '${AWS_ACCESS_KEY_ID}'}
  - {name: r, format: openai, base_url: 'https://r', health_check: {kind: '${HDR}', path: '${HDR}'}}
models:
  - {name: m, targets: [{provider: '${OPENAI_API_KEY}', model: x}], strategy: '${HDR}', fallbacks: ['${HDR}']}
";
    let e = load(yaml).unwrap_err();
    let shown = format!("{e}\n{e:?}");
    assert!(e.len() >= 8, "{shown}");
    assert!(!shown.contains(SECRET), "secret in errors:\n{shown}");
    assert!(!shown.contains("5ecr3t"), "secret in errors:\n{shown}");
    // The reference as written is what errors quote.
    assert!(
        shown.contains("\"${OPENAI_API_KEY}\" (after env expansion)"),
        "{shown}"
    );
}
