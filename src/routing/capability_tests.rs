use super::*;
use crate::config::load_str;
use crate::routing::plan_for;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
models:
  - name: m
    targets:
      - { provider: a, model: small, capabilities: { context_window: 1000, vision: false, tools: false, json_mode: false, reasoning: false, max_output_tokens: 100 } }
      - { provider: a, model: big, capabilities: { context_window: 100000 } }
    fallbacks: [n]
  - name: n
    targets:
      - { provider: a, model: unknown-model }
  - name: only-small
    targets:
      - { provider: a, model: small, capabilities: { context_window: 1000, vision: false, tools: false } }
"#;

fn plan(model: &str) -> RoutePlan {
    let c = load_str(YAML, &|_| None).expect("valid");
    plan_for(&c, model).expect("plan")
}

fn shape(f: impl FnOnce(&mut RequestShape)) -> RequestShape {
    let mut s = RequestShape {
        prompt_tokens: 10,
        ..RequestShape::default()
    };
    f(&mut s);
    s
}

fn models(p: &RoutePlan) -> Vec<Vec<&str>> {
    p.routes
        .iter()
        .map(|r| r.targets.iter().map(|t| t.model.as_str()).collect())
        .collect()
}

#[test]
fn a_plain_request_keeps_the_plan_as_it_is() {
    let p = restrict(plan("m"), &shape(|_| {})).expect("plan");
    assert_eq!(models(&p), [vec!["small", "big"], vec!["unknown-model"]]);
}

#[test]
fn each_need_skips_the_small_model() {
    let needs: [fn(&mut RequestShape); 6] = [
        |s| s.prompt_tokens = 1001,
        |s| s.max_tokens = Some(101),
        |s| s.images = true,
        |s| s.tools = true,
        |s| s.json_output = true,
        |s| s.reasoning = true,
    ];
    for need in needs {
        let s = shape(need);
        let p = restrict(plan("m"), &s).expect("plan");
        assert_eq!(models(&p), [vec!["big"], vec!["unknown-model"]], "{s:?}");
    }
}

#[test]
fn no_capable_target_is_a_400_naming_the_capability() {
    let err = restrict(plan("only-small"), &shape(|s| s.images = true)).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("`vision`"), "{}", err.message);
    let err = restrict(plan("only-small"), &shape(|s| s.prompt_tokens = 5000)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContextWindowExceeded);
    assert!(
        err.message.contains("context window 1000 tokens"),
        "{}",
        err.message
    );
}

#[test]
fn missing_lists_the_first_lack() {
    let caps = Caps {
        context_window: 10,
        max_output: 5,
        tools: true,
        vision: false,
        json: true,
        reasoning: true,
    };
    assert_eq!(
        missing(&caps, &shape(|s| s.images = true)),
        Some(Missing::Vision)
    );
    assert_eq!(missing(&caps, &shape(|s| s.tools = true)), None);
    assert_eq!(
        missing(&Caps::ANY, &shape(|s| s.prompt_tokens = u64::MAX - 1)),
        None
    );
}

#[test]
fn the_quick_shape_is_an_upper_bound_or_nothing() {
    let plain = br#"{"model":"m","messages":[{"role":"user","content":"hello there"}]}"#;
    let q = quick_shape(plain, Some(10)).expect("no feature named");
    let full = crate::formats::request_shape(crate::error::Dialect::OpenAi, plain);
    assert!(q.prompt_tokens >= full.prompt_tokens);
    assert_eq!((q.max_tokens, q.images, q.tools), (Some(10), false, false));
    for body in [
        &br#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#[..],
        br#"{"messages":[],"tools":[]}"#,
        br#"{"messages":[],"response_format":{"type":"json_object"}}"#,
        br#"{"messages":[],"reasoning_effort":"high"}"#,
        br#"{"messages":[],"thinking":{"type":"enabled","budget_tokens":1024}}"#,
    ] {
        assert!(quick_shape(body, None).is_none(), "{}", String::from_utf8_lossy(body));
    }
    assert!(serves_all(&plan("m"), &q));
    assert!(!serves_all(&plan("m"), &shape(|s| s.prompt_tokens = 5000)));
}
