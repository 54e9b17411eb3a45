use std::net::SocketAddr;

use super::*;
use crate::formats::Dialect;
use crate::routing::health::Admit;
use crate::routing::prefix::walk;
use crate::routing::Signals;

fn chat(system: &str, turns: &[&str]) -> Vec<u8> {
    let mut messages = vec![serde_json::json!({"role": "system", "content": system})];
    for t in turns {
        messages.push(serde_json::json!({"role": "user", "content": t}));
    }
    serde_json::to_vec(&serde_json::json!({"model": "m", "messages": messages})).unwrap()
}

fn blocks_of(body: &[u8], block_chars: usize) -> Vec<u64> {
    let mut b = Blocks::new(block_chars);
    walk(Dialect::OpenAi, body, &mut b).unwrap();
    b.hashes
}

#[test]
fn blocks_are_chained_so_a_shared_prefix_shares_its_leading_hashes() {
    let system = "You are the assistant of tenant 7. ".repeat(30); // 1,050 chars
    let first = blocks_of(&chat(&system, &["What is the refund policy?"]), 256);
    let later = blocks_of(
        &chat(
            &system,
            &["What is the refund policy?", "And for invoices?"],
        ),
        256,
    );
    assert_eq!(first.len(), 4, "only full blocks count");
    assert_eq!(
        later[..first.len()],
        first[..],
        "a later turn extends the chain"
    );
    let other = blocks_of(&chat(&"Tenant 8. ".repeat(105), &["x"]), 256);
    assert_ne!(other[0], first[0]);
    // The same text at another place is another prefix: the hash is chained.
    let shifted = blocks_of(&chat(&format!("!{system}"), &["x"]), 256);
    assert!(shifted.iter().all(|h| !first.contains(h)));
    // Bounded work whatever the prompt's size.
    let huge = blocks_of(&chat(&"a".repeat(MAX_BLOCKS * 8 + 100), &[]), 4);
    assert_eq!(huge.len(), MAX_BLOCKS);
}

#[test]
fn a_block_set_matches_leading_blocks_and_stays_bounded() {
    let mut set = BlockSet::new(100);
    set.insert(&[1, 2, 3, 4]);
    assert_eq!(set.matched(&[1, 2, 3, 4, 5]), 4);
    assert_eq!(set.matched(&[1, 2, 9, 4]), 2, "leading blocks only");
    assert_eq!(set.matched(&[9, 1, 2]), 0);
    for i in 1000..100_000u64 {
        set.insert(&[i]);
        assert!(set.len() <= 100);
    }
    assert_eq!(set.matched(&[1]), 0, "old blocks were dropped");
    // The most recent half-capacity insertions are always kept.
    assert_eq!(set.matched(&(99_951..100_000).collect::<Vec<_>>()), 49);
    // A re-sent block is refreshed: it survives the next aging.
    let mut set = BlockSet::new(10);
    set.insert(&[1, 2, 3, 4]);
    set.insert(&[5]); // young now holds 5 entries: aged
    set.insert(&[1]);
    set.insert(&[6, 7, 8, 9]);
    assert_eq!(set.matched(&[1]), 1);
}

fn cand(e: usize, in_flight: u64, matched: usize) -> Candidate {
    Candidate {
        target_index: 0,
        endpoint_index: e,
        addr: SocketAddr::from(([127, 0, 0, 1], 2000 + e as u16)),
        weight: 1,
        in_flight,
        latency_us: 0,
        admit: Admit::Closed,
        last_failure_ms: 0,
        signals: Signals {
            matched_blocks: matched,
            prompt_blocks: 10,
            in_flight_factor: 2.0,
            min_match: 0.2,
            ..Signals::default()
        },
    }
}

#[test]
fn the_longest_prefix_wins_unless_its_holder_is_over_the_load_bound() {
    let none = [cand(0, 0, 0), cand(1, 0, 0)];
    assert_eq!(longest_prefix(&none), None, "no holder: the caller hashes");
    let c = [cand(0, 1, 3), cand(1, 0, 7), cand(2, 0, 5)];
    assert_eq!(longest_prefix(&c).unwrap().endpoint_index, 1);
    // Equal matches: the less loaded one.
    let tie = [cand(0, 2, 7), cand(1, 1, 7)];
    assert_eq!(longest_prefix(&tie).unwrap().endpoint_index, 1);
    // Holder at 2 in flight, least at 0: 2 <= 2 x (0 + 1), kept.
    let kept = [cand(0, 2, 9), cand(1, 0, 0)];
    let pick = longest_prefix(&kept).unwrap();
    assert_eq!((pick.endpoint_index, pick.signals.spilled), (0, false));
    // At 3 it is over the bound: the least loaded, the best match among them.
    let over = [cand(0, 3, 9), cand(1, 0, 0), cand(2, 0, 4), cand(3, 1, 8)];
    let pick = longest_prefix(&over).unwrap();
    assert_eq!((pick.endpoint_index, pick.signals.spilled), (2, true));
    // A holder of less than `min_match` of the prompt (here 2 of 10 blocks needed)
    // draws nothing: the caller hashes.
    assert_eq!(longest_prefix(&[cand(0, 0, 1), cand(1, 0, 0)]), None);
    assert!(longest_prefix(&[cand(0, 0, 2), cand(1, 0, 0)]).is_some());
}
