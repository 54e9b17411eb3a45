//! Output guardrails on a stream of text deltas.
//!
//! A match may be split across deltas (`"sk-ab"` + `"cdef..."`), so the scanner holds
//! back the last [`HOLD_BYTES`] of text: every feed scans `held + delta`, emits the
//! part before the hold window and keeps the window for the next feed. A match that
//! reaches into the window is held whole (it may still grow), so redaction always
//! replaces complete matches. Any match of a detector shorter than the window is thus
//! seen complete before its first byte is emitted; longer ones (a PEM key block) are
//! caught by their header, which the pattern matches on its own.
//!
//! Holding back costs latency: the first bytes of an answer are released once more
//! than the window has arrived, or at the end. That is only paid by keys with output
//! guardrails. A match that keeps growing is released after [`MAX_HOLD_BYTES`].
//!
//! The proxy feeds the text of each content delta and writes what [`Verdict::Emit`]
//! returns in its place (possibly empty); at the end of the stream it calls
//! [`OutputScanner::finish`] and sends the remainder as one more delta. A
//! [`Verdict::Block`] ends the stream with an in-band error.

use std::sync::Arc;

use super::detectors::Hit;
use super::guardrails::{redact, Action, Direction, Guardrail};
use crate::error::GatewayError;

/// Bytes of text held back to catch a match split across deltas.
pub const HOLD_BYTES: usize = 128;
/// A growing match is released (redacted as far as seen) past this size.
pub const MAX_HOLD_BYTES: usize = 16 * 1024;

/// What to do with the text fed so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Send this text (redactions applied); may be empty while text is held back.
    Emit(String),
    /// Stop the stream with this error.
    Block(GatewayError),
}

/// Incremental output checker for one response.
#[derive(Debug)]
pub struct OutputScanner {
    guards: Vec<Arc<Guardrail>>,
    key: String,
    held: String,
    blocked: bool,
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl OutputScanner {
    /// A scanner over the output guardrails of a key (`key` names it in logs).
    pub fn new(guards: Vec<Arc<Guardrail>>, key: &str) -> OutputScanner {
        OutputScanner {
            guards,
            key: key.to_string(),
            held: String::new(),
            blocked: false,
        }
    }

    /// Feeds one delta of text.
    pub fn feed(&mut self, delta: &str) -> Verdict {
        self.held.push_str(delta);
        self.step(false)
    }

    /// Releases everything still held (end of stream).
    pub fn finish(&mut self) -> Verdict {
        self.step(true)
    }

    fn step(&mut self, last: bool) -> Verdict {
        if self.blocked {
            return Verdict::Emit(String::new());
        }
        let text = std::mem::take(&mut self.held);
        let mut cut = if last {
            text.len()
        } else {
            floor_char_boundary(&text, text.len().saturating_sub(HOLD_BYTES))
        };
        let mut per_guard: Vec<(usize, Vec<Hit>)> = Vec::new();
        for (i, g) in self.guards.iter().enumerate() {
            let mut hits = Vec::new();
            g.find(&text, &mut hits);
            if let (Action::Block, Some(first)) = (g.action, hits.first()) {
                // A blocking match stops the stream at once, complete or not.
                g.record(first.kind, Direction::Output, 1, &self.key);
                self.blocked = true;
                return Verdict::Block(g.blocked(first.kind, Direction::Output));
            }
            if !hits.is_empty() {
                per_guard.push((i, hits));
            }
        }
        // Hold every match that reaches into the window whole.
        if !last {
            // Holding one match may pull the cut into another: repeat until stable.
            loop {
                let held_from = per_guard
                    .iter()
                    .flat_map(|(_, hits)| hits.iter())
                    .filter(|h| h.end > cut)
                    .map(|h| h.start)
                    .fold(cut, usize::min);
                if held_from == cut {
                    break;
                }
                cut = held_from;
            }
            if text.len() - cut > MAX_HOLD_BYTES {
                cut = floor_char_boundary(&text, text.len() - HOLD_BYTES);
            }
        }
        let mut redactions = Vec::new();
        for (i, hits) in &per_guard {
            let g = &self.guards[*i];
            let done: Vec<Hit> = hits
                .iter()
                .filter(|h| h.start < cut)
                .map(|h| Hit {
                    end: h.end.min(cut),
                    ..*h
                })
                .collect();
            if let Some(first) = done.first() {
                g.record(first.kind, Direction::Output, done.len(), &self.key);
                if g.action == Action::Redact {
                    redactions.extend(done);
                }
            }
        }
        self.held = text[cut..].to_string();
        let emit = &text[..cut];
        Verdict::Emit(if redactions.is_empty() {
            emit.to_string()
        } else {
            redact(emit, &mut redactions)
        })
    }
}

#[cfg(test)]
#[path = "scanner_tests.rs"]
mod tests;
