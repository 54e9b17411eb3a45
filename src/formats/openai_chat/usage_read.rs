//! Reading a `usage` object (of an answer or of a stream's usage chunk) into
//! [`UsageWire`]: by `json::counts` when it has the usual shape, by serde otherwise,
//! with the same result either way (a repeated field, a `null` count or any value
//! serde would refuse makes the quick reader give up, and serde then decides).

use super::wire::{CompletionDetails, PromptDetails, UsageWire};
use crate::json::counts::Counts;

/// The usage object (or `null`) at the start of `value`; `None` when it does not parse.
pub(crate) fn read_usage(value: &[u8]) -> Option<Option<UsageWire>> {
    quick(value).or_else(|| crate::json::leading_value(value).ok())
}

fn quick(value: &[u8]) -> Option<Option<UsageWire>> {
    let mut c = Counts::new(value);
    if c.null() {
        return Some(None);
    }
    let mut u = UsageWire::default();
    let mut seen = 0u8;
    c.members(|c, name| {
        let field = match name {
            b"prompt_tokens" => 1,
            b"completion_tokens" => 2,
            b"total_tokens" => 4,
            b"prompt_tokens_details" => 8,
            b"completion_tokens_details" => 16,
            _ => return c.skip(),
        };
        if seen & field != 0 {
            return None;
        }
        seen |= field;
        match field {
            1 => u.prompt_tokens = c.count()?,
            2 => u.completion_tokens = c.count()?,
            4 => u.total_tokens = c.count()?,
            8 => {
                u.prompt_tokens_details = detail(c, b"cached_tokens")?
                    .map(|cached_tokens| PromptDetails { cached_tokens })
            }
            _ => {
                u.completion_tokens_details = detail(c, b"reasoning_tokens")?
                    .map(|reasoning_tokens| CompletionDetails { reasoning_tokens })
            }
        }
        Some(())
    })?;
    Some(Some(u))
}

/// A details object (or `null`) and its one count of interest (`null` or missing: 0).
fn detail(c: &mut Counts<'_>, wanted: &[u8]) -> Option<Option<u64>> {
    if c.null() {
        return Some(None);
    }
    let mut count = None;
    c.members(|c, name| {
        if name != wanted {
            return c.skip();
        }
        if count.is_some() {
            return None;
        }
        count = Some(c.count_or_null()?.unwrap_or(0));
        Some(())
    })?;
    Some(Some(count.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_read(value: &str) -> Option<Option<UsageWire>> {
        crate::json::leading_value(value.as_bytes()).ok()
    }

    #[test]
    fn the_quick_read_is_serde_s_wherever_it_answers() {
        let cases = [
            "null",
            "{}",
            r#"{"prompt_tokens":76,"completion_tokens":8,"total_tokens":84,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#,
            r#"{ "prompt_tokens" : 19, "completion_tokens": 10, "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 12}, "completion_tokens_details": null }"#,
            r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":null},"completion_tokens_details":{"reasoning_tokens":7}}"#,
            r#"{"prompt_tokens":5,"prompt_tokens_details":{},"extra":{"nested":{"deep":1}}}"#,
        ];
        for case in cases {
            let quick = quick(case.as_bytes());
            assert!(quick.is_some(), "{case}");
            assert_eq!(quick, serde_read(case), "{case}");
        }
    }

    #[test]
    fn what_the_quick_read_refuses_serde_decides() {
        for case in [
            r#"{"prompt_tokens":null}"#,
            r#"{"prompt_tokens":1,"prompt_tokens":2}"#,
            r#"{"prompt_tokens":1.0}"#,
            r#"{"prompt_tokens":-1}"#,
            r#"{"prompt_tokens":1,"note":"text","completion_tokens":2}"#,
            r#"{"prompt_tokens":1,"list":[1,2]}"#,
            r#"{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":2}}"#,
            r#"{"pr\u006fmpt_tokens":3}"#,
            "[]",
        ] {
            assert_eq!(quick(case.as_bytes()), None, "{case}");
            assert_eq!(read_usage(case.as_bytes()), serde_read(case), "{case}");
        }
        // serde reads what the quick reader leaves to it.
        assert_eq!(
            read_usage(br#"{"prompt_tokens":1,"note":"text","completion_tokens":2}"#)
                .flatten()
                .map(|u| (u.prompt_tokens, u.completion_tokens)),
            Some((1, 2))
        );
    }
}
