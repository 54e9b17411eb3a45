//! Built-in PII and secret detectors: a regular expression finds candidates, a
//! validator removes the false positives a regex cannot (Luhn for card numbers, ISO
//! 13616 mod-97 for IBANs, SSA rules for SSNs, digit counts for phone numbers).
//!
//! All patterns are compiled once. A `RegexSet` of every pattern runs first (one pass
//! over the text) so that only detectors with a candidate run their own search.

use once_cell::sync::Lazy;
use regex::{Regex, RegexSet};

pub use crate::config::Detector;

/// A match in a text: byte range and what found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    /// Detector name, or `deny_pattern` for operator patterns.
    pub kind: &'static str,
}

// ASCII word boundaries keep the fast DFA engines usable on non-ASCII text.
const EMAIL: &str = r"(?i)(?-u:\b)[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}(?-u:\b)";
const PHONE: &str = r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?-u:\b)|(?:\(\d{3}\)[ ]?|(?-u:\b)\d{3}[ .-])\d{3}[ .-]\d{4}(?-u:\b))";
const CARD: &str = r"(?-u:\b)(?:\d[ -]?){12,18}\d(?-u:\b)";
const IBAN: &str = r"(?-u:\b)[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?-u:\b)";
const SSN: &str = r"(?-u:\b)\d{3}-\d{2}-\d{4}(?-u:\b)";
const SECRET: &str = concat!(
    r"(?:(?-u:\b)sk-[A-Za-z0-9_-]{20,}",
    r"|(?-u:\b)[rs]k_live_[A-Za-z0-9]{20,}",
    r"|(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
    r"|(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,255}",
    r"|(?-u:\b)github_pat_[A-Za-z0-9_]{22,255}",
    r"|(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}",
    r"|(?-u:\b)AIza[0-9A-Za-z_-]{35}",
    r"|(?i:bearer)[ \t]+[A-Za-z0-9._~+/-]{20,}=*",
    // A PEM private key: the whole block when its end is there, else the header and
    // the base64 that follows (a stream may still be delivering the rest).
    r"|-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*))",
);

/// Pattern of each detector, indexed like [`Detector::ALL`].
const PATTERNS: [&str; 6] = [EMAIL, PHONE, CARD, IBAN, SSN, SECRET];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
}

static COMPILED: Lazy<Option<Compiled>> = Lazy::new(|| {
    let built = RegexSet::new(PATTERNS).and_then(|set| {
        let each = PATTERNS
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Compiled { set, each })
    });
    match built {
        Ok(c) => Some(c),
        Err(e) => {
            log::error!("built-in detectors failed to compile: {e}");
            None
        }
    }
});

/// Luhn checksum of a digit string.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// ISO 13616 check: move the first four characters to the end, letters to 10..35,
/// the number mod 97 must be 1. `iban` is upper-case alphanumeric without spaces.
pub fn iban_valid(iban: &[u8]) -> bool {
    if !(15..=34).contains(&iban.len()) || !iban.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let mut rem = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).collect()
}

fn card_valid(m: &str) -> bool {
    let d = digits_of(m);
    (13..=19).contains(&d.len()) && (b'2'..=b'6').contains(&d[0]) && luhn_valid(&d)
}

fn phone_valid(m: &str) -> bool {
    (10..=15).contains(&digits_of(m).len())
}

/// SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000.
fn ssn_valid(m: &str) -> bool {
    let d = digits_of(m);
    let area = &d[..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
}

fn iban_match_valid(m: &str) -> bool {
    let compact: Vec<u8> = m.bytes().filter(|b| *b != b' ').collect();
    iban_valid(&compact)
}

fn validate(d: Detector, m: &str) -> bool {
    match d {
        Detector::CreditCard => card_valid(m),
        Detector::Phone => phone_valid(m),
        Detector::UsSsn => ssn_valid(m),
        Detector::Iban => iban_match_valid(m),
        Detector::Email | Detector::Secret => true,
    }
}

/// Appends the validated matches of `detectors` in `text` to `out`.
pub fn find(detectors: &[Detector], text: &str, out: &mut Vec<Hit>) {
    let Some(c) = COMPILED.as_ref() else { return };
    let candidates = c.set.matches(text);
    if !candidates.matched_any() {
        return;
    }
    for &d in detectors {
        if !candidates.matched(d.index()) {
            continue;
        }
        for m in c.each[d.index()].find_iter(text) {
            if validate(d, m.as_str()) {
                out.push(Hit {
                    start: m.start(),
                    end: m.end(),
                    kind: d.as_str(),
                });
            }
        }
    }
}

/// Whether the built-in patterns compiled (they are constants; a test checks it).
pub fn available() -> bool {
    COMPILED.is_some()
}

#[cfg(test)]
#[path = "detectors_tests.rs"]
mod tests;
