use super::*;
use crate::test_rng::Rng;

/// What serde's reader makes of the usage value at the start of `b`.
fn serde(b: &[u8]) -> Option<Option<UsageWire>> {
    crate::json::leading_value::<Option<UsageWire>>(b).ok()
}

/// The usage object of OpenAI's chat completion reference, with the answer's tail.
const OPENAI: &str = r#"{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}"#;

#[test]
fn reads_the_documented_shape_as_serde_does() {
    let fast = usage_wire(OPENAI.as_bytes()).unwrap();
    assert_eq!(Some(Some(fast)), serde(OPENAI.as_bytes()));
    assert_eq!((fast.prompt_tokens, fast.completion_tokens), (19, 10));
    let cases = [
        r#"{"prompt_tokens":5,"completion_tokens":7}"#,
        r#" { "prompt_tokens" : 5 , "total_tokens" : 12 , "x" : "y" , "z" : null , "b" : true } "#,
        r#"{"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":null}}"#,
        r#"{"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{}}"#,
        r#"{}"#,
        r#"{"prompt_tokens":18446744073709551615}"#,
    ];
    for case in cases {
        let fast = usage_wire(case.as_bytes());
        assert_eq!(fast.map(Some), serde(case.as_bytes()), "{case}");
        assert!(fast.is_some(), "{case}");
    }
}

#[test]
fn leaves_every_other_shape_to_serde() {
    let cases = [
        "null",
        r#"{"prompt_tokens":null}"#,
        r#"{"prompt_tokens":1.0}"#,
        r#"{"prompt_tokens":-1}"#,
        r#"{"prompt_tokens":01}"#,
        r#"{"prompt_tokens":18446744073709551616}"#,
        r#"{"prompt_tokens":1,"prompt_tokens":2}"#,
        r#"{"prompt\u005ftokens":1}"#,
        r#"{"x":{"nested":1}}"#,
        r#"{"x":[1]}"#,
        r#"{"é":1}"#,
        r#"{"prompt_tokens":1,}"#,
        r#"{"prompt_tokens":1"#,
    ];
    for case in cases {
        assert_eq!(usage_wire(case.as_bytes()), None, "{case}");
    }
}

#[test]
fn agrees_with_serde_on_whatever_it_reads() {
    let mut rng = Rng(0x05a9_e0b1);
    let mut read = 0;
    for _ in 0..20_000 {
        let input = rng.mutate(OPENAI.as_bytes());
        if let Some(fast) = usage_wire(&input) {
            read += 1;
            let text = String::from_utf8_lossy(&input);
            assert_eq!(Some(Some(fast)), serde(&input), "{text}");
        }
    }
    // The mutations must leave many inputs the fast path reads, or this proves nothing.
    assert!(read > 1_000, "only {read} mutated inputs were read");
}
