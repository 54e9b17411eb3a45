//! A top-level member found by walking back from the end of an object.
//!
//! A held answer's usage sits near its end, after the content. When the answer's
//! framing has already proved it whole, reading it from the back finds the usage
//! without a pass over the content before it (serde over a whole 600-byte answer was
//! the largest single cost of a held request). The walk is exact for a well-formed
//! document: outside strings every quote opens or closes one, and inside a string every quote is
//! escaped, so the strings and the nesting read the same backwards as forwards. It does not validate what it skips;
//! callers use it only on bodies whose completeness their framing proves, and fall
//! back to a full parse when it finds nothing.

use memchr::memrchr;

/// Where the value of the top-level member `name` of the object `doc` starts (after
/// its colon and white space), for the last such member; `None` when `doc` is not one
/// object, has no such member, or spells its name with escapes.
pub fn member_from_end(doc: &[u8], name: &[u8]) -> Option<usize> {
    let start = doc.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = doc.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if doc[start] != b'{' || doc[end] != b'}' || end == start {
        return None;
    }
    // Walk (start, end) back to front; `depth` is the nesting below the outer object.
    let mut depth = 0usize;
    let mut i = end;
    while i > start + 1 {
        i -= 1;
        match doc[i] {
            b'"' => {
                let open = opening_quote(doc, start + 1, i)?;
                if depth == 0 && &doc[open + 1..i] == name {
                    if let Some(value) = value_after_key(doc, i + 1) {
                        return Some(value);
                    }
                }
                i = open;
            }
            b'}' | b']' => depth += 1,
            b'{' | b'[' => depth = depth.checked_sub(1)?,
            _ => {}
        }
    }
    None
}

/// The quote that opens the string closed by the quote at `close`, searched no
/// further back than `floor`. Inside a string a quote follows a backslash (an even run
/// of them would have ended the string there); an opening quote never does, since it
/// follows a colon, comma, bracket or white space.
fn opening_quote(doc: &[u8], floor: usize, close: usize) -> Option<usize> {
    let mut upto = close;
    loop {
        let at = floor + memrchr(b'"', &doc[floor..upto])?;
        if at == floor || doc[at - 1] != b'\\' {
            return Some(at);
        }
        upto = at;
    }
}

/// Where the value starts when the string ending before `after` is a member name
/// (a colon follows it); `None` when it is a string value.
fn value_after_key(doc: &[u8], after: usize) -> Option<usize> {
    let rest = doc[after..].trim_ascii_start().strip_prefix(b":")?;
    Some(doc.len() - rest.trim_ascii_start().len())
}

#[cfg(test)]
#[path = "tail_tests.rs"]
mod tests;
