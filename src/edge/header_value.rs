//! Header values built without a copy.
//!
//! Pingora's `insert_header` accepts anything that converts into a `HeaderValue`. A
//! `&str` converts by copying into a fresh buffer, a `String` by handing its buffer
//! over, and a `HeaderValue` clone only counts a reference. So values known at load
//! are made once, in static memory (a clone then counts nothing either), counts below
//! ten are static, and values formatted per request are formatted straight into the
//! buffer the header keeps.

use std::collections::HashSet;
use std::sync::Mutex;

use http::HeaderValue;
use once_cell::sync::Lazy;

/// Counts such as `x-tollgate-attempts` or a `content-length`: static below ten, else
/// formatted into one buffer of exactly its length. (`HeaderValue::from(u64)` formats
/// into a spare-capacity buffer and then allocates again to share it: two allocations
/// for what is one here.)
pub fn count(n: u64) -> HeaderValue {
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    if let Some(s) = SMALL.get(n as usize) {
        return HeaderValue::from_static(s);
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    while rest > 0 {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // A buffer whose length is its capacity becomes a `Bytes` without a second block.
    let bytes = bytes::Bytes::copy_from_slice(&digits[start..]);
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from(n))
}

/// A value from text (a route explanation, a request id, a name a client sent). Text
/// that is not a valid header value becomes an empty value rather than an error
/// mid-request.
pub fn text(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A value made once from the configuration (a provider's or a target model's name, a
/// limit) and cloned on every request, kept in static memory so that a clone copies a
/// pointer. A clone of any other `HeaderValue` writes its buffer's reference count: a
/// cache line every worker thread takes in turn, when the value is shared
/// configuration. Interned by content, so a reload of the same configuration keeps
/// nothing more: what is kept is bounded by the distinct values ever configured.
/// Never for a client's text (use [`text`]). Text outside visible ASCII is made as by
/// [`text`].
pub fn configured(s: &str) -> HeaderValue {
    if !s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return text(s);
    }
    HeaderValue::from_static(intern(s))
}

/// [`configured`] for a count (a configured limit).
pub fn configured_count(n: u64) -> HeaderValue {
    configured(&n.to_string())
}

/// The one static copy of `s`.
fn intern(s: &str) -> &'static str {
    static KEPT: Lazy<Mutex<HashSet<&'static str>>> = Lazy::new(Mutex::default);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = kept.get(s) {
        return k;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    kept.insert(leaked);
    leaked
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

    #[test]
    fn configured_values_are_static_and_interned() {
        let a = configured("mock-provider-interned");
        let b = configured(&String::from("mock-provider-interned"));
        assert_eq!(a.to_str().unwrap(), "mock-provider-interned");
        assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr(), "one copy");
        assert_eq!(configured_count(100_000).to_str().unwrap(), "100000");
        // Not visible ASCII: made as by `text`, never a panic.
        assert_eq!(configured("bad\nvalue").to_str().unwrap(), "");
        assert_eq!(configured("caf\u{e9}").as_bytes(), "caf\u{e9}".as_bytes());
    }
}
