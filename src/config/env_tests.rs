use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "KEY" => Some("sk-123".into()),
        "EMPTY" => Some(String::new()),
        "YAMLISH" => Some("a: [b, {c".into()),
        _ => None,
    }
}

#[test]
fn expands_plain_default_and_escape() {
    assert_eq!(expand_str("${KEY}", &env).unwrap(), "sk-123");
    assert_eq!(
        expand_str("Bearer ${KEY}!", &env).unwrap(),
        "Bearer sk-123!"
    );
    assert_eq!(expand_str("${NOPE:-x y}", &env).unwrap(), "x y");
    assert_eq!(expand_str("${EMPTY:-d}", &env).unwrap(), "d");
    assert_eq!(expand_str("${EMPTY}", &env).unwrap(), "");
    assert_eq!(expand_str("${NOPE:-}", &env).unwrap(), "");
    assert_eq!(expand_str("$${KEY}", &env).unwrap(), "${KEY}");
    assert_eq!(expand_str("a$b$", &env).unwrap(), "a$b$");
}

#[test]
fn reports_missing_bad_and_unterminated() {
    assert_eq!(
        expand_str("${NOPE}", &env),
        Err(EnvError::Missing("NOPE".into()))
    );
    assert_eq!(expand_str("${1X}", &env), Err(EnvError::BadName));
    assert_eq!(expand_str("${}", &env), Err(EnvError::BadName));
    assert_eq!(expand_str("${KEY", &env), Err(EnvError::Unterminated));
}

#[test]
fn tree_expansion_names_path_and_variable_only() {
    let mut v: Value = serde_yaml::from_str(
        "providers:\n  - name: a\n    api_key: ${KEY}\n    headers: {x-h: '${NOPE}'}\n    n: 5\n",
    )
    .unwrap();
    let mut errors = ConfigErrors::default();
    let exp = expand_tree(&mut v, &env, &mut errors);
    assert_eq!(v["providers"][0]["api_key"].as_str(), Some("sk-123"));
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(errors.0[0].path, "providers[0].headers.x-h");
    assert!(errors.0[0].message.contains("NOPE"));
    assert!(!errors.to_string().contains("sk-123"));
    assert_eq!(exp.values(), ["sk-123".to_string()]);
    assert_eq!(
        exp.show("providers[0].api_key", "sk-123"),
        "\"${KEY}\" (after env expansion)"
    );
    assert_eq!(exp.show("providers[0].name", "a"), "\"a\"");
}

#[test]
fn value_with_yaml_syntax_stays_a_string() {
    let mut v: Value = serde_yaml::from_str("k: ${YAMLISH}\n").unwrap();
    let mut errors = ConfigErrors::default();
    expand_tree(&mut v, &env, &mut errors);
    assert!(errors.is_empty());
    assert_eq!(v["k"].as_str(), Some("a: [b, {c"));
}

#[test]
fn segments_for_redaction() {
    assert_eq!(
        parse_refs("Bearer ${T:-x}").unwrap(),
        vec![
            Segment::Literal("Bearer ".into()),
            Segment::Var {
                name: "T".into(),
                default: Some("x".into())
            }
        ]
    );
    assert!(has_refs("${A}"));
    assert!(!has_refs("$${A}"));
    assert!(!has_refs("${"));
}
