//! What routing rules look at in a request, read once from the body (OpenAI chat,
//! Anthropic messages or Gemini `generateContent`) when the requested model is a
//! router, so plain aliases pay nothing for it.

use serde_json::Value;

use crate::error::Dialect;

/// Facts of the request body (the key and headers are read where they live).
#[derive(Debug, Default, Clone)]
pub struct BodyFacts {
    pub tools: bool,
    pub images: bool,
    pub response_format: bool,
    pub reasoning: bool,
    /// User messages in the conversation.
    pub turns: u32,
    /// The text of the last user message.
    pub last_user: String,
    /// Every message's text (system included), joined, for the complexity classifier.
    pub text: String,
}

/// Read the facts from a body already known to be a JSON object.
pub fn read(dialect: Dialect, body: &[u8]) -> BodyFacts {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return BodyFacts::default();
    };
    let mut f = BodyFacts {
        tools: non_empty_array(root.get("tools")) || non_empty_array(root.get("functions")),
        response_format: present(root.get("response_format")) || present(root.get("output_format")),
        reasoning: present(root.get("reasoning_effort"))
            || present(root.get("reasoning"))
            || thinking_enabled(root.get("thinking")),
        ..BodyFacts::default()
    };
    if dialect == Dialect::Anthropic {
        if let Some(system) = root.get("system") {
            push_text(system, &mut f.text, &mut false);
        }
    }
    if dialect == Dialect::Gemini {
        gemini(&root, &mut f);
        return f;
    }
    let messages = root.get("messages").and_then(Value::as_array);
    for m in messages.into_iter().flatten() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let Some(content) = m.get("content") else {
            continue;
        };
        let mut images = false;
        let start = f.text.len();
        push_text(content, &mut f.text, &mut images);
        f.images |= images;
        if role == "user" {
            f.turns += 1;
            f.last_user = f.text[start..].trim_start().to_string();
        }
    }
    f
}

/// Gemini: `systemInstruction` and `contents[].parts[]` (a turn without a role is
/// the user's), JSON output from `generationConfig.responseMimeType`, reasoning from
/// a `thinkingConfig` that does not set the budget to 0.
fn gemini(root: &serde_json::Map<String, Value>, f: &mut BodyFacts) {
    let top = |camel: &str, snake: &str| root.get(camel).or_else(|| root.get(snake));
    let config = top("generationConfig", "generation_config");
    f.response_format = config
        .and_then(|c| c.get("responseMimeType"))
        .and_then(Value::as_str)
        == Some("application/json");
    f.reasoning = config
        .and_then(|c| member(c, "thinkingConfig", "thinking_config"))
        .is_some_and(|t| t.get("thinkingBudget").and_then(Value::as_i64) != Some(0));
    let system = top("systemInstruction", "system_instruction");
    for (c, is_system) in system
        .into_iter()
        .map(|s| (s, true))
        .chain(one_or_many(top("contents", "contents")).map(|c| (c, false)))
    {
        let start = f.text.len();
        for p in one_or_many(c.get("parts")) {
            let blob = member(p, "inlineData", "inline_data")
                .or_else(|| member(p, "fileData", "file_data"));
            let mime = blob.and_then(|b| member(b, "mimeType", "mime_type"));
            f.images |= mime
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("image/"));
            if let Some(t) = p.get("text").and_then(Value::as_str) {
                f.text.push('\n');
                f.text.push_str(t);
            }
        }
        let role = c.get("role").and_then(Value::as_str).unwrap_or("user");
        if !is_system && role == "user" {
            f.turns += 1;
            f.last_user = f.text[start..].trim_start().to_string();
        }
    }
}

/// A member under its JSON name or its proto name (Google's parser takes both).
fn member<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// A repeated field, also as one bare object.
fn one_or_many(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match v {
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => &[],
    };
    items.iter()
}

fn present(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

fn non_empty_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// Anthropic `thinking: {type: enabled}` (`disabled` is no reasoning).
fn thinking_enabled(v: Option<&Value>) -> bool {
    v.and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "disabled")
}

/// Appends the text of a content value (a string or a list of parts) to `out`, and
/// notes image parts (OpenAI `image_url`, Anthropic `image`, documents with images
/// are not counted).
fn push_text(content: &Value, out: &mut String, images: &mut bool) {
    match content {
        Value::String(s) => {
            out.push('\n');
            out.push_str(s);
        }
        Value::Array(parts) => {
            for p in parts {
                let kind = p.get("type").and_then(Value::as_str);
                *images |= matches!(kind, Some("image_url" | "image" | "input_image"));
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    out.push('\n');
                    out.push_str(t);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_bodies() {
        let body = br#"{"systemInstruction":{"parts":[{"text":"Be brief."}]},
          "contents":[{"parts":[{"text":"hello"},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]},
            {"role":"model","parts":[{"text":"hi"}]},{"role":"user","parts":[{"text":"again"}]}],
          "tools":[{"functionDeclarations":[{"name":"f"}]}],
          "generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"thinkingBudget":0}}}"#;
        let f = read(Dialect::Gemini, body);
        assert!(f.tools && f.images && f.response_format && !f.reasoning);
        assert_eq!((f.turns, f.last_user.as_str()), (2, "again"));
        assert!(f.text.contains("Be brief.") && f.text.contains("hi"));
    }

    #[test]
    fn openai_parts_tools_and_format() {
        let body = br#"{"model":"auto","messages":[
            {"role":"system","content":"be brief"},
            {"role":"user","content":"hi"},
            {"role":"assistant","content":"hello"},
            {"role":"user","content":[{"type":"text","text":"what is this?"},
              {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}],
            "tools":[{"type":"function","function":{"name":"f"}}],
            "response_format":{"type":"json_object"},"reasoning_effort":"high"}"#;
        let f = read(Dialect::OpenAi, body);
        assert!(f.tools && f.images && f.response_format && f.reasoning);
        assert_eq!(f.turns, 2);
        assert_eq!(f.last_user, "what is this?");
        assert!(f.text.contains("be brief"));
    }

    #[test]
    fn anthropic_system_and_thinking() {
        let body = br#"{"model":"auto","system":"sys prompt","max_tokens":10,
            "thinking":{"type":"enabled","budget_tokens":1024},
            "messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},{"type":"text","text":"describe"}]}]}"#;
        let f = read(Dialect::Anthropic, body);
        assert!(f.images && f.reasoning && !f.tools && !f.response_format);
        assert_eq!((f.turns, f.last_user.as_str()), (1, "describe"));
        assert!(f.text.starts_with("\nsys prompt"));
    }

    #[test]
    fn disabled_thinking_and_empty_tools_are_absent() {
        let body = br#"{"thinking":{"type":"disabled"},"tools":[],"messages":[]}"#;
        let f = read(Dialect::Anthropic, body);
        assert!(!f.reasoning && !f.tools);
    }
}
