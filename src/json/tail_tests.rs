use super::member_from_end;
use crate::test_rng::Rng;
use serde_json::{json, Map, Value};

/// The value `member_from_end` finds for `name`, parsed.
fn found(doc: &str, name: &str) -> Option<Value> {
    let at = member_from_end(doc.as_bytes(), name.as_bytes())?;
    let mut de = serde_json::Deserializer::from_str(&doc[at..]);
    Some(serde::Deserialize::deserialize(&mut de).expect("a value starts there"))
}

#[test]
fn finds_the_top_level_member_after_the_content() {
    let doc = r#"{"id":"x","choices":[{"message":{"content":"hi","usage":{"n":9}}}],
        "usage" : {"prompt_tokens":76,"details":{"cached":0}} ,"tier":"default"}  "#;
    assert_eq!(
        found(doc, "usage"),
        Some(json!({"prompt_tokens":76,"details":{"cached":0}}))
    );
    assert_eq!(found(doc, "tier"), Some(json!("default")));
    assert_eq!(found(doc, "id"), Some(json!("x")));
}

#[test]
fn a_nested_member_or_a_string_value_of_that_name_is_not_it() {
    let nested = r#"{"choices":[{"usage":{"n":1}}],"meta":{"usage":2}}"#;
    assert_eq!(found(nested, "usage"), None);
    let value = r#"{"kind":"usage","other":["usage"]}"#;
    assert_eq!(found(value, "usage"), None);
}

#[test]
fn escaped_quotes_and_backslashes_in_strings_are_read_as_content() {
    // Content that spells a member: every quote inside it is escaped.
    let doc = r#"{"content":"x\",\"usage\":{\"n\":666},\"y\":\"","usage":{"n":1}}"#;
    assert_eq!(found(doc, "usage"), Some(json!({"n":1})));
    let only_fake = r#"{"content":"\"usage\":{\"n\":666}"}"#;
    assert_eq!(found(only_fake, "usage"), None);
    // A string ending in backslashes: the quote after them closes it.
    let doc = r#"{"a":"\\","usage":{"n":2},"b":"\\\\","c":"\\\"}"}"#;
    assert_eq!(found(doc, "usage"), Some(json!({"n":2})));
    assert_eq!(found(doc, "c"), Some(json!("\\\"}")));
}

#[test]
fn the_last_of_repeated_members_wins_and_null_is_a_value() {
    assert_eq!(found(r#"{"usage":1,"usage":2}"#, "usage"), Some(json!(2)));
    assert_eq!(found(r#"{"usage":null}"#, "usage"), Some(Value::Null));
}

#[test]
fn what_is_not_one_object_or_spells_the_name_with_escapes_finds_nothing() {
    for doc in [
        "",
        "   ",
        "{",
        "}",
        r#"["usage",{"usage":1}]"#,
        r#"<html>"usage":1</html>"#,
        r#"{"usage":1"#,
        r#"{"us\u0061ge":1}"#,
        r#"{"a":"unterminated}"#,
    ] {
        assert_eq!(found(doc, "usage"), None, "{doc}");
    }
}

/// Strings made of the bytes that matter to the walk: quotes, backslashes, braces,
/// colons and the member's own name.
fn tricky_string(rng: &mut Rng) -> String {
    const PIECES: [&str; 9] = ["\"", "\\", "{", "}", "[", ":", "usage", " ", "é"];
    (0..rng.below(6))
        .map(|_| PIECES[rng.below(PIECES.len())])
        .collect()
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    let kinds = if depth > 3 { 3 } else { 5 };
    match rng.below(kinds) {
        0 => Value::String(tricky_string(rng)),
        1 => json!(rng.below(1000)),
        2 => Value::Null,
        3 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(random_object(rng, depth + 1)),
    }
}

fn random_object(rng: &mut Rng, depth: u32) -> Map<String, Value> {
    (0..rng.below(5))
        .map(|_| {
            let key = if rng.below(3) == 0 {
                "usage".to_string()
            } else {
                tricky_string(rng)
            };
            (key, random_value(rng, depth))
        })
        .collect()
}

#[test]
fn agrees_with_serde_on_random_documents() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..5_000 {
        let object = random_object(&mut rng, 0);
        let doc = if case % 2 == 0 {
            serde_json::to_string(&object).unwrap()
        } else {
            serde_json::to_string_pretty(&object).unwrap()
        };
        assert_eq!(
            found(&doc, "usage"),
            object.get("usage").cloned(),
            "case {case}: {doc}"
        );
    }
}
