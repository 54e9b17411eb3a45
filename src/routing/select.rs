//! Balancing strategies over the candidates of a route: every `(target, endpoint)`
//! pair that is healthy, not cooling down and allowed for this attempt.
//!
//! - `weighted`: smooth weighted round robin (one shared counter per route).
//! - `least_inflight`: fewest requests in flight; ties broken round robin.
//! - `latency`: power of two choices on peak-EWMA latency × (in-flight + 1), so a
//!   slow or loaded endpoint is avoided without herding onto one "best" endpoint.
//! - `consistent_hash`: rendezvous (highest random weight) hashing of a session key,
//!   so a conversation keeps hitting the same backend (and its prompt cache); when a
//!   candidate disappears only the keys it owned move.

use std::net::SocketAddr;

use crate::config::Strategy;

use super::health::Admit;

/// One place a request could go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub target_index: usize,
    pub endpoint_index: usize,
    pub addr: SocketAddr,
    /// Target weight × endpoint weight.
    pub weight: u64,
    pub in_flight: u64,
    /// Peak-EWMA latency in µs (0 = unknown).
    pub latency_us: u64,
    /// Passive health: closed, probing (half-open) or open (cooling down).
    pub admit: Admit,
    /// When its breaker last saw a failure (panic mode picks the oldest).
    pub last_failure_ms: u64,
    /// What only some strategies look at (filled only for them).
    pub signals: Signals,
}

/// Per-request and per-strategy facts of a candidate; zero when not measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Signals {
    /// Expected USD cost of this request on the candidate's model.
    pub cost: f64,
    /// Recent median time to first token in µs (0 = no sample yet).
    pub ttft_p50_us: u64,
    /// The median is known and above the route's `max_ttft`.
    pub slow: bool,
    /// `prefix_affinity`: the route's recent picks of this candidate.
    pub recent: u64,
    /// `prefix_affinity`: the route's `balance.load_factor` (the same for all).
    pub load_factor: f64,
    /// `prefix_affinity`, estimate mode: leading blocks of this prompt the candidate's
    /// endpoint was sent before.
    pub matched_blocks: usize,
    /// `prefix_affinity`, estimate mode: the prompt's full blocks (the same for all).
    pub prompt_blocks: usize,
    /// `prefix_affinity`, estimate mode: `balance.in_flight_factor`.
    pub in_flight_factor: f64,
    /// `prefix_affinity`, estimate mode: `balance.prefix_min_match`.
    pub min_match: f64,
    /// Chosen as the least loaded because the prefix holder was over its bound.
    pub spilled: bool,
}

/// Choose one candidate. `ticket` is a fresh value of the route's counter; `key`
/// is the consistent-hash key when the strategy needs one.
pub fn choose(
    strategy: Strategy,
    candidates: &[Candidate],
    ticket: u64,
    key: Option<&[u8]>,
) -> Option<Candidate> {
    if candidates.is_empty() {
        return None;
    }
    match strategy {
        Strategy::Weighted => weighted(candidates, ticket),
        Strategy::LeastInflight => least_in_flight(candidates, ticket),
        Strategy::Latency => two_choices(candidates, ticket),
        Strategy::ConsistentHash => match key {
            Some(key) => rendezvous(candidates, key),
            None => weighted(candidates, ticket),
        },
        Strategy::Cheapest => super::cost::cheapest(candidates, ticket),
        Strategy::CostWithinLatency => super::cost::cost_within_latency(candidates, ticket),
        Strategy::PrefixAffinity => match (super::prefix_index::longest_prefix(candidates), key) {
            (Some(holder), _) => Some(holder),
            (None, Some(key)) => super::prefix::bounded_rendezvous(candidates, key),
            (None, None) => least_in_flight(candidates, ticket),
        },
    }
}

fn weighted(candidates: &[Candidate], ticket: u64) -> Option<Candidate> {
    let total: u64 = candidates.iter().map(|c| c.weight.max(1)).sum();
    let mut t = ticket % total.max(1);
    for c in candidates {
        let w = c.weight.max(1);
        if t < w {
            return Some(*c);
        }
        t -= w;
    }
    candidates.first().copied()
}

fn least_in_flight(candidates: &[Candidate], ticket: u64) -> Option<Candidate> {
    let min = candidates.iter().map(|c| c.in_flight).min()?;
    let best: Vec<&Candidate> = candidates.iter().filter(|c| c.in_flight == min).collect();
    best.get((ticket % best.len() as u64) as usize).map(|c| **c)
}

/// Cost for the latency strategy: unknown latency counts as the cheapest, so new
/// endpoints get probed.
fn cost(c: &Candidate) -> u128 {
    c.latency_us as u128 * (c.in_flight as u128 + 1)
}

fn two_choices(candidates: &[Candidate], ticket: u64) -> Option<Candidate> {
    let n = candidates.len() as u64;
    if n == 1 {
        return candidates.first().copied();
    }
    let r = mix(ticket);
    let a = (r % n) as usize;
    let mut b = ((r >> 32) % (n - 1)) as usize;
    if b >= a {
        b += 1;
    }
    let (ca, cb) = (candidates.get(a)?, candidates.get(b)?);
    Some(if cost(cb) < cost(ca) { *cb } else { *ca })
}

fn rendezvous(candidates: &[Candidate], key: &[u8]) -> Option<Candidate> {
    let key_hash = fnv1a(key);
    candidates
        .iter()
        .max_by(|x, y| score(key_hash, x).total_cmp(&score(key_hash, y)))
        .copied()
}

/// Weighted rendezvous score: -w / ln(u) with u uniform in (0, 1) from the hash.
pub(super) fn score(key_hash: u64, c: &Candidate) -> f64 {
    let id = ((c.target_index as u64) << 32) | c.endpoint_index as u64;
    let h = mix(key_hash ^ mix(id));
    let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    -(c.weight.max(1) as f64) / u.ln()
}

pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser: spreads counter values and hashes over all bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(t: usize, e: usize, weight: u64, in_flight: u64, latency_us: u64) -> Candidate {
        Candidate {
            target_index: t,
            endpoint_index: e,
            addr: SocketAddr::from(([127, 0, 0, 1], 1000 + e as u16)),
            weight,
            in_flight,
            latency_us,
            admit: Admit::Closed,
            last_failure_ms: 0,
            signals: Signals::default(),
        }
    }

    #[test]
    fn weighted_follows_weights() {
        let cs = [cand(0, 0, 3, 0, 0), cand(0, 1, 1, 0, 0)];
        let mut counts = [0; 2];
        for t in 0..400 {
            counts[choose(Strategy::Weighted, &cs, t, None)
                .unwrap()
                .endpoint_index] += 1;
        }
        assert_eq!(counts, [300, 100]);
    }

    #[test]
    fn least_in_flight_prefers_idle() {
        let cs = [
            cand(0, 0, 1, 5, 0),
            cand(0, 1, 1, 1, 0),
            cand(0, 2, 1, 3, 0),
        ];
        for t in 0..10 {
            assert_eq!(
                choose(Strategy::LeastInflight, &cs, t, None)
                    .unwrap()
                    .endpoint_index,
                1
            );
        }
    }

    #[test]
    fn latency_avoids_the_slow_endpoint() {
        let cs = [
            cand(0, 0, 1, 0, 100_000),
            cand(0, 1, 1, 0, 1_000),
            cand(0, 2, 1, 0, 1_100),
        ];
        let slow = (0..1000)
            .filter(|t| {
                choose(Strategy::Latency, &cs, *t, None)
                    .unwrap()
                    .endpoint_index
                    == 0
            })
            .count();
        assert_eq!(
            slow, 0,
            "with two choices the slowest of three is never picked"
        );
    }

    #[test]
    fn consistent_hash_is_sticky_and_moves_only_lost_keys() {
        let cs = [
            cand(0, 0, 1, 0, 0),
            cand(0, 1, 1, 0, 0),
            cand(0, 2, 1, 0, 0),
        ];
        let keys: Vec<String> = (0..300).map(|i| format!("user-{i}")).collect();
        let before: Vec<usize> = keys
            .iter()
            .map(|k| {
                choose(Strategy::ConsistentHash, &cs, 0, Some(k.as_bytes()))
                    .unwrap()
                    .endpoint_index
            })
            .collect();
        // Sticky across tickets.
        for (k, b) in keys.iter().zip(&before) {
            assert_eq!(
                choose(Strategy::ConsistentHash, &cs, 99, Some(k.as_bytes()))
                    .unwrap()
                    .endpoint_index,
                *b
            );
        }
        // Spread over all three.
        for e in 0..3 {
            assert!(before.iter().filter(|b| **b == e).count() > 50);
        }
        // Remove endpoint 2: only its keys move.
        let fewer = &cs[..2];
        for (k, b) in keys.iter().zip(&before) {
            let after = choose(Strategy::ConsistentHash, fewer, 0, Some(k.as_bytes()))
                .unwrap()
                .endpoint_index;
            if *b != 2 {
                assert_eq!(after, *b);
            }
        }
    }

    #[test]
    fn empty_candidates_give_none() {
        assert!(choose(Strategy::Weighted, &[], 0, None).is_none());
    }
}
