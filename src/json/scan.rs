//! A validating JSON skimmer: walks a document yielding object members (key and the
//! byte span of the value) or string values (with the key they sit under) without
//! building values. The envelope reads a request's top-level members with it; the
//! guardrails' text walk (`texts`) visits every string value with it.
//!
//! serde_json's `RawValue` would give the same spans, but it is behind a feature the
//! crate does not enable, and a skimmer that only validates is also the cheapest pass
//! over a multi-MiB body: no allocation except for keys written with escapes.

use std::borrow::Cow;

/// Nesting bound, as serde_json's default, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Bytes that may follow a backslash on their own: `" \\ / b f n r t`.
const SIMPLE_ESCAPES: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let simple = b"\"\\/bfnrt";
    while k < simple.len() {
        t[simple[k] as usize] = true;
        k += 1;
    }
    t
};

/// Byte range `[start, end)` of a value in the scanned body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// Where the body stopped being JSON, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub what: &'static str,
}

type Result<T> = std::result::Result<T, SyntaxError>;

/// Cursor over the bytes of one JSON document.
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    /// `b` as text, when the caller has validated it as UTF-8 already: keys are
    /// then sliced from it instead of validated again (a `from_utf8` per key).
    text: Option<&'a str>,
}

impl<'a> Scanner<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Scanner {
            b,
            pos: 0,
            text: None,
        }
    }

    /// A scanner over text already known to be UTF-8.
    pub fn for_text(text: &'a str) -> Self {
        Scanner {
            b: text.as_bytes(),
            pos: 0,
            text: Some(text),
        }
    }

    fn err<T>(&self, what: &'static str) -> Result<T> {
        Err(SyntaxError {
            offset: self.pos,
            what,
        })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// After the document: only whitespace may follow.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.err("trailing characters after the JSON value"),
        }
    }

    /// Skip one value of any type, validating it; returns its span.
    pub fn value(&mut self) -> Result<Span> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Span> {
        let start = match self.peek() {
            Some(_) => self.pos,
            None => return self.err("expected a value"),
        };
        match self.b[start] {
            b'"' => {
                self.string()?;
            }
            b'{' => self.object_body(depth + 1, |_, _, _| Ok(()))?,
            b'[' => self.items(depth + 1, |s| s.value_at(depth + 1).map(drop))?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return self.err("expected a value"),
        }
        Ok(Span {
            start,
            end: self.pos,
        })
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.b.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<()> {
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.b.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }

    /// Skip a string starting at the current `"`; returns (span with quotes, has escapes).
    pub fn string(&mut self) -> Result<(Span, bool)> {
        let start = self.pos;
        self.eat(b'"', "expected a string")?;
        let b = self.b;
        let mut i = self.pos;
        let mut escaped = false;
        loop {
            i = skip_plain(b, i);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((Span { start, end: i + 1 }, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    // The one-letter escapes by table: a `match` compiles to a jump
                    // table whose mispredictions dominated on escape-heavy prompts.
                    let next = b.get(i + 1).copied().unwrap_or(0);
                    if SIMPLE_ESCAPES[usize::from(next)] {
                        i += 2;
                    } else {
                        self.pos = i;
                        i = self.escape()?;
                    }
                }
                Some(_) => {
                    self.pos = i;
                    return self.err("control character in string");
                }
                None => {
                    self.pos = b.len();
                    return self.err("unterminated string");
                }
            }
        }
    }

    /// Validate the escape at the current backslash; returns the offset after it.
    fn escape(&mut self) -> Result<usize> {
        let at = self.pos;
        match self.b.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => {
                let hex = self.b.get(at + 2..at + 6);
                if hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    Ok(at + 6)
                } else {
                    self.err("invalid unicode escape")
                }
            }
            _ => self.err("invalid escape"),
        }
    }

    /// Walk an array starting at the current `[`; `item` consumes each item.
    fn items<F>(&mut self, depth: usize, mut item: F) -> Result<()>
    where
        F: FnMut(&mut Self) -> Result<()>,
    {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.eat(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.err("expected ',' or ']'"),
            }
        }
    }

    /// Walk an object starting at the current `{`, calling `member(scanner body, key,
    /// value span)` for each member. Keys are decoded (borrowed unless escaped).
    pub fn object_body<F>(&mut self, depth: usize, mut member: F) -> Result<()>
    where
        F: FnMut(&'a [u8], Cow<'a, str>, Span) -> Result<()>,
    {
        self.entries(depth, |s, key| {
            let value = s.value_at(depth)?;
            member(s.b, key, value)
        })
    }

    /// [`Self::object_body`] that also walks each member's value as [`Self::strings`]
    /// does, calling `string(key, span)` for every string value in it: one pass for a
    /// caller that needs the members and the text (the envelope and the token estimate).
    pub fn object_body_with_strings<F, S>(
        &mut self,
        depth: usize,
        string: &mut S,
        mut member: F,
    ) -> Result<()>
    where
        F: FnMut(&'a [u8], Cow<'a, str>, Span) -> Result<()>,
        S: FnMut(&str, Span) -> Result<()>,
    {
        self.entries(depth, |s, key| {
            let start = match s.peek() {
                Some(_) => s.pos,
                None => return s.err("expected a value"),
            };
            s.strings_at(depth, &key, string)?;
            member(s.b, key, Span { start, end: s.pos })
        })
    }

    /// Walk an object starting at the current `{`; `entry` gets each decoded key with
    /// the cursor on its value, and consumes the value.
    fn entries<F>(&mut self, depth: usize, mut entry: F) -> Result<()>
    where
        F: FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.eat(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.err("expected a key");
            }
            let key_at = self.pos;
            let (span, escaped) = self.string()?;
            let key = self.key(span, escaped).ok_or(SyntaxError {
                offset: key_at,
                what: "invalid key",
            })?;
            self.eat(b':', "expected ':'")?;
            entry(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.err("expected ',' or '}'"),
            }
        }
    }

    /// Walk one value, validating it, and call `string(key, span)` for every string
    /// value in it (object keys are not values). `key` is the key of the member the
    /// string belongs to; the items of an array belong to the array's key; `""` at
    /// the top.
    pub fn strings<F>(&mut self, string: &mut F) -> Result<()>
    where
        F: FnMut(&str, Span) -> Result<()>,
    {
        self.strings_at(0, "", string)
    }

    fn strings_at<F>(&mut self, depth: usize, key: &str, string: &mut F) -> Result<()>
    where
        F: FnMut(&str, Span) -> Result<()>,
    {
        match self.peek() {
            Some(b'"') => {
                let (span, _) = self.string()?;
                string(key, span)
            }
            Some(b'{') => self.entries(depth + 1, |s, k| s.strings_at(depth + 1, &k, string)),
            Some(b'[') => self.items(depth + 1, |s| s.strings_at(depth + 1, key, string)),
            _ => self.value_at(depth).map(drop),
        }
    }

    /// Position of the cursor (after a value: just past it).
    pub fn pos(&self) -> usize {
        self.pos
    }
}

/// Offset of the first byte at or after `i` that ends a run of plain string bytes:
/// a quote, a backslash or a control character. Eight bytes at a time (the usual
/// case in long prompt text), byte by byte only for the last few.
pub(crate) fn skip_plain(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Flags (bit 7 of) the bytes of `x` that are zero. Only bytes above a true zero
    // can be flagged wrongly, so the lowest flag is always exact.
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    while let Some(word) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let x = u64::from_le_bytes(w);
        // A byte below 0x20 has none of the bits 0xE0 set.
        let stop = zeros(x ^ (ONES * u64::from(b'"')))
            | zeros(x ^ (ONES * u64::from(b'\\')))
            | zeros(x & (ONES * 0xE0));
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

impl<'a> Scanner<'a> {
    /// The key whose string (quotes included) is at `span`.
    fn key(&self, span: Span, escaped: bool) -> Option<Cow<'a, str>> {
        if escaped {
            return serde_json::from_slice::<String>(&self.b[span.start..span.end])
                .ok()
                .map(Cow::Owned);
        }
        let inner = span.start + 1..span.end - 1;
        match self.text {
            // Quotes are ASCII, so the bounds are char boundaries: no validation.
            Some(text) => text.get(inner).map(Cow::Borrowed),
            None => std::str::from_utf8(&self.b[inner]).ok().map(Cow::Borrowed),
        }
    }
}

/// Walk the members of the object at `span` of `b` (which must hold an object).
pub(crate) fn members<'a, F>(b: &'a [u8], span: Span, member: F) -> Result<()>
where
    F: FnMut(&'a [u8], Cow<'a, str>, Span) -> Result<()>,
{
    let mut s = Scanner {
        b: &b[..span.end],
        pos: span.start,
        text: None,
    };
    s.object_body(1, member)
}

/// Walk the items of the array at `span` of `b` (which must hold an array).
pub(crate) fn elements<F>(b: &[u8], span: Span, mut item: F) -> Result<()>
where
    F: FnMut(Span) -> Result<()>,
{
    let mut s = Scanner {
        b: &b[..span.end],
        pos: span.start,
        text: None,
    };
    s.items(1, |s| {
        let v = s.value_at(1)?;
        item(v)
    })
}

/// The span of the value of `key` in the object at `object` of `b` (the last one
/// wins, as when parsing); `None` when absent or when the object is malformed.
pub(crate) fn member(b: &[u8], object: Span, key: &str) -> Option<Span> {
    let mut found = None;
    members(b, object, |_, k, span| {
        if k == key {
            found = Some(span);
        }
        Ok(())
    })
    .ok()?;
    found
}

/// The span of the one JSON value `b` holds, `None` when `b` is not exactly one value.
pub(crate) fn document(b: &[u8]) -> Option<Span> {
    let mut s = Scanner::new(b);
    let span = s.value().ok()?;
    s.end().ok()?;
    Some(span)
}

/// Decode a string value at `span` (quotes included), borrowing when it has no escapes.
pub(crate) fn string_at(b: &[u8], span: Span) -> Option<Cow<'_, str>> {
    let raw = b.get(span.start..span.end)?;
    if raw.len() < 2 || raw[0] != b'"' {
        return None;
    }
    if raw.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
    } else {
        std::str::from_utf8(&raw[1..raw.len() - 1])
            .ok()
            .map(Cow::Borrowed)
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
