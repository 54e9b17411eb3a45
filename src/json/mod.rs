//! JSON without building values: one validating byte scanner (`scan`) and, on top of
//! it, the walk over every user-text string value that guardrails and token estimates
//! use (`texts`). Knows nothing of LLM APIs beyond the keys `texts` skips. And
//! `from_body`: serde over a body, validating its UTF-8 once.

pub(crate) mod scan;
pub(crate) mod tail;
pub mod texts;

pub use texts::{rewrite_texts, text_bytes, Malformed};

/// `serde_json::from_slice`, but the body's UTF-8 is validated once, in one fast pass,
/// instead of member name by member name (serde checks every key it reads from bytes:
/// a fifth of a small answer's parse). A body that is not UTF-8 takes the byte path,
/// which accepts what it accepted before (bytes in skipped strings are not checked).
pub fn from_body<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// The value at the start of `bytes` (what follows it is not read), with the UTF-8
/// validated once as in [`from_body`].
pub fn leading_value<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => T::deserialize(&mut serde_json::Deserializer::from_str(text)),
        Err(_) => T::deserialize(&mut serde_json::Deserializer::from_slice(bytes)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn from_body_reads_text_and_bytes_alike() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct Probe {
            n: u32,
        }
        let read = |b: &[u8]| super::from_body::<Probe>(b).ok();
        assert_eq!(
            read(br#"{"s":"\u00e9t\u00e9","n":1}"#),
            Some(Probe { n: 1 })
        );
        assert_eq!(
            read("{\"s\":\"été\",\"n\":2}".as_bytes()),
            Some(Probe { n: 2 })
        );
        // Invalid UTF-8 inside a skipped string: accepted as by `from_slice`.
        assert_eq!(read(b"{\"s\":\"\xff\",\"n\":3}"), Some(Probe { n: 3 }));
        assert_eq!(read(b"{\"n\":"), None);
        let lead = |b: &[u8]| super::leading_value::<Probe>(b).ok();
        assert_eq!(lead(br#"{"n":4}}, "x": 1}"#), Some(Probe { n: 4 }));
        assert_eq!(lead(b"{\"n\":5} \xff"), Some(Probe { n: 5 }));
    }
}
