use super::*;
use crate::config::governance::GuardrailConfig;

/// A guardrail section checked and typed the way the config does it.
fn spec(c: &GuardrailConfig) -> GuardrailSpec {
    crate::config::guardrail_spec(c).unwrap()
}

pub(crate) fn cfg(name: &str, kind: &str, action: &str) -> GuardrailConfig {
    GuardrailConfig {
        name: name.into(),
        kind: kind.into(),
        detectors: Vec::new(),
        patterns: Vec::new(),
        max_tokens: None,
        action: Some(action.into()),
        apply_to: Some("both".into()),
        global: false,
    }
}

fn guard(c: GuardrailConfig) -> Vec<Arc<Guardrail>> {
    vec![Arc::new(Guardrail::from_config(&spec(&c)).unwrap())]
}

fn pii(action: &str, detectors: &[&str]) -> Vec<Arc<Guardrail>> {
    let mut c = cfg("pii", "pii", action);
    c.detectors = detectors.iter().map(|d| d.to_string()).collect();
    guard(c)
}

#[test]
fn redact_replaces_each_match_with_its_kind() {
    let g = pii("redact", &[]);
    let out = scan_text(
        &g,
        "mail a@example.com, card 4111 1111 1111 1111.",
        Direction::Input,
        "k",
    )
    .unwrap();
    assert_eq!(
        out.as_deref(),
        Some("mail [REDACTED:email], card [REDACTED:credit_card].")
    );
    assert_eq!(
        scan_text(&g, "nothing here", Direction::Input, "k").unwrap(),
        None
    );
}

#[test]
fn overlapping_matches_merge() {
    let mut hits = vec![
        Hit {
            start: 7,
            end: 40,
            kind: "secret",
        },
        Hit {
            start: 0,
            end: 12,
            kind: "secret",
        },
    ];
    let text = "Bearer sk-abcdefghijklmnopqrstuvwxyz012345 tail";
    assert_eq!(redact(text, &mut hits), "[REDACTED:secret]45 tail");
}

#[test]
fn block_names_guardrail_and_detector_never_the_text() {
    let g = pii("block", &["us_ssn"]);
    let e = scan_text(&g, "my ssn is 123-45-6789", Direction::Input, "k").unwrap_err();
    assert_eq!(e.kind, ErrorKind::GuardrailBlocked);
    assert_eq!(e.status(), 400);
    assert!(
        e.message.contains("`pii`") && e.message.contains("us_ssn"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("6789"));
}

#[test]
fn log_action_passes_text_unchanged() {
    let g = pii("log", &["email"]);
    assert_eq!(
        scan_text(&g, "a@example.com", Direction::Output, "k").unwrap(),
        None
    );
}

#[test]
fn deny_patterns_block_or_redact() {
    let mut c = cfg("words", "deny_pattern", "redact");
    c.patterns = vec![r"(?i)project\s+falcon".into(), r"\bACME-\d+\b".into()];
    let g = guard(c);
    let out = scan_text(
        &g,
        "About Project  Falcon and ACME-42.",
        Direction::Input,
        "k",
    )
    .unwrap();
    assert_eq!(
        out.as_deref(),
        Some("About [REDACTED:deny_pattern] and [REDACTED:deny_pattern].")
    );
}

#[test]
fn block_wins_over_redact() {
    let mut guards = pii("redact", &["email"]);
    guards.extend(pii("block", &["secret"]));
    let e = scan_text(
        &guards,
        "a@example.com AKIAIOSFODNN7EXAMPLE",
        Direction::Input,
        "k",
    )
    .unwrap_err();
    assert!(e.message.contains("secret"));
}

#[test]
fn json_body_is_redacted_in_place() {
    // Request shape from the OpenAI chat completions reference, with PII in the user turn.
    let body = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! I am jane@example.com"}]}"#;
    let g = pii("redact", &["email"]);
    let out = check_body(&g, body, Direction::Input, "k")
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! I am [REDACTED:email]"}]}"#
    );
    let clean = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}"#;
    assert_eq!(check_body(&g, clean, Direction::Input, "k").unwrap(), None);
}

#[test]
fn json_escapes_do_not_hide_matches() {
    let body = br#"{"messages":[{"role":"user","content":"my mail: jane\u0040example.com"}]}"#;
    let e = check_body(&pii("block", &["email"]), body, Direction::Input, "k").unwrap_err();
    assert_eq!(e.kind, ErrorKind::GuardrailBlocked);
}

#[test]
fn max_prompt_tokens_counts_text_only() {
    let mut c = cfg("size", "max_prompt_tokens", "block");
    c.apply_to = None;
    c.max_tokens = Some(10);
    let g = guard(c);
    let small = br#"{"model":"a-very-long-model-name-that-is-not-text","messages":[{"role":"user","content":"0123456789"}]}"#;
    assert_eq!(check_body(&g, small, Direction::Input, "k").unwrap(), None);
    let big =
        br#"{"messages":[{"role":"user","content":"0123456789012345678901234567890123456789x"}]}"#;
    let e = check_body(&g, big, Direction::Input, "k").unwrap_err();
    assert!(e.message.contains("about 11 tokens"), "{}", e.message);
}

#[test]
fn invalid_bodies_are_invalid_requests() {
    let g = pii("block", &[]);
    assert_eq!(
        check_body(&g, b"\xff\xfe", Direction::Input, "k")
            .unwrap_err()
            .kind,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        check_body(&g, br#"{"content":"x"#, Direction::Input, "k")
            .unwrap_err()
            .kind,
        ErrorKind::InvalidRequest
    );
    // Without guardrails nothing is parsed.
    assert_eq!(
        check_body(&[], b"\xff", Direction::Input, "k").unwrap(),
        None
    );
}

#[test]
fn key_sets_combine_own_and_global_by_direction() {
    let mut a = cfg("a", "pii", "block");
    a.apply_to = Some("input".into());
    let mut b = cfg("b", "pii", "block");
    b.apply_to = Some("output".into());
    b.global = true;
    let all = Guardrails::from_config(&[spec(&a), spec(&b)]).unwrap();
    let mut key = KeyInfo::anonymous();
    key.guardrails = vec!["a".into(), "b".into()];
    let set = all.for_key(&key);
    assert_eq!(
        set.input
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(
        set.output
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    let anon = all.for_key(&KeyInfo::anonymous());
    assert!(anon.input.is_empty());
    assert_eq!(anon.output.len(), 1);
}

#[test]
fn body_estimate_counts_text_not_images() {
    let image = "A".repeat(400_000);
    let body = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":[{{"type":"text","text":"{}"}},
        {{"type":"image_url","image_url":{{"url":"data:image/png;base64,{image}"}}}}]}}]}}"#,
        "word ".repeat(100)
    );
    assert_eq!(estimate_body_tokens(body.as_bytes()), 125);
    assert_eq!(
        estimate_body_tokens(br#"{"content":"x"#),
        estimate_tokens(13)
    );
    assert_eq!(estimate_body_tokens(b"\xff\xfe\xfd\xfc"), 1);
}
