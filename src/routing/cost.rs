//! Cost-aware balancing: what this request is expected to cost on each candidate,
//! and the two strategies that use it.
//!
//! - `cheapest`: the lowest expected cost — estimated prompt tokens × input price
//!   plus expected output tokens (`max_tokens`, else the route's
//!   `balance.expected_output_tokens`) × output price, long-context tiers included —
//!   among the candidates the cursor left (healthy, capable). Ties go to the lower
//!   latency, then round robin.
//! - `cost_within_latency`: the cheapest among candidates whose recent median time to
//!   first token is within the route's `balance.max_ttft` (a candidate with no sample
//!   yet counts as within, so it gets measured); when none is, the fastest.
//!
//! A model without a price costs 0 (as in spend accounting: self-hosted models are
//! free unless priced), so it wins `cheapest`; price it with `pricing:` to compare.

use crate::formats::RequestShape;
use crate::policy::pricing::{Price, TokenSplit};

use super::select::Candidate;

/// USD this request is expected to cost at `price`.
pub fn expected_cost(price: &Price, shape: &RequestShape, default_output: u64) -> f64 {
    price.cost(&TokenSplit {
        uncached: shape.prompt_tokens,
        output: shape.max_tokens.unwrap_or(default_output),
        ..TokenSplit::default()
    })
}

pub fn cheapest(candidates: &[Candidate], ticket: u64) -> Option<Candidate> {
    lowest(candidates.iter(), ticket, |c| {
        (c.signals.cost, c.latency_us)
    })
}

pub fn cost_within_latency(candidates: &[Candidate], ticket: u64) -> Option<Candidate> {
    let within = candidates.iter().filter(|c| !c.signals.slow);
    lowest(within, ticket, |c| (c.signals.cost, c.signals.ttft_p50_us)).or_else(|| {
        lowest(candidates.iter(), ticket, |c| {
            (c.signals.ttft_p50_us as f64, 0)
        })
    })
}

/// The candidate with the smallest `(primary, secondary)`; exact ties round robin.
fn lowest<'a>(
    candidates: impl Iterator<Item = &'a Candidate> + Clone,
    ticket: u64,
    key: impl Fn(&Candidate) -> (f64, u64),
) -> Option<Candidate> {
    let best = candidates
        .clone()
        .map(&key)
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))?;
    let tied: Vec<&Candidate> = candidates.filter(|c| key(c) == best).collect();
    tied.get((ticket % tied.len().max(1) as u64) as usize)
        .map(|c| **c)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::routing::health::Admit;
    use crate::routing::Signals;

    fn cand(t: usize, cost: f64, latency_us: u64, ttft_ms: u64, slow: bool) -> Candidate {
        Candidate {
            target_index: t,
            endpoint_index: 0,
            addr: SocketAddr::from(([127, 0, 0, 1], 1000 + t as u16)),
            weight: 1,
            in_flight: 0,
            latency_us,
            admit: Admit::Closed,
            last_failure_ms: 0,
            signals: Signals {
                cost,
                ttft_p50_us: ttft_ms * 1000,
                slow,
                ..Signals::default()
            },
        }
    }

    #[test]
    fn expected_cost_follows_this_requests_shape() {
        let input_heavy = Price {
            input: 0.1,
            output: 10.0,
            cached_input: None,
            cache_write: None,
            long_context: None,
        };
        let output_heavy = Price {
            input: 5.0,
            output: 0.5,
            ..input_heavy
        };
        let long_prompt = RequestShape {
            prompt_tokens: 20_000,
            max_tokens: Some(10),
            ..RequestShape::default()
        };
        let long_answer = RequestShape {
            prompt_tokens: 10,
            max_tokens: Some(4_000),
            ..RequestShape::default()
        };
        let cost = |p: &Price, s: &RequestShape| expected_cost(p, s, 256);
        assert!(cost(&input_heavy, &long_prompt) < cost(&output_heavy, &long_prompt));
        assert!(cost(&output_heavy, &long_answer) < cost(&input_heavy, &long_answer));
        let no_max = RequestShape {
            prompt_tokens: 0,
            ..RequestShape::default()
        };
        assert!((expected_cost(&input_heavy, &no_max, 1_000_000) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn cheapest_then_lower_latency_then_round_robin() {
        let cs = [cand(0, 0.02, 10, 0, false), cand(1, 0.01, 900, 0, false)];
        assert_eq!(cheapest(&cs, 0).unwrap().target_index, 1);
        let tied = [cand(0, 0.01, 500, 0, false), cand(1, 0.01, 100, 0, false)];
        assert_eq!(cheapest(&tied, 7).unwrap().target_index, 1);
        let same = [cand(0, 0.01, 100, 0, false), cand(1, 0.01, 100, 0, false)];
        let picks: Vec<usize> = (0..4)
            .map(|t| cheapest(&same, t).unwrap().target_index)
            .collect();
        assert_eq!(picks, [0, 1, 0, 1]);
    }

    #[test]
    fn within_latency_else_the_fastest() {
        let cs = [
            cand(0, 0.001, 0, 900, true),
            cand(1, 0.010, 0, 80, false),
            cand(2, 0.050, 0, 20, false),
        ];
        assert_eq!(cost_within_latency(&cs, 0).unwrap().target_index, 1);
        let all_slow = [cand(0, 0.001, 0, 900, true), cand(1, 0.01, 0, 400, true)];
        assert_eq!(cost_within_latency(&all_slow, 0).unwrap().target_index, 1);
        let unmeasured = [cand(0, 0.001, 0, 0, false), cand(1, 0.01, 0, 50, false)];
        assert_eq!(cost_within_latency(&unmeasured, 0).unwrap().target_index, 0);
    }
}
