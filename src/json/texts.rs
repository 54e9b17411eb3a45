//! Finds the user text inside a JSON request or response body without building a
//! `serde_json::Value`: a single pass over the bytes that visits every string *value*
//! (not object keys), knows the key it sits under, and splices replacements into a
//! copy, leaving every other byte as it was. Guardrails thus see prompts, tool
//! arguments and answers in any API shape (OpenAI `messages[].content`, content parts,
//! Anthropic `system` and `content[].text`, tool results...) and a body without a
//! match is passed on untouched.
//!
//! Values under keys that never carry user text are skipped: ids, roles, types,
//! base64 payloads (`data`, `data:` URLs), signatures of thinking blocks.

use std::borrow::Cow;

use super::scan::{string_at, Scanner, Span, SyntaxError};

/// Keys whose string values are not user text.
const SKIP_KEYS: &[&str] = &[
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_use_id",
    "signature",
    "data",
    "media_type",
    "encrypted_content",
    "detail",
    "object",
    "finish_reason",
    "stop_reason",
    "system_fingerprint",
];

/// A malformed body (not JSON, unterminated string, bad escape, nesting too deep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed;

/// Calls `visit(text)` for every string value that may carry user text. When `visit`
/// returns `Some(replacement)`, the value is replaced (re-escaped) in the output.
/// Returns `Ok(None)` when nothing was replaced, `Ok(Some(body))` otherwise. The walk
/// is the validating [`Scanner`]'s, so a body that is not JSON is `Malformed`.
pub fn rewrite_texts<E>(
    body: &str,
    mut visit: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Option<String>, Result<E, Malformed>> {
    let mut out: Option<String> = None;
    let mut copied = 0usize;
    let mut stopped: Option<E> = None;
    let walked = Scanner::for_text(body).strings(&mut |key, span| {
        let Some(text) = visited_text(body, key, span)? else {
            return Ok(());
        };
        match visit(&text) {
            Ok(None) => Ok(()),
            Ok(Some(new)) => {
                let o = out.get_or_insert_with(|| String::with_capacity(body.len() + 64));
                o.push_str(&body[copied..span.start]);
                o.push_str(&escape(&new));
                copied = span.end;
                Ok(())
            }
            Err(e) => {
                stopped = Some(e);
                Err(SyntaxError {
                    offset: span.start,
                    what: "stopped by the visitor",
                })
            }
        }
    });
    if let Some(e) = stopped {
        return Err(Ok(e));
    }
    walked.map_err(|_| Err(Malformed))?;
    Ok(out.map(|mut o| {
        o.push_str(&body[copied..]);
        o
    }))
}

/// The decoded length of the strings [`rewrite_texts`] would visit, summed: what a
/// token estimate needs, without handing each string to a visitor.
pub fn text_bytes(body: &str) -> Result<usize, Malformed> {
    let mut bytes = 0usize;
    Scanner::for_text(body)
        .strings(&mut |key, span| {
            bytes += visited_len(body, key, span)?;
            Ok(())
        })
        .map_err(|_| Malformed)?;
    Ok(bytes)
}

/// What the string value at `span` under `key` adds to [`text_bytes`]: its decoded
/// length, or 0 for a key or value that never carries user text. For walks that
/// count the text on their way (`formats::envelope`).
pub(crate) fn visited_len(body: &str, key: &str, span: Span) -> Result<usize, SyntaxError> {
    Ok(visited_text(body, key, span)?.map_or(0, |t| t.len()))
}

/// The text of the string value at `span` under `key`, or `None` for a key or value
/// that never carries user text. The body is UTF-8 already, so a string without
/// escapes is borrowed as it lies (quotes are ASCII: its inner bounds are char
/// boundaries); only one with escapes is decoded.
fn visited_text<'a>(
    body: &'a str,
    key: &str,
    span: Span,
) -> Result<Option<Cow<'a, str>>, SyntaxError> {
    let raw = &body[span.start + 1..span.end - 1];
    if skipped(key, raw) {
        return Ok(None);
    }
    if !raw.contains('\\') {
        return Ok(Some(Cow::Borrowed(raw)));
    }
    let text = string_at(body.as_bytes(), span).ok_or(SyntaxError {
        offset: span.start,
        what: "invalid string",
    })?;
    Ok(Some(text))
}

fn skipped(key: &str, raw: &str) -> bool {
    SKIP_KEYS.contains(&key) || raw.starts_with("data:")
}

fn escape(s: &str) -> String {
    // Serializing a &str cannot fail; fall back to an empty string literal regardless.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bytes_measures_what_the_walk_visits() {
        for body in [
            r#"{"model":"m","messages":[{"role":"user","content":"héllo"}]}"#,
            r#"{"messages":[{"content":[{"type":"text","text":"a\nb \u00e9 \"q\""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#,
            r#"{"system":"be brief","messages":[],"tools":[{"name":"f","description":"d"}]}"#,
            r#"["x", {"id":"skip","t":"yes"}]"#,
        ] {
            let mut visited = 0;
            let r: Result<_, Result<(), Malformed>> = rewrite_texts(body, |t| {
                visited += t.len();
                Ok(None)
            });
            assert_eq!(r, Ok(None));
            assert_eq!(text_bytes(body), Ok(visited), "{body}");
        }
        assert_eq!(text_bytes(r#"{"a":"x"#), Err(Malformed));
        assert_eq!(text_bytes(r#"{"a":"\x"}"#), Err(Malformed));
    }

    fn collect(body: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let r: Result<_, Result<(), Malformed>> = rewrite_texts(body, |t| {
            seen.push(t.to_string());
            Ok::<_, ()>(None)
        });
        assert_eq!(r, Ok(None));
        seen
    }

    #[test]
    fn visits_values_not_keys_and_skips_metadata() {
        let body = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"hi \"there\"\n"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],
            "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}"#;
        assert_eq!(
            collect(body),
            vec!["be brief", "hi \"there\"\n", "get_weather"]
        );
    }

    #[test]
    fn anthropic_shapes_are_covered() {
        let body = r#"{"model":"claude-sonnet-4","system":[{"type":"text","text":"S"}],"messages":[
            {"role":"assistant","content":[{"type":"thinking","thinking":"T","signature":"c2ln"},
            {"type":"tool_use","id":"toolu_1","name":"f","input":{"q":"Q"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"R"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]}]}"#;
        assert_eq!(collect(body), vec!["S", "T", "f", "Q", "R"]);
    }

    #[test]
    fn replacement_is_spliced_and_the_rest_is_byte_exact() {
        let body = "{ \"a\" : [\"keep\", \"sw\\u0061p\"], \"z\":1 }";
        let r: Result<_, Result<(), Malformed>> = rewrite_texts(body, |t| {
            Ok::<_, ()>((t == "swap").then(|| "new \"q\"".to_string()))
        });
        assert_eq!(
            r,
            Ok(Some(
                "{ \"a\" : [\"keep\", \"new \\\"q\\\"\"], \"z\":1 }".to_string()
            ))
        );
    }

    #[test]
    fn visitor_errors_and_malformed_bodies_surface() {
        let r = rewrite_texts(r#"{"content":"x"}"#, |_| Err::<Option<String>, _>("stop"));
        assert_eq!(r, Err(Ok("stop")));
        let r = rewrite_texts(r#"{"content":"x"#, |_| Ok::<_, ()>(None));
        assert_eq!(r, Err(Err(Malformed)));
        let r = rewrite_texts(r#"{"content":"bad \x escape"}"#, |_| Ok::<_, ()>(None));
        assert_eq!(r, Err(Err(Malformed)));
        // The scanner validates the structure too, not only the strings.
        let r = rewrite_texts(r#"{"content" "x"}"#, |_| Ok::<_, ()>(None));
        assert_eq!(r, Err(Err(Malformed)));
        let deep = format!("{}\"x\"{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            rewrite_texts(&deep, |_| Ok::<_, ()>(None)),
            Err(Err(Malformed))
        );
    }
}
