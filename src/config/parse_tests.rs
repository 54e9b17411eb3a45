use super::*;

fn run(text: &str) -> (Option<Parsed>, ConfigErrors) {
    let mut errors = ConfigErrors::default();
    let p = parse(text, &|_| None, &mut errors);
    (p, errors)
}

#[test]
fn sections_list_matches_file_config() {
    // serde lists the expected fields in its unknown-field message.
    let e = serde_yaml::from_str::<FileConfig>("zzz: 1")
        .unwrap_err()
        .to_string();
    let mut expected: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
    let mut ours = SECTIONS.to_vec();
    expected.sort_unstable();
    ours.sort_unstable();
    assert_eq!(expected, ours, "{e}");
}

#[test]
fn each_bad_item_is_reported_with_inner_path_and_line() {
    let text = "\
providers:
  - name: a
    format: openai
    base_url: http://h
    timeouts: {connect_ms: soon}
  - name: b
    format: openai
    base_url: http://h
    bogus: 1
models:
  - name: m
    targets: [{provider: a, model: x}]
listeners: {data: 8080}
nope: 1
";
    let (p, errors) = run(text);
    let p = p.unwrap();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{lines:#?}");
    assert!(
        lines[0].starts_with("providers[0].timeouts.connect_ms: invalid type"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("(line 5, column"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("providers[1]: unknown field `bogus`"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("(line 9, column"), "{}", lines[1]);
    assert!(
        lines[2].starts_with("listeners.data: invalid type"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("nope: unknown section"),
        "{}",
        lines[3]
    );
    assert_eq!(p.file.models.len(), 1);
    assert!(p.file.providers.is_empty());
    assert!(p.provider_names.contains("a") && p.provider_names.contains("b"));
}

#[test]
fn kept_items_remember_their_file_index() {
    let text = "models:\n  - {name: a, targets: 3}\n  - {name: b, targets: []}\n";
    let (p, errors) = run(text);
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(errors.0[0].path, "models[0].targets");
    assert_eq!(p.unwrap().model_idx, vec![1]);
}

#[test]
fn syntax_errors_and_non_mappings() {
    let (p, errors) = run("a: [1, 2\n");
    assert!(p.is_none());
    assert!(errors.0[0].message.starts_with("invalid YAML"), "{errors}");
    assert!(errors.0[0].message.contains("line"), "{errors}");
    let (p, errors) = run("- 1\n");
    assert!(p.is_none() && errors.len() == 1);
    let (p, errors) = run("");
    assert!(p.is_some() && errors.is_empty());
    let (_, errors) = run("providers: 3\n");
    assert_eq!(
        errors.to_string(),
        "providers: expected a list, found a number"
    );
}

#[test]
fn scalars_are_lenient_strings_like_in_a_file() {
    let text =
        "providers:\n  - {name: 7, format: openai, base_url: 'http://h', headers: {x-v: 1}}\n";
    let (p, errors) = run(text);
    assert!(errors.is_empty(), "{errors}");
    let p = p.unwrap();
    assert_eq!(p.file.providers[0].name, "7");
    assert_eq!(p.file.providers[0].headers["x-v"].expose(), "1");
}

#[test]
fn merge_keys_are_applied() {
    let text = "x-common: &c {format: openai, base_url: 'http://h'}\n";
    let (_, errors) = run(text);
    assert_eq!(errors.0[0].path, "x-common", "unknown top-level key");
    let text = "providers:\n  - name: a\n    <<: {format: openai, base_url: 'http://h'}\n";
    let (p, errors) = run(text);
    assert!(errors.is_empty(), "{errors}");
    assert_eq!(p.unwrap().file.providers[0].format, "openai");
}
