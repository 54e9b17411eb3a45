use super::*;
use crate::config::load_str;
use crate::routing::plan_for;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: chat, format: openai, base_url: "http://127.0.0.1:9", api_key: k }
  - { name: oai, format: openai, base_url: "http://127.0.0.1:9", api_key: k, api: responses }
models:
  - name: mixed
    targets: [{ provider: chat, model: c1 }, { provider: oai, model: r1 }]
    fallbacks: [other]
  - name: other
    targets: [{ provider: chat, model: c2 }]
  - name: direct
    targets: [{ provider: oai, model: r1 }]
"#;

fn plan(model: &str) -> RoutePlan {
    let config = load_str(YAML, &|_| None).expect("config");
    plan_for(&config, model).expect("plan")
}

fn targets(plan: &RoutePlan) -> Vec<(String, String)> {
    plan.routes
        .iter()
        .flat_map(|r| r.targets.iter())
        .map(|t| (t.provider.name.clone(), t.model.clone()))
        .collect()
}

#[test]
fn a_pinned_turn_goes_only_to_its_target() {
    let mut p = plan("mixed");
    assert_eq!(p.routes.len(), 2);
    let turn = Turn {
        pin: Some(("oai".into(), "r1".into())),
        ..Turn::default()
    };
    narrow_plan(&turn, &mut p).unwrap();
    assert_eq!(targets(&p), vec![("oai".to_string(), "r1".to_string())]);
    assert!(p.routes[0].fallbacks.is_empty());
    // A target that left the route keeps the route as it is.
    let mut p = plan("mixed");
    let gone = Turn {
        pin: Some(("oai".into(), "gone".into())),
        ..Turn::default()
    };
    narrow_plan(&gone, &mut p).unwrap();
    assert_eq!(targets(&p).len(), 3);
}

#[test]
fn an_unknown_previous_id_is_404_unless_the_route_passes_through() {
    let turn = Turn {
        previous: Some("resp_x".into()),
        unknown_previous: true,
        ..Turn::default()
    };
    let err = narrow_plan(&turn, &mut plan("mixed")).unwrap_err();
    assert_eq!(err.status(), 404);
    assert_eq!(err.param.as_deref(), Some("previous_response_id"));
    assert_eq!(err.message, "Response with id 'resp_x' not found.");
    assert!(narrow_plan(&turn, &mut plan("direct")).is_ok());
    assert!(narrow_plan(&Turn::default(), &mut plan("mixed")).is_ok());
}

#[test]
fn stored_history_goes_in_front_of_the_new_input() {
    let body = br#"{"model":"m","input":"third","previous_response_id":"resp_2","store":true}"#;
    let items = vec![serde_json::json!({"role": "user", "content": "first"})];
    let out = with_input(body, &items).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(v.get("previous_response_id").is_none());
    assert_eq!(v["input"][0]["content"], "first");
    assert_eq!(v["model"], "m");
}
