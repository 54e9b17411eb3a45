use std::collections::BTreeMap;

use http::HeaderMap;

use super::*;
use crate::config::load_str;
use crate::policy::keys::KeyInfo;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - { name: small, targets: [{ provider: a, model: s }] }
  - { name: big, targets: [{ provider: a, model: b }] }
  - { name: vision, targets: [{ provider: a, model: v }] }
routers:
  - name: auto
    rules:
      - { name: free, route: small, when: { key_metadata: { tier: [free] } } }
      - { name: beta, route: big, when: { headers: { x-beta: ["1"] } } }
      - { name: images, route: vision, when: { images: true } }
      - { name: long, route: big, when: { prompt_tokens: { min: 1000 } } }
      - { name: sql, route: big, when: { last_user_message: "(?i)\\bselect\\b" } }
      - { name: hard, route: big, when: { complexity: [complex] } }
    default: small
"#;

fn inputs<'a>(key: &'a KeyInfo, headers: &'a HeaderMap, body: &'a BodyFacts) -> Inputs<'a> {
    Inputs {
        key,
        headers,
        user: None,
        prompt_tokens: 10,
        max_tokens: None,
        stream: false,
        body,
    }
}

fn rule(i: &Inputs) -> String {
    let c = load_str(YAML, &|_| None).expect("config");
    decide(c.router("auto").expect("router"), i, &Embedded::default())
        .expect("no semantic rule")
        .expect("decision")
        .rule
}

#[test]
fn first_match_wins_and_default_ends() {
    let mut key = KeyInfo::anonymous();
    let headers = HeaderMap::new();
    let mut body = BodyFacts::default();
    assert_eq!(rule(&inputs(&key, &headers, &body)), "default");
    body.images = true;
    assert_eq!(rule(&inputs(&key, &headers, &body)), "images");
    key.metadata = BTreeMap::from([("tier".to_string(), "free".to_string())]);
    assert_eq!(rule(&inputs(&key, &headers, &body)), "free");
}

#[test]
fn each_matcher_kind_decides() {
    let key = KeyInfo::anonymous();
    let mut headers = HeaderMap::new();
    let body = BodyFacts {
        last_user: "please SELECT * from t".into(),
        ..BodyFacts::default()
    };
    assert_eq!(rule(&inputs(&key, &headers, &body)), "sql");
    let mut i = inputs(&key, &headers, &body);
    i.prompt_tokens = 5000;
    assert_eq!(rule(&i), "long");
    headers.insert("x-beta", "1".parse().expect("value"));
    assert_eq!(rule(&inputs(&key, &headers, &body)), "beta");
    let hard = BodyFacts {
        text: "Why? How? Prove the theorem rigorously? Analyze and optimize the algorithm: 1+2 = 3 ^ \\x"
            .into(),
        ..BodyFacts::default()
    };
    assert_eq!(rule(&inputs(&key, &HeaderMap::new(), &hard)), "hard");
}

#[test]
fn explanation_names_router_rule_route_and_tier() {
    let d = Decision {
        router: "auto".into(),
        rule: "images".into(),
        route: "vision".into(),
        variant: None,
        tier: Tier::Simple,
        semantic: None,
    };
    assert_eq!(
        d.explain(),
        "router=auto; rule=images; route=vision; tier=simple"
    );
}

#[test]
fn variants_are_sticky_and_follow_the_weights() {
    let split = [
        Variant {
            name: "a".into(),
            route: "small".into(),
            weight: 3,
        },
        Variant {
            name: "b".into(),
            route: "big".into(),
            weight: 1,
        },
    ];
    let mut a = 0;
    for i in 0..4000 {
        let user = format!("u{i}");
        let v = pick_variant(&split, "r", "x", &user).expect("variant");
        assert_eq!(
            v.name,
            pick_variant(&split, "r", "x", &user).expect("again").name
        );
        a += usize::from(v.name == "a");
    }
    assert!((2800..=3200).contains(&a), "{a} of 4000 on a 75 % variant");
    assert!(pick_variant(&[], "r", "x", "u").is_none());
}
