//! Why a request went where it went: the `x-tollgate-route` response header and the
//! access log's `route` field, for every routed request (router or not).
//!
//! The text joins what is already known when the answer starts — the router's rule
//! and variant (`rules::Decision`), the balancing strategy, the chosen target, the
//! measure the strategy picked it by, and how many targets were skipped for a
//! missing capability — e.g. `strategy=cheapest; target=openai/gpt-4o-mini;
//! reason=lowest expected cost $0.000120`. Every part comes from the configuration,
//! an enum or a number, never from the client's text, so the header cannot carry
//! request content. It is built once per request (see `proxy::finish`).

use std::fmt::Write;

use crate::config::Strategy;

use super::rules::Decision;
use super::select::Signals;

/// What the explanation is made of; borrowed from the request's context.
pub struct Facts<'a> {
    pub decision: Option<&'a Decision>,
    pub strategy: Strategy,
    /// `provider/model` of the attempt that answered.
    pub provider: &'a str,
    pub model: &'a str,
    /// The chosen candidate's measures (zero when the strategy has none).
    pub signals: Signals,
    /// `prefix_affinity` / `consistent_hash` had a key to hash.
    pub keyed: bool,
    /// Targets dropped before choosing because they lack a capability.
    pub skipped: usize,
    /// The attempt number (1 = first try).
    pub attempts: u32,
}

/// The explanation text. Built with pushes, not the formatter: it is made for every
/// routed request.
pub fn explain(f: &Facts) -> String {
    let mut out = String::with_capacity(160);
    if let Some(d) = f.decision {
        out.push_str(&d.explain());
        out.push_str("; ");
    }
    out.push_str("strategy=");
    out.push_str(f.strategy.as_str());
    out.push_str("; target=");
    out.push_str(f.provider);
    out.push('/');
    out.push_str(f.model);
    out.push_str("; reason=");
    push_reason(&mut out, f);
    if f.skipped > 0 {
        let _ = write!(out, "; skipped={} lacking capability", f.skipped);
    }
    if f.attempts > 1 {
        let _ = write!(out, "; attempt={}", f.attempts);
    }
    out
}

/// The measure the strategy picked by, as far as it is known.
fn push_reason(out: &mut String, f: &Facts) {
    let s = &f.signals;
    let _ = match f.strategy {
        Strategy::Cheapest => write!(out, "lowest expected cost ${:.6}", s.cost),
        Strategy::CostWithinLatency if s.ttft_p50_us == 0 => write!(
            out,
            "cheapest within ttft bound ${:.6} (no ttft sample yet)",
            s.cost
        ),
        Strategy::CostWithinLatency if s.slow => write!(
            out,
            "none within ttft bound, fastest p50 ttft {}ms",
            s.ttft_p50_us / 1000
        ),
        Strategy::CostWithinLatency => write!(
            out,
            "cheapest within ttft bound ${:.6}, p50 ttft {}ms",
            s.cost,
            s.ttft_p50_us / 1000
        ),
        Strategy::PrefixAffinity if s.spilled => write!(
            out,
            "prefix holder over {}x the least in flight, least in flight (prefix {}/{} blocks here)",
            s.in_flight_factor, s.matched_blocks, s.prompt_blocks
        ),
        Strategy::PrefixAffinity if s.matched_blocks > 0 => write!(
            out,
            "longest cached prefix {}/{} blocks",
            s.matched_blocks, s.prompt_blocks
        ),
        Strategy::PrefixAffinity if f.keyed && s.prompt_blocks > 0 => write!(
            out,
            "no cached prefix of {} blocks, prefix hash, bounded load factor {} (recent picks {})",
            s.prompt_blocks, s.load_factor, s.recent
        ),
        Strategy::PrefixAffinity if f.keyed => write!(
            out,
            "prefix hash, bounded load factor {} (recent picks {})",
            s.load_factor, s.recent
        ),
        Strategy::ConsistentHash if f.keyed => fixed(out, "hash of session key"),
        Strategy::PrefixAffinity | Strategy::ConsistentHash => {
            fixed(out, "no key, least in flight")
        }
        Strategy::Weighted => fixed(out, "weighted round robin"),
        Strategy::LeastInflight => fixed(out, "fewest in flight"),
        Strategy::Latency => fixed(out, "two choices on latency"),
    };
}

fn fixed(out: &mut String, text: &str) -> std::fmt::Result {
    out.push_str(text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Tier;

    fn facts(strategy: Strategy, signals: Signals) -> Facts<'static> {
        Facts {
            decision: None,
            strategy,
            provider: "openai",
            model: "gpt-4o-mini",
            signals,
            keyed: true,
            skipped: 0,
            attempts: 1,
        }
    }

    #[test]
    fn cheapest_names_the_cost() {
        let s = Signals {
            cost: 0.00012,
            ..Signals::default()
        };
        assert_eq!(
            explain(&facts(Strategy::Cheapest, s)),
            "strategy=cheapest; target=openai/gpt-4o-mini; reason=lowest expected cost $0.000120"
        );
    }

    #[test]
    fn router_decision_skips_and_retries_are_included() {
        let d = Decision {
            router: "auto".into(),
            rule: "vision".into(),
            route: "gpt-vision".into(),
            variant: None,
            tier: Tier::Simple,
            semantic: None,
        };
        let mut f = facts(Strategy::Weighted, Signals::default());
        f.decision = Some(&d);
        f.skipped = 2;
        f.attempts = 3;
        assert_eq!(
            explain(&f),
            "router=auto; rule=vision; route=gpt-vision; tier=simple; strategy=weighted; \
             target=openai/gpt-4o-mini; reason=weighted round robin; \
             skipped=2 lacking capability; attempt=3"
        );
    }

    #[test]
    fn latency_bound_reasons_differ() {
        let within = Signals {
            cost: 0.001,
            ttft_p50_us: 80_000,
            ..Signals::default()
        };
        let slow = Signals {
            slow: true,
            ..within
        };
        let a = explain(&facts(Strategy::CostWithinLatency, within));
        let b = explain(&facts(Strategy::CostWithinLatency, slow));
        assert!(
            a.contains("cheapest within ttft bound $0.001000, p50 ttft 80ms"),
            "{a}"
        );
        assert!(
            b.contains("none within ttft bound, fastest p50 ttft 80ms"),
            "{b}"
        );
        let mut unkeyed = facts(Strategy::PrefixAffinity, Signals::default());
        unkeyed.keyed = false;
        assert!(explain(&unkeyed).ends_with("reason=no key, least in flight"));
    }

    #[test]
    fn estimate_mode_names_the_matched_prefix_or_the_spill() {
        let held = Signals {
            matched_blocks: 12,
            prompt_blocks: 14,
            in_flight_factor: 2.0,
            ..Signals::default()
        };
        let spilled = Signals {
            spilled: true,
            matched_blocks: 0,
            ..held
        };
        let unseen = Signals {
            matched_blocks: 0,
            load_factor: 1.25,
            ..held
        };
        let say = |s| explain(&facts(Strategy::PrefixAffinity, s));
        assert!(
            say(held).ends_with("reason=longest cached prefix 12/14 blocks"),
            "{}",
            say(held)
        );
        assert!(
            say(spilled).contains("prefix holder over 2x the least in flight, least in flight (prefix 0/14 blocks here)"),
            "{}",
            say(spilled)
        );
        assert!(
            say(unseen)
                .contains("no cached prefix of 14 blocks, prefix hash, bounded load factor 1.25"),
            "{}",
            say(unseen)
        );
    }
}
