use crate::config::{load_str, Tier};

const BASE: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - { name: small, targets: [{ provider: a, model: s }] }
  - { name: big, targets: [{ provider: a, model: b }] }
"#;

fn load(routers: &str) -> Result<crate::config::Config, String> {
    load_str(&format!("{BASE}routers:\n{routers}"), &|_| None).map_err(|e| e.to_string())
}

#[test]
fn valid_router_builds_in_order() {
    let c = load(
        r#"
  - name: auto
    complexity: { standard_at: 2, complex_at: 5 }
    rules:
      - { name: pro, route: big, when: { key_metadata: { tier: [pro] }, complexity: [complex] } }
      - { name: code, route: big, when: { last_user_message: "(?i)```|stack trace" } }
    default: small
"#,
    )
    .expect("valid");
    let r = c.router("auto").expect("router");
    assert_eq!(r.rules.len(), 2);
    assert_eq!(r.rules[0].when.complexity, [Tier::Complex]);
    assert_eq!(r.default.as_deref(), Some("small"));
    assert_eq!(r.complexity.complex_at, 5);
}

#[test]
fn every_mistake_has_its_key_path() {
    let err = load(
        r#"
  - name: small
    rules:
      - { name: x, route: nowhere, when: { stream: true } }
  - name: auto
    rules:
      - { name: all, route: small }
      - { name: later, route: big, when: { stream: true } }
      - { name: bad-re, route: big, when: { last_user_message: "(" } }
      - { name: "bad label", route: big, when: { tools: true } }
      - { name: r, route: big, when: { prompt_tokens: { min: 9, max: 3 }, complexity: [hard] } }
    default: big
"#,
    )
    .unwrap_err();
    for want in [
        "routers[0].name: \"small\" is already a model name",
        "routers[0].rules[0].route: \"nowhere\" is not a model",
        "routers[0].default: is required",
        "routers[1].rules[1]: unreachable: rules[0]",
        "routers[1].rules[2].when.last_user_message: invalid regex",
        "routers[1].rules[3].name: invalid rule name",
        "routers[1].rules[4].when.prompt_tokens: min 9 is above max 3",
        "routers[1].rules[4].when.complexity[0]: unknown tier \"hard\"",
        "routers[1].default: unreachable",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn a_rule_cannot_route_to_a_router_and_thresholds_are_ordered() {
    let err = load(
        r#"
  - { name: r1, default: small }
  - name: r2
    complexity: { standard_at: 4, complex_at: 4 }
    default: r1
"#,
    )
    .unwrap_err();
    assert!(
        err.contains("routers[1].default: \"r1\" is a router"),
        "{err}"
    );
    assert!(
        err.contains("routers[1].complexity: need 0 < standard_at < complex_at"),
        "{err}"
    );
}

#[test]
fn splits_need_two_labelled_weighted_variants_and_no_route() {
    let err = load(
        r#"
  - name: ab
    rules:
      - name: x
        route: small
        split:
          - { name: a, route: small, weight: 0 }
          - { name: a, route: nowhere, weight: 1 }
      - name: y
        split: [{ name: only, route: big, weight: 1 }]
"#,
    )
    .unwrap_err();
    for want in [
        "routers[0].rules[0].route: give route or split, not both",
        "routers[0].rules[0].split[0].weight: must be at least 1",
        "routers[0].rules[0].split[1].name: \"a\": unique",
        "routers[0].rules[0].split[1].route: \"nowhere\" is not a model",
        "routers[0].rules[1].split: a split needs at least two variants",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}
