use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::*;
use crate::config::{load_str, Config};
use crate::routing::plan_for;
use crate::test_rng::Rng;

const YAML: &str = r#"
auth: { mode: open }
providers:
  - { name: p, format: openai, base_urls: ["http://127.0.0.1:1", "http://127.0.0.1:2"] }
  - { name: q, format: anthropic, base_url: "http://127.0.0.1:3" }
models:
  - name: a
    targets: [{ provider: p, model: gpt-4o-mini }]
    retry: { attempts: 3 }
    fallbacks: [b]
  - name: b
    targets: [{ provider: q, model: claude }]
    retry: { attempts: 2 }
  - name: solo
    targets: [{ provider: q, model: claude }]
    retry: { attempts: 3 }
  - name: refusals
    targets: [{ provider: p, model: gpt-4o-mini }]
    fallbacks: [b]
    fallback_on: [context_window_exceeded]
"#;

fn config() -> Config {
    load_str(YAML, &|_| None).unwrap()
}

/// A world of endpoints whose passive health the test sets.
#[derive(Default)]
struct World {
    /// `(provider, endpoint)` → admission; absent = closed.
    health: RefCell<HashMap<(String, usize), (Admit, u64)>>,
    /// Endpoints active health checks took out.
    down: RefCell<Vec<(String, usize)>>,
    budget: Cell<u32>,
    budget_asked: Cell<u32>,
    ticket: Cell<u64>,
}

impl World {
    fn with_budget(n: u32) -> World {
        let w = World::default();
        w.budget.set(n);
        w
    }

    fn set(&self, provider: &str, endpoint: usize, admit: Admit, last_failure_ms: u64) {
        self.health
            .borrow_mut()
            .insert((provider.to_string(), endpoint), (admit, last_failure_ms));
    }
}

impl Upstreams for World {
    fn candidates(&self, route: &ModelRoute) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (t, target) in route.targets.iter().enumerate() {
            for e in 0..target.provider.endpoints.len() {
                let id = (target.provider.name.clone(), e);
                if self.down.borrow().contains(&id) {
                    continue;
                }
                let (admit, last) = self
                    .health
                    .borrow()
                    .get(&id)
                    .copied()
                    .unwrap_or((Admit::Closed, 0));
                out.push(Candidate {
                    target_index: t,
                    endpoint_index: e,
                    addr: SocketAddr::from(([127, 0, 0, 1], 1 + e as u16)),
                    weight: 1,
                    in_flight: 0,
                    latency_us: 0,
                    admit,
                    last_failure_ms: last,
                    signals: Default::default(),
                });
            }
        }
        out
    }

    fn ticket(&self, _route: &ModelRoute) -> u64 {
        self.ticket.set(self.ticket.get() + 1);
        self.ticket.get()
    }

    fn try_retry(&self, _provider: &str) -> bool {
        self.budget_asked.set(self.budget_asked.get() + 1);
        if self.budget.get() == 0 {
            return false;
        }
        self.budget.set(self.budget.get() - 1);
        true
    }
}

fn fail(class: ErrorClass) -> Failure {
    Failure {
        class,
        retry_after: None,
    }
}

#[test]
fn retries_on_the_route_then_falls_back_then_gives_up() {
    let plan = plan_for(&config(), "a").unwrap();
    let world = World::with_budget(10);
    let mut c = RouteCursor::default();
    let first = c.first(&plan, &world, None).unwrap();
    assert_eq!((first.route_index, first.retry), (0, false));
    let second = c
        .after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .unwrap();
    assert_eq!(second.route_index, 0);
    assert_ne!(
        second.endpoint_index, first.endpoint_index,
        "untried endpoint first"
    );
    assert!(!second.retry, "a failover, not a retry");
    let third = c
        .after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .unwrap();
    assert_eq!(third.route_index, 0, "the third attempt of route a");
    let fallback = c
        .after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .unwrap();
    assert_eq!((fallback.route_index, fallback.retry), (1, false));
    assert!(c
        .after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .is_some());
    assert!(c
        .after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .is_none());
    assert_eq!(c.attempts(), 5);
}

#[test]
fn a_single_open_endpoint_is_still_tried_in_panic_mode() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::with_budget(10);
    world.set("q", 0, Admit::Open, 7);
    let mut c = RouteCursor::default();
    let pick = c.first(&plan, &world, None).unwrap();
    assert!(pick.panic, "sent anyway, never a made-up 503");
    let retry = c
        .after_failure(&plan, &world, None, fail(ErrorClass::Timeout))
        .unwrap();
    assert!(retry.panic && retry.same_endpoint);
}

#[test]
fn one_candidate_draws_no_ticket_two_do() {
    let world = World::default();
    let solo = plan_for(&config(), "solo").unwrap();
    RouteCursor::default().first(&solo, &world, None).unwrap();
    assert_eq!(world.ticket.get(), 0, "one endpoint: nothing to rotate");
    // Route `a` has two endpoints: the round robin moves on each first pick.
    let two = plan_for(&config(), "a").unwrap();
    let first = RouteCursor::default().first(&two, &world, None).unwrap();
    let second = RouteCursor::default().first(&two, &world, None).unwrap();
    assert_eq!(world.ticket.get(), 2);
    assert_ne!(first.endpoint_index, second.endpoint_index);
}

#[test]
fn no_endpoint_at_all_is_503() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::default();
    world.down.borrow_mut().push(("q".into(), 0));
    let err = RouteCursor::default()
        .first(&plan, &world, None)
        .unwrap_err();
    assert_eq!(err.status(), 503);
}

#[test]
fn a_closed_fallback_beats_an_open_route() {
    let plan = plan_for(&config(), "a").unwrap();
    let world = World::default();
    world.set("p", 0, Admit::Open, 1);
    world.set("p", 1, Admit::Open, 2);
    let pick = RouteCursor::default().first(&plan, &world, None).unwrap();
    assert_eq!((pick.route_index, pick.panic), (1, false));
}

#[test]
fn panic_mode_picks_the_least_recently_failed() {
    let plan = plan_for(&config(), "refusals").unwrap();
    let world = World::default();
    world.set("p", 0, Admit::Open, 50);
    world.set("p", 1, Admit::Open, 10);
    // `fallback_on` does not cover outages: the route itself, in panic mode.
    let pick = RouteCursor::default().first(&plan, &world, None).unwrap();
    assert_eq!(
        (pick.route_index, pick.endpoint_index, pick.panic),
        (0, 1, true)
    );
}

#[test]
fn a_probe_is_marked() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::default();
    world.set("q", 0, Admit::Probe, 1);
    let pick = RouteCursor::default().first(&plan, &world, None).unwrap();
    assert!(pick.probe && !pick.panic);
}

#[test]
fn refusals_skip_the_route_and_need_fallback_on() {
    let plan = plan_for(&config(), "refusals").unwrap();
    let world = World::with_budget(10);
    let mut c = RouteCursor::default();
    c.first(&plan, &world, None).unwrap();
    let next = c
        .after_failure(&plan, &world, None, fail(ErrorClass::ContextWindowExceeded))
        .unwrap();
    assert_eq!(next.route_index, 1);
    let mut c = RouteCursor::default();
    c.first(&plan, &world, None).unwrap();
    c.after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .unwrap();
    c.after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
        .unwrap();
    assert!(
        c.after_failure(&plan, &world, None, fail(ErrorClass::ServerError))
            .is_none(),
        "server errors are not in fallback_on"
    );
}

#[test]
fn a_spent_budget_goes_to_the_fallback_without_retrying() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::with_budget(0);
    let mut c = RouteCursor::default();
    c.first(&plan, &world, None).unwrap();
    assert!(c
        .after_failure(&plan, &world, None, fail(ErrorClass::RateLimit))
        .is_none());
    let plan = plan_for(&config(), "a").unwrap();
    let mut c = RouteCursor::default();
    let first = c.first(&plan, &world, None).unwrap();
    // Failing over to p's untried endpoint is not budgeted.
    let second = c
        .after_failure(&plan, &world, None, fail(ErrorClass::RateLimit))
        .unwrap();
    assert_eq!(second.route_index, 0);
    assert_ne!(second.endpoint_index, first.endpoint_index);
    assert!(!second.retry);
    // Going back to a tried one is, and the budget is spent: the fallback.
    let third = c
        .after_failure(&plan, &world, None, fail(ErrorClass::RateLimit))
        .unwrap();
    assert_eq!(third.route_index, 1);
    assert_eq!(world.budget_asked.get(), 2);
}

#[test]
fn stale_connections_are_free_but_bounded() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::default();
    let mut c = RouteCursor::default();
    c.first(&plan, &world, None).unwrap();
    assert!(c.after_stale_connection(&plan, &world, None).is_some());
    assert!(c.after_stale_connection(&plan, &world, None).is_some());
    assert!(c.after_stale_connection(&plan, &world, None).is_none());
    assert_eq!(c.attempts(), 1);
}

#[test]
fn backoff_honours_retry_after_on_the_same_endpoint_only() {
    let plan = plan_for(&config(), "solo").unwrap();
    let world = World::with_budget(10);
    let mut c = RouteCursor::default();
    c.first(&plan, &world, None).unwrap();
    let failure = Failure {
        class: ErrorClass::RateLimit,
        retry_after: Some(Duration::from_millis(700)),
    };
    let pick = c.after_failure(&plan, &world, None, failure).unwrap();
    assert_eq!(c.backoff(&plan, &pick, 12345), Duration::from_millis(700));
    let plan_a = plan_for(&config(), "a").unwrap();
    let mut c = RouteCursor::default();
    c.first(&plan_a, &world, None).unwrap();
    for _ in 0..2 {
        c.after_failure(&plan_a, &world, None, failure).unwrap();
    }
    let fallback = c.after_failure(&plan_a, &world, None, failure).unwrap();
    assert_eq!(fallback.route_index, 1);
    assert_eq!(c.backoff(&plan_a, &fallback, 1), Duration::ZERO);
}

#[test]
fn full_jitter_spreads_over_the_window() {
    let base = Duration::from_millis(100);
    let max = Duration::from_secs(2);
    let mut buckets = [0u32; 10];
    for _ in 0..1000 {
        let d = full_jitter(base, max, 1, random_u64());
        assert!(d <= Duration::from_millis(200));
        buckets[(d.as_micros() * 10 / 200_001) as usize] += 1;
    }
    let used = buckets.iter().filter(|n| **n > 0).count();
    assert!(used >= 9, "1,000 draws cover the window: {buckets:?}");
    assert!(
        buckets.iter().all(|n| *n < 200),
        "no value dominates: {buckets:?}"
    );
}

/// Random worlds and failure sequences: the cursor never makes more attempts than
/// configured, never picks an open candidate while a closed one was eligible, and
/// always ends.
#[test]
fn property_bounded_and_prefers_closed() {
    let config = config();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let classes = [
        ErrorClass::Connect,
        ErrorClass::RateLimit,
        ErrorClass::ServerError,
        ErrorClass::Timeout,
        ErrorClass::Overloaded,
        ErrorClass::ContextWindowExceeded,
    ];
    for _ in 0..2000 {
        let name = ["a", "b", "solo", "refusals"][rng.below(4)];
        let plan = plan_for(&config, name).unwrap();
        let limit: u32 = plan.routes.iter().map(|r| r.retry.attempts).sum();
        let world = World::with_budget(rng.below(4) as u32);
        for (p, e) in [("p", 0), ("p", 1), ("q", 0)] {
            let admit = [Admit::Closed, Admit::Open, Admit::Probe][rng.below(3)];
            world.set(p, e, admit, rng.below(100) as u64);
        }
        let mut c = RouteCursor::default();
        let mut pick = c.first(&plan, &world, None).ok();
        let mut steps = 0;
        while let Some(p) = pick {
            steps += 1;
            assert!(steps <= limit, "{name}: more attempts than configured");
            if p.panic {
                let route = &plan.routes[p.route_index];
                assert!(
                    world
                        .candidates(route)
                        .iter()
                        .all(|c| c.admit == Admit::Open),
                    "{name}: panic pick while the route had a closed candidate"
                );
            }
            let failure = fail(classes[rng.below(classes.len())]);
            pick = c.after_failure(&plan, &world, None, failure);
        }
        assert!(c.attempts() <= limit);
    }
}
