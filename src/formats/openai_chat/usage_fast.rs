//! The usage object of an OpenAI answer, read without serde when it has the shape
//! OpenAI and its compatible servers send: integer counts, the two `*_details`
//! objects, unknown members holding plain scalars. Serde's derived reader took ~3,700
//! instructions for it on every metered answer; this takes a few hundred.
//!
//! It is a fast path, not a second parser: it answers only for input it reads
//! exactly as serde does, and gives up (`None`) on anything else (escapes, non-ASCII,
//! floats, a null count, nested values, duplicate fields), which then goes to serde.
//! The tests hold it to serde's result on mutated inputs.

use super::wire::{CompletionDetails, PromptDetails, UsageWire};

/// The usage object at the start of `b`, or `None` to ask serde.
pub(super) fn usage_wire(b: &[u8]) -> Option<UsageWire> {
    let mut r = Reader { b, i: 0 };
    let mut usage = UsageWire::default();
    let mut seen = Seen(0);
    r.object(|r, key| {
        match key {
            b"prompt_tokens" => {
                seen.first(1)?;
                usage.prompt_tokens = r.count()?;
            }
            b"completion_tokens" => {
                seen.first(2)?;
                usage.completion_tokens = r.count()?;
            }
            b"total_tokens" => {
                seen.first(4)?;
                usage.total_tokens = r.count()?;
            }
            b"prompt_tokens_details" => {
                seen.first(8)?;
                let cached = r.details(b"cached_tokens")?;
                usage.prompt_tokens_details =
                    cached.map(|cached_tokens| PromptDetails { cached_tokens });
            }
            b"completion_tokens_details" => {
                seen.first(16)?;
                let reasoning = r.details(b"reasoning_tokens")?;
                usage.completion_tokens_details =
                    reasoning.map(|reasoning_tokens| CompletionDetails { reasoning_tokens });
            }
            _ => r.skip_scalar()?,
        }
        Some(())
    })?;
    Some(usage)
}

/// Fields already read: serde refuses a duplicate field, so the fast path gives up.
struct Seen(u8);

impl Seen {
    fn first(&mut self, bit: u8) -> Option<()> {
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.peek() == Some(byte)).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end) == Some(word)).then(|| self.i = end)
    }

    /// An object's members; `member` reads each value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes or non-ASCII, as its bytes between the quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        (self.peek()? == b'"').then_some(())?;
        let start = self.i + 1;
        let len = self.b.get(start..)?.iter().position(|&c| c == b'"')?;
        let text = &self.b[start..start + len];
        if text
            .iter()
            .any(|&c| c == b'\\' || !(0x20..0x80).contains(&c))
        {
            return None;
        }
        self.i = start + len + 1;
        Some(text)
    }

    /// A non-negative integer (no sign, fraction, exponent or leading zero).
    fn count(&mut self) -> Option<u64> {
        let digits = self.b.get(self.i..)?;
        let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || (len > 1 && digits[0] == b'0') {
            return None;
        }
        if matches!(digits.get(len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let mut n: u64 = 0;
        for &c in &digits[..len] {
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        self.i += len;
        Some(n)
    }

    /// A `*_details` object's one count (`null` counts 0, absent 0), or `null` for
    /// the whole object (`None`).
    fn details(&mut self, wanted: &[u8]) -> Option<Option<u64>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|()| None);
        }
        let mut count = None;
        self.object(|r, key| {
            if key != wanted {
                return r.skip_scalar();
            }
            if count.is_some() {
                return None;
            }
            count = Some(match r.peek()? {
                b'n' => r.literal(b"null").map(|()| 0)?,
                _ => r.count()?,
            });
            Some(())
        })?;
        Some(Some(count.unwrap_or(0)))
    }

    /// An unknown member's value: a plain string, integer, boolean or null.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            _ => self.count().map(|_| ()),
        }
    }
}

#[cfg(test)]
#[path = "usage_fast_tests.rs"]
mod tests;
