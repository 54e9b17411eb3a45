use http::HeaderMap;

use super::*;
use crate::config::load_str;
use crate::policy::keys::KeyInfo;
use crate::routing::facts::BodyFacts;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - { name: small, targets: [{ provider: a, model: s }] }
  - { name: billing, targets: [{ provider: a, model: b }] }
  - { name: vision, targets: [{ provider: a, model: v }] }
  - { name: embed, targets: [{ provider: a, model: e }] }
routers:
  - name: auto
    semantic: { embeddings: embed, timeout_ms: 200 }
    rules:
      - { name: images, route: vision, when: { images: true } }
      - name: money
        route: billing
        when: { semantic: { examples: ["refund my invoice", "charged twice"], threshold: 0.9 } }
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

fn known(query: Option<Vec<f32>>, examples: Option<Vec<Vec<f32>>>) -> Embedded {
    let mut k = Embedded {
        query: query.map_or(Query::Failed, Query::Vector),
        ..Embedded::default()
    };
    k.examples.insert(1, examples.map(Arc::new));
    k
}

#[test]
fn cosine_is_scale_free_and_safe_on_odd_input() {
    assert!((cosine(&[1.0, 0.0], &[3.0, 0.0]) - 1.0).abs() < 1e-6);
    assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-6);
    assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0, "dimension mismatch");
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0, "zero vector");
    assert_eq!(cosine(&[], &[]), 0.0);
}

#[test]
fn a_rule_needs_what_is_missing_and_fails_closed() {
    let c = load_str(YAML, &|_| None).expect("config");
    let router = c.router("auto").expect("router");
    let m = router.rules[1].when.semantic.as_ref().expect("semantic");
    assert_eq!(m.threshold, 0.9);
    let fresh = Embedded::default();
    assert_eq!(check(m, 1, &fresh), Err(Need { rule: 1 }));
    let only_query = Embedded {
        query: Query::Vector(vec![1.0, 0.0]),
        ..Embedded::default()
    };
    assert_eq!(check(m, 1, &only_query), Err(Need { rule: 1 }));
    assert_eq!(check(m, 1, &known(None, None)), Ok(None), "question failed");
    assert_eq!(
        check(m, 1, &known(Some(vec![1.0, 0.0]), None)),
        Ok(None),
        "examples failed"
    );
    let close = known(
        Some(vec![1.0, 0.1]),
        Some(vec![vec![0.0, 1.0], vec![1.0, 0.0]]),
    );
    let hit = check(m, 1, &close).unwrap().expect("hit");
    assert_eq!(hit.example, 1);
    assert!(hit.similarity > 0.99);
    let far = known(
        Some(vec![1.0, 1.0]),
        Some(vec![vec![0.0, 1.0], vec![1.0, 0.0]]),
    );
    assert_eq!(check(m, 1, &far), Ok(None), "0.707 is under 0.9");
}

#[test]
fn only_requests_that_reach_a_semantic_rule_need_an_embedding() {
    let c = load_str(YAML, &|_| None).expect("config");
    let router = c.router("auto").expect("router");
    let key = KeyInfo::anonymous();
    let headers = HeaderMap::new();
    let mut body = BodyFacts {
        images: true,
        ..BodyFacts::default()
    };
    let d = rules::decide(router, &inputs(&key, &headers, &body), &Embedded::default());
    assert_eq!(
        d.unwrap().unwrap().rule,
        "images",
        "decided before the semantic rule"
    );
    body.images = false;
    let i = inputs(&key, &headers, &body);
    assert_eq!(
        rules::decide(router, &i, &Embedded::default()),
        Err(Need { rule: 1 })
    );
    let close = known(Some(vec![0.0, 1.0]), Some(vec![vec![0.0, 1.0]]));
    let d = rules::decide(router, &i, &close).unwrap().unwrap();
    assert_eq!((d.rule.as_str(), d.route.as_str()), ("money", "billing"));
    assert!(
        d.explain().ends_with("; similarity=1.000; example=0"),
        "{}",
        d.explain()
    );
    let failed = rules::decide(router, &i, &known(None, None))
        .unwrap()
        .unwrap();
    assert_eq!(failed.rule, "default", "an embedding failure falls through");
}

#[test]
fn semantic_conditions_are_checked_at_load_with_their_paths() {
    let bad = YAML
        .replace(
            "embeddings: embed, timeout_ms: 200",
            "embeddings: nope, timeout_ms: 0",
        )
        .replace("threshold: 0.9", "threshold: 1.5")
        .replace(r#"["refund my invoice", "charged twice"]"#, r#"["", "ok"]"#);
    let err = load_str(&bad, &|_| None).unwrap_err().to_string();
    for needle in [
        "routers[0].semantic.embeddings: \"nope\" is not a model",
        "routers[0].semantic.timeout_ms: 0 is out of range",
        "routers[0].rules[1].when.semantic.threshold: 1.5 is out of range",
        "routers[0].rules[1].when.semantic.examples[0]: an example is 1 to",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    let no_router = YAML.replace("    semantic: { embeddings: embed, timeout_ms: 200 }\n", "");
    let err = load_str(&no_router, &|_| None).unwrap_err().to_string();
    assert!(
        err.contains("routers[0].rules[1].when.semantic: needs the router's semantic.embeddings"),
        "{err}"
    );
    // A semantic rule is not a catch-all: the default stays reachable.
    assert!(load_str(YAML, &|_| None).is_ok());
}
