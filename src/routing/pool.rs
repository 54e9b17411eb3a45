//! A pool of equivalent endpoints of one provider (its base URLs), balanced by
//! pingora-load-balancing's weighted round robin and kept honest by background
//! health checks.
//!
//! Host names are resolved here, off the request path: `HttpPeer::new` with a host
//! name does a blocking lookup on the async runtime and panics when it fails, so the
//! proxy only ever builds peers from the `SocketAddr`s this pool resolved.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::{
    HealthCheck as PingoraHealthCheck, HttpHealthCheck, TcpHealthCheck,
};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::Result as PResult;

use crate::config::{
    BreakerPolicy, Endpoint, ErrorClass, HealthCheck, Provider, RetryBudgetPolicy,
};

use super::budget::RetryBudget;
use super::health::{Admit, Breaker, BreakerView, ModelBreakers, Recorded};
use super::lease::EndpointLease;
use super::outcome::Outcome;

/// Index of an endpoint in its provider's `endpoints` list, carried in `Backend::ext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EndpointIndex(usize);

/// Live counters of one endpoint, shared by all requests.
#[derive(Debug, Default)]
pub struct EndpointStats {
    /// Attempts on this endpoint right now (held by [`EndpointLease`]s).
    pub in_flight: AtomicU64,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Peak-EWMA of response latency in microseconds (0 = no sample yet).
    pub latency_ewma_us: AtomicU64,
}

/// The endpoints of one provider.
pub struct EndpointPool {
    pub provider: String,
    pub endpoints: Vec<Endpoint>,
    pub stats: Vec<EndpointStats>,
    /// Passive health of each endpoint (connect, TLS, reset, timeout, 5xx).
    breakers: Vec<Arc<Breaker>>,
    /// Passive health of (endpoint, upstream model) pairs (429, overload).
    models: ModelBreakers,
    pub breaker_policy: BreakerPolicy,
    pub budget: RetryBudget,
    pub budget_policy: RetryBudgetPolicy,
    /// Recent time to first token per (endpoint, model), for `cost_within_latency`.
    pub ttft: super::ttft::TtftBook,
    lb: LoadBalancer<RoundRobin>,
    health_interval: Option<Duration>,
    health: HealthCheck,
    /// The CAs the health check trusts (part of the pool's shape).
    tls_ca: Option<crate::config::tls::TrustedCa>,
    /// Resolved address of each endpoint, for the admin view.
    resolved: arc_swap::ArcSwap<Vec<Option<SocketAddr>>>,
    /// The endpoints a request may use, listed again after every resolution and
    /// health check (the only times either changes): asking Pingora per request
    /// clones its backend set's shared reference count, hashes each backend (SipHash)
    /// and allocates the list.
    ready: arc_swap::ArcSwap<Vec<(usize, SocketAddr)>>,
    epoch: Instant,
    last_check: std::sync::Mutex<Option<Instant>>,
    last_resolve: std::sync::Mutex<Option<Instant>>,
}

/// How often host names are resolved again.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

impl EndpointPool {
    /// Build the pool and resolve its endpoints once. Endpoints that cannot be resolved
    /// yet are left out until the next resolution.
    pub async fn new(provider: &Provider) -> Self {
        let discovery = ResolvingDiscovery {
            endpoints: provider.endpoints.clone(),
        };
        let backends = Backends::new(Box::new(discovery));
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(backends);
        let health_interval = health_interval(provider);
        if let Some(check) = health_check_for(provider) {
            lb.set_health_check(check);
        }
        let pool = EndpointPool {
            provider: provider.name.clone(),
            endpoints: provider.endpoints.clone(),
            stats: provider
                .endpoints
                .iter()
                .map(|_| EndpointStats::default())
                .collect(),
            breakers: provider
                .endpoints
                .iter()
                .map(|_| Arc::new(Breaker::default()))
                .collect(),
            models: ModelBreakers::default(),
            breaker_policy: provider.breaker.clone(),
            budget: RetryBudget::default(),
            budget_policy: provider.retry_budget.clone(),
            ttft: Default::default(),
            lb,
            health_interval,
            health: provider.health.clone(),
            tls_ca: provider.tls_ca.clone(),
            resolved: arc_swap::ArcSwap::from_pointee(vec![None; provider.endpoints.len()]),
            ready: arc_swap::ArcSwap::from_pointee(Vec::new()),
            epoch: Instant::now(),
            last_check: std::sync::Mutex::new(None),
            last_resolve: std::sync::Mutex::new(None),
        };
        pool.resolve().await;
        pool
    }

    /// True when `other` would build the same pool (same endpoints and health check),
    /// so a config reload can keep this one with its health and stats.
    pub fn same_shape(&self, provider: &Provider) -> bool {
        self.endpoints == provider.endpoints
            && self.health == provider.health
            && self.breaker_policy == provider.breaker
            && self.budget_policy == provider.retry_budget
            && self.tls_ca == provider.tls_ca
    }

    async fn resolve(&self) {
        if let Err(e) = self.lb.update().await {
            log::warn!(
                "provider {}: endpoint resolution failed: {e}",
                self.provider
            );
        }
        let mut resolved = vec![None; self.endpoints.len()];
        for backend in self.lb.backends().get_backend().iter() {
            if let (Some(EndpointIndex(i)), PingoraAddr::Inet(addr)) =
                (backend.ext.get::<EndpointIndex>(), &backend.addr)
            {
                if let Some(slot) = resolved.get_mut(*i) {
                    *slot = Some(*addr);
                }
            }
        }
        self.resolved.store(Arc::new(resolved));
        self.list_ready();
        if let Ok(mut t) = self.last_resolve.lock() {
            *t = Some(Instant::now());
        }
    }

    /// Background upkeep: re-resolve host names and run health checks when due.
    pub async fn maintain(&self) {
        let resolve_due = due(&self.last_resolve, RESOLVE_EVERY);
        if resolve_due {
            self.resolve().await;
        }
        if let Some(interval) = self.health_interval {
            if due(&self.last_check, interval) {
                self.lb.backends().run_health_check(true).await;
                self.list_ready();
                if let Ok(mut t) = self.last_check.lock() {
                    *t = Some(Instant::now());
                }
            }
        }
    }

    /// Endpoints that active health checks did not mark down, as `(index, address)`,
    /// as of the last resolution or health check.
    pub fn ready_endpoints(&self) -> arc_swap::Guard<Arc<Vec<(usize, SocketAddr)>>> {
        self.ready.load()
    }

    /// Lists the endpoints Pingora's backend set and health checks call ready.
    fn list_ready(&self) {
        let backends = self.lb.backends();
        let ready = backends
            .get_backend()
            .iter()
            .filter(|b| backends.ready(b))
            .filter_map(|b| match (b.ext.get::<EndpointIndex>(), &b.addr) {
                (Some(EndpointIndex(i)), PingoraAddr::Inet(addr)) => Some((*i, *addr)),
                _ => None,
            })
            .collect();
        self.ready.store(Arc::new(ready));
    }

    /// Health of each endpoint as `(url, resolved address, healthy)`.
    pub fn health(&self) -> Vec<(String, Option<SocketAddr>, bool)> {
        let resolved = self.resolved.load();
        let backends = self.lb.backends().get_backend();
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| {
                let healthy = backends.iter().any(|b| {
                    b.ext.get::<EndpointIndex>() == Some(&EndpointIndex(i))
                        && self.lb.backends().ready(b)
                });
                (ep.url.clone(), resolved.get(i).copied().flatten(), healthy)
            })
            .collect()
    }

    /// Milliseconds since the pool was built: the clock of its breakers.
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Passive health of endpoint `i` for `model`: the endpoint's breaker and the
    /// (endpoint, model) breaker together.
    pub fn admit(&self, i: usize, model: &str, now_ms: u64) -> Admission {
        let policy = &self.breaker_policy;
        let mut out = Admission::default();
        for breaker in self
            .breakers
            .get(i)
            .into_iter()
            .chain(self.models.get(i, model).as_ref())
        {
            let admit = breaker.admit(now_ms, policy);
            let view = breaker.view();
            out.last_failure_ms = out.last_failure_ms.max(view.last_failure_ms);
            out.reason = out.reason.or(view.reason);
            out.admit = match (out.admit, admit) {
                (Admit::Open, _) | (_, Admit::Open) => Admit::Open,
                (Admit::Probe, _) | (_, Admit::Probe) => Admit::Probe,
                _ => Admit::Closed,
            };
        }
        out
    }

    /// Record an attempt's outcome on endpoint `i` for `model`.
    pub fn record(&self, i: usize, model: &str, outcome: Outcome) {
        let Some(stats) = self.stats.get(i) else {
            return;
        };
        let now = self.now_ms();
        let policy = &self.breaker_policy;
        match outcome {
            Outcome::Success { latency } => {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                update_ewma(&stats.latency_ewma_us, latency.as_micros() as u64);
                self.breakers[i].record_success(now, policy);
                if let Some(b) = self.models.get(i, model) {
                    b.record_success(now, policy);
                }
            }
            Outcome::EndpointFault(class) => {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                stats.failures.fetch_add(1, Ordering::Relaxed);
                let may_trip = self.may_eject(i);
                let r = self.breakers[i].record_failure(now, policy, class, may_trip);
                self.count_trip(r, "endpoint");
            }
            Outcome::ModelFault { class, hold_off } => {
                stats.requests.fetch_add(1, Ordering::Relaxed);
                stats.failures.fetch_add(1, Ordering::Relaxed);
                let Some(b) = self.models.get_or_insert(i, model, now, policy) else {
                    return;
                };
                match hold_off {
                    Some(after) => b.hold_off(now, after.as_millis() as u64, policy, class),
                    None => self.count_trip(b.record_failure(now, policy, class, true), "model"),
                }
            }
            Outcome::Neutral => {}
        }
    }

    fn count_trip(&self, r: Recorded, scope: &str) {
        if r == Recorded::Tripped {
            crate::metrics::BREAKER_TRIPS
                .with_label_values(&[self.provider.as_str(), scope])
                .inc();
        }
    }

    /// Envoy's `max_ejection_percent`: another endpoint may leave rotation while
    /// fewer than that share (and at least one) are out.
    fn may_eject(&self, i: usize) -> bool {
        if self.breakers.get(i).is_some_and(|b| b.is_open()) {
            return true;
        }
        let open = self.breakers.iter().filter(|b| b.is_open()).count();
        let cap =
            (self.breakers.len() * self.breaker_policy.max_ejection_percent as usize / 100).max(1);
        open < cap
    }

    /// Take a lease on endpoint `i`: counted in flight until dropped, holding the
    /// half-open probe slots and the retry-budget slot it uses.
    pub fn lease(
        self: &Arc<Self>,
        i: usize,
        model: &str,
        probe: bool,
        retry: bool,
    ) -> EndpointLease {
        if let Some(s) = self.stats.get(i) {
            s.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        let mut probes = Vec::new();
        if probe {
            // The clock is read only here: most leases take no probe.
            let now = self.now_ms();
            let breakers = self
                .breakers
                .get(i)
                .cloned()
                .into_iter()
                .chain(self.models.get(i, model));
            for b in breakers {
                if b.admit(now, &self.breaker_policy) == Admit::Probe {
                    b.take_probe();
                    probes.push(b);
                }
            }
            crate::metrics::BREAKER_PROBES
                .with_label_values(&[self.provider.as_str()])
                .inc();
        }
        EndpointLease::new(self.clone(), i, probes, retry)
    }

    /// Endpoint `i`'s breaker, for the admin view.
    pub fn endpoint_breaker(&self, i: usize) -> Option<BreakerView> {
        self.breakers.get(i).map(|b| b.view())
    }

    /// The (endpoint, model) breakers that are open, for the admin view.
    pub fn model_breakers(&self) -> Vec<(usize, String, BreakerView)> {
        self.models.open()
    }
}

/// Passive health of a candidate right now.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Admission {
    pub admit: Admit,
    pub last_failure_ms: u64,
    pub reason: Option<ErrorClass>,
}

/// Peak-EWMA: a slower sample replaces the average at once, a faster one decays into it.
fn update_ewma(cell: &AtomicU64, sample_us: u64) {
    let old = cell.load(Ordering::Relaxed);
    let new = if old == 0 || sample_us > old {
        sample_us
    } else {
        (old * 7 + sample_us) / 8
    };
    cell.store(new, Ordering::Relaxed);
}

fn due(last: &std::sync::Mutex<Option<Instant>>, every: Duration) -> bool {
    match last.lock() {
        Ok(t) => t.is_none_or(|t| t.elapsed() >= every),
        Err(_) => false,
    }
}

fn health_interval(provider: &Provider) -> Option<Duration> {
    match &provider.health {
        HealthCheck::None => None,
        HealthCheck::Tcp { interval } | HealthCheck::Http { interval, .. } => Some(*interval),
    }
}

fn health_check_for(provider: &Provider) -> Option<Box<dyn PingoraHealthCheck + Send + Sync>> {
    let first = provider.endpoints.first()?;
    let ca = provider.tls_ca.as_ref().map(|ca| ca.certs.clone());
    match &provider.health {
        HealthCheck::None => None,
        HealthCheck::Tcp { .. } => Some(if first.tls {
            let mut hc = TcpHealthCheck::new_tls(&first.host);
            hc.peer_template.options.ca = ca;
            hc
        } else {
            TcpHealthCheck::new()
        }),
        HealthCheck::Http { path, .. } => {
            let mut hc = HttpHealthCheck::new(&first.host, first.tls);
            hc.peer_template.options.ca = ca;
            let uri = format!("{}{}", first.path_prefix, path);
            hc.req.set_uri(uri.parse().ok()?);
            Some(Box::new(hc))
        }
    }
}

/// Turns the provider's base URLs into backends, resolving host names.
struct ResolvingDiscovery {
    endpoints: Vec<Endpoint>,
}

#[async_trait]
impl ServiceDiscovery for ResolvingDiscovery {
    async fn discover(&self) -> PResult<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let mut set = BTreeSet::new();
        for (i, ep) in self.endpoints.iter().enumerate() {
            let Some(addr) = resolve(&ep.host, ep.port).await else {
                log::warn!("cannot resolve {}", ep.url);
                continue;
            };
            let mut backend = Backend {
                addr: PingoraAddr::Inet(addr),
                weight: ep.weight.max(1),
                ext: Default::default(),
            };
            backend.ext.insert(EndpointIndex(i));
            set.insert(backend);
        }
        Ok((set, HashMap::new()))
    }
}

/// Resolve `host:port`, preferring IPv4, bounded in time.
async fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(Duration::from_secs(5), lookup)
        .await
        .ok()?
        .ok()?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
}
