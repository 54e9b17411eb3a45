//! The route cursor: the one owner of where a request is on its way upstream
//! (route → target → endpoint → retry → fallback) and of the next step after a
//! failure. It is pure: the world (pools, passive health, retry budgets) is asked
//! through [`Upstreams`], so every decision is unit- and property-tested.
//!
//! The rules, in order:
//! - A failure may be retried on its route while `retry.attempts` and `retry.on`
//!   allow it (a refusal, such as a context-window error, is never retried on the
//!   same route: it would repeat) and, when it goes back to an endpoint this request
//!   already tried, while the provider's retry budget lasts; then it goes to the
//!   fallback routes that `fallback_on` allows. Failing over to an untried endpoint
//!   adds no load to the one that failed, so it is not budgeted.
//! - Untried endpoints are preferred to tried ones; closed breakers to open ones. A
//!   fallback route with a closed candidate is preferred to an open one of the
//!   current route.
//! - Panic mode (Envoy's panic threshold): when every candidate is open only because
//!   of tollgate's own breakers, the request still goes to the least recently failed
//!   candidate instead of being refused. `503 no healthy upstream` is kept for when
//!   active health checks or name resolution leave no endpoint at all.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{ErrorClass, ModelRoute};
use crate::error::{ErrorKind, GatewayError};

use super::health::Admit;
use super::select::{self, Candidate, Signals};
use super::RoutePlan;

/// What the cursor needs to know of the world.
pub trait Upstreams {
    /// Every `(target, endpoint)` of `route` that active health checks did not mark
    /// down, with its passive health.
    fn candidates(&self, route: &ModelRoute) -> Vec<Candidate>;
    /// A fresh value of the route's balancing counter.
    fn ticket(&self, route: &ModelRoute) -> u64;
    /// Take a retry from `provider`'s budget.
    fn try_retry(&self, provider: &str) -> bool;
}

/// Why the last attempt failed, as far as the next step cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failure {
    pub class: ErrorClass,
    /// How long the upstream asked to wait (`retry-after` and the like).
    pub retry_after: Option<Duration>,
}

/// The next attempt: where it goes and how it was chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub route_index: usize,
    pub target_index: usize,
    pub endpoint_index: usize,
    pub addr: SocketAddr,
    /// The candidate's breaker is half-open: this attempt is its probe.
    pub probe: bool,
    /// Every candidate was cooling down: sent anyway (panic mode).
    pub panic: bool,
    /// A retry on an endpoint this request already tried (drew on the retry budget).
    pub retry: bool,
    /// Same route and endpoint as the failed attempt: its `retry-after` applies.
    pub same_endpoint: bool,
    /// What the strategy measured on the chosen candidate (for `routing::reason`).
    pub signals: Signals,
}

/// Stale pooled connections retried without using an attempt, per request.
const MAX_FREE_RETRIES: u32 = 2;

/// Where one request is.
#[derive(Debug, Default)]
pub struct RouteCursor {
    route: usize,
    route_attempts: u32,
    attempts: u32,
    /// `(provider, endpoint)` pairs already tried; a provider by the address of its
    /// configuration, which every route of the request's snapshot shares.
    tried: Vec<(usize, usize)>,
    last: Option<Failure>,
    free_retries: u32,
}

/// One place to look for the next attempt.
#[derive(Clone, Copy)]
struct Step {
    route: usize,
    /// Another attempt on the current route.
    retry: bool,
}

impl RouteCursor {
    /// Attempts made so far (the `x-tollgate-attempts` header).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn route_index(&self) -> usize {
        self.route
    }

    pub fn last_failure(&self) -> Option<Failure> {
        self.last
    }

    /// The first attempt. Errs only when no endpoint exists at all.
    pub fn first(
        &mut self,
        plan: &RoutePlan,
        world: &dyn Upstreams,
        key: Option<&[u8]>,
    ) -> Result<Pick, GatewayError> {
        let requested = [Step {
            route: 0,
            retry: false,
        }];
        let with_fallbacks: Vec<Step>;
        let steps: &[Step] = match plan.routes.first() {
            Some(first) if plan.routes.len() > 1 && first_may_fall_back(first) => {
                with_fallbacks = (0..plan.routes.len())
                    .map(|route| Step {
                        route,
                        retry: false,
                    })
                    .collect();
                &with_fallbacks
            }
            _ => &requested,
        };
        self.pick(plan, world, key, steps).ok_or_else(no_healthy)
    }

    /// The next attempt after a failure; `None` when the request is done and the
    /// client gets the real outcome.
    pub fn after_failure(
        &mut self,
        plan: &RoutePlan,
        world: &dyn Upstreams,
        key: Option<&[u8]>,
        failure: Failure,
    ) -> Option<Pick> {
        self.last = Some(failure);
        let steps = self.steps_after(plan, failure.class);
        self.pick(plan, world, key, &steps)
    }

    /// A pooled connection the upstream had closed: no fault of anyone, so the same
    /// route goes again without using an attempt (a bounded number of times).
    pub fn after_stale_connection(
        &mut self,
        plan: &RoutePlan,
        world: &dyn Upstreams,
        key: Option<&[u8]>,
    ) -> Option<Pick> {
        if self.free_retries >= MAX_FREE_RETRIES || self.attempts == 0 {
            return None;
        }
        self.free_retries += 1;
        self.attempts -= 1;
        self.route_attempts = self.route_attempts.saturating_sub(1);
        self.tried.pop();
        let steps = [Step {
            route: self.route,
            retry: false,
        }];
        self.pick(plan, world, key, &steps)
    }

    /// How long to wait before `pick`: nothing for a fallback; the upstream's
    /// `retry-after` for the endpoint that said it (capped by the route's
    /// `max_backoff`); else exponential backoff with full jitter from `random`.
    pub fn backoff(&self, plan: &RoutePlan, pick: &Pick, random: u64) -> Duration {
        let Some(route) = plan.routes.get(pick.route_index) else {
            return Duration::ZERO;
        };
        if !pick.retry {
            return Duration::ZERO;
        }
        let max = route.retry.max_backoff;
        if let (true, Some(after)) = (pick.same_endpoint, self.last.and_then(|f| f.retry_after)) {
            return after.min(max);
        }
        full_jitter(
            route.retry.backoff,
            max,
            self.route_attempts.saturating_sub(2),
            random,
        )
    }

    /// Where to look after a failure of `class`, in order.
    fn steps_after(&self, plan: &RoutePlan, class: ErrorClass) -> Vec<Step> {
        let Some(route) = plan.routes.get(self.route) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        let refusal = matches!(
            class,
            ErrorClass::ContextWindowExceeded | ErrorClass::ContentPolicy
        );
        if !refusal && self.route_attempts < route.retry.attempts && route.retry.on.contains(&class)
        {
            steps.push(Step {
                route: self.route,
                retry: true,
            });
        }
        if route.fallback_on.is_empty() || route.fallback_on.contains(&class) {
            steps.extend((self.route + 1..plan.routes.len()).map(|route| Step {
                route,
                retry: false,
            }));
        }
        steps
    }

    /// Two passes over `steps`: closed (or probing) candidates first, then panic mode.
    fn pick(
        &mut self,
        plan: &RoutePlan,
        world: &dyn Upstreams,
        key: Option<&[u8]>,
        steps: &[Step],
    ) -> Option<Pick> {
        let mut refused = Vec::new();
        for panic in [false, true] {
            for step in steps {
                if refused.contains(&step.route) {
                    continue;
                }
                let Some(route) = plan.routes.get(step.route) else {
                    continue;
                };
                let candidates = world.candidates(route);
                let Some(c) = self.choose(route, world, key, &candidates, panic) else {
                    continue;
                };
                let Some(target) = route.targets.get(c.target_index) else {
                    continue;
                };
                let retry = step.retry && self.is_tried(route, &c);
                if retry && !world.try_retry(&target.provider.name) {
                    refused.push(step.route);
                    continue;
                }
                return Some(self.take(step, provider_id(target), c, panic, retry));
            }
        }
        None
    }

    /// The candidate for this pass: untried before tried; closed breakers by the
    /// route's strategy, or in panic mode the least recently failed.
    fn choose(
        &self,
        route: &ModelRoute,
        world: &dyn Upstreams,
        key: Option<&[u8]>,
        candidates: &[Candidate],
        panic: bool,
    ) -> Option<Candidate> {
        for allow_tried in [false, true] {
            let keep = |c: &&Candidate| {
                (allow_tried || !self.is_tried(route, c)) && (panic || c.admit != Admit::Open)
            };
            // Usually every candidate is eligible: then no copy of the list.
            let filtered: Vec<Candidate>;
            let eligible: &[Candidate] = if candidates.iter().all(|c| keep(&c)) {
                candidates
            } else {
                filtered = candidates.iter().filter(keep).copied().collect();
                &filtered
            };
            let chosen = if panic {
                eligible.iter().min_by_key(|c| c.last_failure_ms).copied()
            } else {
                // One candidate is every strategy's choice: no ticket (the route's
                // counter is a line every worker thread writes).
                let ticket = if eligible.len() > 1 {
                    world.ticket(route)
                } else {
                    0
                };
                select::choose(route.strategy, eligible, ticket, key)
            };
            if chosen.is_some() {
                return chosen;
            }
        }
        None
    }

    fn take(
        &mut self,
        step: &Step,
        provider: usize,
        c: Candidate,
        panic: bool,
        retry: bool,
    ) -> Pick {
        let same_endpoint = step.route == self.route
            && self
                .tried
                .last()
                .is_some_and(|&(p, e)| p == provider && e == c.endpoint_index);
        if step.route != self.route {
            self.route = step.route;
            self.route_attempts = 0;
        }
        self.route_attempts += 1;
        self.attempts += 1;
        self.tried.push((provider, c.endpoint_index));
        Pick {
            route_index: step.route,
            target_index: c.target_index,
            endpoint_index: c.endpoint_index,
            addr: c.addr,
            probe: c.admit == Admit::Probe,
            panic: panic && c.admit == Admit::Open,
            retry,
            same_endpoint: same_endpoint && self.attempts > 1,
            signals: c.signals,
        }
    }

    fn is_tried(&self, route: &ModelRoute, c: &Candidate) -> bool {
        let Some(target) = route.targets.get(c.target_index) else {
            return false;
        };
        let provider = provider_id(target);
        (self.tried.iter()).any(|&(p, e)| p == provider && e == c.endpoint_index)
    }
}

/// A provider's identity within the request's configuration snapshot.
fn provider_id(target: &crate::config::Target) -> usize {
    std::sync::Arc::as_ptr(&target.provider) as usize
}

/// A first attempt may go straight to a fallback when the route's every candidate is
/// cooling down, if its `fallback_on` covers the failures that cool routes down.
fn first_may_fall_back(route: &ModelRoute) -> bool {
    route.fallback_on.is_empty()
        || ErrorClass::RETRYABLE
            .iter()
            .any(|c| route.fallback_on.contains(c))
}

fn no_healthy() -> GatewayError {
    GatewayError::new(
        ErrorKind::NoHealthyUpstream,
        "No healthy upstream is available for this model",
    )
}

/// A random number for jitter: xorshift64 per thread, seeded from the process's
/// random hasher keys (no clock: two retries at the same instant must differ).
pub fn random_u64() -> u64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x5eed);
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// AWS's "full jitter": uniform in `[0, min(max, base × 2^n)]`, so concurrent
/// retries spread over the whole window instead of arriving together.
pub fn full_jitter(base: Duration, max: Duration, n: u32, random: u64) -> Duration {
    let base = base.as_micros() as u64;
    let cap = base
        .saturating_mul(1u64 << n.min(20))
        .min(max.as_micros() as u64);
    Duration::from_micros(random % cap.saturating_add(1))
}

#[cfg(test)]
#[path = "cursor_tests.rs"]
mod tests;
