//! The complexity classifier: `simple | standard | complex` from cheap features of
//! the prompt, in one pass over its text with no allocation. Deterministic (the same
//! request always gets the same tier), so a routing decision can be explained and
//! replayed.
//!
//! Score points, summed and compared with the router's thresholds:
//! - length (about 4 characters a token): +1 from 150 tokens, +2 from 500, +3 from 2,000;
//! - code: +2 per fenced block (```), at most +4;
//! - math: +2 when at least 3 math signs (`=`, `^`, `∑`, `\frac`-style backslash
//!   commands, digits next to operators) appear;
//! - questions: +1 from 3 question marks;
//! - reasoning cue words (prove, derive, analyze, optimize, trade-off, step by step's
//!   "step", ...): +2 each distinct class of cue, at most +6;
//! - tools offered: +1; conversation depth: +1 from 6 turns, +2 from 12.

use crate::config::{ComplexityThresholds, Tier};

/// What the classifier reads of a request besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub tools: bool,
    /// User turns in the conversation.
    pub turns: u32,
}

/// The features, kept for explanations and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub chars: usize,
    pub code_fences: u32,
    pub math_signs: u32,
    pub questions: u32,
    /// Bit set of the cue classes found.
    pub cues: u8,
}

/// Classify `text` (the prompt's text, all messages) with `shape` and `t`.
pub fn classify(text: &str, shape: Shape, t: ComplexityThresholds) -> Tier {
    tier(score(&features(text), shape), t)
}

pub fn tier(score: u32, t: ComplexityThresholds) -> Tier {
    if score >= t.complex_at {
        Tier::Complex
    } else if score >= t.standard_at {
        Tier::Standard
    } else {
        Tier::Simple
    }
}

pub fn score(f: &Features, shape: Shape) -> u32 {
    let tokens = f.chars / 4;
    let length = match tokens {
        0..=149 => 0,
        150..=499 => 1,
        500..=1999 => 2,
        _ => 3,
    };
    let code = (f.code_fences / 2).min(2) * 2;
    let math = if f.math_signs >= 3 { 2 } else { 0 };
    let questions = u32::from(f.questions >= 3);
    let cues = (f.cues.count_ones() * 2).min(6);
    let tools = u32::from(shape.tools);
    let depth = match shape.turns {
        0..=5 => 0,
        6..=11 => 1,
        _ => 2,
    };
    length + code + math + questions + cues + tools + depth
}

/// One pass over the bytes: counters, and each ASCII word looked up as a cue.
pub fn features(text: &str) -> Features {
    let bytes = text.as_bytes();
    let mut f = Features {
        chars: text.len(),
        ..Features::default()
    };
    let mut word = [0u8; 12];
    let mut len = 0usize;
    let mut prev = b' ';
    let mut ticks = 0u32;
    for &b in bytes {
        if b == b'`' {
            ticks += 1;
            if ticks == 3 {
                f.code_fences += 1;
            }
        } else {
            ticks = 0;
        }
        if b.is_ascii_alphabetic() {
            if len < word.len() {
                word[len] = b.to_ascii_lowercase();
            }
            len += 1;
        } else {
            if len > 0 && len <= word.len() {
                f.cues |= cue(&word[..len]);
            }
            len = 0;
            match b {
                b'?' => f.questions += 1,
                b'=' | b'^' | b'\\' => f.math_signs += 1,
                b'+' | b'*' | b'/' if prev.is_ascii_digit() => f.math_signs += 1,
                // Non-ASCII math symbols start with these lead bytes (∑ ∫ √ ≤ ≥ ...).
                0xE2 => f.math_signs += 1,
                _ => {}
            }
        }
        prev = b;
    }
    if len > 0 && len <= word.len() {
        f.cues |= cue(&word[..len]);
    }
    f
}

/// The cue class of a lower-case word, as a bit (0 when none).
fn cue(w: &[u8]) -> u8 {
    match w {
        b"prove" | b"proof" | b"theorem" | b"lemma" | b"derive" | b"derivation" => 1,
        b"analyze" | b"analyse" | b"analysis" | b"evaluate" | b"compare" | b"tradeoff"
        | b"tradeoffs" | b"implications" => 2,
        b"optimize" | b"optimise" | b"algorithm" | b"complexity" | b"architecture" | b"design"
        | b"refactor" | b"concurrency" => 4,
        b"step" | b"reasoning" | b"rigorous" | b"rigorously" | b"justify" => 8,
        b"debug" | b"diagnose" | b"bug" | b"stacktrace" | b"traceback" => 16,
        _ => 0,
    }
}

#[cfg(test)]
#[path = "complexity_tests.rs"]
mod tests;
