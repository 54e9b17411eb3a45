//! The fixed-seed PRNG (xorshift64*) and the byte mutator of every randomized test,
//! unit and integration alike (the `tests/` crates include this file by path):
//! deterministic, so a failing random split or mutation replays, and no dependency.

pub(crate) struct Rng(pub u64);

/// Bytes that matter to the parsers (JSON, SSE, YAML), favoured by the mutator.
const INTERESTING: &[u8] = b"\n\r:{}[]\",\\ 0ae";

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    /// `len` random bytes, two in three of them syntax the parsers care about.
    pub fn noise(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.below(3) {
                0 => self.byte(),
                _ => INTERESTING[self.below(INTERESTING.len())],
            })
            .collect()
    }

    /// A copy of `input` with a few random edits: flips, insertions, deletions,
    /// truncation, duplicated spans.
    pub fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.below(4) {
            if v.is_empty() {
                v.push(b'{');
            }
            let at = self.below(v.len());
            match self.below(6) {
                0 => v[at] = INTERESTING[self.below(INTERESTING.len())],
                1 => v[at] = self.byte(),
                2 => v.insert(at, INTERESTING[self.below(INTERESTING.len())]),
                3 => {
                    let end = (at + 1 + self.below(16)).min(v.len());
                    v.drain(at..end);
                }
                4 => v.truncate(at),
                _ => {
                    let end = (at + 1 + self.below(64)).min(v.len());
                    let span = v[at..end].to_vec();
                    let to = self.below(v.len());
                    v.splice(to..to, span);
                }
            }
        }
        v
    }
}
