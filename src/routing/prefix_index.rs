//! The "estimation mode" of `prefix_affinity` (`balance.prefix_mode: estimate`, the
//! default), after the Gateway API Inference Extension's prefix-cache scorer: the
//! gateway cannot see a replica's KV cache, so it remembers what it sent where.
//!
//! The canonical prompt is hashed in blocks of `balance.prefix_block_tokens`, each
//! block's hash chained with all before it, so one hash names a whole prefix. Each
//! endpoint of the route keeps a bounded set of the block hashes it was sent
//! ([`BlockSet`], approximately least-recently-used). A request goes to the endpoint
//! holding its longest prefix — unless that endpoint has more than
//! `balance.in_flight_factor` × (the least loaded's in-flight + 1) requests in flight,
//! then to the least loaded one. Where no endpoint holds at least
//! `balance.prefix_min_match` of the prompt's blocks (default half), placement falls
//! back to the bounded-load hash of the leading window (`prefix`): moving a request
//! for a sliver of shared preamble would pile every tenant that shares it onto one
//! replica, so new prefixes spread by the hash instead. The chosen endpoint then
//! learns the request's blocks.

use std::collections::HashSet;

use super::prefix::{Fnv, PromptSink};
use super::select::Candidate;

/// Blocks hashed per request at most (with the default block, ~128k tokens).
pub const MAX_BLOCKS: usize = 2048;

/// The chained block hashes of a prompt: one per full block of `block_chars`.
pub struct Blocks {
    h: Fnv,
    block: usize,
    filled: usize,
    pub hashes: Vec<u64>,
}

impl Blocks {
    pub fn new(block_chars: usize) -> Self {
        Blocks {
            h: Fnv::default(),
            block: block_chars.max(1),
            filled: 0,
            hashes: Vec::new(),
        }
    }
}

impl PromptSink for Blocks {
    fn marker(&mut self, bytes: &[u8]) {
        if !self.done() {
            self.h.feed_all(bytes);
        }
    }

    fn text(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.done() {
            let take = bytes.len().min(self.block - self.filled);
            self.h.feed_all(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled == self.block {
                self.hashes.push(self.h.0);
                self.filled = 0;
            }
        }
    }

    fn done(&self) -> bool {
        self.hashes.len() >= MAX_BLOCKS
    }
}

/// A bounded set of block hashes, approximately least recently used: two
/// generations; inserts and hits go to the young one, and when it is full the old
/// one is dropped and the young one ages. Memory stays within `capacity` hashes
/// whatever clients send; a hash used within the last `capacity / 2` insertions is
/// always kept.
pub struct BlockSet {
    young: HashSet<u64>,
    old: HashSet<u64>,
    half: usize,
}

impl BlockSet {
    pub fn new(capacity: usize) -> Self {
        BlockSet {
            young: HashSet::new(),
            old: HashSet::new(),
            half: (capacity / 2).max(1),
        }
    }

    /// How many leading `blocks` the set holds.
    pub fn matched(&self, blocks: &[u64]) -> usize {
        blocks
            .iter()
            .take_while(|b| self.young.contains(b) || self.old.contains(b))
            .count()
    }

    /// Remember `blocks` (all of them: they were just sent here).
    pub fn insert(&mut self, blocks: &[u64]) {
        for b in blocks {
            self.old.remove(b);
            self.young.insert(*b);
            if self.young.len() >= self.half {
                self.old = std::mem::take(&mut self.young);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The estimation-mode pick, or `None` when no candidate holds any of the prompt (the
/// caller then hashes). The returned candidate's signals say whether the holder was
/// passed over for load.
pub fn longest_prefix(candidates: &[Candidate]) -> Option<Candidate> {
    let best = candidates
        .iter()
        .max_by_key(|c| (c.signals.matched_blocks, std::cmp::Reverse(c.in_flight)))?;
    let s = &best.signals;
    let needed = (s.min_match * s.prompt_blocks as f64).ceil().max(1.0) as usize;
    if s.matched_blocks < needed {
        return None;
    }
    let least = candidates.iter().map(|c| c.in_flight).min().unwrap_or(0);
    let bound = best.signals.in_flight_factor.max(1.0) * (least + 1) as f64;
    if (best.in_flight as f64) <= bound {
        return Some(*best);
    }
    let mut spill = *candidates
        .iter()
        .filter(|c| c.in_flight == least)
        .max_by_key(|c| c.signals.matched_blocks)?;
    spill.signals.spilled = true;
    Some(spill)
}

#[cfg(test)]
#[path = "prefix_index_tests.rs"]
mod tests;
