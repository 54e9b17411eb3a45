//! A reader for the one shape usage objects take: members whose values are
//! non-negative integers, `null`, or objects of the same. serde's derived reader took
//! 4.0k instructions for the mock's usage object (eleven members, two levels); this
//! one takes 3.3k (measured by callgrind in the gateway; see docs/perf, twelfth
//! round). It accepts a subset of JSON and gives up (`None`) at anything outside it
//! (escapes in a name, a string, a fraction, a sign, a leading zero, an overflow):
//! callers then parse with serde, so an answer is never read differently, only more
//! cheaply when it can be.

/// A cursor over the bytes of one value.
pub(crate) struct Counts<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Counts<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Counts { b, pos: 0 }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.pos) == Some(&byte)).then(|| self.pos += 1)
    }

    /// `null` here (consumed) or not (nothing consumed).
    pub fn null(&mut self) -> bool {
        self.ws();
        let found = self.b[self.pos..].starts_with(b"null");
        if found {
            self.pos += 4;
        }
        found
    }

    /// A member name without escapes.
    fn name(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let len = super::scan::skip_plain(self.b, self.pos) - self.pos;
        let name = &self.b[self.pos..self.pos + len];
        (self.b.get(self.pos + len) == Some(&b'"')).then(|| {
            self.pos += len + 1;
            name
        })
    }

    /// A non-negative integer as JSON writes it (no leading zero) that fits a `u64`.
    pub fn count(&mut self) -> Option<u64> {
        self.ws();
        let digits = self.b[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.b[self.pos..self.pos + digits];
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        if matches!(self.b.get(self.pos + digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos += digits;
        text.iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    /// A count, or `null` (`Some(None)`).
    pub fn count_or_null(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        self.count().map(Some)
    }

    /// The members of an object, each name handed to `member`, which must read the
    /// value (and return `None` to give up).
    pub fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let name = self.name()?;
            self.eat(b':')?;
            member(self, name)?;
            if self.eat(b'}').is_some() {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// Whether an object starts here (nothing consumed).
    pub fn at_object(&mut self) -> bool {
        self.ws();
        self.b.get(self.pos) == Some(&b'{')
    }

    /// Reads past a value of the accepted shape whose content does not matter.
    pub fn skip(&mut self) -> Option<()> {
        if self.at_object() {
            return self.members(|c, _| c.skip());
        }
        self.count_or_null().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    /// The members as (name, count) pairs, nested ones as `outer.inner`.
    fn read(text: &str) -> Option<Vec<(String, Option<u64>)>> {
        let mut out = Vec::new();
        Counts::new(text.as_bytes()).members(|c, name| {
            let name = String::from_utf8(name.to_vec()).unwrap();
            if !c.at_object() {
                out.push((name, c.count_or_null()?));
                return Some(());
            }
            c.members(|c, inner| {
                let inner = String::from_utf8(inner.to_vec()).unwrap();
                out.push((format!("{name}.{inner}"), c.count_or_null()?));
                Some(())
            })
        })?;
        Some(out)
    }

    #[test]
    fn reads_counts_nulls_and_nested_objects() {
        let got = read(r#" { "a" : 1 , "b":null, "c": {"d": 20, "e": null}, "f": {} } "#);
        let want = [
            ("a", Some(1)),
            ("b", None),
            ("c.d", Some(20)),
            ("c.e", None),
        ];
        let want: Vec<_> = want.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        assert_eq!(got, Some(want));
        assert_eq!(read("{}"), Some(vec![]));
        assert_eq!(
            read(r#"{"max":18446744073709551615}"#),
            Some(vec![("max".into(), Some(u64::MAX))])
        );
    }

    #[test]
    fn gives_up_outside_the_shape() {
        for text in [
            r#"{"a":-1}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":01}"#,
            r#"{"a":18446744073709551616}"#,
            r#"{"a":"1"}"#,
            r#"{"a":[1]}"#,
            r#"{"a":true}"#,
            r#"{"\u0061":1}"#,
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            "",
        ] {
            assert_eq!(read(text), None, "{text}");
        }
    }

    #[test]
    fn skip_passes_over_nested_counts_only() {
        let mut c = Counts::new(br#"{"x":{"y":1,"z":null},"w":2} tail"#);
        assert_eq!(c.skip(), Some(()));
        assert_eq!(&c.b[c.pos..], b" tail");
        assert_eq!(Counts::new(br#"{"x":"s"}"#).skip(), None);
    }
}
