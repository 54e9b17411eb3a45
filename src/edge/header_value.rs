//! Header values built without a copy.
//!
//! Pingora's `insert_header` accepts anything that converts into a `HeaderValue`. A
//! `&str` converts by copying into a fresh buffer, a `String` by handing its buffer
//! over, and a `HeaderValue` clone only counts a reference. So values known at load
//! are made once and cloned, counts below ten are static, and values formatted per
//! request are formatted straight into the buffer the header keeps.

use http::HeaderValue;

/// Counts such as `x-tollgate-attempts`: static below ten, else formatted once.
pub fn count(n: u64) -> HeaderValue {
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match SMALL.get(n as usize) {
        Some(s) => HeaderValue::from_static(s),
        None => HeaderValue::from(n),
    }
}

/// A value made once (a name from the configuration) and cloned per request. Text
/// that is not a valid header value (never the case for names the configuration
/// accepted) becomes an empty value rather than an error mid-request.
pub fn text(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A value formatted for this request: its buffer becomes the header's, uncopied.
pub fn owned(s: String) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_text_round_trip() {
        for n in [0, 1, 9, 10, 12_345, u64::MAX] {
            assert_eq!(count(n).to_str().unwrap(), n.to_string());
        }
        assert_eq!(text("mock-gpt").to_str().unwrap(), "mock-gpt");
        assert_eq!(owned("0ms".to_string()).to_str().unwrap(), "0ms");
        assert_eq!(text("bad\nvalue").to_str().unwrap(), "");
        assert_eq!(owned("bad\rvalue".into()).to_str().unwrap(), "");
    }
}
