use super::*;
use crate::policy::store::{AdjustOp, BucketOp, BudgetOp, CounterOp, SlotOp};

const MIN: Duration = Duration::from_secs(60);

fn store() -> (Arc<ManualClock>, MemoryStore) {
    let clock = Arc::new(ManualClock::new(1_000_000_000_000));
    (clock.clone(), MemoryStore::with_clock(clock))
}

/// A key as the policy holds it; leaked, so ops can borrow it for the whole test.
fn k(key: &str) -> &'static Arc<str> {
    Box::leak(Box::new(Arc::from(key)))
}

fn bucket(key: &str, limit: u64, cost: u64) -> BucketOp<'static> {
    BucketOp {
        key: k(key),
        limit,
        period: MIN,
        cost,
    }
}

fn admit(s: &MemoryStore, buckets: Vec<BucketOp<'_>>) -> AdmitOutcome {
    s.admit_sync(&AdmitRequest {
        buckets,
        ..AdmitRequest::default()
    })
}

#[test]
fn rpm_bucket_admits_limit_then_refuses_with_retry_after() {
    let (clock, s) = store();
    for _ in 0..3 {
        assert!(matches!(
            admit(&s, vec![bucket("a", 3, 1)]),
            AdmitOutcome::Admitted { .. }
        ));
    }
    assert_eq!(
        admit(&s, vec![bucket("a", 3, 1)]),
        AdmitOutcome::RateLimited {
            index: 0,
            retry_after: Some(Duration::from_secs(20))
        }
    );
    clock.advance(Duration::from_secs(20));
    assert!(matches!(
        admit(&s, vec![bucket("a", 3, 1)]),
        AdmitOutcome::Admitted { .. }
    ));
}

#[test]
fn until_full_reports_each_bucket() {
    let (_, s) = store();
    match admit(&s, vec![bucket("r", 60, 1), bucket("t", 600, 300)]) {
        AdmitOutcome::Admitted { until_full } => {
            assert_eq!(
                until_full,
                vec![Duration::from_secs(1), Duration::from_secs(30)]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refusal_takes_nothing_from_earlier_buckets() {
    let (_, s) = store();
    // Team bucket nearly empty: the key's bucket must stay untouched on refusal.
    assert!(matches!(
        admit(&s, vec![bucket("team", 10, 9)]),
        AdmitOutcome::Admitted { .. }
    ));
    let r = admit(&s, vec![bucket("key", 100, 5), bucket("team", 10, 5)]);
    assert!(
        matches!(r, AdmitOutcome::RateLimited { index: 1, .. }),
        "{r:?}"
    );
    let read = s.read_now(&ReadRequest {
        buckets: vec!["key".into()],
        ..ReadRequest::default()
    });
    assert_eq!(read.buckets, vec![Duration::ZERO]);
}

#[test]
fn cost_above_capacity_is_refused_without_retry() {
    let (_, s) = store();
    assert_eq!(
        admit(&s, vec![bucket("t", 1000, 1001)]),
        AdmitOutcome::RateLimited {
            index: 0,
            retry_after: None
        }
    );
}

#[test]
fn budgets_block_at_their_limit() {
    let (_, s) = store();
    let req = AdmitRequest {
        budgets: vec![BudgetOp {
            key: k("spend"),
            limit: 100,
        }],
        ..AdmitRequest::default()
    };
    assert!(matches!(s.admit_sync(&req), AdmitOutcome::Admitted { .. }));
    s.settle_sync(&SettleRequest {
        counters: vec![CounterOp {
            key: k("spend"),
            delta: 100,
            ttl: None,
        }],
        ..SettleRequest::default()
    });
    assert_eq!(
        s.admit_sync(&req),
        AdmitOutcome::OverBudget {
            index: 0,
            spent: 100
        }
    );
}

#[test]
fn concurrency_slots_are_taken_and_released() {
    let (_, s) = store();
    let req = AdmitRequest {
        buckets: vec![bucket("r", 100, 1)],
        slots: vec![SlotOp {
            key: k("c"),
            max: 2,
        }],
        ..AdmitRequest::default()
    };
    assert!(matches!(s.admit_sync(&req), AdmitOutcome::Admitted { .. }));
    assert!(matches!(s.admit_sync(&req), AdmitOutcome::Admitted { .. }));
    assert_eq!(
        s.admit_sync(&req),
        AdmitOutcome::Concurrency {
            index: 0,
            in_use: 2
        }
    );
    // The refused request gave its rpm unit back: 2 used, not 3.
    let read = s.read_now(&ReadRequest {
        buckets: vec!["r".into()],
        slots: vec!["c".into()],
        ..Default::default()
    });
    assert_eq!(read.slots, vec![2]);
    assert_eq!(
        crate::policy::memory_store::gcra_of(100, MIN)
            .remaining(read.buckets[0].as_micros() as u64),
        98
    );
    assert!(s
        .settle_now(&SettleRequest {
            release: vec![k("c")],
            ..Default::default()
        })
        .is_some_and(|r| r.is_ok()));
    assert!(matches!(s.admit_sync(&req), AdmitOutcome::Admitted { .. }));
}

#[test]
fn settlement_refunds_and_charges_tokens() {
    let (_, s) = store();
    assert!(matches!(
        admit(&s, vec![bucket("t", 1000, 800)]),
        AdmitOutcome::Admitted { .. }
    ));
    let adjust = |delta| SettleRequest {
        adjust: vec![AdjustOp {
            key: k("t"),
            limit: 1000,
            period: MIN,
            delta,
        }],
        ..SettleRequest::default()
    };
    s.settle_sync(&adjust(-700)); // used 100 of the 800 estimated
    assert!(matches!(
        admit(&s, vec![bucket("t", 1000, 900)]),
        AdmitOutcome::Admitted { .. }
    ));
    s.settle_sync(&adjust(500)); // used 1400 of the 900 estimated: debt
    assert!(matches!(
        admit(&s, vec![bucket("t", 1000, 1)]),
        AdmitOutcome::RateLimited { .. }
    ));
}

#[test]
fn counters_add_expire_and_restart() {
    let (clock, s) = store();
    let add = |delta| SettleRequest {
        counters: vec![CounterOp {
            key: k("c"),
            delta,
            ttl: Some(Duration::from_secs(10)),
        }],
        ..SettleRequest::default()
    };
    assert_eq!(s.settle_sync(&add(5)), vec![5]);
    assert_eq!(s.settle_sync(&add(7)), vec![12]);
    clock.advance(Duration::from_secs(11));
    let read = s.read_now(&ReadRequest {
        counters: vec!["c".into()],
        ..Default::default()
    });
    assert_eq!(read.counters, vec![0]);
    assert_eq!(s.settle_sync(&add(3)), vec![3]);
}

#[test]
fn sets_collect_members_once() {
    let (_, s) = store();
    for m in ["gpt-4o", "claude", "gpt-4o"] {
        s.settle_sync(&SettleRequest {
            members: vec![("models".into(), m.into())],
            ..Default::default()
        });
    }
    let read = s.read_now(&ReadRequest {
        sets: vec!["models".into(), "none".into()],
        ..Default::default()
    });
    assert_eq!(
        read.sets,
        vec![vec!["claude".to_string(), "gpt-4o".to_string()], vec![]]
    );
}

#[test]
fn sweep_drops_expired_state_only() {
    let (clock, s) = store();
    s.settle_sync(&SettleRequest {
        counters: vec![
            CounterOp {
                key: k("short"),
                delta: 1,
                ttl: Some(Duration::from_secs(1)),
            },
            CounterOp {
                key: k("forever"),
                delta: 1,
                ttl: None,
            },
        ],
        ..Default::default()
    });
    clock.advance(Duration::from_secs(61));
    s.settle_sync(&SettleRequest::default());
    assert_eq!(s.counters.len(), 1);
}

#[test]
fn parallel_threads_never_exceed_the_limit() {
    let (_, s) = store();
    let s = Arc::new(s);
    let admitted = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, admitted) = (s.clone(), admitted.clone());
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let req = AdmitRequest {
                        buckets: vec![bucket("key", 10_000, 1), bucket("team", 1_000, 1)],
                        slots: vec![SlotOp {
                            key: k("c"),
                            max: 1_000_000,
                        }],
                        ..AdmitRequest::default()
                    };
                    if matches!(s.admit_sync(&req), AdmitOutcome::Admitted { .. }) {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    // The clock does not move: exactly the team's capacity passes.
    assert_eq!(admitted.load(Ordering::Relaxed), 1_000);
    let read = s.read_now(&ReadRequest {
        slots: vec!["c".into()],
        ..Default::default()
    });
    assert_eq!(read.slots, vec![1_000]);
}
