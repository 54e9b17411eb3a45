use super::*;
use crate::config::governance::GuardrailConfig;
use crate::error::ErrorKind;

fn scanner(action: &str, detectors: &[&str]) -> OutputScanner {
    let c = GuardrailConfig {
        name: "out".into(),
        kind: "pii".into(),
        detectors: detectors.iter().map(|d| d.to_string()).collect(),
        patterns: Vec::new(),
        max_tokens: None,
        action: Some(action.into()),
        apply_to: Some("output".into()),
        global: false,
    };
    let spec = crate::config::guardrail_spec(&c).unwrap();
    OutputScanner::new(vec![Arc::new(Guardrail::from_config(&spec).unwrap())], "k")
}

/// Feeds `chunks`, returns everything emitted (including finish) or the block error.
fn run(s: &mut OutputScanner, chunks: &[&str]) -> Result<String, GatewayError> {
    let mut out = String::new();
    for c in chunks {
        match s.feed(c) {
            Verdict::Emit(t) => out.push_str(&t),
            Verdict::Block(e) => return Err(e),
        }
    }
    match s.finish() {
        Verdict::Emit(t) => out.push_str(&t),
        Verdict::Block(e) => return Err(e),
    }
    Ok(out)
}

/// Every split of `text` into two chunks and into single characters.
fn splits(text: &str) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for i in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
        all.push(vec![text[..i].to_string(), text[i..].to_string()]);
    }
    all.push(text.chars().map(|c| c.to_string()).collect());
    all
}

#[test]
fn clean_text_passes_unchanged_in_order() {
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(10);
    for chunks in splits(&text) {
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        assert_eq!(run(&mut scanner("redact", &[]), &refs).unwrap(), text);
    }
}

#[test]
fn a_secret_split_anywhere_is_redacted_whole() {
    // Longer than the hold window, so matches cross the emit boundary in every split.
    let filler = "lorem ipsum dolor sit amet ".repeat(6);
    let text = format!("{filler}Here is the key: sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234 keep it safe, and mail bob@example.org. {filler}");
    let want = format!("{filler}Here is the key: [REDACTED:secret] keep it safe, and mail [REDACTED:email]. {filler}");
    for chunks in splits(&text) {
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        assert_eq!(
            run(&mut scanner("redact", &["secret", "email"]), &refs).unwrap(),
            want,
            "{refs:?}"
        );
    }
}

#[test]
fn a_card_split_across_chunks_blocks() {
    let text = format!(
        "{} Your card 4111 1111 1111 1111 is on file.",
        "padding ".repeat(20)
    );
    for chunks in splits(&text) {
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        let e = run(&mut scanner("block", &["credit_card"]), &refs).unwrap_err();
        assert_eq!(e.kind, ErrorKind::GuardrailBlocked);
        assert!(e.message.contains("credit_card") && !e.message.contains("4111"));
    }
}

#[test]
fn nothing_of_a_match_is_emitted_before_it_is_known() {
    let mut s = scanner("redact", &["secret"]);
    let filler = "x".repeat(300);
    let Verdict::Emit(first) = s.feed(&format!("{filler} AKIAIOSF")) else {
        panic!("blocked")
    };
    assert!(!first.contains("AKIA"), "emitted part of a possible key");
    assert!(
        first.len() >= 300 - HOLD_BYTES,
        "held back too much: {}",
        first.len()
    );
    let Verdict::Emit(second) = s.feed("ODNN7EXAMPLE done") else {
        panic!("blocked")
    };
    let Verdict::Emit(rest) = s.finish() else {
        panic!("blocked")
    };
    assert_eq!(
        format!("{first}{second}{rest}"),
        format!("{filler} [REDACTED:secret] done")
    );
}

#[test]
fn text_is_released_once_past_the_window() {
    let mut s = scanner("redact", &[]);
    let Verdict::Emit(a) = s.feed(&"a".repeat(HOLD_BYTES)) else {
        panic!()
    };
    assert_eq!(a, "");
    let Verdict::Emit(b) = s.feed("bbbb") else {
        panic!()
    };
    assert_eq!(b, "aaaa");
}

#[test]
fn multibyte_text_is_never_cut_inside_a_character() {
    let text = "héllo wörld — ünïcödé ✓ ".repeat(20);
    let chunks: Vec<String> = text
        .chars()
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| c.iter().collect())
        .collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    assert_eq!(run(&mut scanner("redact", &[]), &refs).unwrap(), text);
}

#[test]
fn after_a_block_nothing_more_is_emitted() {
    let mut s = scanner("block", &["us_ssn"]);
    assert!(matches!(s.feed("ssn 123-45-6789 "), Verdict::Block(_)));
    assert_eq!(s.feed("more text"), Verdict::Emit(String::new()));
    assert_eq!(s.finish(), Verdict::Emit(String::new()));
}

#[test]
fn an_endless_match_is_released_after_the_cap() {
    let mut s = scanner("redact", &["secret"]);
    let mut emitted = String::new();
    if let Verdict::Emit(t) = s.feed("sk-") {
        emitted.push_str(&t);
    }
    for _ in 0..(MAX_HOLD_BYTES / 1000 + 2) {
        if let Verdict::Emit(t) = s.feed(&"A".repeat(1000)) {
            emitted.push_str(&t);
        }
    }
    assert!(
        emitted.starts_with("[REDACTED:secret]"),
        "{}",
        &emitted[..40.min(emitted.len())]
    );
}
