use super::*;

fn check(doc: &str) -> Result<Span> {
    let mut s = Scanner::new(doc.as_bytes());
    let span = s.value()?;
    s.end()?;
    Ok(span)
}

#[test]
fn accepts_what_serde_json_accepts() {
    let docs = [
        r#"{}"#,
        r#"[]"#,
        r#" {"a" : [1, -2.5e+3, 0, 0.1, 1E5, true, false, null, "x\"y\\\/\b\f\n\r\t\u00e9"], "b": {"c": {}}} "#,
        r#""just a string""#,
        "-0",
        r#"{"ключ": "значение 😀"}"#,
    ];
    for d in docs {
        assert!(serde_json::from_str::<serde_json::Value>(d).is_ok(), "{d}");
        let span = check(d).unwrap_or_else(|e| panic!("{d}: {e:?}"));
        assert_eq!(&d[span.start..span.end], d.trim());
    }
}

#[test]
fn rejects_what_serde_json_rejects() {
    let docs = [
        "",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "1.",
        "-",
        "1e",
        "+1",
        "tru",
        "nul",
        "\"abc",
        "\"a\\x\"",
        "\"\\u12g4\"",
        "\"tab\there\"",
        "{} {}",
        "[1 2]",
        "{\"a\":}",
        "'a'",
    ];
    for d in docs {
        assert!(serde_json::from_str::<serde_json::Value>(d).is_err(), "{d}");
        assert!(check(d).is_err(), "accepted {d:?}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert_eq!(check(&deep).unwrap_err().what, "nesting too deep");
    let ok = "[".repeat(100) + &"]".repeat(100);
    assert!(check(&ok).is_ok());
}

#[test]
fn members_yield_decoded_keys_and_value_spans() {
    let doc = br#"{"model": "gpt-4o", "mod\u0065l2": [1, {"x": 2}], "n": null}"#;
    let mut seen = Vec::new();
    let mut s = Scanner::new(doc);
    s.object_body(1, |b, key, span| {
        seen.push((
            key.into_owned(),
            String::from_utf8_lossy(&b[span.start..span.end]).into_owned(),
        ));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            ("model".into(), "\"gpt-4o\"".into()),
            ("model2".into(), "[1, {\"x\": 2}]".into()),
            ("n".into(), "null".into()),
        ]
    );
}

#[test]
fn string_at_borrows_or_decodes() {
    let doc = br#""plain" "esc\naped""#;
    let plain = string_at(doc, Span { start: 0, end: 7 }).unwrap();
    assert!(matches!(plain, Cow::Borrowed("plain")));
    let esc = string_at(doc, Span { start: 8, end: 19 }).unwrap();
    assert_eq!(esc, "esc\naped");
    assert!(string_at(doc, Span { start: 1, end: 5 }).is_none());
}

#[test]
fn word_at_a_time_skip_matches_bytewise() {
    let naive = |b: &[u8], mut i: usize| {
        while i < b.len() && !(b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20) {
            i += 1;
        }
        i
    };
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in 0..200 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly plain text, sometimes a stop byte or a high byte.
                match x % 40 {
                    0 => b'"',
                    1 => b'\\',
                    2 => (x >> 8) as u8 % 0x20,
                    3 => 0x80 | (x >> 8) as u8,
                    _ => b'a' + (x % 26) as u8,
                }
            })
            .collect();
        for start in 0..len.min(12) {
            assert_eq!(
                skip_plain(&bytes, start),
                naive(&bytes, start),
                "{bytes:?} from {start}"
            );
        }
    }
}
