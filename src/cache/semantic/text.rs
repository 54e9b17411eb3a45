//! What a semantic lookup compares: the question (embedded) and the scope (hashed,
//! must be equal).
//!
//! Only a conversation short enough to be embedded whole is looked up semantically —
//! the last user turn and at most `context_messages` turns before it — so two
//! conversations that differ earlier never share an answer because their last turns
//! look alike. Instructions (system, developer), tools, the response format and
//! every parameter go into the scope instead: they must match exactly.

use sha2::{Digest, Sha256};

use crate::model::{ChatRequest, ContentPart, Role};

/// The text to embed, or `None` when the request is not a candidate (the last turn
/// is not a user's text, the conversation is longer than the window, or a turn in it
/// holds anything but text).
pub fn question(req: &ChatRequest<'_>, context_messages: usize) -> Option<String> {
    let turns: Vec<_> = req
        .messages
        .iter()
        .filter(|m| !m.role.is_instruction())
        .collect();
    let last = turns.last()?;
    if last.role != Role::User || turns.len() > context_messages + 1 {
        return None;
    }
    let mut out = String::new();
    for m in turns {
        for part in &m.content {
            match part {
                ContentPart::Text(t) => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(t);
                }
                ContentPart::CacheBreakpoint(_) => {}
                _ => return None,
            }
        }
    }
    (!out.trim().is_empty()).then_some(out)
}

/// The scope of a semantic match: `base` (route, version, namespace, embeddings
/// route) and the request without its conversation turns (`req` is the canonical
/// request with `model`, `stream` and the other answer-neutral fields cleared).
pub fn scope(base: &[u8], req: &ChatRequest<'_>) -> [u8; 32] {
    let mut rest = req.clone();
    rest.messages.retain(|m| m.role.is_instruction());
    let mut h = Sha256::new();
    h.update(b"semantic\0");
    h.update(base);
    h.update(format!("{rest:?}").as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Dialect;

    fn req(body: &str) -> ChatRequest<'_> {
        crate::formats::read_request(Dialect::OpenAi, body.as_bytes()).unwrap()
    }

    #[test]
    fn only_short_text_conversations_are_candidates() {
        let one = r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}"#;
        assert_eq!(question(&req(one), 0).as_deref(), Some("hello there"));
        let two = r#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#;
        assert_eq!(question(&req(two), 0), None);
        assert_eq!(question(&req(two), 2).as_deref(), Some("a\nb\nc"));
        let ends_assistant = r#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}"#;
        assert_eq!(question(&req(ends_assistant), 4), None);
    }

    #[test]
    fn the_scope_ignores_turns_but_not_instructions_or_parameters() {
        let a = r#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"one"}]}"#;
        let b = r#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"two"}]}"#;
        let c = r#"{"model":"m","messages":[{"role":"system","content":"t"},{"role":"user","content":"one"}]}"#;
        let d = r#"{"model":"m","temperature":0.5,"messages":[{"role":"system","content":"s"},{"role":"user","content":"one"}]}"#;
        assert_eq!(scope(b"x", &req(a)), scope(b"x", &req(b)));
        assert_ne!(scope(b"x", &req(a)), scope(b"x", &req(c)));
        assert_ne!(scope(b"x", &req(a)), scope(b"x", &req(d)));
        assert_ne!(scope(b"x", &req(a)), scope(b"y", &req(a)));
    }
}
