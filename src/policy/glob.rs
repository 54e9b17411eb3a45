//! Glob patterns for model names (`gpt-4o*`, `anthropic/*`, `*llama-3.?-70b*`).
//!
//! Only two wildcards: `*` matches any run of characters (including `/`, so
//! `anthropic/*` covers `anthropic/claude-sonnet-4`), `?` matches exactly one character.
//! Matching is case-sensitive, like provider model ids. Patterns without wildcards are
//! compared for equality without running the matcher.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    literal: bool,
}

impl Glob {
    /// Compiles a pattern. Every string is a valid glob.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.to_string(),
            literal: !pattern.contains(['*', '?']),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        if self.literal {
            return self.pattern == text;
        }
        glob_match(self.pattern.as_bytes(), text.as_bytes())
    }
}

/// Iterative matcher with single-star backtracking: O(len(p) × len(t)) worst case,
/// no recursion, no allocation. `?` matches one byte; model names are ASCII.
fn glob_match(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last star swallow one more byte and retry.
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t)
    }

    #[test]
    fn literal_patterns_need_equality() {
        assert!(m("gpt-4o", "gpt-4o"));
        assert!(!m("gpt-4o", "gpt-4o-mini"));
        assert!(!m("gpt-4o", "gpt-4"));
    }

    #[test]
    fn star_matches_any_run_including_slash() {
        assert!(m("gpt-4o*", "gpt-4o"));
        assert!(m("gpt-4o*", "gpt-4o-mini-2024-07-18"));
        assert!(!m("gpt-4o*", "gpt-4.1"));
        assert!(m("anthropic/*", "anthropic/claude-sonnet-4"));
        assert!(m("anthropic/*", "anthropic/"));
        assert!(!m("anthropic/*", "openai/gpt-4o"));
        assert!(m("*", ""));
        assert!(m("*llama*70b*", "meta-llama/Llama-3.3-70b-instruct"));
        assert!(!m("*llama*70b*", "llama-3.1-8b"));
    }

    #[test]
    fn question_mark_matches_one_byte() {
        assert!(m("claude-3-?-sonnet", "claude-3-5-sonnet"));
        assert!(!m("claude-3-?-sonnet", "claude-3-sonnet"));
        assert!(!m("gpt-?", "gpt-"));
    }

    #[test]
    fn backtracking_finds_late_matches() {
        assert!(m("*a*b", "xaxxaxxb"));
        assert!(!m("*a*b", "xaxxaxxbc"));
        assert!(m("a*b*c", "abbbbc"));
        assert!(m("**x", "yyx"));
        assert!(!m("a*", "ba"));
    }
}
