//! The golden-fixture harness of every format test: inputs are provider payloads in
//! `tests/fixtures/<format>/` (see the README there), expected outputs live beside
//! them as `tests/fixtures/<format>/golden/<input stem>.<target>.<ext>`, where
//! `<target>` is the client dialect (`openai`, `anthropic`), the upstream format a
//! request is translated to (`openai_chat`, `gemini`, ...) or `gateway_error`.
//! `TOLLGATE_BLESS=1 cargo test --test <golden test>` rewrites the expected files
//! after a deliberate change; review the diff before committing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use tollgate::formats::{Dialect, StreamTranslator, WireFormat};

/// The fixture root, `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fixture's bytes, by path under `tests/fixtures`.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The folder of a format's fixtures, also its `<target>` name.
pub fn folder(format: WireFormat) -> &'static str {
    match format {
        WireFormat::OpenAiChat => "openai_chat",
        WireFormat::AnthropicMessages => "anthropic_messages",
        WireFormat::Gemini => "gemini",
        WireFormat::BedrockConverse => "bedrock_converse",
        WireFormat::OpenAiResponses => "openai_responses",
    }
}

/// A client dialect's `<target>` name.
pub fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::OpenAi => "openai",
        Dialect::Anthropic => "anthropic",
        Dialect::OpenAiResponses => "openai_responses",
        Dialect::Gemini => "gemini",
    }
}

/// The expected file of `input` (a fixture file name in `folder`) for `target`.
pub fn golden_path(folder: &str, input: &str, target: &str, ext: &str) -> String {
    let stem = input.rsplit_once('.').map_or(input, |(s, _)| s);
    format!("{folder}/golden/{stem}.{target}.{ext}")
}

fn blessing() -> bool {
    std::env::var_os("TOLLGATE_BLESS").is_some()
}

fn bless(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Compare text with (or, blessing, write) the golden file, byte for byte.
pub fn check_text(golden: &str, actual: &str) {
    let path = fixtures().join(golden);
    if blessing() {
        return bless(&path, actual);
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{golden}: {e} (run with TOLLGATE_BLESS=1 to create it)"));
    assert_eq!(actual, expected, "golden file {golden} differs");
}

/// Compare a JSON value with (or, blessing, write pretty-printed) the golden file, as
/// JSON: `Err` with both sides printed when they differ, so a table can report all.
pub fn check_json(golden: &str, actual: &Value) -> Result<(), String> {
    let path = fixtures().join(golden);
    if blessing() {
        bless(
            &path,
            &(serde_json::to_string_pretty(actual).unwrap() + "\n"),
        );
        return Ok(());
    }
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{golden}: {e} (run with TOLLGATE_BLESS=1 to create it)"));
    let expected: Value = serde_json::from_slice(&bytes).unwrap();
    if &expected == actual {
        return Ok(());
    }
    Err(format!(
        "{golden}:\n--- expected\n{}\n--- got\n{}",
        serde_json::to_string_pretty(&expected).unwrap(),
        serde_json::to_string_pretty(actual).unwrap()
    ))
}

/// Feed `input` in pieces of the given lengths (cycled; `[usize::MAX]` = whole),
/// then finish; returns everything the translator wrote.
pub fn feed(t: &mut dyn StreamTranslator, input: &[u8], lens: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut pos, mut i) = (0, 0);
    while pos < input.len() {
        let end = pos
            .saturating_add(lens[i % lens.len()].max(1))
            .min(input.len());
        let _ = t.feed(&input[pos..end], &mut out);
        pos = end;
        i += 1;
    }
    t.finish(&mut out);
    out
}
