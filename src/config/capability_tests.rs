use super::*;
use crate::config::load_str;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: a, format: openai, base_url: "http://127.0.0.1:1" }
capabilities:
  - { model: "my-finetune-*", context_window: 16000, vision: false }
  - { model: gpt-4o-mini, tools: false }
models:
  - name: m
    targets:
      - { provider: a, model: gpt-4o-mini }
      - { provider: a, model: my-finetune-7 }
      - { provider: a, model: gpt-4o, capabilities: { context_window: 4096 } }
      - { provider: a, model: self-hosted-llama }
"#;

#[test]
fn layers_apply_target_then_list_then_builtin() {
    let c = load_str(YAML, &|_| None).expect("valid");
    let t = &c.model("m").expect("route").targets;
    let mini = t[0].caps.expect("known");
    assert_eq!((mini.context_window, mini.max_output), (128_000, 16_384));
    assert!(
        !mini.tools && mini.vision && mini.json,
        "override on the built-in"
    );
    let tuned = t[1].caps.expect("listed");
    assert_eq!(tuned.context_window, 16_000);
    assert!(!tuned.vision && tuned.tools, "unset fields stay capable");
    let own = t[2].caps.expect("own");
    assert_eq!(own.context_window, 4096);
    assert!(own.vision);
    assert_eq!(t[3].caps, None, "unknown models are assumed capable");
}

#[test]
fn builtin_names_normalize_like_prices() {
    let caps = |m: &str| resolve(m, None, &[]);
    assert_eq!(
        caps("us.anthropic.claude-3-5-haiku-20241022-v1:0").map(|c| c.max_output),
        Some(8_192)
    );
    assert_eq!(
        caps("claude-3-7-sonnet@20250219").map(|c| c.reasoning),
        Some(true)
    );
    assert_eq!(caps("gpt-4o-mini-2024-07-18").map(|c| c.vision), Some(true));
    assert_eq!(caps("deepseek-chat").map(|c| c.vision), Some(false));
    assert_eq!(caps("o1-mini").map(|c| c.tools), Some(false));
    assert!(caps("meta-llama/Llama-3.3-70B-Instruct-Turbo").is_some_and(|c| !c.vision));
    assert_eq!(caps("qwen-whatever"), None);
}

#[test]
fn bad_values_have_their_key_paths() {
    let text = YAML
        .replace("context_window: 16000", "context_window: 0")
        .replace(
            "capabilities: { context_window: 4096 }",
            "capabilities: { context_window: 4096, vision: maybe }",
        )
        .replace(
            "- { model: gpt-4o-mini, tools: false }",
            "- { model: \"\", tools: false, colour: red }",
        );
    let err = load_str(&text, &|_| None).unwrap_err().to_string();
    assert!(
        err.contains("capabilities[0].context_window: 0 is out of range"),
        "{err}"
    );
    assert!(err.contains("capabilities[1]"), "{err}");
    assert!(
        err.contains("models[0].targets[2].capabilities.vision"),
        "{err}"
    );
}
